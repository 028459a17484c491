"""The portal's own PDFs, a bulletin and a Relevé 24, against the real servers: made from the
services' answers, readable by a PDF reader, in French or English, logged like every read, and
behind the same link and visible-from checks as every child route."""
import io
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, text

from gateway.openapi import document
from gateway.routes import ROUTES
from services.attendance.service import AttendanceService
from services.billing.service import BillingService
from services.grades.service import GradesService
from services.linking.service import LinkingService
from servicekit.schooltime import school_today, school_year_of
from tests.gateway.stack import child_events, linked_family, parent_verified, publish, request, sis
from tests.support import eventually

pytestmark = pytest.mark.school_clock

API = "/api/v1"
ORG, SCHOOL = "css-doc", "css-doc.ecole-d"
NUMBER, OTHER_NUMBER = "7100001", "7100002"
STUDENT, OTHER_STUDENT = f"{ORG}.{NUMBER}", f"{ORG}.{OTHER_NUMBER}"
YEAR = school_year_of(school_today())


def settings(show_group_averages: bool):
    return sis("SchoolSettingsChanged", {"school_id": SCHOOL, "show_group_averages": show_group_averages,
                                         "show_assignment_results": True})


def bulletin(student_id: str, visible_from=None):
    return sis("BulletinPublished", {
        "bulletin_id": f"bul-{uuid.uuid4().hex[:10]}", "student_id": student_id, "school_id": SCHOOL,
        "school_year": YEAR, "kind": "term", "term": 1, "visible_from": visible_from,
        "subjects": [
            {"code": "FRA", "name": "Français, langue d'enseignement",
             "competencies": [{"name": "Lire", "mark": 84}, {"name": "Écrire", "mark": 78}],
             "mark": 81, "group_average": 76, "comment": "Belle progression."},
            {"code": "EPS", "name": "Éducation physique et à la santé",
             "competencies": [{"name": "Agir dans divers contextes", "rating": "B+"}]}],
        "document_url": "https://sis.example.org/bulletins/b.pdf"})


def receipt(student_id: str):
    year = school_today().year - 1
    return sis("TaxReceiptIssued", {
        "receipt_id": f"rl24-{uuid.uuid4().hex[:10]}", "account_id": f"{ORG}.fam-1", "student_id": student_id,
        "year": year, "form": "RL-24", "recipient_name": "Julie Gagnon", "amount_cents": 183500,
        "issued_on": f"{year + 1}-02-20", "document_url": "https://sis.example.org/releves/r.pdf"})


def get(base: str, path: str, token: str, language: str | None = None) -> tuple[int, str, bytes]:
    """(status, content type, the raw bytes)."""
    req = urllib.request.Request(base + API + path, headers={"Authorization": f"Bearer {token}"})
    if language:
        req.add_header("Accept-Language", language)
    try:
        with urllib.request.urlopen(req, timeout=20) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def pdf_text(raw: bytes) -> str:
    """The text a PDF reader finds, whitespace made plain (no-break spaces included)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(raw)).pages).split())


def link(base: str, token: str, number: str, first_name: str) -> None:
    eventually(lambda: request(base, "POST", f"{API}/children", token, {
        "org_id": ORG, "last_name": "Gagnon", "first_name": first_name, "birth_date": "2018-08-05",
        "student_number": number})[0] == 201, timeout=20, interval=0.3)


@pytest.fixture
def school(start_service, served_gateway, keycloak_realm, amqp_url, database_url):
    """Léa's parent (A) linked; B with no child; C linked to another child (Noé); the school shows
    group averages; Léa has a bulletin visible today, one visible in ten days, and a Relevé 24."""
    for service in (LinkingService, AttendanceService, GradesService, BillingService):
        start_service(service)
    gateway = served_gateway()
    token_a, token_b, _ = linked_family(gateway.url, keycloak_realm, amqp_url, ORG, SCHOOL, NUMBER)
    email_c = f"c{time.monotonic_ns()}@example.org"
    parent_c = keycloak_realm.add_parent(email_c)
    publish(child_events(ORG, SCHOOL, OTHER_NUMBER, "Noé", email_c) + [parent_verified(parent_c, email_c)], amqp_url)
    token_c = keycloak_realm.token(email_c)
    link(gateway.url, token_c, OTHER_NUMBER, "Noé")
    shown, later, others = bulletin(STUDENT), bulletin(STUDENT, school_today() + timedelta(days=10)), bulletin(
        OTHER_STUDENT)
    relevé, others_relevé = receipt(STUDENT), receipt(OTHER_STUDENT)
    publish([settings(True), shown, later, others, relevé, others_relevé], amqp_url)
    grades, billing = create_engine(database_url("grades")), create_engine(database_url("billing"))

    def stored():
        bulletins = [e.data["bulletin_id"] for e in (shown, later, others)]
        receipts = [e.data["receipt_id"] for e in (relevé, others_relevé)]
        with grades.connect() as g, billing.connect() as b:
            return (g.execute(text("SELECT count(*) FROM bulletins WHERE bulletin_id = ANY(:ids)"),
                              {"ids": bulletins}).scalar() == 3
                    and g.execute(text("SELECT show_group_averages FROM school_settings WHERE school_id = :s"),
                                  {"s": SCHOOL}).scalar() is True
                    and b.execute(text("SELECT count(*) FROM tax_receipts WHERE receipt_id = ANY(:ids)"),
                                  {"ids": receipts}).scalar() == 2)

    eventually(stored, timeout=20, interval=0.2)
    yield {"gateway": gateway, "a": token_a, "b": token_b, "c": token_c, "shown": shown.data["bulletin_id"],
           "later": later.data["bulletin_id"], "others": others.data["bulletin_id"],
           "relevé": relevé.data["receipt_id"], "others_relevé": others_relevé.data["receipt_id"],
           "grades": grades, "billing": billing}
    grades.dispose()
    billing.dispose()


def reads(engine, what: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM access_log WHERE student_id = :s AND what = :w"),
                            {"s": STUDENT, "w": what}).scalar()


def test_the_bulletin_pdf_holds_the_child_the_school_and_the_marks_in_french_and_english(school, amqp_url):
    base, path = school["gateway"].url, f"/children/{STUDENT}/bulletins/{school['shown']}/pdf"
    before = reads(school["grades"], "bulletin")
    status, content_type, raw = get(base, path, school["a"])
    assert (status, content_type) == (200, "application/pdf"), raw[:300]
    french = pdf_text(raw)
    for expected in ("École ecole-d", "Bulletin, étape 1", f"Année scolaire {YEAR}", "Élève : Léa Gagnon",
                     "Français, langue d'enseignement", "81 %", "Lire 84 %", "Écrire 78 %", "Moyenne du groupe",
                     "76 %", "Belle progression.", "Éducation physique et à la santé",
                     "Agir dans divers contextes B+"):
        assert expected in french, (expected, french)
    assert "sis.example.org" not in french
    # A PDF download is a read of the child's data.
    assert reads(school["grades"], "bulletin") == before + 1

    _, _, english = get(base, path + "?lang=en", school["a"])
    assert "Report card, term 1" in pdf_text(english) and "Student: Léa Gagnon" in pdf_text(english)
    assert "81%" in pdf_text(english)
    _, _, asked = get(base, path, school["a"], language="en-CA,en;q=0.9")
    assert "Report card, term 1" in pdf_text(asked)

    # The school stops showing group averages: they are gone from the PDF too (grades removes them).
    publish([settings(False)], amqp_url)
    hidden = eventually(lambda: (lambda t: t if "Moyenne du groupe" not in t else None)(
        pdf_text(get(base, path, school["a"])[2])))
    assert "76 %" not in hidden and "81 %" in hidden


def test_the_releve_24_pdf_holds_the_child_the_recipient_and_the_amount(school):
    base, path = school["gateway"].url, f"/children/{STUDENT}/tax-receipts/{school['relevé']}/pdf"
    before = reads(school["billing"], "tax_receipt")
    status, content_type, raw = get(base, path, school["a"])
    assert (status, content_type) == (200, "application/pdf"), raw[:300]
    french = pdf_text(raw)
    year = school_today().year - 1
    for expected in ("Relevé 24 – Frais de garde d'enfants", f"Année d'imposition {year}", "Émis à Julie Gagnon",
                     "Enfant Léa Gagnon", "Frais de garde payés 1 835,00 $", f"20 février {year + 1}"):
        assert expected in french, (expected, french)
    assert reads(school["billing"], "tax_receipt") == before + 1
    _, _, english = get(base, path, school["a"], language="en")
    assert "RL-24 slip" in pdf_text(english) and "$1,835.00" in pdf_text(english)


def test_another_parent_an_unlinked_parent_and_a_document_not_yet_visible_get_the_same_404_as_an_unknown_id(
        school, keycloak_realm, amqp_url):
    base = school["gateway"].url
    # D, Léa's second guardian, links, reads her bulletin, then the school takes the access away.
    email_d = f"d{time.monotonic_ns()}@example.org"
    parent_d = keycloak_realm.add_parent(email_d)
    guardian = {"student_id": STUDENT, "guardian_id": f"{ORG}.g-d{uuid.uuid4().hex[:6]}", "name": "Marc Gagnon",
                "email": email_d, "principal": False, "access": True}
    publish([sis("GuardianAssigned", guardian), parent_verified(parent_d, email_d)], amqp_url)
    token_d = keycloak_realm.token(email_d)
    link(base, token_d, NUMBER, "Léa")
    bulletin_pdf = f"/children/{STUDENT}/bulletins/{school['shown']}/pdf"
    relevé_pdf = f"/children/{STUDENT}/tax-receipts/{school['relevé']}/pdf"
    eventually(lambda: get(base, bulletin_pdf, token_d)[0] == 200, timeout=20, interval=0.2)
    publish([sis("GuardianAssigned", dict(guardian, access=False))], amqp_url)
    eventually(lambda: get(base, bulletin_pdf, token_d)[0] == 404, timeout=20, interval=0.2)

    refused = {
        "another parent": [(school["c"], bulletin_pdf), (school["c"], relevé_pdf)],
        "a parent with no child": [(school["b"], bulletin_pdf), (school["b"], relevé_pdf)],
        "an unlinked parent": [(token_d, bulletin_pdf), (token_d, relevé_pdf)],
        "before visible-from": [(school["a"], f"/children/{STUDENT}/bulletins/{school['later']}/pdf")],
        "another child's document": [
            (school["a"], f"/children/{STUDENT}/bulletins/{school['others']}/pdf"),
            (school["a"], f"/children/{STUDENT}/tax-receipts/{school['others_relevé']}/pdf")],
        "an unknown id": [(school["a"], f"/children/{STUDENT}/bulletins/bul-nope/pdf"),
                          (school["a"], f"/children/{STUDENT}/tax-receipts/rl24-nope/pdf"),
                          (school["a"], f"/children/{ORG}.0000000/bulletins/{school['shown']}/pdf")],
    }
    answers = {(who, path): get(base, path, token) for who, tries in refused.items() for token, path in tries}
    assert {status for status, _, _ in answers.values()} == {404}
    assert len({raw for _, _, raw in answers.values()}) == 1, answers
    # ... the very answer of every child route about a child that is not the parent's.
    assert get(base, f"/children/{STUDENT}/absences", school["b"])[2] == next(iter(answers.values()))[2]
    # ... while the linked parent gets the document.
    assert get(base, bulletin_pdf, school["a"])[0] == get(base, relevé_pdf, school["a"])[0] == 200


def test_the_routes_are_in_the_openapi_document_as_pdf():
    paths = document(ROUTES)["paths"]
    for path in ("/children/{student_id}/bulletins/{bulletin_id}/pdf",
                 "/children/{student_id}/tax-receipts/{receipt_id}/pdf"):
        operation = paths[path]["get"]
        assert list(operation["responses"]["200"]["content"]) == ["application/pdf"]
        assert "404" in operation["responses"]


def test_every_kind_of_document_is_drawn_with_the_names_as_written():
    """Without servers: the first communication, a term without group averages, the federal
    receipt; a name no PDF core font can show comes out of the reader as it went in."""
    from gateway import documents
    from gateway.messages import Catalogue

    child = {"first_name": "Nguyễn Thị", "last_name": "Łukasiewicz-Côté", "school": {"name": "École Saint-Éloi"},
             "org": {"name": "Centre de services scolaire des Découvreurs"}}
    subjects = [{"code": "MAT", "name": "Mathématique", "competencies": [{"name": "Résoudre", "mark": 67}],
                 "mark": 70, "comment": "Œuvre à ses méthodes de travail."}]
    first = {"kind": "first_communication", "term": None, "school_year": YEAR, "subjects": subjects,
             "published_at": "2026-10-15T16:00:00+00:00"}
    name, raw = documents.bulletin(first, child, "fr", Catalogue())
    text = pdf_text(raw)
    assert name == f"premiere-communication-{YEAR}.pdf"
    for expected in ("Première communication", "Nguyễn Thị Łukasiewicz-Côté", "École Saint-Éloi", "Résoudre 67 %",
                     "Œuvre à ses méthodes de travail.", "Publié le 15 octobre 2026"):
        assert expected in text, (expected, text)
    assert "Moyenne du groupe" not in text  # grades removed them: no empty column either
    federal = {"receipt_id": "rf-1", "year": 2025, "form": "federal", "recipient_name": "Đặng Văn Lâm",
               "amount_cents": 99_999_999, "issued_on": "2026-02-27"}
    name, raw = documents.tax_receipt(federal, child, "en", Catalogue())
    text = pdf_text(raw)
    assert name == "receipt-for-childcare-expenses-federal-tax-2025.pdf"
    for expected in ("Receipt for childcare expenses (federal tax)", "Issued to Đặng Văn Lâm", "$999,999.99",
                     "February 27, 2026"):
        assert expected in text, (expected, text)
