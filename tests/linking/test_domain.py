"""Linking's rules, without servers."""
import hashlib
from datetime import date, datetime, timedelta, timezone

import pytest

from contracts import pin_hash, pin_key
from services.linking import domain
from servicekit.errors import Conflict, DomainError

TODAY = date(2027, 1, 20)
SECRET = "linking-pin-secret"
KEY = pin_key(SECRET, "css-a")
LEA = domain.Student("css-a.1234567", "css-a", "css-a.ruisseau", "Gagnon-Roy", "Léa", date(2018, 8, 5), False)


def request(**changes):
    typed = {"org_id": "css-a", "last_name": "Gagnon-Roy", "first_name": "Léa", "birth_date": date(2018, 8, 5),
             "student_number": "1234567", "permanent_code": None, "pin": None, **changes}
    return domain.check_link_request(**typed, today=TODAY)


def guardian(gid="g1", email="julie@example.org", principal=True, access=True, removed=False):
    return domain.Guardian(gid, email, principal, access, removed)


@pytest.mark.parametrize("typed, record", [
    ("Léa", "Léa"), ("  LÉA ", "Léa"), ("Marie  Ève", "Marie Ève"), ("L\u0065\u0301a", "Léa"),
    ("D’Amour", "D'Amour"),
])
def test_names_compare_after_normalisation_case_and_spaces(typed, record):
    assert domain.name_key(typed) == domain.name_key(record)


@pytest.mark.parametrize("typed, record", [
    ("Lea", "Léa"), ("Gagnon Roy", "Gagnon-Roy"), ("GagnonRoy", "Gagnon-Roy"), ("Marie-Eve", "Marie-Ève"),
])
def test_accents_hyphens_and_spaces_between_words_still_count(typed, record):
    assert domain.name_key(typed) != domain.name_key(record)


@pytest.mark.parametrize("changes, code, field", [
    ({"last_name": "   "}, "required", "last_name"),
    ({"first_name": "x" * 200}, "invalid_length", "first_name"),
    ({"last_name": "G\u0430gnon"}, "name_mixed_scripts", "last_name"),  # Cyrillic а inside Latin
    ({"first_name": "L3a"}, "invalid_name", "first_name"),
    ({"birth_date": TODAY + timedelta(days=1)}, "birth_date_in_future", "birth_date"),
    ({"birth_date": date(1900, 1, 1)}, "birth_date_out_of_range", "birth_date"),
    ({"student_number": None}, "identifier_required", "student_number"),
    ({"permanent_code": "GAGL05581812"}, "one_identifier_only", "permanent_code"),
    ({"student_number": "12345678"}, "invalid_student_number", "student_number"),
    ({"student_number": "12a"}, "invalid_student_number", "student_number"),
    ({"student_number": None, "permanent_code": "GAG05581812"}, "invalid_permanent_code", "permanent_code"),
    ({"student_number": None, "permanent_code": "GAGL05131812"}, "invalid_permanent_code", "permanent_code"),
    ({"student_number": None, "pin": "12"}, "invalid_pin", "pin"),
])
def test_every_format_rule_names_its_field(changes, code, field):
    with pytest.raises(DomainError) as refused:
        request(**changes)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_permanent_code_is_read_in_capitals_without_spaces_and_may_lack_its_ministry_digits():
    assert request(student_number=None, permanent_code=" gagl 0558 1812").permanent_code == "GAGL05581812"
    assert request(student_number=None, permanent_code="GAGL055818").permanent_code == "GAGL055818"


def test_a_guardian_with_access_whose_email_is_the_parents_links_by_email():
    match = domain.decide_link(request(), LEA, [guardian()], [], "julie@example.org", TODAY, SECRET)
    assert (match.method, match.guardian_id) == ("email", "g1")


@pytest.mark.parametrize("changes, guardians, email", [
    ({"last_name": "Gagnon Roy"}, [guardian()], "julie@example.org"),
    ({"birth_date": date(2018, 8, 6)}, [guardian()], "julie@example.org"),
    ({"org_id": "css-b"}, [guardian()], "julie@example.org"),
    ({}, [guardian()], "other@example.org"),
    ({}, [guardian(access=False)], "julie@example.org"),
    ({}, [guardian(removed=True)], "julie@example.org"),
    ({}, [guardian()], None),
])
def test_anything_off_is_one_and_the_same_mismatch(changes, guardians, email):
    assert domain.decide_link(request(**changes), LEA, guardians, [], email, TODAY, SECRET) is None


def test_a_withdrawn_student_cannot_be_linked():
    gone = domain.Student(LEA.student_id, LEA.org_id, LEA.school_id, LEA.last_name, LEA.first_name,
                          LEA.birth_date, withdrawn=True)
    assert domain.decide_link(request(), gone, [guardian()], [], "julie@example.org", TODAY, SECRET) is None


def test_a_pin_links_once_until_it_expires_and_only_for_a_guardian_with_access():
    typed = request(student_number=None, pin="483920")
    good = domain.Pin("g2", pin_hash(KEY, LEA.student_id, "483920"), TODAY, used=False)
    nadia = guardian("g2", email=None)
    assert domain.decide_link(typed, LEA, [nadia], [good], None, TODAY, SECRET).method == "pin"
    for pin, who in ((domain.Pin("g2", good.pin_hash, TODAY, True), nadia),
                     (domain.Pin("g2", good.pin_hash, TODAY - timedelta(days=1), False), nadia),
                     (domain.Pin("g2", pin_hash(KEY, LEA.student_id, "000000"), TODAY, False), nadia),
                     (good, guardian("g2", email=None, access=False))):
        assert domain.decide_link(typed, LEA, [who], [pin], None, TODAY, SECRET) is None


def test_a_pin_hashed_under_another_boards_key_does_not_link():
    typed = request(student_number=None, pin="483920")
    elsewhere = domain.Pin("g2", pin_hash(pin_key(SECRET, "css-b"), LEA.student_id, "483920"), TODAY, used=False)
    assert domain.decide_link(typed, LEA, [guardian("g2", email=None)], [elsewhere], None, TODAY, SECRET) is None


def test_the_published_pin_hash_does_not_fall_to_a_brute_force_of_the_million_pins_without_the_key():
    published = pin_hash(KEY, LEA.student_id, "483920")
    # The attack on the unkeyed hash: the student id is in the same event, six digits are 10^6 tries.
    found = [pin for pin in (f"{n:06d}" for n in range(1_000_000))
             if hashlib.sha256(f"{LEA.student_id}:{pin}".encode()).hexdigest() == published]
    assert found == []
    # With the key the right PIN is the one that matches.
    assert pin_hash(pin_key(SECRET, LEA.org_id), LEA.student_id, "483920") == published


def test_five_failures_in_the_hour_lock_until_the_oldest_of_them_leaves_it():
    now = datetime(2027, 1, 20, 12, 0, tzinfo=timezone.utc)
    failures = [now - timedelta(minutes=m) for m in (50, 40, 30, 20)]
    assert domain.retry_at(failures) is None
    assert domain.retry_at(failures + [now]) == now - timedelta(minutes=50) + domain.FAILURE_WINDOW


def test_the_attempt_key_does_not_tell_whether_the_child_exists():
    typed = request()
    assert domain.attempt_key(typed, LEA) == LEA.student_id
    assert domain.attempt_key(typed, None) == domain.attempt_key(request(), None) != LEA.student_id
    assert domain.attempt_key(request(student_number=None, pin="483920"), LEA) == f"pin:{LEA.student_id}"


def test_a_childs_failures_stop_pin_attempts_and_never_an_attempt_by_email():
    now = datetime(2027, 1, 20, 12, 0, tzinfo=timezone.utc)
    others = [now - timedelta(minutes=m) for m in range(5)]
    by_email, by_pin = request(), request(student_number=None, pin="483920")
    assert domain.lockout(by_email, [], others) is None
    assert domain.lockout(by_pin, [], others) == others[-1] + domain.FAILURE_WINDOW
    # A parent's own failures stop both.
    assert domain.lockout(by_email, others, []) == domain.lockout(by_pin, others, []) is not None


LINK = domain.Link("p1", LEA.student_id, "email", "g1")


@pytest.mark.parametrize("student, guardians, email, closed, cause, reason", [
    (LEA, [guardian()], "julie@example.org", False, "email_changed", None),
    (LEA, [guardian()], "julie@example.org", True, "account_closed", "account_closed"),
    (None, [guardian()], "julie@example.org", False, "withdrawn", "withdrawn"),
    (LEA, [guardian(access=False)], "julie@example.org", False, "email_changed", "access_denied"),
    (LEA, [guardian(removed=True)], "julie@example.org", False, "guardian_removed", "guardian_removed"),
    (LEA, [guardian()], "new@example.org", False, "email_changed", "email_changed"),
])
def test_a_link_holds_only_while_the_record_still_says_so(student, guardians, email, closed, cause, reason):
    assert domain.broken_by(LINK, student, guardians, email, closed, cause) == reason


def test_a_pin_link_does_not_depend_on_the_parents_email():
    link = domain.Link("p1", LEA.student_id, "pin", "g2")
    assert domain.broken_by(link, LEA, [guardian("g2", None)], "new@example.org", False, "email_changed") is None
    assert domain.broken_by(link, LEA, [guardian("g2", None, access=False)], None, False, "x") == "access_denied"


def test_a_child_is_announced_linked_once():
    family = domain.ParentLinks("0f5e2d8a-3c41-4b7e-9d2a-6c1b8e4f7a90")
    match = domain.Match(LEA, "email", "g1")
    assert family.link(match, "c").data["guardian_id"] == "g1"
    assert family.link(match, "c") is None
    assert family.unlink(LEA.student_id, "withdrawn", "c").data["reason"] == "withdrawn"
    assert family.unlink(LEA.student_id, "withdrawn", "c") is None


def test_reenrolment_only_by_the_principal_guardian_once_during_the_period():
    parent = "0f5e2d8a-3c41-4b7e-9d2a-6c1b8e4f7a90"
    period = domain.ReenrollmentPeriod("css-a", "2027-2028", date(2027, 1, 18), date(2027, 2, 5))
    requests = domain.StudentRequests(LEA.student_id)
    with pytest.raises(DomainError) as closed:
        requests.submit_reenrollment(parent, True, period, "confirm", date(2027, 2, 6), "c")
    assert closed.value.code == "reenrollment_closed"
    with pytest.raises(DomainError) as not_principal:
        requests.submit_reenrollment(parent, False, period, "confirm", TODAY, "c")
    assert not_principal.value.code == "not_principal_guardian"
    assert requests.submit_reenrollment(parent, True, period, "decline", TODAY, "c").data["decision"] == "decline"
    with pytest.raises(Conflict):
        requests.submit_reenrollment(parent, True, period, "confirm", TODAY, "c")
