"""Demo data: a fictional school service centre and a private school, as their school systems
would publish them, so that a local portal has living children to show.

    python scripts/demo_school.py [--out FILE] [--today YYYY-MM-DD] [--seed N]
    (scripts/demo.py publishes them, each board's in the name of its own school system)

Writes JSON lines of `sis` events (full envelopes, each validated with `contracts.parse`):
2 boards, 5 schools (primary and secondary), the calendars of last, this and next school year
(scripts/school_calendar.py), about 200 students with valid student numbers and permanent codes,
their guardians, a few PINs, courses and teachers, transport, recent absences, bulletins of this
year and last, homework, statements of account and payments, messages and resources.

The story is told around `today` (by default the school's today, `servicekit.schooltime`): each
fact has its date, and what has not happened by today is not published. In the summer the story
is the school year that just ended. The same seed and day give the same file, byte for byte; the
schools, families and children are the same whatever the day (only their birth dates follow the
school year, so that each child stays in its grade), and an event's id comes from its content, so
that publishing again on a later day repeats no event.

Two demo families have the whole story. parent.demo@example.org is the guardian of a primary
child at the CSS and of a secondary 5 student at the private school; parent.nip@example.org links
a primary child with a PIN. What each parent types to link each child is printed at the end (on
stderr when events go to stdout).
"""
import argparse
import collections
import datetime as dt
import itertools
import json
import os
import random
import sys
import unicodedata
import uuid
from pathlib import Path

# Run as a plain script from anywhere: the contracts package lives at the repository's top.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contracts  # noqa: E402
from contracts.envelope import subject_of  # noqa: E402
from scripts.school_calendar import school_year as school_calendar  # noqa: E402
from servicekit.schooltime import school_today, school_year_of  # noqa: E402

DEMO_EMAIL = "parent.demo@example.org"
PIN_DEMO_EMAIL = "parent.nip@example.org"
EVENT_IDS = uuid.UUID("5f1e0c2a-9d4b-4c8e-b7a1-3e6d2f8c9a40")  # the namespace of the demo's event ids
PEDAGOGICAL_DAY = "Journée pédagogique"
REASONS = [("MAL", "Maladie", "Illness"), ("RDV", "Rendez-vous médical", "Medical appointment"),
           ("FAM", "Raison familiale", "Family reason"), ("DEU", "Deuil", "Bereavement"),
           ("SPO", "Activité sportive", "Sports event"), ("AUT", "Autre", "Other")]
BOARDS = [
    {"id": "css-trois-lacs", "name": "Centre de services scolaire des Trois-Lacs",
     "kind": "public", "domain": "trois-lacs.example.org", "city": "Lac-Vert",
     "reenrolment": (-9, 12),  # days from today: open on the demo's day, like every period here
     "schools": [("ecole-du-ruisseau", "École du Ruisseau", "primary", 60),
                 ("ecole-des-hirondelles", "École des Hirondelles", "primary", 50),
                 ("polyvalente-du-plateau", "Polyvalente du Plateau", "secondary", 60)]},
    {"id": "college-boisjoli", "name": "Collège Boisjoli", "kind": "private",
     "domain": "boisjoli.example.org", "city": "Sainte-Adèle-des-Monts", "reenrolment": (-2, 26),
     "schools": [("primaire", "Collège Boisjoli — primaire", "primary", 12),
                 ("secondaire", "Collège Boisjoli — secondaire", "secondary", 24)]},
]
# What each school shows in the results tile differs, as in the guides; the demo families' schools
# show both.
AVERAGES_HIDDEN = {"college-boisjoli.primaire"}
ASSIGNMENTS_HIDDEN = {"css-trois-lacs.ecole-des-hirondelles"}
GRADES = ["M4", "M5", "P1", "P2", "P3", "P4", "P5", "P6", "S1", "S2", "S3", "S4", "S5"]
LAST_NAMES = ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie",
              "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron",
              "Leblanc", "Paquette", "Girard", "Simard", "Boucher", "Caron", "Beaulieu",
              "Cloutier", "Dubé", "Poirier", "Fournier", "Lapointe", "Leclerc", "Lefebvre",
              "Nguyen", "Diallo", "Haddad", "St-Pierre", "O'Neil", "Wong", "Joseph"]
GIRLS = ["Léa", "Emma", "Alice", "Florence", "Zoé", "Charlie", "Rosalie", "Juliette", "Béatrice",
         "Livia", "Clara", "Maëlle", "Olivia", "Camille", "Mia", "Anaïs", "Romane", "Aïcha"]
BOYS = ["William", "Noah", "Thomas", "Liam", "Jacob", "Léo", "Édouard", "Nathan", "Félix",
        "Arthur", "Louis", "Antoine", "Émile", "Samuel", "Henri", "Mohamed", "Raphaël", "Zack"]
ADULTS = ["Julie", "Marie-Ève", "Isabelle", "Mélanie", "Karine", "Nadia", "Sophie", "Martin",
          "Éric", "Patrick", "Sébastien", "Mathieu", "Jean-François", "David", "Karim", "Yan"]
PRIMARY_SUBJECTS = [("FRA", "Français, langue d'enseignement"), ("MAT", "Mathématique"),
                    ("ANG", "Anglais, langue seconde"), ("EPS", "Éducation physique et à la santé"),
                    ("ART", "Arts plastiques"), ("CCQ", "Culture et citoyenneté québécoise")]
SECONDARY_SUBJECTS = PRIMARY_SUBJECTS[:4] + [("SCT", "Science et technologie"),
                                             ("HQC", "Histoire du Québec et du Canada"),
                                             ("MUS", "Musique")]
TEACHERS = ["Lisanne Tannahill", "Robert Parant", "Djaffer Thornton", "Chantal Dion",
            "Marc-André Blais", "Geneviève Roy", "Hugo Laflamme", "Nathalie Poulin",
            "Stéphane Bisson", "Amélie Cyr", "Olivier Dufour", "Catherine Naud"]


COMPETENCIES = {"FRA": ("Lire", "Écrire", "Communiquer oralement"),
                "MAT": ("Résoudre une situation-problème", "Utiliser un raisonnement mathématique"),
                "ANG": ("Communiquer oralement en anglais", "Comprendre des textes lus et entendus")}
COMMENTS = [None, "Bon travail.", "Doit réviser ses notions.", "Participe bien en classe.",
            "Belle progression depuis le début de l'année."]
# The two-step report card: a first communication by mid-November, a bulletin in January and
# one in early July (years after the school year's start, month, day). A school publishes a
# bulletin about a week before it is visible.
BULLETINS = (("first_communication", None, 0, 11, 15), ("term", 1, 1, 1, 22), ("term", 2, 1, 7, 6))
PUBLISHED_AHEAD = dt.timedelta(days=7)
MINISTRY_EXAMS = {  # visible about ten days after the June exams
    "S4": [("063414", "Mathématique, séquence Culture, société et technique"),
           ("085404", "Histoire du Québec et du Canada")],
    "S5": [("132520", "Français, langue d'enseignement — écriture"),
           ("134504", "Anglais, langue seconde")]}
ASSIGNMENTS = ["Situation d'apprentissage et d'évaluation", "Contrôle", "Projet", "Dictée",
               "Mini-test", "Exposé oral"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONDAY, THURSDAY = 0, 3
DAY = dt.timedelta(days=1)


def ascii_letters(text):
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain if ch.isalpha()).upper()


def slug(text):
    return ascii_letters(text).lower()


def permanent_code(last_name, first_name, birth_date, girl, ministry_digits):
    """3 letters of the last name, 1 of the first name, DDMMYY (month +50 for girls), then the
    ministry's 2 digits (None while the ministry has not completed the code: 10 characters)."""
    letters = (ascii_letters(last_name) + "XXX")[:3] + ascii_letters(first_name)[0]
    month = birth_date.month + (50 if girl else 0)
    code = f"{letters}{birth_date.day:02d}{month:02d}{birth_date.year % 100:02d}"
    return code if ministry_digits is None else f"{code}{ministry_digits:02d}"



def french_date(day):
    return f"{WEEKDAYS[day.weekday()]} {'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]}"


class Demo:
    """Builds the events in a deterministic order. The population (schools, families, children)
    comes from one generator seeded with `seed` alone and each child's story from a generator of
    its own, so that the day changes the story, never who is in it."""

    def __init__(self, seed, today=None):
        self.seed = seed
        self.today = today or school_today()
        self.rng = random.Random(seed)
        start = int(school_year_of(self.today)[:4])
        if self.today < school_calendar(start).first_day:
            start -= 1  # the summer: the story is the school year that just ended
        self.start = start
        self.last_year, self.year, self.next_year = (school_calendar(start + n) for n in (-1, 0, 1))
        self.past_days = [day for calendar in (self.last_year, self.year)
                          for day in calendar.school_days() if day < self.today]
        # What is due soon falls on the next school day of the story's year (none in the summer).
        self.next_day = next((day for day in self.year.school_days() if day > self.today), None)
        # The absence to justify and the teacher's note fall on one day a week, so that the demo
        # told again every day does not pile them up.
        self.last_monday = max((day for day in self.past_days[-15:] if day.weekday() == MONDAY),
                               default=self.past_days[-1])
        self.lines = []
        self.linking_help = []
        self.counter = 0
        self.serials = collections.defaultdict(lambda: itertools.count(1))
        self.student_numbers = set()

    def serial(self, prefix, width=6):
        """A unique id: random ids would collide across a few hundred records."""
        return f"{prefix}-{next(self.serials[prefix]):0{width}d}"

    def rng_of(self, *keys):
        """A generator of one fact's own, so that the fact reads the same on any day it is told."""
        return random.Random(":".join(map(str, (self.seed, *keys))))

    def emit(self, type, data):
        spec = contracts.EVENTS[type]
        self.counter += 1
        when = dt.datetime.combine(self.today, dt.time(5), dt.timezone.utc)
        content = json.dumps([type, data], sort_keys=True, default=str, ensure_ascii=False)
        event = contracts.parse({
            "id": str(uuid.uuid5(EVENT_IDS, content)), "type": type,
            "version": spec.latest_version, "source": "sis", "subject": subject_of(spec, data),
            "time": when + dt.timedelta(milliseconds=self.counter),
            "correlation_id": f"demo-{self.today.isoformat()}", "data": data,
        })
        self.lines.append(event.to_json())

    def at(self, day, hour=13, minute=30):
        return dt.datetime.combine(day, dt.time(hour, minute), dt.timezone.utc)

    # --- schools -----------------------------------------------------------------------------
    def schools(self):
        for board in BOARDS:
            org = {key: board[key] for key in ("id", "name", "kind")}
            for n, (key, name, level, _) in enumerate(board["schools"]):
                school_id = f"{board['id']}.{key}"
                tiles = ["messages", "absences", "results", "finances", "record", "resources",
                         "contact", "homework"] + (["agenda"] if level == "secondary" else [])
                self.emit("SchoolRegistered", {"org": org, "school": {
                    "id": school_id, "name": name, "level": level,
                    "address": {"street": f"{100 + 25 * n}, rue des {['Érables', 'Pins', 'Cèdres'][n % 3]}",
                                "city": board["city"], "province": "QC",
                                "postal_code": f"J0T 1{chr(65 + n)}0"},
                    "phone": f"819 555-01{10 + n:02d}", "email": f"{key}@{board['domain']}",
                    "website": f"https://{key}.{board['domain']}",
                    "principal_name": f"{self.rng.choice(ADULTS)} {self.rng.choice(LAST_NAMES)}",
                    "contacts": [{"role": "Secrétariat", "name": f"{self.rng.choice(ADULTS)} "
                                  f"{self.rng.choice(LAST_NAMES)}", "phone": f"819 555-02{10 + n:02d}",
                                  "email": f"secretariat.{key}@{board['domain']}"}],
                    "tiles": tiles}})
                for calendar in (self.last_year, self.year, self.next_year):
                    self.emit("SchoolCalendarPublished", calendar.calendar(
                        school_id, [{"code": c, "label_fr": fr, "label_en": en} for c, fr, en in REASONS],
                        *(("08:00", "15:30") if level == "secondary" else ("08:10", "15:05"))))
                self.emit("SchoolSettingsChanged", {
                    "school_id": school_id, "show_group_averages": school_id not in AVERAGES_HIDDEN,
                    "show_assignment_results": school_id not in ASSIGNMENTS_HIDDEN})
            opens, closes = board["reenrolment"]
            self.emit("ReenrollmentOpened", {
                "org_id": board["id"], "school_year": self.next_year.name,
                "opens_on": self.today + opens * DAY, "closes_on": self.today + closes * DAY})

    # --- students and families ---------------------------------------------------------------
    def child(self, board, school, grade, last_name=None, first_name=None, girl=None,
              birth_date=None):
        girl = self.rng.random() < 0.5 if girl is None else girl
        first_name = first_name or self.rng.choice(GIRLS if girl else BOYS)
        last_name = last_name or self.rng.choice(LAST_NAMES)
        if birth_date is None:  # 6 years old by September 30 in the first year of primary
            born_from = dt.date(self.start - 7 - (GRADES.index(grade) - GRADES.index("P1")), 10, 1)
            birth_date = born_from + dt.timedelta(days=self.rng.randrange(365))
        number = f"{self.rng.randrange(1_000_000, 10_000_000)}"
        while number in self.student_numbers:
            number = f"{self.rng.randrange(1_000_000, 10_000_000)}"
        self.student_numbers.add(number)
        digits = None if grade == "M5" and self.rng.random() < 0.5 else self.rng.randrange(100)
        return {
            "student_id": f"{board['id']}.{number}", "org_id": board["id"],
            "school_id": school["id"], "student_number": number,
            "permanent_code": permanent_code(last_name, first_name, birth_date, girl, digits),
            "last_name": last_name, "first_name": first_name, "birth_date": birth_date,
            "grade": grade, "group": f"{grade[1]}0{self.rng.randrange(1, 3)}",
        }

    def guardian(self, board, first_name, last_name, email=None):
        guardian_id = self.serial(f"{board['id']}.r", 5)
        email = email or f"{slug(first_name)}.{slug(last_name)}.{guardian_id[-5:]}@example.org"
        return {"guardian_id": guardian_id, "name": f"{first_name} {last_name}", "email": email}

    def enrol(self, student, school, guardians, plan=None):
        self.emit("StudentEnrolled", student)
        for index, (guardian, access) in enumerate(guardians):
            self.emit("GuardianAssigned", {"student_id": student["student_id"], **guardian,
                                           "principal": index == 0, "access": access})
        self.record(student, school, guardians[0][0], plan)

    def students(self):
        demo_children = self.demo_family()
        for board in BOARDS:
            for key, _, level, size in board["schools"]:
                school = {"id": f"{board['id']}.{key}", "level": level, "board": board}
                grades = GRADES[1:8] if level == "primary" else GRADES[8:]
                made = sum(1 for s, sch in demo_children if sch["id"] == school["id"])
                while made < size:
                    family_name = self.rng.choice(LAST_NAMES)
                    parents = [self.guardian(board, self.rng.choice(ADULTS), family_name)]
                    if self.rng.random() < 0.7:
                        parents.append(self.guardian(board, self.rng.choice(ADULTS),
                                                     self.rng.choice(LAST_NAMES)))
                    for _ in range(min(size - made, self.rng.choice([1, 1, 2, 2, 3]))):
                        student = self.child(board, school, self.rng.choice(grades), family_name)
                        # one family in twenty: a guardian the school must keep away (custody)
                        custody = len(parents) == 2 and self.rng.random() < 0.05
                        self.enrol(student, school,
                                   [(parents[0], True)] + [(p, not custody) for p in parents[1:]])
                        made += 1
                        if self.rng.random() < 0.03:
                            self.issue_pin(student, parents[0])

    def born(self, years_before, month, day):
        """A demo child's birth date, so that the child stays in its grade whatever the year."""
        return dt.date(self.start - years_before, month, day)

    def demo_family(self):
        """The documented demo parents: one with a primary child at the CSS and a secondary 5
        student at the private school, one who links a primary child with a PIN."""
        css, private = BOARDS
        ruisseau = {"id": "css-trois-lacs.ecole-du-ruisseau", "level": "primary", "board": css}
        college = {"id": "college-boisjoli.secondaire", "level": "secondary", "board": private}
        lea = self.child(css, ruisseau, "P3", "Gagnon", "Léa", True, self.born(8, 8, 5))
        thomas = self.child(private, college, "S5", "Gagnon-Roy", "Thomas", False,
                            self.born(16, 3, 14))
        # Their school fees: half paid (a balance to pay), paid in two (the second payment after
        # the reissued statement), nothing paid yet.
        for student, school, plan in ((lea, ruisseau, "half"), (thomas, college, "in two")):
            board = school["board"]
            julie = self.guardian(board, "Julie", "Gagnon", DEMO_EMAIL)
            other = self.guardian(board, "Mathieu", "Roy")
            self.enrol(student, school, [(julie, True), (other, True)], plan)
            self.linking_help.append((board["name"], student, "email", DEMO_EMAIL))
        # A guardian without an email links with the PIN the school gave them.
        zoe = self.child(css, ruisseau, "P5", "Lévesque", "Zoé", True, self.born(10, 5, 21))
        nadia = self.guardian(css, "Nadia", "Lévesque", PIN_DEMO_EMAIL)
        self.enrol(zoe, ruisseau, [(dict(nadia, email=None), True)], "unpaid")
        pin = self.issue_pin(zoe, nadia)
        self.linking_help.append((css["name"], zoe, f"NIP/PIN {pin}", PIN_DEMO_EMAIL))
        return [(lea, ruisseau), (thomas, college), (zoe, ruisseau)]

    def issue_pin(self, student, guardian):
        pin = f"{self.rng.randrange(1_000_000):06d}"
        self.emit("GuardianPinIssued", {
            "student_id": student["student_id"], "guardian_id": guardian["guardian_id"],
            "pin_hash": contracts.pin_hash(board_pin_key(student["org_id"]), student["student_id"], pin),
            "expires_on": self.today + 60 * DAY})
        return pin

    # --- what the school records about each child ---------------------------------------------
    def record(self, student, school, payer, plan):
        """A child of a demo family (with the `plan` its school fees are paid by) has every part
        of the story; the others some."""
        featured = plan is not None
        sid, level = student["student_id"], school["level"]
        rng = self.rng_of(sid)
        subjects = PRIMARY_SUBJECTS if level == "primary" else SECONDARY_SUBJECTS
        teachers = rng.sample(TEACHERS, len(subjects))
        domain = school["board"]["domain"]
        self.emit("CourseAssigned", {"student_id": sid, "school_year": self.year.name, "courses": [
            {"code": f"{code}{student['grade'][1]}", "name": name, "teacher_name": teacher,
             "teacher_email": (f"{slug(teacher.split()[0])}.{slug(teacher.split()[-1])}@{domain}"
                               if rng.random() < 0.6 else None),
             "group": student["group"]}
            for (code, name), teacher in zip(subjects, teachers)]})
        if school["board"]["kind"] == "public" and (featured or rng.random() < 0.7):
            self.emit("TransportAssigned", {
                "student_id": sid, "route": f"Circuit {rng.randrange(1, 60)}",
                "stop": f"{rng.choice(['Rue', 'Chemin', 'Montée'])} "
                        f"{rng.choice(['du Lac', 'des Pins', 'Principale', 'du Moulin'])}",
                "morning_pickup": f"07:{rng.randrange(5, 45):02d}",
                "afternoon_dropoff": f"15:{rng.randrange(40, 59):02d}"})
        if level == "secondary":
            self.timetable(student, subjects, featured)
        self.absences(student, level, featured)
        self.results(student, subjects)
        self.homework(student, subjects, featured)
        self.statements(student, school, payer, plan)
        if featured:
            self.teacher_message(student, teachers[0])

    def timetable(self, student, subjects, featured):
        sid = student["student_id"]
        entries = []
        for day in range(1, 10):
            for slot, start, end in ((1, "08:15", "09:30"), (2, "09:45", "11:00"),
                                     (3, "12:15", "13:30"), (4, "13:45", "15:00")):
                code, name = subjects[(day + slot) % len(subjects)]
                entries.append({"day": day, "start": start, "end": end,
                                "course_code": f"{code}{student['grade'][1]}", "course_name": name,
                                "room": f"{'ABC'[slot % 3]}-{100 + 10 * slot + day}"})
        for calendar in (self.year, self.next_year):  # published two weeks before the year starts
            if calendar.first_day - 14 * DAY <= self.today:
                self.emit("TimetablePublished", {"student_id": sid, "school_year": calendar.name,
                                                 "cycle_length": 9, "entries": entries})
        rng = self.rng_of(sid, "detention")
        week = [day for calendar in (self.year, self.next_year) for day in calendar.school_days()
                if self.today <= day <= self.today + 6 * DAY]
        if featured:  # one to attend in the agenda's week, on Thursday when there is school then
            day = next((day for day in week if day.weekday() == THURSDAY),
                       week[0] if week else self.past_days[-1])
        elif rng.random() < 0.08:
            day = rng.choice(self.past_days[-10:])
        else:
            return
        self.emit("DetentionRecorded", {
            "detention_id": f"ret-{day:%Y%m%d}-{sid}", "student_id": sid, "date": day,
            "start": "15:10", "end": "16:10", "reason": "Travaux non remis",
            "location": "Local C-110"})

    def absences(self, student, level, featured):
        recent = self.past_days[-15:]
        pick = self.rng_of(student["student_id"], "absences")
        days = set(pick.sample(recent, k=pick.choice([0, 0, 1, 2, 3])))
        if featured:
            days.add(self.last_monday)
        for day in sorted(days):
            data = {"absence_id": f"abs-{day:%Y%m%d}-{student['student_id']}",
                    "student_id": student["student_id"], "school_id": student["school_id"],
                    "date": day}
            if featured and day == self.last_monday:  # the absence the parent has to justify
                self.emit("AbsenceRecorded", dict(data, kind="absence", period="full_day",
                                                  requires_justification=True, reason_code=None))
                continue
            rng = self.rng_of(data["absence_id"])
            lateness = rng.random() < 0.35
            data.update(kind="lateness" if lateness else "absence",
                        requires_justification=rng.random() < 0.6,
                        reason_code=None if rng.random() < 0.6 else rng.choice(REASONS)[0])
            if lateness:
                minutes = rng.randrange(3, 40)
                data.update(period="period" if level == "secondary" else "am",
                            period_number=1 if level == "secondary" else None,
                            start_time=f"08:{10 + minutes:02d}", minutes_late=minutes)
            elif level == "secondary" and rng.random() < 0.5:
                data.update(period="period", period_number=rng.randrange(1, 5))
            else:
                data.update(period=rng.choice(["full_day", "full_day", "am", "pm"]))
            self.emit("AbsenceRecorded", data)

    def results(self, student, subjects):
        """Bulletins of this year and last (at the same school), assignment results of the last
        weeks, and the ministry exams of secondary 4 and 5 once their results are out."""
        sid, school_id, grade = student["student_id"], student["school_id"], student["grade"]
        before = GRADES[GRADES.index(grade) - 1]
        years = [(self.last_year, before)] if before[0] == grade[0] else []
        for calendar, grade_then in years + [(self.year, grade)]:
            start = calendar.first_day.year
            marks = {code: mark for (code, _), mark in zip(
                subjects, self.rng_of(sid, start).choices(range(62, 92), k=len(subjects)))}
            for kind, term, years_on, month, day in BULLETINS:
                visible = dt.date(start + years_on, month, day)
                if visible - PUBLISHED_AHEAD > self.today:
                    continue
                bulletin_id = f"bul-{start}-{term or 0}-{sid}"
                rng = self.rng_of(bulletin_id)
                self.emit("BulletinPublished", {
                    "bulletin_id": bulletin_id, "student_id": sid,
                    "school_id": school_id, "school_year": calendar.name, "kind": kind,
                    "term": term, "visible_from": visible,
                    "subjects": [subject_result(rng, code, name, marks[code] + rng.randrange(-5, 6)
                                                if term else None)
                                 for code, name in subjects]})
            visible = dt.date(start + 1, 7, 6)
            for exam_code, subject in MINISTRY_EXAMS.get(grade_then, ()):
                if visible - PUBLISHED_AHEAD <= self.today:
                    result_id = f"mee-{start + 1}-{exam_code}-{sid}"
                    self.emit("MinistryResultPublished", {
                        "result_id": result_id, "student_id": sid,
                        "school_id": school_id, "school_year": calendar.name,
                        "exam_code": exam_code, "subject_name": subject, "grade": grade_then,
                        "mark": self.rng_of(result_id).randrange(58, 96), "passed": True,
                        "visible_from": visible})
        pick = self.rng_of(sid, "assignments")
        for day in sorted(pick.sample(self.past_days[-20:], k=pick.randrange(2, 4))):
            result_id = f"trv-{day:%Y%m%d}-{sid}"
            rng = self.rng_of(result_id)
            code, name = rng.choice(subjects)
            self.emit("AssignmentResultPublished", {
                "result_id": result_id, "student_id": sid, "school_id": school_id,
                "school_year": school_year_of(day), "subject_code": code, "subject_name": name,
                "title": rng.choice(ASSIGNMENTS), "date": day, "points": rng.randrange(10, 21),
                "out_of": 20, "weight": 10, "group_average": rng.randrange(65, 80), "comment": None})

    def homework(self, student, subjects, featured):
        """Given on the last school day (the first one: today), due on the next one; a demo
        family's child also has a lesson to study for the week after. In the summer, what was due
        at the end of the year."""
        assigned = max(self.past_days[-1], self.year.first_day)
        due = self.next_day or self.year.last_day
        later = next((day for day in self.year.school_days() if day >= due + 7 * DAY), due)
        work = [("homework", "Exercices du chapitre 4", "Pages 112 à 115, numéros impairs.", due)]
        if featured:
            work.append(("lesson", "Étudier le vocabulaire de la semaine",
                         "Dictée le jour de la remise.", later))
        for n, (kind, title, description, due_on) in enumerate(work):
            homework_id = f"dev-{assigned:%Y%m%d}-{n}-{student['student_id']}"
            code, name = self.rng_of(homework_id).choice(subjects)
            self.emit("HomeworkPublished", {
                "homework_id": homework_id,
                "student_id": student["student_id"], "school_id": student["school_id"],
                "subject_code": code, "subject_name": name, "kind": kind, "title": title,
                "description": description, "assigned_on": assigned, "due_on": due_on})

    def statements(self, student, school, payer, plan):
        """School fees billed before the year starts and reissued after a first payment; the
        sports programme of some secondary students; daycare billed each month for the last one,
        with the RL-24 of the last tax year."""
        first = self.year.first_day
        rng = self.rng_of(student["student_id"], "statements", self.start)
        lines = [{"description": "Matériel didactique", "amount_cents": rng.randrange(60, 140) * 100},
                 {"description": "Sorties éducatives", "amount_cents": rng.randrange(2, 6) * 1000}]
        total = sum(line["amount_cents"] for line in lines)
        half = total // 2
        plans = {"unpaid": [], "paid": [(first - 3 * DAY, total)], "half": [(first - 3 * DAY, half)],
                 "in two": [(first - 3 * DAY, half), (first + 30 * DAY, total - half)]}
        payments = plans[plan or rng.choice(list(plans))]
        self.bill(student, school, payer, "school", self.year.name, lines,
                  [first - 10 * DAY] + ([first + 5 * DAY] if payments else []), payments,
                  first + 35 * DAY, "01")
        if school["level"] == "secondary" and (plan or rng.random() < 0.2):
            fee = rng.randrange(300, 600) * 100  # half paid after the statement: billing takes it off
            self.bill(student, school, payer, "sports", self.year.name,
                      [{"description": "Programme Intersport", "amount_cents": fee}],
                      [first - 10 * DAY], [(first - 3 * DAY, fee // 2)], first + 35 * DAY, "03")
        if school["level"] != "primary" or not (plan or rng.random() < 0.4):
            return
        months = sorted({(day.year, day.month) for day in self.past_days
                         if day < self.today.replace(day=1)})[-2:]
        for n, (year, month) in enumerate(months):
            attended = sum(1 for day in self.past_days if (day.year, day.month) == (year, month))
            fee = 950 * attended
            issued = (dt.date(year, month, 1) + 32 * DAY).replace(day=1)
            self.bill(student, school, payer, "daycare", f"{year}-{month:02d}",
                      [{"description": "Service de garde, jours de classe", "amount_cents": fee}],
                      [issued], [(issued + 10 * DAY, fee)] if n < len(months) - 1 else [],
                      issued + 30 * DAY, "02")
        tax_year = self.today.year - (1 if self.today >= dt.date(self.today.year, 2, 20) else 2)
        receipt_id = f"rl24-{tax_year}-{student['student_id']}"
        self.emit("TaxReceiptIssued", {
            "receipt_id": receipt_id, "account_id": account_of(payer),
            "student_id": student["student_id"], "year": tax_year, "form": "RL-24",
            "recipient_name": payer["name"],
            "amount_cents": self.rng_of(receipt_id).randrange(800, 2200) * 100,
            "issued_on": dt.date(tax_year + 1, 2, 20), "document_url": None})

    def bill(self, student, school, payer, kind, period, lines, issued, payments, due_date,
             reference):
        """A statement issued on each day of `issued` (each reissue supersedes the last) and the
        payments on their days, as far as today. A statement counts in `paid_cents` the payments
        made by its issue date; billing takes the later ones off its balance, so that no payment
        counts twice."""
        sid = student["student_id"]
        total = sum(line["amount_cents"] for line in lines)
        statement_ids = []
        for n, day in enumerate(issued, 1):
            if day > self.today:
                break
            statement_ids.append((day, f"{kind[:3]}-{period}-{n}-{sid}"))
            paid = sum(amount for paid_on, amount in payments if paid_on <= day)
            self.emit("StatementIssued", {
                "statement_id": statement_ids[-1][1], "account_id": account_of(payer),
                "student_id": sid, "school_id": school["id"], "kind": kind, "period": period,
                "issued_on": day, "due_date": due_date, "lines": lines, "total_cents": total,
                "paid_cents": paid, "balance_cents": total - paid,
                "payment_reference": f"{student['student_number']}{reference}",
                "visible_from": None, "document_url": None})
        for paid_on, amount in payments:
            if paid_on <= self.today:  # against the statement the family had in hand
                self.emit("PaymentRecorded", {
                    "payment_id": f"pai-{kind[:3]}-{paid_on:%Y%m%d}-{sid}",
                    "account_id": account_of(payer),
                    "statement_id": [s for day, s in statement_ids if day <= paid_on][-1],
                    "student_id": sid, "amount_cents": amount, "paid_on": paid_on})

    def teacher_message(self, student, teacher):
        day = self.last_monday
        self.emit("MessagePublished", {
            "message_id": f"msg-{day:%Y%m%d}-{student['student_id']}",
            "audience": {"scope": "student", "org_id": student["org_id"],
                         "school_id": student["school_id"], "group": None,
                         "student_id": student["student_id"]},
            "title": f"Un mot de {teacher}",
            "body": f"Bonjour, {student['first_name']} a bien travaillé cette semaine. Merci de "
                    "signer l'agenda ce soir.",
            "published_at": self.at(day, 19, 30), "author": teacher})

    # --- what the schools and boards say to every parent --------------------------------------
    def notices(self):
        welcome = self.year.first_day - 7 * DAY
        # The last pedagogical day announced (a week before it), so that the message stays the same
        pedagogical = max(day for calendar in (self.last_year, self.year, self.next_year)
                          for day, label in calendar.days_off.items()
                          if label == PEDAGOGICAL_DAY and day - 7 * DAY < self.today)
        photo = next(day for day in self.year.school_days()
                     if day.weekday() == THURSDAY and day >= self.year.first_day + 21 * DAY)
        for board in BOARDS:
            self.message(board, None, "Bienvenue sur le Portail Parents",
                         "Vous pouvez maintenant suivre les absences, les résultats et les états "
                         "de compte de vos enfants en ligne.", welcome)
            self.emit("ResourcePublished", {
                "resource_id": f"{board['id']}.calendrier", "audience": {
                    "scope": "org", "org_id": board["id"], "school_id": None, "group": None,
                    "student_id": None},
                "title": f"Calendrier scolaire {self.year.name}", "kind": "document",
                "url": f"https://{board['domain']}/documents/calendrier-{self.year.name}.pdf",
                "description": None})
            for key, name, level, _ in board["schools"]:
                school_id = f"{board['id']}.{key}"
                self.message(board, school_id, f"{PEDAGOGICAL_DAY} le {french_date(pedagogical)}",
                             "Il n'y aura pas de classe. Le service de garde est ouvert sur "
                             "inscription.", pedagogical - 7 * DAY)
                if photo - 7 * DAY < self.today:
                    self.message(board, school_id, f"Photo scolaire — {name}",
                                 f"Le photographe sera à l'école le {french_date(photo)}.",
                                 photo - 7 * DAY)
                self.emit("ResourcePublished", {
                    "resource_id": f"{school_id}.code-de-vie", "audience": {
                        "scope": "school", "org_id": board["id"], "school_id": school_id,
                        "group": None, "student_id": None},
                    "title": "Code de vie", "kind": "link",
                    "url": f"https://{key}.{board['domain']}/code-de-vie", "description": None})

    def message(self, board, school_id, title, body, day):
        self.emit("MessagePublished", {
            "message_id": f"msg-{day:%Y%m%d}-{school_id or board['id']}-{slug(title)[:12]}",
            "audience": {"scope": "school" if school_id else "org", "org_id": board["id"],
                         "school_id": school_id, "group": None, "student_id": None},
            "title": title, "body": body, "published_at": self.at(day),
            "author": "La direction" if school_id else board["name"]})

    def build(self):
        self.schools()
        self.students()
        self.notices()
        return self.lines


def account_of(guardian):
    """The family's account is the principal guardian's."""
    return guardian["guardian_id"].replace(".r-", ".fam-")


def subject_result(rng, code, name, mark):
    """A subject of a bulletin; without a mark (`None`) for the first communication, which
    comments only."""
    marked = mark is not None
    return {"code": code, "name": name,
            "competencies": [{"name": competency, "mark": min(99, mark + rng.randrange(-6, 7)),
                              "rating": None, "comment": None}
                             for competency in COMPETENCIES.get(code, ()) if marked],
            "mark": mark, "group_average": rng.randrange(68, 80) if marked else None,
            "comment": rng.choice(COMMENTS)}


def board_pin_key(org_id):
    """The board's PIN key. A real school system is given its own board's key by the portal's
    operator; the demo speaks for both boards, so it derives them from the local portal's secret."""
    return contracts.pin_key(os.environ["PORTAL_PIN_SECRET"], org_id)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="-", help="JSON-lines file (default: standard output)")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                        help="the demo's today (default: the school's today)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    demo = Demo(args.seed, args.today)
    lines = demo.build()
    text = "".join(line + "\n" for line in lines)
    if args.out == "-":
        sys.stdout.write(text)
        help_stream = sys.stderr
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        help_stream = sys.stdout
    print(f"{len(lines)} événements / events, au {demo.today} / as of {demo.today}",
          file=help_stream)
    print("Pour lier les enfants de démonstration / To link the demo children:", file=help_stream)
    for board, student, method, email in demo.linking_help:
        print(f"  {email}: {board} — {student['last_name']}, {student['first_name']}, "
              f"né(e) le / born {student['birth_date']}, fiche {student['student_number']}, "
              f"code permanent {student['permanent_code']} ({method})", file=help_stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
