"""Demo data: a fictional school service centre and a private school, as their school systems
would publish them, so that a local portal has living children to show.

    python scripts/demo_school.py [--out FILE] [--as-of YYYY-MM-DD] [--seed N]
    python scripts/demo_school.py | python -m contracts.publish -

Writes JSON lines of `sis` events (full envelopes, each validated with `contracts.parse`):
2 boards, 5 schools (primary and secondary), the 2026-2027 calendar with Québec's holidays,
about 200 students with valid student numbers and permanent codes, their guardians, a few PINs,
courses and teachers, transport, the absences of the last weeks, bulletins, statements of
account, messages and resources. The same seed and --as-of give the same file, byte for byte.

The demo parent, parent.demo@example.org, is the guardian of two children in two boards; what
that parent types to link each child is printed at the end (on stderr when events go to stdout).
"""
import argparse
import collections
import datetime as dt
import itertools
import random
import sys
import unicodedata
import uuid
from pathlib import Path

# Run as a plain script from anywhere: the contracts package lives at the repository's top.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contracts  # noqa: E402
from contracts.envelope import subject_of  # noqa: E402

YEAR = "2026-2027"
FIRST_DAY, LAST_DAY = dt.date(2026, 8, 27), dt.date(2027, 6, 22)
DEMO_EMAIL = "parent.demo@example.org"
PIN_DEMO_EMAIL = "parent.nip@example.org"
HOLIDAYS = [  # Québec statutory holidays, breaks and pedagogical days of a typical CSS calendar
    ("2026-09-07", "Fête du Travail"), ("2026-09-25", "Journée pédagogique"),
    ("2026-10-12", "Action de grâce"), ("2026-10-23", "Journée pédagogique"),
    ("2026-11-13", "Journée pédagogique"), ("2026-11-27", "Journée pédagogique"),
    *[(f"2026-12-{d}", "Vacances des Fêtes") for d in (23, 24, 25, 28, 29, 30, 31)],
    *[(f"2027-01-0{d}", "Vacances des Fêtes") for d in (1, 4, 5)],
    ("2027-01-29", "Journée pédagogique"), ("2027-02-19", "Journée pédagogique"),
    *[(f"2027-03-0{d}", "Semaine de relâche") for d in range(1, 6)],
    ("2027-03-26", "Vendredi saint"), ("2027-03-29", "Lundi de Pâques"),
    ("2027-04-23", "Journée pédagogique"), ("2027-05-24", "Journée nationale des patriotes"),
]
REASONS = [("MAL", "Maladie", "Illness"), ("RDV", "Rendez-vous médical", "Medical appointment"),
           ("FAM", "Raison familiale", "Family reason"), ("DEU", "Deuil", "Bereavement"),
           ("SPO", "Activité sportive", "Sports event"), ("AUT", "Autre", "Other")]
BOARDS = [
    {"id": "css-trois-lacs", "name": "Centre de services scolaire des Trois-Lacs",
     "kind": "public", "domain": "trois-lacs.example.org", "city": "Lac-Vert",
     "schools": [("ecole-du-ruisseau", "École du Ruisseau", "primary", 60),
                 ("ecole-des-hirondelles", "École des Hirondelles", "primary", 50),
                 ("polyvalente-du-plateau", "Polyvalente du Plateau", "secondary", 60)]},
    {"id": "college-boisjoli", "name": "Collège Boisjoli", "kind": "private",
     "domain": "boisjoli.example.org", "city": "Sainte-Adèle-des-Monts",
     "schools": [("primaire", "Collège Boisjoli — primaire", "primary", 12),
                 ("secondaire", "Collège Boisjoli — secondaire", "secondary", 24)]},
]
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


def school_days(first, last, days_off):
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in days_off:
            yield day
        day += dt.timedelta(days=1)


class Demo:
    """Builds the events in a deterministic order from one seeded random generator."""

    def __init__(self, seed, as_of):
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.lines = []
        self.days_off = {dt.date.fromisoformat(day) for day, _ in HOLIDAYS}
        self.past_days = [d for d in school_days(FIRST_DAY, as_of, self.days_off) if d < as_of]
        self.linking_help = []
        self.counter = 0
        self.serials = collections.defaultdict(lambda: itertools.count(1))
        self.student_numbers = set()

    def serial(self, prefix, width=6):
        """A unique id: random ids would collide across a few hundred records."""
        return f"{prefix}-{next(self.serials[prefix]):0{width}d}"

    def uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def emit(self, type, data):
        spec = contracts.EVENTS[type]
        self.counter += 1
        when = dt.datetime.combine(self.as_of, dt.time(5), dt.timezone.utc)
        event = contracts.parse({
            "id": self.uuid(), "type": type, "version": spec.latest_version, "source": "sis",
            "subject": subject_of(spec, data), "time": when + dt.timedelta(milliseconds=self.counter),
            "correlation_id": f"demo-{self.as_of.isoformat()}", "data": data,
        })
        self.lines.append(event.to_json())

    # --- schools -----------------------------------------------------------------------------
    def schools(self):
        for board in BOARDS:
            org = {key: board[key] for key in ("id", "name", "kind")}
            for n, (key, name, level, _) in enumerate(board["schools"]):
                school_id = f"{board['id']}.{key}"
                tiles = ["messages", "absences", "results", "finances", "record", "resources",
                         "contact"] + (["agenda", "homework"] if level == "secondary" else [])
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
                self.emit("SchoolCalendarPublished", {
                    "school_id": school_id, "school_year": YEAR, "first_day": FIRST_DAY,
                    "last_day": LAST_DAY,
                    "days_off": [{"date": day, "label": label} for day, label in HOLIDAYS],
                    "day_start": "08:00" if level == "secondary" else "08:10",
                    "day_end": "15:30" if level == "secondary" else "15:05",
                    "absence_reasons": [{"code": c, "label_fr": fr, "label_en": en}
                                        for c, fr, en in REASONS]})
                self.emit("SchoolSettingsChanged", {
                    "school_id": school_id, "show_group_averages": level == "secondary",
                    "show_assignment_results": level == "secondary"})
            self.emit("ReenrollmentOpened", {"org_id": board["id"], "school_year": "2027-2028",
                                             "opens_on": "2027-01-18", "closes_on": "2027-02-05"})

    # --- students and families ---------------------------------------------------------------
    def child(self, board, school, grade, last_name=None, first_name=None, girl=None,
              birth_date=None):
        girl = self.rng.random() < 0.5 if girl is None else girl
        first_name = first_name or self.rng.choice(GIRLS if girl else BOYS)
        last_name = last_name or self.rng.choice(LAST_NAMES)
        if birth_date is None:
            offset = {"M": -1, "P": 0, "S": 6}[grade[0]] + int(grade[1]) - 1
            born_from = dt.date(2019 - offset, 10, 1)
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

    def enrol(self, student, school, guardians):
        self.emit("StudentEnrolled", student)
        for index, (guardian, access) in enumerate(guardians):
            self.emit("GuardianAssigned", {"student_id": student["student_id"], **guardian,
                                           "principal": index == 0, "access": access})
        # The family's account is the principal guardian's.
        self.record(student, school, guardians[0][0]["guardian_id"].replace(".r-", ".fam-"))

    def students(self):
        demo_children = self.demo_family()
        for board in BOARDS:
            for key, _, level, size in board["schools"]:
                school = {"id": f"{board['id']}.{key}", "level": level, "board": board}
                grades = (["M5"] + [f"P{n}" for n in range(1, 7)] if level == "primary"
                          else [f"S{n}" for n in range(1, 6)])
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

    def demo_family(self):
        """The documented demo parent: one child at the CSS, one at the private school."""
        css, private = BOARDS
        ruisseau = {"id": "css-trois-lacs.ecole-du-ruisseau", "level": "primary", "board": css}
        college = {"id": "college-boisjoli.secondaire", "level": "secondary", "board": private}
        lea = self.child(css, ruisseau, "P3", "Gagnon", "Léa", True, dt.date(2018, 8, 5))
        thomas = self.child(private, college, "S4", "Gagnon-Roy", "Thomas", False,
                            dt.date(2011, 3, 14))
        for student, school in ((lea, ruisseau), (thomas, college)):
            board = school["board"]
            julie = self.guardian(board, "Julie", "Gagnon", DEMO_EMAIL)
            other = self.guardian(board, "Mathieu", "Roy")
            self.enrol(student, school, [(julie, True), (other, True)])
            self.linking_help.append((board["name"], student, "email", DEMO_EMAIL))
        # A guardian without an email links with the PIN the school gave them.
        zoe = self.child(css, ruisseau, "P5", "Lévesque", "Zoé", True, dt.date(2016, 5, 21))
        nadia = self.guardian(css, "Nadia", "Lévesque", PIN_DEMO_EMAIL)
        self.enrol(zoe, ruisseau, [(dict(nadia, email=None), True)])
        pin = self.issue_pin(zoe, nadia)
        self.linking_help.append((css["name"], zoe, f"NIP/PIN {pin}", PIN_DEMO_EMAIL))
        return [(lea, ruisseau), (thomas, college), (zoe, ruisseau)]

    def issue_pin(self, student, guardian):
        pin = f"{self.rng.randrange(1_000_000):06d}"
        self.emit("GuardianPinIssued", {
            "student_id": student["student_id"], "guardian_id": guardian["guardian_id"],
            "pin_hash": contracts.pin_hash(student["student_id"], pin),
            "expires_on": self.as_of + dt.timedelta(days=60)})
        return pin

    # --- what the school records about each child ---------------------------------------------
    def record(self, student, school, account):
        sid, level = student["student_id"], school["level"]
        subjects = PRIMARY_SUBJECTS if level == "primary" else SECONDARY_SUBJECTS
        teachers = self.rng.sample(TEACHERS, len(subjects))
        domain = school["board"]["domain"]
        self.emit("CourseAssigned", {"student_id": sid, "school_year": YEAR, "courses": [
            {"code": f"{code}{student['grade'][1]}", "name": name, "teacher_name": teacher,
             "teacher_email": (f"{slug(teacher.split()[0])}.{slug(teacher.split()[-1])}@{domain}"
                               if self.rng.random() < 0.6 else None),
             "group": student["group"]}
            for (code, name), teacher in zip(subjects, teachers)]})
        if school["board"]["kind"] == "public" and self.rng.random() < 0.7:
            self.emit("TransportAssigned", {
                "student_id": sid, "route": f"Circuit {self.rng.randrange(1, 60)}",
                "stop": f"{self.rng.choice(['Rue', 'Chemin', 'Montée'])} "
                        f"{self.rng.choice(['du Lac', 'des Pins', 'Principale', 'du Moulin'])}",
                "morning_pickup": f"07:{self.rng.randrange(5, 45):02d}",
                "afternoon_dropoff": f"15:{self.rng.randrange(40, 59):02d}"})
        if level == "secondary":
            self.timetable(student, subjects)
        self.absences(student, level)
        self.results(student, subjects, level)
        self.statements(student, school, account)

    def timetable(self, student, subjects):
        entries = []
        for day in range(1, 10):
            for slot, start, end in ((1, "08:15", "09:30"), (2, "09:45", "11:00"),
                                     (3, "12:15", "13:30"), (4, "13:45", "15:00")):
                code, name = subjects[(day + slot) % len(subjects)]
                entries.append({"day": day, "start": start, "end": end,
                                "course_code": f"{code}{student['grade'][1]}", "course_name": name,
                                "room": f"{'ABC'[slot % 3]}-{100 + 10 * slot + day}"})
        self.emit("TimetablePublished", {"student_id": student["student_id"], "school_year": YEAR,
                                         "cycle_length": 9, "entries": entries})
        if self.rng.random() < 0.08 and self.past_days:
            self.emit("DetentionRecorded", {
                "detention_id": self.serial("ret"),
                "student_id": student["student_id"], "date": self.rng.choice(self.past_days[-10:]),
                "start": "15:10", "end": "16:10", "reason": "Travaux non remis",
                "location": "Local C-110"})

    def absences(self, student, level):
        recent = self.past_days[-15:]
        for day in sorted(self.rng.sample(recent, k=min(len(recent), self.rng.choice([0, 0, 1, 2, 3])))):
            lateness = self.rng.random() < 0.35
            data = {"absence_id": self.serial("abs", 8),
                    "student_id": student["student_id"], "school_id": student["school_id"],
                    "date": day, "kind": "lateness" if lateness else "absence",
                    "requires_justification": self.rng.random() < 0.6,
                    "reason_code": None if self.rng.random() < 0.6 else self.rng.choice(REASONS)[0]}
            if lateness:
                minutes = self.rng.randrange(3, 40)
                data.update(period="period" if level == "secondary" else "am",
                            period_number=1 if level == "secondary" else None,
                            start_time=f"08:{10 + minutes:02d}", minutes_late=minutes)
            elif level == "secondary" and self.rng.random() < 0.5:
                data.update(period="period", period_number=self.rng.randrange(1, 5))
            else:
                data.update(period=self.rng.choice(["full_day", "full_day", "am", "pm"]))
            self.emit("AbsenceRecorded", data)

    def results(self, student, subjects, level):
        sid, school_id = student["student_id"], student["school_id"]
        published = [("first_communication", None, dt.date(2026, 10, 15)),
                     ("term", 1, dt.date(2026, 11, 20))]
        for kind, term, visible in published:
            if visible > self.as_of + dt.timedelta(days=7):
                continue
            marks = {code: self.rng.randrange(58, 98) for code, _ in subjects}
            self.emit("BulletinPublished", {
                "bulletin_id": f"bul-{kind[:3]}-{sid}", "student_id": sid, "school_id": school_id,
                "school_year": YEAR, "kind": kind, "term": term, "visible_from": visible,
                "subjects": [{"code": code, "name": name, "competencies": [],
                              "mark": marks[code] if kind == "term" else None,
                              "group_average": (self.rng.randrange(68, 80)
                                                if kind == "term" and level == "secondary" else None),
                              "comment": self.rng.choice([None, "Bon travail.", "Doit réviser ses notions.",
                                                          "Participe bien en classe."])}
                             for code, name in subjects]})
        if level == "secondary":
            for n in range(self.rng.randrange(1, 4)):
                code, name = self.rng.choice(subjects)
                self.emit("AssignmentResultPublished", {
                    "result_id": self.serial("trv", 7), "student_id": sid,
                    "school_id": school_id, "school_year": YEAR, "subject_code": code,
                    "subject_name": name, "title": f"Évaluation {n + 1}",
                    "date": self.rng.choice(self.past_days[-20:]), "points": self.rng.randrange(10, 21),
                    "out_of": 20, "weight": 10, "group_average": self.rng.randrange(65, 80),
                    "comment": None})
            code, name = self.rng.choice(subjects)
            assigned = self.past_days[-1]
            self.emit("HomeworkPublished", {
                "homework_id": self.serial("dev", 7), "student_id": sid,
                "school_id": school_id, "subject_code": code, "subject_name": name,
                "kind": "homework", "title": "Exercices du chapitre 4",
                "description": "Pages 112 à 115, numéros impairs.", "assigned_on": assigned,
                "due_on": assigned + dt.timedelta(days=7)})
            if student["grade"] == "S5":  # last year's ministry exams, taken in secondary 4
                self.emit("MinistryResultPublished", {
                    "result_id": f"mee-2026-{student['student_number']}", "student_id": sid,
                    "school_id": school_id, "school_year": "2025-2026", "exam_code": "055410",
                    "subject_name": "Science et technologie", "grade": "S4",
                    "mark": self.rng.randrange(55, 96), "passed": True, "visible_from": "2026-07-06"})

    def statements(self, student, school, account):
        sid = student["student_id"]
        lines = [{"description": "Matériel didactique", "amount_cents": self.rng.randrange(60, 140) * 100},
                 {"description": "Sorties éducatives", "amount_cents": self.rng.randrange(2, 6) * 1000}]
        total = sum(line["amount_cents"] for line in lines)
        paid = self.rng.choice([0, total, total // 2])
        statement_id = self.serial("edc")
        self.emit("StatementIssued", {
            "statement_id": statement_id, "account_id": account, "student_id": sid,
            "school_id": school["id"], "kind": "school", "period": YEAR, "issued_on": "2026-09-15",
            "due_date": "2026-10-15", "lines": lines, "total_cents": total, "paid_cents": paid,
            "balance_cents": total - paid, "payment_reference": f"{student['student_number']}01",
            "visible_from": None, "document_url": None})
        if paid:
            self.emit("PaymentRecorded", {
                "payment_id": self.serial("pai"), "account_id": account,
                "statement_id": statement_id, "student_id": sid, "amount_cents": paid,
                "paid_on": "2026-09-29"})
        if school["level"] == "primary" and self.rng.random() < 0.4:
            month = self.as_of.replace(day=1)
            fee = 950 * len([d for d in self.past_days if d >= month])
            if fee:
                self.emit("StatementIssued", {
                    "statement_id": self.serial("sdg"), "account_id": account,
                    "student_id": sid, "school_id": school["id"], "kind": "daycare",
                    "period": month.strftime("%Y-%m"), "issued_on": self.as_of,
                    "due_date": self.as_of + dt.timedelta(days=30),
                    "lines": [{"description": "Service de garde, jours de classe", "amount_cents": fee}],
                    "total_cents": fee, "paid_cents": 0, "balance_cents": fee,
                    "payment_reference": f"{student['student_number']}02", "visible_from": None,
                    "document_url": None})
            self.emit("TaxReceiptIssued", {
                "receipt_id": f"rl24-2025-{student['student_number']}", "account_id": account,
                "student_id": sid, "year": 2025, "form": "RL-24",
                "recipient_name": f"Parent de {student['first_name']} {student['last_name']}",
                "amount_cents": self.rng.randrange(800, 2200) * 100, "issued_on": "2026-02-20",
                "document_url": None})

    # --- what the schools and boards say to every parent --------------------------------------
    def notices(self):
        for board in BOARDS:
            self.message(board, None, "org", "Bienvenue sur le Portail Parents",
                         "Vous pouvez maintenant suivre les absences, les résultats et les états "
                         "de compte de vos enfants en ligne.", 60)
            self.emit("ResourcePublished", {
                "resource_id": f"{board['id']}.calendrier", "audience": {
                    "scope": "org", "org_id": board["id"], "school_id": None, "group": None,
                    "student_id": None},
                "title": f"Calendrier scolaire {YEAR}", "kind": "document",
                "url": f"https://{board['domain']}/documents/calendrier-{YEAR}.pdf",
                "description": None})
            for key, name, level, _ in board["schools"]:
                school_id = f"{board['id']}.{key}"
                self.message(board, school_id, "school", "Journée pédagogique le 27 novembre",
                             "Il n'y aura pas de classe. Le service de garde est ouvert sur "
                             "inscription.", 10)
                self.message(board, school_id, "school", f"Photo scolaire — {name}",
                             "Le photographe sera à l'école jeudi prochain.", 3)
                self.emit("ResourcePublished", {
                    "resource_id": f"{school_id}.code-de-vie", "audience": {
                        "scope": "school", "org_id": board["id"], "school_id": school_id,
                        "group": None, "student_id": None},
                    "title": "Code de vie", "kind": "link",
                    "url": f"https://{key}.{board['domain']}/code-de-vie", "description": None})

    def message(self, board, school_id, scope, title, body, days_ago):
        at = dt.datetime.combine(self.as_of - dt.timedelta(days=days_ago), dt.time(13, 30),
                                 dt.timezone.utc)
        self.emit("MessagePublished", {
            "message_id": self.serial("msg"),
            "audience": {"scope": scope, "org_id": board["id"], "school_id": school_id,
                         "group": None, "student_id": None},
            "title": title, "body": body, "published_at": at,
            "author": "La direction" if school_id else board["name"]})

    def build(self):
        self.schools()
        self.students()
        self.notices()
        return self.lines


def default_as_of(today=None):
    """Today, kept inside the demo school year, at least twelve weeks in so that the first
    communication, absences and statements already exist."""
    today = today or dt.date.today()
    return min(max(today, FIRST_DAY + dt.timedelta(weeks=12)), LAST_DAY)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="-", help="JSON-lines file (default: standard output)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                        help="the demo's today (default: today, within the 2026-2027 year)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    demo = Demo(args.seed, args.as_of or default_as_of())
    lines = demo.build()
    text = "".join(line + "\n" for line in lines)
    if args.out == "-":
        sys.stdout.write(text)
        help_stream = sys.stderr
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        help_stream = sys.stdout
    print(f"{len(lines)} événements / events, au {demo.as_of} / as of {demo.as_of}",
          file=help_stream)
    print("Pour lier les enfants de démonstration / To link the demo children:", file=help_stream)
    for board, student, method, email in demo.linking_help:
        print(f"  {email}: {board} — {student['last_name']}, {student['first_name']}, "
              f"né(e) le / born {student['birth_date']}, fiche {student['student_number']}, "
              f"code permanent {student['permanent_code']} ({method})", file=help_stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
