"""The linking service: the school directory, proving which children are a parent's, each child's
record, "Nous joindre", re-enrolment and requests for corrections.

Entrypoints first; the rules are in ``domain``, the read models in ``projections``.
"""
from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime, time, timezone

from nameko.extensions import DependencyProvider
from prometheus_client import Counter
from sqlalchemy import func, insert, or_, select, text

from servicekit import errors, store
from servicekit.children import ParentSchema
from servicekit.consumer import event_streams
from servicekit.privacy import Privacy, withdrawn_retention
from servicekit.projection import take_in
from servicekit.relay import Relay
from servicekit.rpc import rpc
from servicekit.schooltime import SCHOOL_TIME
from servicekit.service import Service

from . import domain, projections
from .projections import children
from .schemas import CorrectionSchema, DecisionSchema, LinkRequestSchema, OrganisationQuerySchema
from .tables import (
    corrections, courses, guardians, link_attempts, links, organisations, parents, pins,
    reenrollment_answers, reenrollment_periods, schools, students, transport,
)


# What each event that can break links says when the guardian a link relied on is gone.
STUDENT_CAUSES = {"StudentWithdrawn": "withdrawn", "GuardianRemoved": "guardian_removed",
                  "GuardianAssigned": "email_changed"}
PARENT_CAUSES = {"ParentVerified": "email_changed", "ParentEmailChanged": "email_changed",
                 "ParentAccountClosed": "account_closed"}


# The family list: each linked child with its record's school and board.
FAMILY = (
    select(links, students.c.first_name, students.c.last_name, students.c.grade,
           students.c.school_id.label("current_school"), schools.c.name.label("school_name"),
           schools.c.tiles, organisations.c.name.label("org_name"), students.c.org_id.label("current_org"))
    .join(students, students.c.student_id == links.c.student_id)
    .outerjoin(schools, schools.c.school_id == students.c.school_id)
    .outerjoin(organisations, organisations.c.org_id == students.c.org_id)
    .order_by(students.c.first_name, students.c.student_id)
)

# Created on import, once per process however many containers run in it, with every outcome at
# zero so that rates exist before the first try.
commands = store.Commands(projections.apply)

LINK_ATTEMPTS = Counter("portal_linking_link_attempts_total", "Tries of the link form, by outcome.", ["outcome"])
for _outcome in ("linked", "already_linked", "mismatch", "locked_out", "invalid", "not_verified"):
    LINK_ATTEMPTS.labels(_outcome)


class PinSecret(DependencyProvider):
    """Linking's PIN secret (``PIN_SECRET``, else ``PORTAL_PIN_SECRET``), from which each board's
    PIN key is derived: the school systems' PIN hashes are HMACs under those keys."""

    def setup(self):
        self.secret = self.container.config.get("PIN_SECRET") or os.environ.get("PORTAL_PIN_SECRET")
        if not self.secret:
            raise RuntimeError("PIN_SECRET (or PORTAL_PIN_SECRET) must be set")

    def get_dependency(self, worker_ctx):
        return self.secret


class LinkingService(Service, Privacy):
    name = "linking"

    relay = Relay()
    pin_secret = PinSecret()

    # -- events ---------------------------------------------------------------------------------

    @event_streams(name)
    def take_in(self, events):
        """Apply the school's and identity's events, then unlink every link they broke and forget
        the closed accounts' link attempts (Law 25: not a read model, so not in ``projections``)."""
        return take_in(self.db, events, projections.apply, self._unlink_broken, _forget_link_attempts)

    # -- retention ------------------------------------------------------------------------------

    def retire(self, conn):
        """Part of the retention job (``servicekit.privacy``): the students withdrawn longer than
        the retention are forgotten here and, through StudentForgotten, in every service. A
        student's withdrawal is dated by when the school system said so (their row's stamp);
        SKIP LOCKED, so that two replicas running at once share the students, each forgotten once."""
        years, today = withdrawn_retention(), domain.school_today()
        before = datetime.combine(domain.withdrawn_before(today, years), time(), SCHOOL_TIME)
        due = conn.execute(
            select(students.c.student_id, students.c.updated_at)
            .where(students.c.withdrawn.is_(True), students.c.updated_at < before)
            .order_by(students.c.student_id).with_for_update(skip_locked=True)
        ).all()
        unit, forgotten = commands.within(conn), []
        for row in due:
            student = unit.load(domain.WithdrawnStudent, row.student_id)
            if student.forget(domain.school_today(row.updated_at), today, years, self.ops.correlation_id):
                forgotten.append(student)
        unit.save(*forgotten)
        return {"withdrawn_students": len(forgotten)}

    # -- the link form --------------------------------------------------------------------------

    @rpc
    def organisations(self, query="", page=1, page_size=10, kind=None):
        """School service centres (kind "public") and private schools (kind "private") for the
        form, searched by name ignoring accents and case, by pages:
        ``{"items": [{"id", "name", "kind"}], "page", "page_size", "total"}``."""
        asked = errors.load(OrganisationQuerySchema(), {"query": query or "", "page": page, "page_size": page_size,
                                                        "kind": kind})
        conditions = [organisations.c.search_key.contains(domain.search_key(asked["query"]), autoescape=True)]
        if asked["kind"]:
            conditions.append(organisations.c.kind == asked["kind"])
        with self.db.begin() as conn:
            total = conn.execute(select(func.count()).select_from(organisations).where(*conditions)).scalar_one()
            rows = conn.execute(
                select(organisations).where(*conditions).order_by(organisations.c.search_key, organisations.c.org_id)
                .offset((asked["page"] - 1) * asked["page_size"]).limit(asked["page_size"])
            ).all()
        return {"items": [{"id": r.org_id, "name": r.name, "kind": r.kind} for r in rows],
                "page": asked["page"], "page_size": asked["page_size"], "total": total}

    @rpc
    def link_child(self, parent_id, request):
        """"Associer un enfant à mon compte". ``request``: ``{"org_id", "last_name",
        "first_name", "birth_date" (YYYY-MM-DD)}`` and exactly one of ``"student_number"``
        (numéro de fiche), ``"permanent_code"`` (then the parent's verified email must be a
        guardian email on the record) or ``"pin"`` (the school's PIN for a guardian).

        Returns ``{"linked": true, "already_linked": bool, "child": <as in children()>}``. Every
        mismatch is ``link_mismatch`` without the field; too many failures per parent, or for a PIN
        per child, is ``link_locked`` (429) with ``retry_after`` (seconds), ``retry_minutes`` and
        ``retry_at`` (``domain.lockout``)."""
        try:
            asked = errors.load(LinkRequestSchema(), request)
            errors.load(ParentSchema(), {"parent_id": parent_id})
            typed = domain.check_link_request(
                asked["org_id"], asked["last_name"], asked["first_name"], asked["birth_date"],
                asked["student_number"], asked["permanent_code"], asked["pin"], domain.school_today())
        except errors.DomainError:
            LINK_ATTEMPTS.labels("invalid").inc()
            raise
        outcome, answer = commands.run(self.db, lambda unit: self._attempt(unit, parent_id, typed))
        LINK_ATTEMPTS.labels(outcome).inc()
        if isinstance(answer, errors.DomainError):
            raise answer
        return answer

    def _attempt(self, unit, parent_id: str, typed: domain.LinkRequest):
        """(outcome, answer or the error to raise once the attempt is committed)."""
        conn = unit.conn
        parent = conn.execute(select(parents).where(parents.c.parent_id == parent_id)).first()
        if parent is None or parent.closed:
            # identity's ParentVerified is not here yet: nothing to count against anyone
            return "not_verified", errors.DomainError("account_not_verified")
        if conn.execute(select(organisations.c.org_id).where(organisations.c.org_id == typed.org_id)).first() is None:
            return "invalid", errors.NotFound("organisation_not_found", field="org_id")
        candidates = self._candidates(conn, typed)
        key = domain.attempt_key(typed, candidates[0] if candidates else None)
        for lock in (parent_id, key):  # one attempt at a time per parent and per child
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"link:{lock}"})
        now = datetime.now(timezone.utc)
        retry_at = domain.lockout(typed, self._failures(conn, "parent_id", parent_id, now),
                                  self._failures(conn, "attempt_key", key, now))
        if retry_at is not None:
            self._note_attempt(conn, parent_id, key, "locked_out")
            seconds = max(int((retry_at - now).total_seconds()) + 1, 1)
            return "locked_out", errors.TooManyAttempts("link_locked", params={
                "retry_after": seconds, "retry_minutes": -(-seconds // 60),
                "retry_at": retry_at.isoformat(timespec="seconds")})
        match = None
        for student in candidates:
            match = domain.decide_link(typed, student, self._guardians(conn, [student.student_id])[student.student_id],
                                       self._pins(conn, student.student_id), parent.email, domain.school_today(),
                                       self.pin_secret)
            if match is not None:
                break
        if match is None:
            self._note_attempt(conn, parent_id, key, "mismatch")
            return "mismatch", errors.DomainError("link_mismatch")
        family = unit.load(domain.ParentLinks, parent_id)
        linked = family.link(match, self.ops.correlation_id)
        unit.save(family)
        outcome = "linked" if linked is not None else "already_linked"
        self._note_attempt(conn, parent_id, key, outcome)
        child = self._children(conn, parent_id, match.student.student_id, "link_child")
        return outcome, {"linked": True, "already_linked": linked is None, "child": child[0]}

    def _candidates(self, conn, typed: domain.LinkRequest) -> list[domain.Student]:
        query = select(students).where(students.c.org_id == typed.org_id)
        if typed.student_number:
            query = query.where(students.c.student_number == typed.student_number)
        elif typed.permanent_code:
            query = query.where(students.c.permanent_code == typed.permanent_code)
        else:
            query = query.where(students.c.birth_date == typed.birth_date)
        found = [_student(row) for row in conn.execute(query.order_by(students.c.student_id))]
        if typed.pin:  # the PIN names no child: the names and birth date do
            found = [s for s in found if (domain.name_key(s.last_name), domain.name_key(s.first_name))
                     == (typed.last_name, typed.first_name)]
        return found

    @staticmethod
    def _failures(conn, column: str, value: str, now: datetime) -> list[datetime]:
        return list(conn.execute(
            select(link_attempts.c.at).where(link_attempts.c[column] == value, link_attempts.c.outcome == "mismatch",
                                             link_attempts.c.at > now - domain.FAILURE_WINDOW)
        ).scalars())

    @staticmethod
    def _note_attempt(conn, parent_id: str, key: str, outcome: str) -> None:
        conn.execute(insert(link_attempts).values(parent_id=parent_id, attempt_key=key, outcome=outcome))

    # -- queries about the family and a child -------------------------------------------------

    @rpc
    def children(self, parent_id):
        """The family: ``[{"student_id", "first_name", "last_name", "school": {"id", "name"},
        "org": {"id", "name"}, "grade", "tiles": [...], "principal": bool}]`` by first name."""
        errors.load(ParentSchema(), {"parent_id": parent_id})
        with self.db.begin() as conn:
            return self._children(conn, parent_id, None, "children")

    @rpc
    def is_linked(self, parent_id, student_id) -> bool:
        """Whether the child is linked to the parent (the gateway asks before every child route)."""
        if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in (parent_id, student_id)):
            return False
        with self.db.begin() as conn:
            return children.find(conn, parent_id, student_id) is not None

    @rpc
    def record(self, parent_id, student_id):
        """The child's record ("Dossier"): ``{"student": {...}, "school", "org", "school_year",
        "courses": [{"code", "name", "teacher_name", "teacher_email" (null unless the teacher
        published it), "group"}], "transport": {"route", "stop", "morning_pickup",
        "afternoon_dropoff"} or null, "principal"}``."""
        with self.db.begin() as conn:
            child = self._children(conn, parent_id, student_id, "record")[0]
            row = conn.execute(select(students).where(students.c.student_id == student_id)).one()
            year = conn.execute(select(courses).where(courses.c.student_id == student_id)
                                .order_by(courses.c.school_year.desc()).limit(1)).first()
            bus = conn.execute(select(transport).where(transport.c.student_id == student_id)).first()
        return {
            **child,
            "student": {"student_id": row.student_id, "last_name": row.last_name, "first_name": row.first_name,
                        "birth_date": row.birth_date.isoformat(), "grade": row.grade, "group": row.group,
                        "student_number": row.student_number, "permanent_code": row.permanent_code},
            "school_year": year.school_year if year else None,
            "courses": list(year.courses) if year else [],
            "transport": {"route": bus.route, "stop": bus.stop, "morning_pickup": bus.morning_pickup.strftime("%H:%M"),
                          "afternoon_dropoff": bus.afternoon_dropoff.strftime("%H:%M")} if bus else None,
        }

    @rpc
    def contact(self, parent_id, student_id):
        """"Nous joindre": ``{"school": {"id", "name", "address", "phone", "email", "website",
        "principal_name", "contacts": [{"role", "name", "phone", "email"}]}, "org": {"id",
        "name"}}``."""
        with self.db.begin() as conn:
            link = children.link(conn, parent_id, student_id, "contact")
            school = conn.execute(select(schools).join(students, students.c.school_id == schools.c.school_id)
                                  .where(students.c.student_id == link.student_id)).first()
            if school is None:
                raise errors.NotFound("school_not_found")
            org = conn.execute(select(organisations).where(organisations.c.org_id == school.org_id)).first()
        return {
            "school": {"id": school.school_id, "name": school.name, "address": school.address, "phone": school.phone,
                       "email": school.email, "website": school.website, "principal_name": school.principal_name,
                       "contacts": school.contacts},
            "org": {"id": school.org_id, "name": org.name if org else None},
        }

    # -- corrections ----------------------------------------------------------------------------

    @rpc
    def request_correction(self, parent_id, student_id, request):
        """Ask the school to correct the record. ``request``: ``{"field": "address" | "phone" |
        "guardian_email", "requested_value", "comment"?}``; the school system receives
        ``RecordCorrectionRequested``. Returns ``{"request_id", "status": "pending"}``."""
        asked = errors.load(CorrectionSchema(), request)

        def ask(unit):
            children.link(unit.conn, parent_id, student_id, "request_correction")
            requests = unit.load(domain.StudentRequests, student_id)
            event = requests.request_correction(parent_id, asked["field"], asked["requested_value"].strip(),
                                                asked["comment"], self.ops.correlation_id)
            unit.save(requests)
            return {"request_id": event.data["request_id"], "status": "pending"}

        return commands.run(self.db, ask)

    @rpc
    def corrections(self, parent_id, student_id):
        """The parent's requests for this child, newest first: ``[{"request_id", "field",
        "requested_value", "comment", "requested_at", "status": "pending" | "done" | "rejected",
        "resolution_comment"}]``."""
        with self.db.begin() as conn:
            children.link(conn, parent_id, student_id, "corrections")
            rows = conn.execute(select(corrections).where(
                corrections.c.parent_id == parent_id, corrections.c.student_id == student_id)
                .order_by(corrections.c.requested_at.desc())).all()
        return [_correction(row) for row in rows]

    # -- re-enrolment ---------------------------------------------------------------------------

    @rpc
    def reenrollment(self, parent_id, student_id):
        """The board's re-enrolment for this child: ``{"open": bool, "period": {"school_year",
        "opens_on", "closes_on", "open"} or null, "principal": bool, "answer": {"decision",
        "submitted_at"} or null}``; ``open`` says whether the period is open today."""
        with self.db.begin() as conn:
            link = children.link(conn, parent_id, student_id, "reenrollment")
            period = self._period(conn, student_id)
            principal = self._principal(conn, link)
            answer = None if period is None else conn.execute(select(reenrollment_answers).where(
                reenrollment_answers.c.student_id == student_id,
                reenrollment_answers.c.school_year == period.school_year)).first()
        is_open = period is not None and period.is_open(domain.school_today())
        return {
            "open": is_open,
            "period": None if period is None else {
                "school_year": period.school_year, "opens_on": period.opens_on.isoformat(),
                "closes_on": period.closes_on.isoformat(), "open": is_open},
            "principal": principal,
            "answer": None if answer is None else {"decision": answer.decision,
                                                   "submitted_at": answer.submitted_at.isoformat()},
        }

    @rpc
    def submit_reenrollment(self, parent_id, student_id, decision):
        """The principal guardian confirms or declines next year while the period is open;
        ``decision``: ``{"decision": "confirm" | "decline"}`` (the request body) or the bare word.
        The school system receives ``ReenrollmentSubmitted``; returns ``{"school_year",
        "decision"}``."""
        asked = errors.load(DecisionSchema(), decision if isinstance(decision, dict) else {"decision": decision})

        def submit(unit):
            link = children.link(unit.conn, parent_id, student_id, "submit_reenrollment")
            requests = unit.load(domain.StudentRequests, student_id)
            event = requests.submit_reenrollment(parent_id, self._principal(unit.conn, link),
                                                 self._period(unit.conn, student_id), asked["decision"],
                                                 domain.school_today(), self.ops.correlation_id)
            unit.save(requests)
            return {"school_year": event.data["school_year"], "decision": event.data["decision"]}

        return commands.run(self.db, submit)

    # -- the parent's own data -------------------------------------------------------------------

    @rpc
    def export(self, parent_id):
        """Everything linking holds on the parent and their children ("download my data")."""
        errors.load(ParentSchema(), {"parent_id": parent_id})
        with self.db.begin() as conn:
            parent = conn.execute(select(parents).where(parents.c.parent_id == parent_id)).first()
            family = self._children(conn, parent_id, None, "export")
            answers = conn.execute(select(reenrollment_answers).where(
                reenrollment_answers.c.parent_id == parent_id)).all()
            asked = conn.execute(select(corrections).where(corrections.c.parent_id == parent_id)
                                 .order_by(corrections.c.requested_at)).all()
            attempts = conn.execute(select(link_attempts).where(link_attempts.c.parent_id == parent_id)
                                    .order_by(link_attempts.c.at)).all()
            reads = children.accesses(conn, parent_id)
            stored = store.about_parent(conn, parent_id)
        return {
            "parent": {"parent_id": parent_id, "email": parent.email if parent else None},
            "children": family,
            "reenrollment_answers": [{"student_id": a.student_id, "school_year": a.school_year,
                                      "decision": a.decision, "submitted_at": a.submitted_at.isoformat()}
                                     for a in answers],
            "corrections": [{"student_id": row.student_id, **_correction(row)} for row in asked],
            "link_attempts": [{"outcome": a.outcome, "at": a.at.isoformat()} for a in attempts],
            "access_log": reads,
            "events": stored,
        }

    # -- helpers --------------------------------------------------------------------------------

    def _children(self, conn, parent_id, student_id, what: str | None) -> list[dict]:
        """The linked children (all, or the one named) as the family list shows them; each read
        is logged as ``what`` unless None (``Children.family``)."""
        rows = children.family(conn, FAMILY, parent_id, student_id, what)
        return [{
            "student_id": r.student_id, "first_name": r.first_name, "last_name": r.last_name, "grade": r.grade,
            "school": {"id": r.current_school, "name": r.school_name},
            "org": {"id": r.current_org, "name": r.org_name},
            "tiles": list(r.tiles or []), "principal": self._principal(conn, r),
        } for r in rows]

    def _principal(self, conn, link) -> bool:
        """Whether the school's record makes this parent the child's principal guardian."""
        on_record = self._guardians(conn, [link.student_id])[link.student_id]
        if link.method == "pin":
            return any(g.principal and g.guardian_id == link.guardian_id and not g.removed for g in on_record)
        email = conn.execute(select(parents.c.email).where(parents.c.parent_id == link.parent_id)).scalar()
        return any(g.principal and g.access and g.stands_for(email) for g in on_record)

    @staticmethod
    def _guardians(conn, student_ids) -> dict[str, list[domain.Guardian]]:
        found = defaultdict(list)
        for row in conn.execute(select(guardians).where(guardians.c.student_id.in_(student_ids))):
            found[row.student_id].append(domain.Guardian(row.guardian_id, row.email, bool(row.principal),
                                                         bool(row.access), row.removed))
        return found

    @staticmethod
    def _pins(conn, student_id) -> list[domain.Pin]:
        return [domain.Pin(row.guardian_id, row.pin_hash, row.expires_on, row.used_at is not None)
                for row in conn.execute(select(pins).where(pins.c.student_id == student_id))]

    @staticmethod
    def _period(conn, student_id) -> domain.ReenrollmentPeriod | None:
        """The board's period now open for the child, else the next one to open."""
        row = conn.execute(
            select(reenrollment_periods).join(students, students.c.org_id == reenrollment_periods.c.org_id)
            .where(students.c.student_id == student_id, reenrollment_periods.c.closes_on >= domain.school_today())
            .order_by(reenrollment_periods.c.opens_on).limit(1)).first()
        return None if row is None else domain.ReenrollmentPeriod(row.org_id, row.school_year, row.opens_on,
                                                                  row.closes_on)

    def _unlink_broken(self, conn, events) -> None:
        """ChildUnlinked for every link the events broke, stored and applied."""
        unit = commands.within(conn)
        # id -> (reason when the guardian relied on is gone, the event that may have broken links)
        student_causes = {e.data["student_id"]: (STUDENT_CAUSES[e.type], e) for e in events
                          if e.type in STUDENT_CAUSES}
        parent_causes = {e.data["parent_id"]: (PARENT_CAUSES[e.type], e) for e in events if e.type in PARENT_CAUSES}
        if not student_causes and not parent_causes:
            return
        at_risk = conn.execute(select(links).where(links.c.linked.is_(True), or_(
            links.c.student_id.in_(student_causes), links.c.parent_id.in_(parent_causes)))).all()
        if not at_risk:
            return
        student_ids = {link.student_id for link in at_risk}
        facts = {row.student_id: _student(row) for row in
                 conn.execute(select(students).where(students.c.student_id.in_(student_ids)))}
        on_record = self._guardians(conn, student_ids)
        accounts = {row.parent_id: row for row in conn.execute(
            select(parents).where(parents.c.parent_id.in_({link.parent_id for link in at_risk})))}
        broken = defaultdict(list)
        for link in at_risk:
            account = accounts.get(link.parent_id)
            cause, trigger = parent_causes.get(link.parent_id) or student_causes[link.student_id]
            reason = domain.broken_by(
                domain.Link(link.parent_id, link.student_id, link.method, link.guardian_id),
                facts.get(link.student_id), on_record[link.student_id], account.email if account else None,
                bool(account and account.closed), cause)
            if reason:
                broken[link.parent_id].append((link.student_id, reason, trigger))
        families = []
        for parent_id, lost in sorted(broken.items()):
            family = unit.load(domain.ParentLinks, parent_id)
            for student_id, reason, trigger in lost:
                family.unlink(student_id, reason, trigger.correlation_id, trigger.id)
            families.append(family)
        unit.save(*families)


def _forget_link_attempts(conn, events) -> None:
    children.forget(conn, [e.data["parent_id"] for e in events if e.type == "ParentAccountClosed"], link_attempts)


def _student(row) -> domain.Student:
    return domain.Student(row.student_id, row.org_id, row.school_id, row.last_name or "", row.first_name or "",
                          row.birth_date, row.withdrawn)


def _correction(row) -> dict:
    return {"request_id": row.request_id, "field": row.field, "requested_value": row.requested_value,
            "comment": row.comment, "requested_at": row.requested_at.isoformat() if row.requested_at else None,
            "status": row.status, "resolution_comment": row.resolution_comment}
