"""The browser side of ``test_screens.py``, run as its own process (Playwright's synchronous API
and the test session's green threads cannot share one, see ``journey.py``):

    python -m tests.e2e.screens walk|quick-navigation|unread PORTAL_URL AMQP_URL

A family of its own (a board with a primary and a secondary school, one child in each) is seeded
through the school system's events, with something in every tile, every date derived from the
school clock; the parent creates an account by emailed code and logs in through the real
Keycloak. ``walk`` reads every screen in French and in English, at 360 px and 1280 px, and keeps
its picture in docs/screenshots/<screen>-<lang>-<phone|desktop>.png.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from datetime import date, timedelta

from playwright.sync_api import expect

from gateway.routes import ROUTES
from servicekit.schooltime import school_today
from tests.e2e.browser import AXE, DESKTOP, PHONE, SCREENSHOTS, run_page
from tests.gateway.stack import PASSWORD, publish, sis
from tests.identity.conftest import Mailbox

TILES = {"messages": "messages", "absences": "absences", "results": "resultats", "agenda": "agenda",
         "homework": "devoirs", "finances": "finances", "record": "dossier", "resources": "ressources",
         "contact": "nous-joindre", "reenrollment": "reinscription"}

# A small, honest check of the page's language: common words of the other language that the
# portal's own text must never show (school data and names are marked translate="no" and skipped).
ENGLISH_WORDS = {"the", "and", "of", "your", "with", "balance", "due", "paid", "unread", "report", "week", "today",
                 "none", "school", "results", "homework", "statement", "term", "average", "overdue", "later",
                 "download", "close", "from", "to", "no", "yes", "day", "account", "email", "nothing", "new"}
FRENCH_WORDS = {"le", "la", "les", "des", "du", "et", "à", "au", "aux", "avec", "pour", "aucun", "aucune", "payé",
                "solde", "semaine", "aujourd'hui", "étape", "moyenne", "bulletin", "retard", "motiver", "école",
                "jour", "non", "lu", "compte", "courriel", "fermer", "télécharger", "relevé", "matière", "devoir",
                "leçon", "déconnecter", "famille", "enfant", "ajouter", "sur", "dans", "est", "une", "un"}
CATALOGUE_PREFIXES = ("app", "nav", "home", "error", "form", "account", "family", "link", "child", "tile", "absences",
                      "results", "finances", "record", "contact", "agenda", "homework", "resources", "messages",
                      "reenrollment", "settings", "live", "grade", "summary")
RAW = [
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(T[\d:.]+)?"), "ISO date or timestamp"),
    (re.compile(r"\b[a-z]+_[a-z0-9_]+\b"), "snake_case word"),
    (re.compile(r"\b(?:%s)\.[a-zA-Z]+\b" % "|".join(CATALOGUE_PREFIXES)), "catalogue key"),
    (re.compile(r"\{\w+\}"), "unfilled placeholder"),
    (re.compile(r"\((?:s|es)\)"), "(s)-style plural"),
    (re.compile(r"\b(?:undefined|null|NaN)\b|\[object Object\]"), "missing value"),
]

# What the page shows as text, as a reader sees it: rendered text nodes only; school data
# (translate="no") is returned apart so that the word check skips it.
VISIBLE_TEXT = """() => {
  const ours = [], theirs = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(parent.tagName)) continue;
    if (parent.closest('option') ? !parent.closest('select').checkVisibility() : !parent.checkVisibility()) continue;
    const text = node.textContent.trim();
    if (!text) continue;
    (parent.closest('[translate="no"]') ? theirs : ours).push(text);
  }
  return {ours: ours.join(' \\n '), theirs: theirs.join(' \\n ')};
}"""


class Family:
    """One board, two schools, two children (primary: Léa, secondary: Zoé), data in every tile."""

    def __init__(self, email: str):
        tag = uuid.uuid4().hex[:6]
        self.email = email
        self.org = f"css-ecr-{tag}"
        self.primary_school, self.secondary_school = f"{self.org}.ecole-des-pins", f"{self.org}.ecole-du-lac"
        digits = "".join(str(int(c, 16) % 10) for c in tag)
        self.numbers = {"primary": f"3{digits}", "secondary": f"4{digits}"}
        self.primary = f"{self.org}.{self.numbers['primary']}"
        self.secondary = f"{self.org}.{self.numbers['secondary']}"
        self.names = {"primary": ("Léa", self.primary, self.primary_school, "P3"),
                      "secondary": ("Zoé", self.secondary, self.secondary_school, "S4")}

    def ids(self) -> list[str]:
        return [self.org, self.primary_school, self.secondary_school, self.primary, self.secondary]

    def school_events(self) -> list:
        today = school_today()
        start = today.year if today.month >= 7 else today.year - 1
        year = f"{start}-{start + 1}"
        monday = today - timedelta(days=today.weekday())
        # A pedagogical day in this week that is not today, and a holiday the week after.
        pedagogical = next(monday + timedelta(days=n) for n in (2, 3, 1, 4) if monday + timedelta(days=n) != today)
        events = []
        for school, name, level in ((self.primary_school, "École des Pins", "primary"),
                                    (self.secondary_school, "École secondaire du Lac", "secondary")):
            events.append(sis("SchoolRegistered", {
                "org": {"id": self.org, "name": "Centre de services scolaire des Écrans", "kind": "public"},
                "school": {"id": school, "name": name, "level": level,
                           "address": {"street": "125, rue des Érables", "city": "Lac-Vert", "province": "QC",
                                       "postal_code": "J0T 1A0"},
                           "phone": "819 555-0134", "email": "secretariat@ecrans.example.org",
                           "website": "https://ecrans.example.org/", "principal_name": "Hélène Tremblay",
                           "contacts": [{"role": "Secrétariat", "name": "Martine Gagnon", "phone": "819 555-0135",
                                         "email": "secretariat@ecrans.example.org"}],
                           "tiles": [t for t in TILES if t != "reenrollment"]}}))
            events.append(sis("SchoolCalendarPublished", {
                "school_id": school, "school_year": year, "first_day": date(start, 8, 27).isoformat(),
                "last_day": date(start + 1, 6, 22).isoformat(),
                "days_off": [{"date": pedagogical.isoformat(), "label": "Journée pédagogique"},
                             {"date": (monday + timedelta(days=7)).isoformat(), "label": "Congé des Fêtes"}],
                "day_start": "08:00", "day_end": "15:05",
                "absence_reasons": [{"code": "MAL", "label_fr": "Maladie", "label_en": "Illness"},
                                    {"code": "RDV", "label_fr": "Rendez-vous médical",
                                     "label_en": "Medical appointment"}]}))
            events.append(sis("SchoolSettingsChanged", {"school_id": school, "show_group_averages": True,
                                                        "show_assignment_results": True}))
        events.append(sis("ReenrollmentOpened", {"org_id": self.org, "school_year": f"{start + 1}-{start + 2}",
                                                 "opens_on": (today - timedelta(days=3)).isoformat(),
                                                 "closes_on": (today + timedelta(days=20)).isoformat()}))
        return events

    def child_events(self) -> list:
        events = []
        for key, (first, student, school, grade) in self.names.items():
            events += [
                sis("StudentEnrolled", {"student_id": student, "org_id": self.org, "school_id": school,
                                        "student_number": self.numbers[key], "permanent_code": "GAGL05581812",
                                        "last_name": "Gagnon", "first_name": first, "birth_date": "2012-08-05"
                                        if key == "secondary" else "2017-08-05", "grade": grade,
                                        "group": "301" if key == "primary" else "402"}),
                sis("GuardianAssigned", {"student_id": student, "guardian_id": f"{self.org}.g-{key}",
                                         "name": "Julie Gagnon", "email": self.email, "principal": True,
                                         "access": True}),
            ]
        return events

    def tile_events(self) -> list:
        """Something in every tile; run after the children are linked."""
        today = school_today()
        start = today.year if today.month >= 7 else today.year - 1
        year, past = f"{start}-{start + 1}", f"{start - 1}-{start}"
        day = lambda n: (today + timedelta(days=n)).isoformat()  # noqa: E731
        events = []
        subjects = [("FRA", "Français, langue d'enseignement", ["Lire", "Écrire", "Communiquer oralement"]),
                    ("MAT", "Mathématique", ["Résoudre une situation-problème", "Utiliser un raisonnement"]),
                    ("ANG", "Anglais, langue seconde", ["Interagir oralement"])]

        def bulletin(student, school, school_year, kind, term, marks, averages, visible):
            return sis("BulletinPublished", {
                "bulletin_id": f"bul-{uuid.uuid4().hex[:10]}", "student_id": student, "school_id": school,
                "school_year": school_year, "kind": kind, "term": term, "visible_from": visible,
                "subjects": [{"code": code, "name": name,
                              "competencies": [{"name": c, "mark": None if kind == "first_communication" else
                                                min(100, mark + i * 3), "rating": "B" if kind ==
                                                "first_communication" else None, "comment": None}
                                               for i, c in enumerate(comps)],
                              "mark": None if kind == "first_communication" else mark,
                              "group_average": None if kind == "first_communication" else average,
                              "comment": "Belle progression." if code == "FRA" else None}
                             for (code, name, comps), mark, average in zip(subjects, marks, averages)],
                "document_url": f"https://sis.{self.org}.example.org/bulletins/{uuid.uuid4().hex[:6]}.pdf"})

        for key, (first, student, school, grade) in self.names.items():
            events += [
                bulletin(student, school, year, "first_communication", None, [0, 0, 0], [0, 0, 0], day(-40)),
                bulletin(student, school, year, "term", 1, [78, 84, 71], [74, 76, 73], day(-10)),
                bulletin(student, school, past, "term", 1, [72, 80, 69], [73, 75, 70], None),
                bulletin(student, school, past, "term", 2, [76, 83, 74], [74, 76, 72], None),
                bulletin(student, school, past, "term", 3, [80, 86, 77], [75, 77, 73], None),
            ]
            for n, (code, name, _) in enumerate(subjects[:2]):
                events.append(sis("AssignmentResultPublished", {
                    "result_id": f"trv-{uuid.uuid4().hex[:10]}", "student_id": student, "school_id": school,
                    "school_year": year, "subject_code": code, "subject_name": name,
                    "title": f"Situation d'évaluation {n + 1}", "date": day(-5 - n), "points": 17 - n, "out_of": 20,
                    "weight": 10, "group_average": 72, "comment": "Travail soigné." if n == 0 else None}))
            events += [
                sis("AbsenceRecorded", {
                    "absence_id": f"abs-{uuid.uuid4().hex[:10]}", "student_id": student, "school_id": school,
                    "date": day(-3), "kind": "absence", "period": "full_day", "period_number": None,
                    "start_time": None, "end_time": None, "minutes_late": None, "reason_code": None,
                    "requires_justification": True}),
                sis("AbsenceRecorded", {
                    "absence_id": f"abs-{uuid.uuid4().hex[:10]}", "student_id": student, "school_id": school,
                    "date": day(-8), "kind": "lateness", "period": "am", "period_number": None,
                    "start_time": "08:00", "end_time": None, "minutes_late": 12, "reason_code": "RDV",
                    "requires_justification": False}),
                sis("DetentionRecorded", {"detention_id": f"ret-{uuid.uuid4().hex[:8]}", "student_id": student,
                                          "date": day(1), "start": "15:10", "end": "16:10",
                                          "reason": "Travaux non remis", "location": "Local C-110"}),
                sis("TimetablePublished", {
                    "student_id": student, "school_year": year, "cycle_length": 9 if key == "secondary" else None,
                    "entries": [{"day": d, "start": start_time, "end": end_time, "course_code": code,
                                 "course_name": course, "room": room}
                                for d in (range(1, 10) if key == "secondary" else range(1, 6))
                                for (start_time, end_time, code, course, room) in (
                                    ("08:15", "09:30", "MAT", "Mathématique", "B-214"),
                                    ("09:45", "11:00", "FRA", "Français", "A-102"),
                                    ("13:00", "14:15", "ANG" if d % 2 else "EPS",
                                     "Anglais" if d % 2 else "Éducation physique", "C-010"))]}),
                sis("CourseAssigned", {"student_id": student, "school_year": year, "courses": [
                    {"code": "FRA", "name": "Français", "teacher_name": "Lisanne Tannahill",
                     "teacher_email": "l.tannahill@ecrans.example.org", "group": "301"},
                    {"code": "MAT", "name": "Mathématique", "teacher_name": "Robert Parant", "teacher_email": None,
                     "group": "301"}]}),
            ]
            for n, (due, kind) in enumerate(((-2, "homework"), (0, "lesson"), (1, "homework"), (12, "homework"))):
                events.append(sis("HomeworkPublished", {
                    "homework_id": f"dev-{uuid.uuid4().hex[:10]}", "student_id": student, "school_id": school,
                    "subject_code": "FRA", "subject_name": "Français", "kind": kind,
                    "title": f"Lire le chapitre {n + 3}", "description": "Répondre aux questions 1 à 5.",
                    "assigned_on": day(min(due, 0) - 3), "due_on": day(due)}))
            account = f"{self.org}.fam-{key}"
            school_statement = f"edc-{uuid.uuid4().hex[:8]}"
            daycare_statement = f"edc-{uuid.uuid4().hex[:8]}"
            events += [
                sis("StatementIssued", {
                    "statement_id": school_statement, "account_id": account, "student_id": student,
                    "school_id": school, "kind": "school", "period": year, "issued_on": day(-30), "due_date": day(14),
                    "lines": [{"description": "Matériel didactique", "amount_cents": 8550},
                              {"description": "Sorties éducatives", "amount_cents": 4000}],
                    "total_cents": 12550, "paid_cents": 4000, "balance_cents": 8550, "payment_reference": "2093100412",
                    "visible_from": None, "document_url": f"https://sis.{self.org}.example.org/edc/1.pdf"}),
                sis("StatementIssued", {
                    "statement_id": daycare_statement, "account_id": account, "student_id": student,
                    "school_id": school, "kind": "daycare", "period": year, "issued_on": day(-40), "due_date": day(-5),
                    "lines": [{"description": "Service de garde, septembre et octobre", "amount_cents": 16900}],
                    "total_cents": 16900, "paid_cents": 0, "balance_cents": 16900, "payment_reference": "2093100777",
                    "visible_from": None, "document_url": None}),
                sis("PaymentRecorded", {"payment_id": f"pai-{uuid.uuid4().hex[:8]}", "account_id": account,
                                        "statement_id": daycare_statement, "student_id": student,
                                        "amount_cents": 8450, "paid_on": day(-20)}),
                sis("StatementIssued", {
                    "statement_id": f"edc-{uuid.uuid4().hex[:8]}", "account_id": account, "student_id": student,
                    "school_id": school, "kind": "sports", "period": year, "issued_on": day(-60), "due_date": day(-30),
                    "lines": [{"description": "Basketball parascolaire", "amount_cents": 6000}],
                    "total_cents": 6000, "paid_cents": 6000, "balance_cents": 0, "payment_reference": "2093100999",
                    "visible_from": None, "document_url": None}),
                sis("TaxReceiptIssued", {"receipt_id": f"rl24-{uuid.uuid4().hex[:8]}", "account_id": account,
                                         "student_id": student, "year": start - 1 if today.month > 2 else start - 2,
                                         "form": "RL-24", "recipient_name": "Julie Gagnon", "amount_cents": 183500,
                                         "issued_on": date(start if today.month > 2 else start - 1, 2, 20).isoformat(),
                                         "document_url": f"https://sis.{self.org}.example.org/rl24/1.pdf"}),
                sis("ResourcePublished", {"resource_id": f"res-{uuid.uuid4().hex[:8]}", "audience": {
                    "scope": "school", "org_id": self.org, "school_id": school, "group": None, "student_id": None},
                    "title": "Liste des effets scolaires", "kind": "document",
                    "url": f"https://{self.org}.example.org/effets.pdf", "description": "À se procurer avant la rentrée."}),
            ]
        events += [
            sis("TransportAssigned", {"student_id": self.primary, "route": "Circuit 42",
                                      "stop": "Rue des Pins / chemin du Lac", "morning_pickup": "07:32",
                                      "afternoon_dropoff": "15:48"}),
            sis("MinistryResultPublished", {"result_id": f"mee-{uuid.uuid4().hex[:8]}", "student_id": self.secondary,
                                            "school_id": self.secondary_school, "school_year": year,
                                            "exam_code": "063414", "subject_name": "Mathématique CST", "grade": "S4",
                                            "mark": 74, "passed": True, "visible_from": day(-100)}),
        ]
        events += self.messages()
        return events

    def messages(self) -> list:
        """Unread messages: one for the whole board (both children), one for the primary school,
        one for the secondary child alone."""
        def message(title, audience):
            return sis("MessagePublished", {"message_id": f"msg-{uuid.uuid4().hex[:10]}", "audience": dict(
                {"org_id": self.org, "school_id": None, "group": None, "student_id": None}, **audience),
                "title": title, "body": "Le service de garde sera ouvert sur inscription.",
                "published_at": f"{school_today().isoformat()}T13:05:00Z", "author": "Hélène Tremblay, directrice"})
        return [message("Journée pédagogique", {"scope": "org"}),
                message("Photo scolaire", {"scope": "school", "school_id": self.primary_school}),
                message("Rencontre de parents", {"scope": "student", "school_id": self.secondary_school, "student_id": self.secondary})]


# -- the browser ------------------------------------------------------------------------------------

class Reader:
    """Reads a screen as a parent would: nothing raw, one language, nothing wider than the phone,
    no serious accessibility fault; keeps its pictures."""

    def __init__(self, page, family: Family):
        self.page = page
        self.family = family
        self.axe = AXE.read_text()
        self.taken: list[str] = []

    def check(self, screen: str, lang: str) -> None:
        page = self.page
        page.wait_for_selector("main:not([aria-busy]) h1")
        assert page.evaluate("document.documentElement.lang") == lang, f"{screen}: page language"
        faults = []
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(viewport)
            page.wait_for_timeout(50)
            text = page.evaluate(VISIBLE_TEXT)
            faults += [f"{label}: {what} {m.group(0)!r}" for pattern, what in RAW
                       for m in pattern.finditer(text["ours"] + "\n" + text["theirs"])]
            faults += [f"{label}: id {i!r} shown" for i in self.family.ids() if i in text["ours"] + text["theirs"]]
            words = set(re.findall(r"[\w'’]+", re.sub(r"\S+@\S+|https?://\S+", " ", text["ours"]).lower()))
            foreign = words & (ENGLISH_WORDS if lang == "fr" else FRENCH_WORDS)
            if foreign:
                faults.append(f"{label}: {'English' if lang == 'fr' else 'French'} words on a {lang} page: {sorted(foreign)}")
            width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
            if width[0] > width[1]:
                faults.append(f"{label}: {width[0]} px wide in a {width[1]} px window")
            if not page.evaluate("() => typeof axe !== 'undefined'"):
                page.evaluate(self.axe)
            result = page.evaluate("() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
            faults += [f"{label}: axe {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']][:3]}"
                       for v in result["violations"] if v["impact"] in ("serious", "critical")]
            name = f"{screen}-{lang}-{label}.png"
            page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
            self.taken.append(name)
        page.set_viewport_size(DESKTOP)
        assert not faults, f"{screen} ({lang}, {page.url}):\n" + "\n".join(faults)

    def visit(self, portal, path: str, screen: str, lang: str) -> None:
        self.page.goto(portal.url + path)
        self.check(screen, lang)


def set_language(page, lang: str) -> None:
    page.evaluate("lang => localStorage.setItem('lang', lang)", lang)


def create_account(page, portal, email: str, reader: Reader | None) -> None:
    """"Créer votre compte": a code by email, then the password (each step read in French)."""
    mailbox = Mailbox(os.environ["PORTAL_MAIL_DIR"])
    page.goto(f"{portal.url}/creer-un-compte")
    page.get_by_label("Courriel", exact=True).fill(email)
    page.get_by_role("button", name="Obtenir un code de vérification").click()
    expect(page.get_by_label("Code de vérification")).to_be_visible()
    if reader:
        reader.check("creer-un-compte-code", "fr")
    page.get_by_label("Code de vérification").fill(mailbox.code_for(email, timeout=30))
    page.get_by_role("button", name="Vérifier le code").click()
    page.get_by_label("Nouveau mot de passe").fill(PASSWORD)
    page.get_by_label("Confirmation").fill(PASSWORD)
    if reader:
        reader.check("creer-un-compte-mot-de-passe", "fr")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Votre compte est créé")).to_be_visible()


def log_in(page, portal, email: str) -> None:
    page.goto(f"{portal.url}/")
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.locator("#username").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#kc-login").click()
    page.wait_for_url(f"{portal.url}/famille")


def link_children(page, portal, family: Family, reader: Reader | None) -> None:
    page.goto(f"{portal.url}/associer")
    for key, another in (("primary", True), ("secondary", False)):
        first = family.names[key][0]
        page.get_by_label("Centre de services scolaire ou école privée").select_option(family.org)
        page.get_by_label("Nom de famille de l'enfant").fill("Gagnon")
        page.get_by_label("Prénom de l'enfant").fill(first)
        page.get_by_label("Date de naissance").fill("2012-08-05" if key == "secondary" else "2017-08-05")
        page.get_by_label("Numéro de fiche (7 chiffres)").fill(family.numbers[key])
        page.get_by_label("Associer un autre enfant après celui-ci").set_checked(another)
        if reader and key == "primary":
            reader.check("associer-un-enfant", "fr")
        page.get_by_role("button", name="Soumettre").click()
        if another:
            expect(page.locator("main .notice")).to_be_visible()
    page.wait_for_url(re.compile(r".*/enfants/.*"))


def seeded_family(page, portal, amqp_url: str, reader: Reader | None = None) -> Family:
    email = f"ecrans.{uuid.uuid4().hex[:10]}@example.org"
    family = Family(email)
    publish(family.school_events() + family.child_events(), amqp_url)
    create_account(page, portal, email, reader)
    log_in(page, portal, email)
    link_children(page, portal, family, reader)
    publish(family.tile_events(), amqp_url)
    # Every service has taken the events in once the last of each one's shows.
    for student, tile, last in ((family.secondary, "results", "Mathématique CST"),
                                (family.secondary, "finances", "Relevé 24"),
                                (family.secondary, "agenda", "Travaux non remis"),
                                (family.secondary, "homework", "Lire le chapitre 6"),
                                (family.primary, "record", "Circuit 42"),
                                (family.secondary, "messages", "Rencontre de parents")):
        shown_after_reloads(page, f"{portal.url}/enfants/{student}/{tile}", last)
    return family


def shown_after_reloads(page, url: str, text: str, timeout: float = 30) -> None:
    """``text`` on the page at ``url``, loading it again until the services have caught up."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        page.wait_for_selector("main:not([aria-busy]) h1")
        if page.get_by_text(text).count():
            return
        assert time.monotonic() < deadline, f"{text!r} never shown at {url}"
        page.wait_for_timeout(500)


def walk(page, portal, amqp_url):
    reader = Reader(page, Family("nobody@example.org"))
    for lang in ("fr", "en"):
        page.goto(f"{portal.url}/")
        set_language(page, lang)
        for path, screen in (("/", "accueil"), ("/creer-un-compte", "creer-un-compte"),
                             ("/mot-de-passe-oublie", "mot-de-passe-oublie")):
            reader.visit(portal, path, screen, lang)
    set_language(page, "fr")
    family = seeded_family(page, portal, amqp_url, reader)
    reader.family = family
    screens = [("/famille", "famille"), ("/associer", "associer-un-enfant-formulaire"), ("/messages", "messages"),
               ("/compte", "mon-compte")]
    for key, label in (("primary", "primaire"), ("secondary", "secondaire")):
        student = family.names[key][1]
        screens.append((f"/enfants/{student}", f"enfant-{label}"))
        screens += [(f"/enfants/{student}/{tile}", f"{name}-{label}") for tile, name in TILES.items()]
    screens.append((f"/enfants/{family.primary}/results?annee={_past_year()}", "resultats-annee-passee-primaire"))
    for lang in ("fr", "en"):
        set_language(page, lang)
        for path, screen in screens:
            reader.visit(portal, path, screen, lang)
    # A refused supporting document says why, before anything is sent.
    set_language(page, "fr")
    page.goto(f"{portal.url}/enfants/{family.primary}/absences")
    page.locator("summary", has_text="Motiver").first.click()
    page.get_by_label("Pièce justificative").set_input_files(
        files=[{"name": "note.txt", "mimeType": "text/plain", "buffer": b"pas une image"}])
    expect(page.get_by_text("Ce type de fichier n'est pas accepté")).to_be_visible()
    page.get_by_label("Pièce justificative").set_input_files(
        files=[{"name": "note.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024)}])
    expect(page.get_by_text("la limite est de 5 Mo")).to_be_visible()
    reader.check("absences-piece-refusee", "fr")
    page.get_by_label("Pièce justificative").set_input_files(
        files=[{"name": "note.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"0" * 2048}])
    page.locator("form.inline").first.get_by_role("button", name="Soumettre").click()
    expect(page.get_by_text("Motivée").first).to_be_visible()
    # Two-factor authentication turned on (set up at the next login), then off, from the account page.
    page.goto(f"{portal.url}/compte")
    page.get_by_role("button", name="Activer la validation en deux étapes").click()
    expect(page.locator("main").get_by_text("À votre prochaine connexion, vous configurerez")).to_be_visible()
    page.get_by_role("button", name="Désactiver la validation en deux étapes").click()
    expect(page.locator("main").get_by_text("La validation en deux étapes est désactivée")).to_be_visible()
    expect(page.get_by_role("button", name="Activer la validation en deux étapes")).to_be_visible()
    # A session opened elsewhere (another browser) is listed and closed from here.
    elsewhere = page.context.browser.new_context(locale="fr-CA", viewport=PHONE)
    log_in(elsewhere.new_page(), portal, family.email)
    page.goto(f"{portal.url}/compte")
    other = page.locator("[data-session=other]")
    expect(other).to_have_count(1)
    other.get_by_role("button", name="Fermer cette session").click()
    expect(page.locator("main").get_by_text("La session est fermée.")).to_be_visible()
    page.goto(f"{portal.url}/compte")
    expect(page.locator("[data-session=other]")).to_have_count(0)
    elsewhere.close()
    # The PDF downloads, once the gateway offers them.
    if any(r.path.endswith("/pdf") for r in ROUTES):
        for path, button in ((f"/enfants/{family.primary}/results", "Télécharger le bulletin (PDF)"),
                             (f"/enfants/{family.primary}/finances", "Télécharger le relevé (PDF)")):
            page.goto(portal.url + path)
            with page.expect_download() as download:
                page.get_by_role("button", name=button).first.click()
            assert open(download.value.path(), "rb").read(5) == b"%PDF-", path
    print("\n".join(sorted(set(reader.taken))))


def _past_year() -> str:
    today = school_today()
    start = today.year if today.month >= 7 else today.year - 1
    return f"{start - 1}-{start}"


def quick_navigation(page, portal, amqp_url):
    """A second click while the first screen still loads: the page ends on the second, even when
    the first one's answer comes last (it is held until the second screen is shown)."""
    family = seeded_family(page, portal, amqp_url)
    student = family.primary
    pairs = [
        ("/famille", "Messages", "**/api/v1/inbox*", "Mon compte", "Mon compte"),
        ("/famille", "Mon compte", "**/api/v1/me", "Famille", "Famille"),
        (f"/enfants/{student}", "Famille", "**/api/v1/family", "Messages", "Messages de l'école"),
    ]
    for start, first, held_url, second, second_title in pairs:
        page.goto(portal.url + start)
        page.wait_for_selector("main:not([aria-busy]) h1")
        held = []
        # Only the first screen's request is held; any later one goes through.
        page.route(held_url, lambda route: route.continue_() if held else held.append(route))
        menu = page.get_by_role("navigation", name="Menu principal")
        menu.get_by_role("link", name=first, exact=True).click()
        expect_held(page, held)
        menu.get_by_role("link", name=second, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(second_title)
        with page.expect_response(lambda r: r.url == held[0].request.url):
            held[0].continue_()
        page.unroute(held_url)
        # The first screen's answer has arrived: its render runs now, and must not land.
        page.wait_for_timeout(500)
        expect(page.get_by_role("heading", level=1)).to_have_text(second_title)
        assert page.locator("main h1").count() == 1
    # And plain quick clicks, nothing held, in every order.
    for first, second, second_title in (("Messages", "Mon compte", "Mon compte"), ("Mon compte", "Famille", "Famille"),
                                        ("Ajouter un enfant", "Messages", "Messages de l'école")):
        page.goto(f"{portal.url}/enfants/{student}")
        page.wait_for_selector("main:not([aria-busy]) h1")
        nav = page.get_by_role("navigation", name="Menu principal")
        nav.get_by_role("link", name=first, exact=True).click()
        nav.get_by_role("link", name=second, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(second_title)
        page.wait_for_timeout(800)
        expect(page.get_by_role("heading", level=1)).to_have_text(second_title)


def expect_held(page, held: list, timeout: float = 10) -> None:
    deadline = timeout * 1000
    waited = 0
    while not held and waited < deadline:
        page.wait_for_timeout(20)
        waited += 20
    assert held, "the first screen never asked its data"


def unread(page, portal, amqp_url):
    """Every unread count (family card, child's tile, child's messages, all messages) agrees with
    the messages listed, before and after one is marked read."""
    family = seeded_family(page, portal, amqp_url)
    for _ in range(2):
        listed = {}
        for student in (family.primary, family.secondary):
            page.goto(f"{portal.url}/enfants/{student}/messages")
            page.wait_for_selector("main:not([aria-busy]) h1")
            items = page.locator("li.message.unread").count()
            said = int(page.locator(".unread-count").get_attribute("data-unread"))
            assert items == said, (student, items, said)
            listed[student] = items
            page.goto(f"{portal.url}/enfants/{student}")
            page.wait_for_selector("main:not([aria-busy]) h1")
            assert int(page.locator("[data-tile=messages] [data-count]").get_attribute("data-count")) == items, student
        page.goto(f"{portal.url}/famille")
        page.wait_for_selector("main:not([aria-busy]) h1")
        for student, items in listed.items():
            card = page.locator(f"[data-child='{student}'] [data-news=messages]")
            assert int(card.get_attribute("data-count")) == items, (student, card.inner_text(), items)
        page.goto(f"{portal.url}/messages")
        page.wait_for_selector("main:not([aria-busy]) h1")
        all_items = page.locator("li.message.unread").count()
        assert all_items == int(page.locator(".unread-count").get_attribute("data-unread"))
        # The board's message counts on both children, once in all messages.
        assert (all_items, listed) in ((3, {family.primary: 2, family.secondary: 2}),
                                       (2, {family.primary: 1, family.secondary: 2})), (all_items, listed)
        if all_items == 3:
            # Read the primary school's message on the messages page, then count everything again.
            page.locator("li.message.unread", has_text="Photo scolaire").get_by_role("button", name="Marquer comme lu").click()
            expect(page.locator(".unread-count")).to_have_attribute("data-unread", "2")


def busy(page, portal, amqp_url):
    """Turned away by a gateway at capacity (503 ``overloaded`` with Retry-After, as the gateway
    answers it), the page says so, waits and asks again by itself."""
    refused = []

    def at_capacity(route):
        if refused:
            route.continue_()
            return
        refused.append(route.request.url)
        route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/json", body=json.dumps({
            "code": "overloaded", "field": None,
            "message": "Beaucoup de parents consultent le portail en ce moment. Réessayez dans quelques secondes."}))

    page.route("**/api/v1/**/codes", at_capacity)
    page.goto(f"{portal.url}/creer-un-compte")
    page.get_by_label("Courriel", exact=True).fill(f"occupe.{uuid.uuid4().hex[:10]}@example.org")
    page.get_by_role("button", name="Obtenir un code de vérification").click()
    expect(page.get_by_role("status").filter(
        has_text="Beaucoup de parents consultent le portail en ce moment : nouvel essai dans 1 s")).to_be_visible()
    expect(page.get_by_label("Code de vérification")).to_be_visible()  # asked again, and answered
    expect(page.locator("#busy")).to_have_count(0)
    assert len(refused) == 1


def main(name: str, portal_url: str, amqp_url: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    scenarios = {"walk": walk, "quick-navigation": quick_navigation, "unread": unread, "busy": busy}
    run_page(scenarios[name], f"screens-{name}", portal_url, amqp_url)


if __name__ == "__main__":
    main(*sys.argv[1:4])
