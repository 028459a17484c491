"""Linking's rules: proving a child is yours, keeping links right over time, re-enrolment and
requests for corrections.

Pure Python: the service reads the school directory and hands in what it found; what comes out
is events to store or a DomainError to answer with. The name rule is written in docs/linking.md.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from contracts import Envelope, pin_hash, pin_key
from contracts.fields import PERMANENT_CODE_PATTERN, STUDENT_NUMBER_PATTERN
from servicekit.schooltime import FIRST_MONTH
from servicekit.schooltime import school_today  # noqa: F401  (the service asks its domain for the date)
from servicekit.aggregate import Aggregate, OncePerId
from servicekit.errors import Conflict, DomainError


# Identity proofing is guessable: this many failures in the window lock the parent, or a
# child's PIN, out of linking until the oldest of them leaves the window (see ``lockout``).
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)

PIN_PATTERN = re.compile(r"^[0-9]{4,10}$")
_SPACES = re.compile(r"\s+")
# Typed apostrophes vary with the keyboard (a phone types ’): one apostrophe for all of them.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'", "`": "'"})
_NAME_PUNCTUATION = set(" -'.")


# -- names ---------------------------------------------------------------------------------------

def name_key(name: str) -> str:
    """A name as compared: Unicode NFC, case folded, apostrophes unified, surrounding spaces
    dropped and inner runs of spaces made one. Accents, hyphens and spaces between words still
    count, as the guides warn parents."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())
    return _SPACES.sub(" ", folded.translate(_APOSTROPHES)).strip()


def _script(char: str) -> str:
    # Unicode names start with the script for letters: "LATIN SMALL LETTER E WITH ACUTE".
    return unicodedata.name(char, "UNKNOWN").split(" ")[0]


def check_name(name: str, field: str) -> str:
    """The name's comparison key, or the error a parent can act on."""
    key = name_key(name)
    if not key:
        raise DomainError("required", field=field)
    if len(key) > 100:
        raise DomainError("invalid_length", field=field, params={"max": 100})
    scripts = set()
    for char in key:
        if char in _NAME_PUNCTUATION:
            continue
        if not unicodedata.category(char).startswith(("L", "M")):
            raise DomainError("invalid_name", field=field)
        if unicodedata.category(char).startswith("L"):
            scripts.add(_script(char))
    if len(scripts) > 1:
        raise DomainError("name_mixed_scripts", field=field)
    return key


def search_key(text: str) -> str:
    """Directory search ignores accents and case: "trois-lacs" finds "Trois-Lacs"."""
    decomposed = unicodedata.normalize("NFKD", name_key(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# -- the identifying fields of the form --------------------------------------------------------

@dataclass(frozen=True)
class LinkRequest:
    """The "Associer un enfant" form, checked: keys of the names, and exactly one of the student
    number, the permanent code or the school's PIN."""

    org_id: str
    last_name: str
    first_name: str
    birth_date: date
    student_number: str | None = None
    permanent_code: str | None = None
    pin: str | None = None

    @property
    def method(self) -> str:
        return "pin" if self.pin else "email"


def check_link_request(org_id: str, last_name: str, first_name: str, birth_date: date,
                       student_number: str | None, permanent_code: str | None, pin: str | None,
                       today: date) -> LinkRequest:
    """Every format rule, before anything is looked up."""
    last = check_name(last_name, "last_name")
    first = check_name(first_name, "first_name")
    if birth_date > today:
        raise DomainError("birth_date_in_future", field="birth_date")
    if birth_date < today - timedelta(days=366 * 30):
        raise DomainError("birth_date_out_of_range", field="birth_date")
    given = [name for name, value in (("student_number", student_number), ("permanent_code", permanent_code),
                                      ("pin", pin)) if value not in (None, "")]
    if not given:
        raise DomainError("identifier_required", field="student_number")
    if len(given) > 1:
        raise DomainError("one_identifier_only", field=given[1])
    if student_number:
        student_number = student_number.strip()
        if not re.match(STUDENT_NUMBER_PATTERN, student_number):
            raise DomainError("invalid_student_number", field="student_number")
    if permanent_code:
        permanent_code = permanent_code.replace(" ", "").upper()
        if not re.match(PERMANENT_CODE_PATTERN, permanent_code):
            raise DomainError("invalid_permanent_code", field="permanent_code")
    if pin:
        pin = pin.strip()
        if not PIN_PATTERN.match(pin):
            raise DomainError("invalid_pin", field="pin")
    return LinkRequest(org_id, last, first, birth_date, student_number or None, permanent_code or None, pin or None)


# -- what the school's record says ---------------------------------------------------------------

@dataclass(frozen=True)
class Student:
    student_id: str
    org_id: str
    school_id: str
    last_name: str
    first_name: str
    birth_date: date
    withdrawn: bool


@dataclass(frozen=True)
class Guardian:
    guardian_id: str
    email: str | None
    principal: bool
    access: bool
    removed: bool

    def stands_for(self, email: str | None) -> bool:
        return not self.removed and email is not None and self.email == email


@dataclass(frozen=True)
class Pin:
    guardian_id: str
    pin_hash: str
    expires_on: date
    used: bool


@dataclass(frozen=True)
class Match:
    student: Student
    method: str
    guardian_id: str


def attempt_key(request: LinkRequest, student: Student | None) -> str:
    """Which child an attempt is about: the child when the form names one, else what was typed
    (so that a lockout says nothing about whether the child exists). PIN attempts have keys of
    their own ("pin:…"), the only ones a child's lockout counts."""
    if student is not None:
        key = student.student_id
    else:
        typed = request.student_number or request.permanent_code or \
            f"{request.last_name}|{request.first_name}|{request.birth_date.isoformat()}"
        key = "typed:" + hashlib.sha256(f"{request.org_id}|{typed}".encode()).hexdigest()
    return f"pin:{key}" if request.pin else key


def decide_link(request: LinkRequest, student: Student | None, guardians: list[Guardian], pins: list[Pin],
                parent_email: str | None, today: date, pin_secret: str) -> Match | None:
    """The guardian the parent proved to be on the child's record, or None: one answer for
    every mismatch, never which field was wrong. ``pin_secret`` gives each board's PIN key."""
    if student is None or student.withdrawn or student.org_id != request.org_id:
        return None
    if (name_key(student.last_name), name_key(student.first_name)) != (request.last_name, request.first_name):
        return None
    if student.birth_date != request.birth_date:
        return None
    with_access = {g.guardian_id: g for g in guardians if g.access and not g.removed}
    if request.pin:
        typed = pin_hash(pin_key(pin_secret, student.org_id), student.student_id, request.pin)
        for pin in pins:
            if (hmac.compare_digest(pin.pin_hash, typed) and not pin.used and pin.expires_on >= today
                    and pin.guardian_id in with_access):
                return Match(student, "pin", pin.guardian_id)
        return None
    for guardian in with_access.values():
        if guardian.stands_for(parent_email):
            return Match(student, "email", guardian.guardian_id)
    return None


def retry_at(failures: list[datetime]) -> datetime | None:
    """When a locked-out parent or child may try again; None when not locked out.
    ``failures`` are the times of failures inside the window."""
    if len(failures) < MAX_FAILURES:
        return None
    return sorted(failures)[-MAX_FAILURES] + FAILURE_WINDOW


def lockout(request: LinkRequest, parent_failures: list[datetime], child_failures: list[datetime]
            ) -> datetime | None:
    """When this attempt may be made, None when now. A parent's own failures always count. The
    child's failures (other parents' PIN failures, under the attempt's key) stop PIN attempts
    only: a PIN is won by guessing, so it needs a limit that many accounts cannot share out. An
    attempt by email is won only by owning the guardian's email the school has, so no stranger's
    failures ever stop it: the real parent links whatever others tried."""
    counted = [parent_failures, child_failures] if request.pin else [parent_failures]
    return max(filter(None, map(retry_at, counted)), default=None)


# -- links kept right over time -------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    parent_id: str
    student_id: str
    method: str
    guardian_id: str | None


def broken_by(link: Link, student: Student | None, guardians: list[Guardian], parent_email: str | None,
              parent_closed: bool, cause: str) -> str | None:
    """Why ``link`` no longer holds (a ChildUnlinked reason), or None while it holds.

    ``cause`` is the reason given when the guardian the link relied on is simply gone: what the
    triggering event says (guardian removed, an email changed)."""
    if parent_closed:
        return "account_closed"
    if student is None or student.withdrawn:
        return "withdrawn"
    if link.method == "pin":
        relied_on = [g for g in guardians if g.guardian_id == link.guardian_id and not g.removed]
    else:
        relied_on = [g for g in guardians if g.stands_for(parent_email)]
    if any(g.access for g in relied_on):
        return None
    return "access_denied" if relied_on else cause


class ParentLinks(OncePerId):
    """The children one parent proved are theirs. Its stream is the parent's id, like the
    ChildLinked and ChildUnlinked events it holds; it keeps each link announced once."""

    source = "linking"
    adds, removes = {"ChildLinked": "student_id"}, {"ChildUnlinked": "student_id"}

    @property
    def linked(self) -> set[str]:
        return self.ids

    def link(self, match: Match, correlation_id: str) -> Envelope | None:
        """ChildLinked, or None when the child is already linked to this parent."""
        if match.student.student_id in self.linked:
            return None
        return self.record("ChildLinked", {
            "parent_id": self.key, "student_id": match.student.student_id, "school_id": match.student.school_id,
            "org_id": match.student.org_id, "method": match.method, "guardian_id": match.guardian_id,
        }, correlation_id)

    def unlink(self, student_id: str, reason: str, correlation_id: str, causation_id: str | None = None
               ) -> Envelope | None:
        if student_id not in self.linked:
            return None
        return self.record("ChildUnlinked", {"parent_id": self.key, "student_id": student_id, "reason": reason},
                           correlation_id, causation_id)


# -- requests from a parent about a child ---------------------------------------------------------

@dataclass(frozen=True)
class ReenrollmentPeriod:
    org_id: str
    school_year: str
    opens_on: date
    closes_on: date

    def is_open(self, today: date) -> bool:
        return self.opens_on <= today <= self.closes_on


# -- retention of withdrawn students (Law 25) -----------------------------------------------------

def withdrawn_before(today: date, school_years: int) -> date:
    """The day before which a withdrawal is older than ``school_years`` whole school years: the
    first day of the school year that many years before today's. A student who left in 2026-2027
    is kept through 2027-2028 and 2028-2029 (two years) and forgotten from July 1, 2029."""
    start = today.year if today.month >= FIRST_MONTH else today.year - 1
    return date(start - school_years, FIRST_MONTH, 1)


class WithdrawnStudent(Aggregate):
    """A student the school withdrew: forgotten once, when the retention is over. Its stream is
    the student's id, as ``StudentRequests``'."""

    source = "linking"

    def __init__(self, student_id: str):
        super().__init__(student_id)
        self.forgotten = False

    def apply(self, event: Envelope) -> None:
        if event.type == "StudentForgotten":
            self.forgotten = True

    def forget(self, withdrawn_on: date, today: date, school_years: int, correlation_id: str) -> Envelope | None:
        """StudentForgotten once the withdrawal is old enough; None before, or when done."""
        if self.forgotten or withdrawn_on >= withdrawn_before(today, school_years):
            return None
        return self.record("StudentForgotten", {"student_id": self.key}, correlation_id)


class StudentRequests(OncePerId):
    """What parents asked the school about one student: re-enrolment answers and record
    corrections. Its stream is the student's id, the subject of the events the school receives."""

    source = "linking"
    adds = {"ReenrollmentSubmitted": "school_year"}

    @property
    def answered(self) -> set[str]:
        return self.ids

    def submit_reenrollment(self, parent_id: str, principal: bool, period: ReenrollmentPeriod | None,
                            decision: str, today: date, correlation_id: str) -> Envelope:
        if period is None or not period.is_open(today):
            raise DomainError("reenrollment_closed")
        if not principal:
            raise DomainError("not_principal_guardian")
        if period.school_year in self.answered:
            raise Conflict("reenrollment_already_submitted")
        return self.record("ReenrollmentSubmitted", {
            "student_id": self.key, "parent_id": parent_id, "school_year": period.school_year,
            "decision": decision}, correlation_id)

    def request_correction(self, parent_id: str, field: str, requested_value: str, comment: str | None,
                           correlation_id: str) -> Envelope:
        return self.record("RecordCorrectionRequested", {
            "request_id": str(uuid.uuid4()), "student_id": self.key, "parent_id": parent_id, "field": field,
            "requested_value": requested_value, "comment": comment}, correlation_id)
