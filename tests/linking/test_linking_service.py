"""The linking service against the real RabbitMQ and PostgreSQL."""
import dataclasses
import os
import re
import subprocess
import sys
import unicodedata
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

import contracts
from contracts import Envelope, pin_hash, pin_key
from services.attendance.service import AttendanceService
from services.linking.domain import school_today
from servicekit.schooltime import school_year_of
from services.linking.service import LinkingService
from contracts.fields import FORGOTTEN
from servicekit import store
from servicekit.cli import rebuild_projections
from servicekit.errors import Conflict, DomainError, NotFound, TooManyAttempts
from tests.support import answers, eventually, listening, publish

ROOT = Path(__file__).resolve().parents[2]


def sis(event_type, subject, **data):
    return Envelope.new(event_type, "sis", subject, data, correlation_id="school-batch")


def identity(event_type, parent_id, **data):
    return Envelope.new(event_type, "identity", parent_id, {"parent_id": parent_id, **data}, correlation_id="idp")


def permanent_code(last, first, born: date, girl: bool, digits: str = "12") -> str:
    last, first = (unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode() for n in (last, first))
    return f"{last[:3].upper()}{first[0].upper()}{born.day:02d}{born.month + (50 if girl else 0):02d}" \
           f"{born.year % 100:02d}{digits}"


class Board:
    """A school board (or private school) of its own per test, so tests never share children."""

    def __init__(self, amqp_url, db, kind="public", name=None):
        self.amqp_url, self.db = amqp_url, db
        self.org_id = f"css-{uuid.uuid4().hex[:8]}"
        self.name = name or f"Centre de services scolaire {self.org_id}"
        self.school_id = f"{self.org_id}.ecole"
        self.kind = kind
        self.sent = []

    def send(self, *events):
        publish(list(events), self.amqp_url)
        self.sent.extend(events)
        return events

    def register(self, tiles=("messages", "absences", "record", "contact")):
        return self.send(sis("SchoolRegistered", self.school_id, org={"id": self.org_id, "name": self.name,
                                                                        "kind": self.kind}, school={
            "id": self.school_id, "name": "École du Ruisseau", "level": "primary",
            "address": {"street": "125, rue des Érables", "city": "Lac-Vert", "province": "QC",
                        "postal_code": "J0T 1A0"},
            "phone": "819 555-0134", "email": "ruisseau@example.org", "website": "https://ruisseau.example.org",
            "principal_name": "Hélène Tremblay",
            "contacts": [{"role": "Secrétariat", "name": "Martine Gagnon", "phone": "819 555-0135",
                          "email": "secretariat@example.org"}],
            "tiles": list(tiles)}))[0]

    def enrol(self, last="Gagnon-Roy", first="Léa", born=date(2018, 8, 5), girl=True, guardians=()):
        number = str(uuid.uuid4().int % 9_000_000 + 1_000_000)
        student = {"student_id": f"{self.org_id}.{number}", "org_id": self.org_id, "school_id": self.school_id,
                   "student_number": number, "permanent_code": permanent_code(last, first, born, girl),
                   "last_name": last, "first_name": first, "birth_date": born, "grade": "P3", "group": "301"}
        self.send(sis("StudentEnrolled", student["student_id"], **student))
        for guardian in guardians:
            self.guardian(student, **guardian)
        return student

    def guardian(self, student, guardian_id, email=None, principal=True, access=True, name="Julie Gagnon"):
        return self.send(sis("GuardianAssigned", student["student_id"], student_id=student["student_id"],
                             guardian_id=guardian_id, name=name, email=email, principal=principal, access=access))[0]

    def settled(self):
        """Wait until linking stored every event sent so far."""
        ids = [uuid.UUID(e.id) for e in self.sent]
        eventually(lambda: stored(self.db, ids) == len(ids))


def stored(db, ids) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM events WHERE event_id = ANY(:ids)"), {"ids": ids}).scalar()


def form(student, **changes):
    return {"org_id": student["org_id"], "last_name": student["last_name"], "first_name": student["first_name"],
            "birth_date": student["birth_date"].isoformat(), "student_number": student["student_number"], **changes}


def attempts(outcome) -> float:
    return REGISTRY.get_sample_value("portal_linking_link_attempts_total", {"outcome": outcome}) or 0


def handled(event_type: str) -> float:
    """How many school events of the type this process's linking replicas have handled so far
    (taken in or found a duplicate); tests compare it with its value before."""
    return sum(REGISTRY.get_sample_value("portal_linking_events_handled_total",
                                         {"source": "sis", "type": event_type, "outcome": outcome}) or 0
               for outcome in ("applied", "duplicate"))


@pytest.fixture
def db(engine_of):
    return engine_of("linking")


@pytest.fixture
def linking(start_service):
    return start_service(LinkingService)


@pytest.fixture
def board(amqp_url, db, linking):
    made = Board(amqp_url, db)
    made.register()
    return made


@pytest.fixture
def parent(amqp_url, db, linking):
    """A verified parent account: ``(parent_id, email)``."""
    parent_id, email = str(uuid.uuid4()), f"julie.{uuid.uuid4().hex[:8]}@example.org"
    event = identity("ParentVerified", parent_id, email=email, locale="fr")
    publish([event], amqp_url)
    eventually(lambda: stored(db, [uuid.UUID(event.id)]) == 1)
    return parent_id, email


@pytest.fixture
def listener(amqp_url):
    """What the school system and the other services receive from linking."""
    with listening(amqp_url, "linking") as received:
        yield received


def linked_family(board, parent, **guardian):
    parent_id, email = parent
    student = board.enrol(guardians=[{"guardian_id": f"{board.org_id}.r-1", "email": email, **guardian}])
    board.settled()
    return student


# -- linking ------------------------------------------------------------------------------------

def test_a_parent_links_a_child_by_student_number_once_and_sees_it_in_the_family(rpc, board, parent, listener):
    parent_id, email = parent
    board.enrol(first="Noah", girl=False, guardians=[{"guardian_id": "sibling.r-1", "email": email}])
    student = linked_family(board, parent)
    answer = rpc.linking.link_child(parent_id, form(student))
    assert answer["linked"] is True and answer["already_linked"] is False
    child = answer["child"]
    assert child == {
        "student_id": student["student_id"], "first_name": "Léa", "last_name": "Gagnon-Roy", "grade": "P3",
        "school": {"id": board.school_id, "name": "École du Ruisseau"},
        "org": {"id": board.org_id, "name": board.name},
        "tiles": ["messages", "absences", "record", "contact"], "principal": True}
    assert rpc.linking.children(parent_id) == [child]
    assert rpc.linking.is_linked(parent_id, student["student_id"]) is True
    again = rpc.linking.link_child(parent_id, form(student, last_name="  GAGNON-ROY "))
    assert again["already_linked"] is True
    # A correction request made after the second linking is published after anything that linking
    # published (linking's relay keeps the order of its store): once it is here, so is any second
    # announcement.
    rpc.linking.request_correction(parent_id, student["student_id"], {"field": "phone",
                                                                      "requested_value": "819 555-0199"})
    eventually(lambda: listener("RecordCorrectionRequested"))
    linked = listener("ChildLinked")
    assert len(linked) == 1
    assert linked[0]["data"] == {"parent_id": parent_id, "student_id": student["student_id"],
                                 "school_id": board.school_id, "org_id": board.org_id, "method": "email",
                                 "guardian_id": f"{board.org_id}.r-1"}


def test_a_parent_links_by_permanent_code_typed_in_lower_case_with_spaces(rpc, board, parent):
    student = linked_family(board, parent)
    code = student["permanent_code"].lower()
    request = form(student, student_number=None, permanent_code=f"{code[:4]} {code[4:]}")
    assert rpc.linking.link_child(parent[0], request)["child"]["student_id"] == student["student_id"]


@pytest.mark.school_clock
def test_a_guardian_without_an_email_on_record_links_with_the_schools_pin_once(rpc, amqp_url, board, parent, db):
    student = board.enrol(last="Lévesque", first="Zoé", born=date(2016, 5, 21))
    nadia = f"{board.org_id}.r-9"
    board.guardian(student, nadia, email=None, name="Nadia Lévesque")
    key = pin_key(os.environ["PORTAL_PIN_SECRET"], board.org_id)  # the board's, as the operator gives it
    board.send(sis("GuardianPinIssued", student["student_id"], student_id=student["student_id"], guardian_id=nadia,
                   pin_hash=pin_hash(key, student["student_id"], "483920"), expires_on=school_today() + timedelta(days=30)))
    board.settled()
    request = form(student, student_number=None, pin="483920")
    answer = rpc.linking.link_child(parent[0], request)
    assert answer["child"]["student_id"] == student["student_id"] and answer["child"]["principal"] is True
    someone_else = str(uuid.uuid4())
    verified = identity("ParentVerified", someone_else, email="other@example.org", locale="en")
    publish([verified], amqp_url)
    eventually(lambda: stored(db, [uuid.UUID(verified.id)]) == 1)
    with pytest.raises(DomainError) as used:
        rpc.linking.link_child(someone_else, request)
    assert used.value.code == "link_mismatch"


def test_one_account_sees_children_of_two_boards(rpc, amqp_url, db, linking, parent):
    public, private = Board(amqp_url, db), Board(amqp_url, db, kind="private", name="Collège Boisjoli")
    public.register(), private.register(tiles=("messages", "agenda"))
    lea = linked_family(public, parent)
    thomas = private.enrol(last="Gagnon-Roy", first="Thomas", born=date(2011, 3, 14), girl=False,
                           guardians=[{"guardian_id": f"{private.org_id}.r-1", "email": parent[1].upper()}])
    private.settled()
    rpc.linking.link_child(parent[0], form(lea))
    rpc.linking.link_child(parent[0], form(thomas, student_number=None, permanent_code=thomas["permanent_code"]))
    family = rpc.linking.children(parent[0])
    assert [(c["first_name"], c["org"]["name"], c["tiles"]) for c in family] == [
        ("Léa", public.name, ["messages", "absences", "record", "contact"]),
        ("Thomas", "Collège Boisjoli", ["messages", "agenda"])]


MISMATCHES = [
    {"last_name": "Gagnon Roy"}, {"last_name": "GagnonRoy"}, {"first_name": "Lea"}, {"birth_date": "2018-08-06"},
    {"student_number": "1"}, {"student_number": None, "permanent_code": "GAGL05581899"},
]


def test_every_mismatch_gets_the_same_answer_naming_no_field(rpc, amqp_url, db, board, parent):
    student = linked_family(board, parent)
    stranger = Board(amqp_url, db)
    stranger.register()
    elsewhere = stranger.enrol(guardians=[{"guardian_id": "x.r-1", "email": parent[1]}])
    not_mine = board.enrol(guardians=[{"guardian_id": "x.r-2", "email": "someone@example.org"}])
    denied = board.enrol(guardians=[{"guardian_id": "x.r-3", "email": parent[1], "access": False}])
    board.settled(), stranger.settled()
    tries = [form(student, **changes) for changes in MISMATCHES[:4]] + [
        form(elsewhere, org_id=board.org_id), form(not_mine), form(denied)]
    # A second account with the same email, so that seven tries stay under the lockout.
    twin = identity("ParentVerified", str(uuid.uuid4()), email=parent[1], locale="fr")
    publish([twin], amqp_url)
    eventually(lambda: stored(db, [uuid.UUID(twin.id)]) == 1)
    answers = []
    for n, request in enumerate(tries):
        with pytest.raises(DomainError) as refused:
            rpc.linking.link_child(parent[0] if n < 4 else twin.data["parent_id"], request)
        answers.append((type(refused.value), refused.value.code, refused.value.field, refused.value.params))
    assert answers == [(DomainError, "link_mismatch", None, {})] * len(tries)
    assert rpc.linking.children(parent[0]) == []


def test_five_failures_lock_the_parent_out_with_when_to_retry_and_are_recorded(rpc, board, parent, db):
    student = linked_family(board, parent)
    before = {o: attempts(o) for o in ("mismatch", "locked_out", "linked")}
    for _ in range(5):
        with pytest.raises(DomainError):
            rpc.linking.link_child(parent[0], form(student, first_name="Lea"))
    with pytest.raises(TooManyAttempts) as locked:
        rpc.linking.link_child(parent[0], form(student))  # right, but too late
    assert locked.value.code == "link_locked"
    assert 3500 < locked.value.params["retry_after"] <= 3601 and locked.value.params["retry_at"]
    assert attempts("mismatch") - before["mismatch"] == 5 and attempts("locked_out") - before["locked_out"] == 1
    assert attempts("linked") == before["linked"]
    with db.connect() as conn:
        outcomes = conn.execute(text("SELECT outcome FROM link_attempts WHERE parent_id = :p ORDER BY id"),
                                {"p": parent[0]}).scalars().all()
    assert outcomes == ["mismatch"] * 5 + ["locked_out"]


def verified_guessers(amqp_url, db, n=5) -> list[str]:
    """Strangers with accounts of their own."""
    guessers = [str(uuid.uuid4()) for _ in range(n)]
    verified = [identity("ParentVerified", g, email=f"{g[:8]}@example.org", locale="fr") for g in guessers]
    publish(verified, amqp_url)
    eventually(lambda: stored(db, [uuid.UUID(e.id) for e in verified]) == n)
    return guessers


@pytest.mark.school_clock
def test_strangers_failures_on_a_child_never_stop_the_parent_who_has_the_guardians_email(rpc, amqp_url, board,
                                                                                        parent, db):
    student = linked_family(board, parent)
    board.send(sis("GuardianPinIssued", student["student_id"], student_id=student["student_id"],
                   guardian_id=f"{board.org_id}.r-1", expires_on=school_today() + timedelta(days=30),
                   pin_hash=pin_hash(pin_key(os.environ["PORTAL_PIN_SECRET"], board.org_id), student["student_id"],
                                     "483920")))
    board.settled()
    # Each stranger knows the child's names, birth date and number, and tries by email and by PIN.
    for guesser in verified_guessers(amqp_url, db):
        for request in (form(student), form(student, birth_date="2018-01-01"),
                        form(student, student_number=None, pin="000000")):
            with pytest.raises(DomainError) as refused:
                rpc.linking.link_child(guesser, request)
            assert refused.value.code == "link_mismatch"
    answer = rpc.linking.link_child(parent[0], form(student))
    assert answer["linked"] is True and answer["child"]["student_id"] == student["student_id"]


@pytest.mark.school_clock
def test_five_wrong_pins_on_one_child_lock_its_pin_for_every_parent(rpc, amqp_url, board, db):
    student = board.enrol(last="Lévesque", first="Zoé", born=date(2016, 5, 21))
    nadia = f"{board.org_id}.r-9"
    board.guardian(student, nadia, email=None, name="Nadia Lévesque")
    board.send(sis("GuardianPinIssued", student["student_id"], student_id=student["student_id"], guardian_id=nadia,
                   pin_hash=pin_hash(pin_key(os.environ["PORTAL_PIN_SECRET"], board.org_id), student["student_id"],
                                     "483920"), expires_on=school_today() + timedelta(days=30)))
    board.settled()
    *guessers, late = verified_guessers(amqp_url, db, 6)
    for n, guesser in enumerate(guessers):
        with pytest.raises(DomainError) as refused:
            rpc.linking.link_child(guesser, form(student, student_number=None, pin=f"00000{n}"))
        assert refused.value.code == "link_mismatch"
    with pytest.raises(TooManyAttempts) as locked:
        rpc.linking.link_child(late, form(student, student_number=None, pin="483920"))  # right, but too late
    assert locked.value.code == "link_locked"


@pytest.mark.school_clock
@pytest.mark.parametrize("changes, code, field", [
    ({"org_id": "css-nowhere"}, "organisation_not_found", "org_id"),
    ({"birth_date": (school_today() + timedelta(days=2)).isoformat()}, "birth_date_in_future", "birth_date"),
    ({"birth_date": "2018-02-30"}, "invalid_date", "birth_date"),
    ({"last_name": "x" * 200}, "invalid_length", "last_name"),
    ({"first_name": ""}, "required", "first_name"),
    ({"first_name": "Lе́a"}, "name_mixed_scripts", "first_name"),
    ({"student_number": "12-345"}, "invalid_student_number", "student_number"),
    ({"student_number": None, "permanent_code": "ABC"}, "invalid_permanent_code", "permanent_code"),
    ({"student_number": None}, "identifier_required", "student_number"),
    ({"pin": "1234"}, "one_identifier_only", "pin"),
    ({"hack": True}, "unknown_field", "hack"),
])
def test_bad_input_gets_a_clear_error_and_counts_as_no_attempt(rpc, board, parent, db, changes, code, field):
    student = linked_family(board, parent)
    with pytest.raises(DomainError) as refused:
        rpc.linking.link_child(parent[0], form(student, **changes))
    assert (refused.value.code, refused.value.field) == (code, field)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM link_attempts WHERE parent_id = :p"),
                            {"p": parent[0]}).scalar() == 0


def test_a_parent_not_yet_verified_is_told_so_and_nothing_is_counted(rpc, board, parent):
    student = linked_family(board, parent)
    with pytest.raises(DomainError) as refused:
        rpc.linking.link_child(str(uuid.uuid4()), form(student))
    assert refused.value.code == "account_not_verified"


# -- links kept right over time -----------------------------------------------------------------

def unlink_guardian_removed(board, student, guardian_id, parent, amqp_url):
    board.send(sis("GuardianRemoved", student["student_id"], student_id=student["student_id"],
                   guardian_id=guardian_id))


def unlink_access_denied(board, student, guardian_id, parent, amqp_url):
    board.guardian(student, guardian_id, email=parent[1], access=False)


def unlink_school_email_changed(board, student, guardian_id, parent, amqp_url):
    board.guardian(student, guardian_id, email="autre.adresse@example.org")


def unlink_withdrawn(board, student, guardian_id, parent, amqp_url):
    board.send(sis("StudentWithdrawn", student["student_id"], student_id=student["student_id"], date=school_today()))


def unlink_parent_email_changed(board, student, guardian_id, parent, amqp_url):
    publish([identity("ParentEmailChanged", parent[0], old_email=parent[1], new_email="nouvelle@example.org")],
            amqp_url)


def unlink_account_closed(board, student, guardian_id, parent, amqp_url):
    publish([identity("ParentAccountClosed", parent[0])], amqp_url)


@pytest.mark.school_clock
@pytest.mark.parametrize("cause, reason", [
    (unlink_guardian_removed, "guardian_removed"), (unlink_access_denied, "access_denied"),
    (unlink_school_email_changed, "email_changed"), (unlink_withdrawn, "withdrawn"),
    (unlink_parent_email_changed, "email_changed"), (unlink_account_closed, "account_closed"),
])
def test_a_link_that_no_longer_holds_is_undone_everywhere(rpc, amqp_url, start_service, board, parent, listener,
                                                          cause, reason):
    start_service(AttendanceService)
    parent_id, _ = parent
    student = linked_family(board, parent)
    sid = student["student_id"]
    rpc.linking.link_child(parent_id, form(student))
    eventually(lambda: answers(rpc.attendance.absences, parent_id, sid))
    cause(board, student, f"{board.org_id}.r-1", parent, amqp_url)
    unlinked = eventually(lambda: listener("ChildUnlinked"))
    assert [e["data"] for e in unlinked] == [{"parent_id": parent_id, "student_id": sid, "reason": reason}]
    assert unlinked[0]["correlation_id"] in ("school-batch", "idp") and unlinked[0]["causation_id"]
    assert rpc.linking.children(parent_id) == [] and rpc.linking.is_linked(parent_id, sid) is False
    with pytest.raises(NotFound):
        rpc.linking.record(parent_id, sid)
    eventually(lambda: not answers(rpc.attendance.absences, parent_id, sid))


def test_a_guardian_denied_access_cannot_link_and_another_guardian_keeps_theirs(rpc, amqp_url, db, board, parent):
    student = linked_family(board, parent)
    other_id, other_email = str(uuid.uuid4()), f"mathieu.{uuid.uuid4().hex[:6]}@example.org"
    verified = identity("ParentVerified", other_id, email=other_email, locale="fr")
    publish([verified], amqp_url)
    board.guardian(student, f"{board.org_id}.r-2", email=other_email, principal=False, name="Mathieu Roy")
    board.settled()
    eventually(lambda: stored(db, [uuid.UUID(verified.id)]) == 1)
    rpc.linking.link_child(parent[0], form(student))
    assert rpc.linking.link_child(other_id, form(student))["child"]["principal"] is False
    board.guardian(student, f"{board.org_id}.r-2", email=other_email, principal=False, access=False)
    eventually(lambda: not rpc.linking.is_linked(other_id, student["student_id"]))
    assert rpc.linking.is_linked(parent[0], student["student_id"]) is True
    with pytest.raises(DomainError) as refused:
        rpc.linking.link_child(other_id, form(student))
    assert refused.value.code == "link_mismatch"


@pytest.mark.school_clock
def test_the_school_s_newest_fact_wins_whatever_the_order_of_arrival(rpc, board, parent):
    """A removal or withdrawal that overtakes the older assignment or enrolment still holds."""
    parent_id, email = parent
    removed_first = board.enrol()
    assigned = sis("GuardianAssigned", removed_first["student_id"], student_id=removed_first["student_id"],
                   guardian_id="g-1", name="Julie Gagnon", email=email, principal=True, access=True)
    removed = sis("GuardianRemoved", removed_first["student_id"], student_id=removed_first["student_id"],
                  guardian_id="g-1")
    board.send(removed, dataclasses.replace(assigned, time=removed.time - timedelta(seconds=5)))
    number = str(uuid.uuid4().int % 9_000_000 + 1_000_000)
    late = {**removed_first, "student_id": f"{board.org_id}.{number}", "student_number": number}
    withdrawn = sis("StudentWithdrawn", late["student_id"], student_id=late["student_id"], date=school_today())
    enrolled = sis("StudentEnrolled", late["student_id"], **late)
    board.send(withdrawn, dataclasses.replace(enrolled, time=withdrawn.time - timedelta(seconds=5)))
    board.guardian(late, "g-2", email=email)
    board.settled()
    for student in (removed_first, late):
        with pytest.raises(DomainError) as refused:
            rpc.linking.link_child(parent_id, form(student))
        assert refused.value.code == "link_mismatch"


def test_two_replicas_unlink_each_child_once(rpc, start_service, board, parent, listener):
    """Two consumers of one queue, the school's events twice: one ChildUnlinked per lost link."""
    start_service(LinkingService)
    parent_id, email = parent
    children = [board.enrol(first=name, guardians=[{"guardian_id": f"{board.org_id}.r-{n}", "email": email}])
                for n, name in enumerate(("Léa", "Noah", "Emma", "Liam", "Zoé", "Jade", "Léo"))]
    board.settled()
    for child in children:
        rpc.linking.link_child(parent_id, form(child))
    children, kept = children[:-1], children[-1]
    removals = [sis("GuardianRemoved", c["student_id"], student_id=c["student_id"], guardian_id=f"{board.org_id}.r-{n}")
                for n, c in enumerate(children)]
    before = handled("GuardianRemoved")
    board.send(*removals)
    board.send(*removals)
    # Both copies of every removal handled (by one replica or the other, each after its commit),
    # then a correction request about the child kept: published after every ChildUnlinked stored.
    eventually(lambda: handled("GuardianRemoved") - before == 2 * len(removals))
    rpc.linking.request_correction(parent_id, kept["student_id"], {"field": "phone", "requested_value": "819 555-0199"})
    eventually(lambda: listener("RecordCorrectionRequested"))
    unlinked = listener("ChildUnlinked")
    assert sorted(e["data"]["student_id"] for e in unlinked) == sorted(c["student_id"] for c in children)
    assert {e["data"]["reason"] for e in unlinked} == {"guardian_removed"}
    assert [c["student_id"] for c in rpc.linking.children(parent_id)] == [kept["student_id"]]


# -- what a linked parent reads -----------------------------------------------------------------

@pytest.mark.school_clock
def test_the_record_shows_subjects_teachers_published_emails_and_transport(rpc, board, parent, db):
    student = linked_family(board, parent)
    sid = student["student_id"]
    board.send(
        sis("CourseAssigned", sid, student_id=sid, school_year=school_year_of(school_today()), courses=[
            {"code": "FRA132", "name": "Français", "teacher_name": "Lisanne Tannahill",
             "teacher_email": "l.tannahill@example.org", "group": "301"},
            {"code": "ANG132", "name": "Anglais", "teacher_name": "Robert Parant", "teacher_email": None,
             "group": "301"}]),
        sis("TransportAssigned", sid, student_id=sid, route="Circuit 42", stop="Rue des Pins",
            morning_pickup="07:32", afternoon_dropoff="15:48"))
    board.settled()
    rpc.linking.link_child(parent[0], form(student))
    record = rpc.linking.record(parent[0], sid)
    assert [(c["teacher_name"], c["teacher_email"]) for c in record["courses"]] == [
        ("Lisanne Tannahill", "l.tannahill@example.org"), ("Robert Parant", None)]
    assert record["transport"] == {"route": "Circuit 42", "stop": "Rue des Pins", "morning_pickup": "07:32",
                                   "afternoon_dropoff": "15:48"}
    assert record["student"]["birth_date"] == "2018-08-05" and record["school_year"] == school_year_of(school_today())
    contact = rpc.linking.contact(parent[0], sid)
    assert contact["school"]["principal_name"] == "Hélène Tremblay"
    assert contact["school"]["contacts"][0]["role"] == "Secrétariat" and contact["org"]["name"] == board.name
    with db.connect() as conn:
        logged = conn.execute(text("SELECT what FROM access_log WHERE parent_id = :p AND student_id = :s"),
                              {"p": parent[0], "s": sid}).scalars().all()
    assert {"link_child", "record", "contact"} <= set(logged)


def test_a_child_not_linked_is_answered_like_a_child_that_does_not_exist(rpc, board, parent):
    student = linked_family(board, parent)
    for call in (rpc.linking.record, rpc.linking.contact, rpc.linking.corrections, rpc.linking.reenrollment):
        for who, whose in ((parent[0], student["student_id"]), (parent[0], "css-x.nobody")):
            with pytest.raises(NotFound) as refused:
                call(who, whose)
            assert refused.value.code == "child_not_found"
    assert rpc.linking.is_linked(parent[0], student["student_id"]) is False
    assert rpc.linking.is_linked(parent[0], None) is False


def test_the_directory_is_searched_ignoring_accents_and_case_by_pages(rpc, amqp_url, db, linking):
    tag = uuid.uuid4().hex[:6]
    boards = [Board(amqp_url, db, name=f"CSS des Îles {tag} {n}") for n in range(3)]
    private = Board(amqp_url, db, kind="private", name=f"Collège Élan {tag}")
    for b in (*boards, private):
        b.register()
        b.settled()
    first = rpc.linking.organisations(f"iles {tag}", 1, 2)
    assert first["total"] == 3 and [o["name"] for o in first["items"]] == [b.name for b in boards[:2]]
    assert [o["name"] for o in rpc.linking.organisations(f"ILES {tag}", 2, 2)["items"]] == [boards[2].name]
    assert rpc.linking.organisations(tag, 1, 10, "private")["items"] == [
        {"id": private.org_id, "name": private.name, "kind": "private"}]
    with pytest.raises(DomainError) as refused:
        rpc.linking.organisations("", 1, 500)
    assert (refused.value.code, refused.value.field) == ("invalid_page_size", "page_size")


# -- requests to the school ---------------------------------------------------------------------

def test_a_correction_request_reaches_the_school_and_the_parent_follows_it(rpc, board, parent, listener):
    student = linked_family(board, parent)
    sid = student["student_id"]
    rpc.linking.link_child(parent[0], form(student))
    asked = rpc.linking.request_correction(parent[0], sid, {"field": "address",
                                                            "requested_value": "48, rue du Quai, Lac-Vert"})
    sent = eventually(lambda: listener("RecordCorrectionRequested"))
    assert sent[0]["data"]["request_id"] == asked["request_id"] and sent[0]["subject"] == sid
    assert [c["status"] for c in rpc.linking.corrections(parent[0], sid)] == ["pending"]
    board.send(sis("CorrectionResolved", sid, request_id=asked["request_id"], student_id=sid, status="done",
                   comment="Adresse mise à jour."))
    done = eventually(lambda: [c for c in rpc.linking.corrections(parent[0], sid) if c["status"] == "done"])
    assert done[0]["resolution_comment"] == "Adresse mise à jour."
    with pytest.raises(DomainError) as refused:
        rpc.linking.request_correction(parent[0], sid, {"field": "grades", "requested_value": "A+"})
    assert (refused.value.code, refused.value.field) == ("invalid_choice", "field")


def next_school_year() -> str:
    start = int(school_year_of(school_today())[:4]) + 1
    return f"{start}-{start + 1}"


def open_period(board, opens_on, closes_on):
    board.send(sis("ReenrollmentOpened", board.org_id, org_id=board.org_id, school_year=next_school_year(),
                   opens_on=opens_on, closes_on=closes_on))
    board.settled()


@pytest.mark.school_clock
def test_the_principal_guardian_answers_reenrolment_once_during_the_period(rpc, amqp_url, db, board, parent,
                                                                           listener):
    student = linked_family(board, parent)
    sid = student["student_id"]
    other_id, other_email = str(uuid.uuid4()), f"mathieu.{uuid.uuid4().hex[:6]}@example.org"
    publish([identity("ParentVerified", other_id, email=other_email, locale="fr")], amqp_url)
    board.guardian(student, f"{board.org_id}.r-2", email=other_email, principal=False)
    today = school_today()
    open_period(board, today - timedelta(days=2), today + timedelta(days=10))
    rpc.linking.link_child(parent[0], form(student))
    eventually(lambda: _linked_now(rpc, other_id, student))
    shown = rpc.linking.reenrollment(parent[0], sid)
    assert shown["open"] is shown["period"]["open"] is True and shown["principal"] is True
    assert shown["answer"] is None
    with pytest.raises(DomainError) as not_principal:
        rpc.linking.submit_reenrollment(other_id, sid, "decline")
    assert not_principal.value.code == "not_principal_guardian"
    assert rpc.linking.submit_reenrollment(parent[0], sid, {"decision": "confirm"}) == {
        "school_year": next_school_year(), "decision": "confirm"}
    sent = eventually(lambda: listener("ReenrollmentSubmitted"))
    assert sent[0]["data"]["decision"] == "confirm" and sent[0]["data"]["parent_id"] == parent[0]
    with pytest.raises(Conflict):
        rpc.linking.submit_reenrollment(parent[0], sid, "decline")
    assert rpc.linking.reenrollment(other_id, sid)["answer"]["decision"] == "confirm"
    with pytest.raises(DomainError) as bad:
        rpc.linking.submit_reenrollment(parent[0], sid, "maybe")
    assert (bad.value.code, bad.value.field) == ("invalid_choice", "decision")


def _linked_now(rpc, parent_id, student):
    try:
        return rpc.linking.link_child(parent_id, form(student))
    except DomainError:
        return None


@pytest.mark.school_clock
def test_reenrolment_outside_the_period_is_refused(rpc, board, parent):
    student = linked_family(board, parent)
    today = school_today()
    open_period(board, today + timedelta(days=5), today + timedelta(days=20))
    rpc.linking.link_child(parent[0], form(student))
    shown = rpc.linking.reenrollment(parent[0], student["student_id"])
    assert shown["open"] is shown["period"]["open"] is False
    with pytest.raises(DomainError) as refused:
        rpc.linking.submit_reenrollment(parent[0], student["student_id"], "confirm")
    assert refused.value.code == "reenrollment_closed"


# -- the parent's own data ----------------------------------------------------------------------

def test_export_holds_the_parents_data_and_a_closed_account_is_forgotten(rpc, amqp_url, board, parent, db,
                                                                          database_url):
    student = linked_family(board, parent)
    sid = student["student_id"]
    with pytest.raises(DomainError):
        rpc.linking.link_child(parent[0], form(student, first_name="Lea"))
    rpc.linking.link_child(parent[0], form(student))
    rpc.linking.request_correction(parent[0], sid, {"field": "phone", "requested_value": "819 555-0199"})
    mine = rpc.linking.export(parent[0])
    assert mine["parent"]["email"] == parent[1] and [c["student_id"] for c in mine["children"]] == [sid]
    assert [a["outcome"] for a in mine["link_attempts"]] == ["mismatch", "linked"]
    assert mine["corrections"][0]["field"] == "phone" and mine["access_log"]
    publish([identity("ParentAccountClosed", parent[0])], amqp_url)
    eventually(lambda: not rpc.linking.is_linked(parent[0], sid))

    def held():
        with db.connect() as conn:
            left = {table: conn.execute(text(f"SELECT count(*) FROM {table} WHERE parent_id = :p"),
                                        {"p": parent[0]}).scalar()
                    for table in ("links", "corrections", "link_attempts", "access_log")}
            email = conn.execute(text("SELECT email FROM parents WHERE parent_id = :p"), {"p": parent[0]}).scalar()
            # The parent's personal fields in the store: their email (identity's events) and
            # what they asked to correct (linking's own).
            stored = {(e.type, name): value for chunk in store.read_all(conn) for e in chunk
                      if e.data.get("parent_id") == parent[0]
                      for name, value in e.data.items() if name in ("email", "requested_value")}
        return left, email, stored

    forgotten = (dict.fromkeys(("links", "corrections", "link_attempts", "access_log"), 0), None,
                 {("ParentVerified", "email"): FORGOTTEN, ("RecordCorrectionRequested", "requested_value"): FORGOTTEN})
    assert held() == forgotten
    rebuild_projections("linking", database_url("linking"))
    assert held() == forgotten


def test_rebuilding_the_projections_gives_the_same_links(rpc, board, parent, database_url):
    from servicekit.cli import rebuild_projections

    student = linked_family(board, parent)
    rpc.linking.link_child(parent[0], form(student))
    before = rpc.linking.children(parent[0])
    assert rebuild_projections("linking", database_url("linking"))["events"] > 0
    assert rpc.linking.children(parent[0]) == before


# -- the demo board -----------------------------------------------------------------------------

@pytest.mark.school_clock
def test_the_demo_parents_link_the_demo_children_with_what_the_script_prints(rpc, amqp_url, db, linking):
    made = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_school.py")], capture_output=True,
                          text=True, timeout=120, check=True, cwd=ROOT)
    wanted = set(contracts.consumed_by("linking", "sis"))
    events = [e for e in map(contracts.parse, made.stdout.splitlines()) if e.type in wanted]
    accounts = {email: str(uuid.uuid4()) for email in ("parent.demo@example.org", "parent.nip@example.org")}
    events += [identity("ParentVerified", parent_id, email=email, locale="fr") for email, parent_id in accounts.items()]
    publish(events, amqp_url)
    eventually(lambda: stored(db, [uuid.UUID(e.id) for e in events]) == len(events), timeout=120)
    boards = {e.data["org"]["name"]: e.data["org"]["id"] for e in events if e.type == "SchoolRegistered"}
    told = re.findall(r"^  (\S+): (.+) — (.+), (.+), né\(e\) le / born (\S+), fiche (\d+), "
                      r"code permanent \S+ \((?:email|NIP/PIN (\d+))\)$", made.stderr, re.MULTILINE)
    assert len(told) == 3
    for email, board, last, first, born, number, pin in told:
        request = {"org_id": boards[board], "last_name": last, "first_name": first, "birth_date": born}
        request.update({"pin": pin} if pin else {"student_number": number})
        assert rpc.linking.link_child(accounts[email], request)["linked"] is True
    assert [c["first_name"] for c in rpc.linking.children(accounts["parent.demo@example.org"])] == ["Léa", "Thomas"]
    assert [c["first_name"] for c in rpc.linking.children(accounts["parent.nip@example.org"])] == ["Zoé"]
