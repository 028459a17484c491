"""From events to mails: who hears about an event, when, and in which words.

Runs in the transaction that admits the events, for fresh events only, so a redelivered event
adds nothing, and a rebuild of the read models (which replays the store) mails nobody. Each mail
is a row of the outbox keyed by (parent, event); ``mail.Postman`` sends it when it is due.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from . import domain, templates
from .tables import guardians, links, outbox, parent_settings, parents, preferences, students

STUDENT_KINDS = {"AbsenceRecorded": "absence", "BulletinPublished": "bulletin", "StatementIssued": "statement",
                 "DetentionRecorded": "detention"}


def enqueue(conn: Connection, events: list, now: datetime | None = None) -> int:
    """Queue the mails ``events`` call for; returns how many were queued."""
    now = now or datetime.now(timezone.utc)
    queued = []
    for event in events:
        if not domain.is_news(event.time, now):
            continue
        if event.type in STUDENT_KINDS:
            queued += _about_student(conn, event, STUDENT_KINDS[event.type])
        elif event.type == "MessagePublished":
            queued += _message(conn, event)
        elif event.type == "ReenrollmentOpened":
            queued += _reenrollment(conn, event)
    if not queued:
        return 0
    return len(conn.execute(insert(outbox).values(queued).on_conflict_do_nothing().returning(outbox.c.event_id)).all())


# -- recipients -------------------------------------------------------------------------------

def _linked_parents(conn, condition):
    """(parent, locale, email, child) for every linked child matching ``condition``."""
    return conn.execute(
        select(parents.c.parent_id, parents.c.email, parents.c.locale, links.c.student_id, links.c.org_id,
               links.c.school_id, students.c.group, students.c.first_name)
        .select_from(links.join(parents, parents.c.parent_id == links.c.parent_id)
                     .outerjoin(students, students.c.student_id == links.c.student_id))
        .where(links.c.linked.is_(True), condition)
    ).all()


def _about_student(conn, event, kind: str) -> list[dict]:
    values, visible_from = _student_values(event, kind), event.data.get("visible_from")
    mails = (_mail(conn, r, event, kind, [r.student_id], values, visible_from)
             for r in _linked_parents(conn, links.c.student_id == event.data["student_id"]))
    return [mail for mail in mails if mail]


def _message(conn, event) -> list[dict]:
    audience = event.data["audience"]
    candidates = _linked_parents(conn, links.c.org_id == audience["org_id"]) if audience["scope"] != "student" \
        else _linked_parents(conn, links.c.student_id == audience["student_id"])
    children = defaultdict(list)
    for r in candidates:
        if domain.reaches(audience, domain.Child(r.student_id, r.org_id, r.school_id, r.group)):
            children[r.parent_id].append(r)
    values = {k: event.data[k] for k in ("title", "author", "body")}
    mails = (_mail(conn, rows[0], event, "message", [r.student_id for r in rows], values)
             for rows in children.values())
    return [mail for mail in mails if mail]


def _reenrollment(conn, event) -> list[dict]:
    """The principal guardians of the board's students, matched to parents by their verified
    school email."""
    rows = conn.execute(
        select(parents.c.parent_id, parents.c.email, parents.c.locale, students.c.student_id, students.c.first_name)
        .select_from(guardians.join(students, students.c.student_id == guardians.c.student_id)
                     .join(parents, parents.c.email == guardians.c.email))
        .where(students.c.org_id == event.data["org_id"], guardians.c.principal.is_(True),
               guardians.c.access.is_(True), guardians.c.removed.is_(False))
        .order_by(students.c.first_name)
    ).all()
    children = defaultdict(list)
    for r in rows:
        children[r.parent_id].append(r)
    dates = {k: str(event.data[k]) for k in ("school_year", "opens_on", "closes_on")}
    mails = (_mail(conn, rows[0], event, "reenrollment", [r.student_id for r in rows],
                   {"children": templates.listing([r.first_name for r in rows], rows[0].locale or "fr"), **dates})
             for rows in children.values())
    return [mail for mail in mails if mail]


# -- one mail ---------------------------------------------------------------------------------

def _student_values(event, kind: str) -> dict:
    d = event.data
    if kind == "absence":
        return {"date": str(d["date"]), "what": d["kind"], "headline": f"{d['kind']}.headline"}
    if kind == "bulletin":
        return {"school_year": d["school_year"]}
    if kind == "statement":
        return {"period": d["period"], "balance": d["balance_cents"], "due_date": str(d["due_date"]),
                "reference": d["payment_reference"]}
    return {"date": str(d["date"]), "start": d["start"].strftime("%H:%M"), "end": d["end"].strftime("%H:%M"),
            "place": d.get("location"), "reason": d["reason"]}


def _localise(kind: str, values: dict, locale: str) -> dict:
    """The values of a template in the parent's language (words, amounts)."""
    values = dict(values)
    if kind == "absence":
        values["headline"] = templates.word(values["headline"], locale)
        values["what"] = templates.word(values["what"], locale)
    if kind == "statement":
        values["balance"] = templates.money(values["balance"], locale)
    if kind == "detention":
        values["place"] = f"{templates.word('at', locale)}{values['place']}" if values["place"] else ""
    return values


def _mail(conn, recipient, event, kind: str, student_ids: list[str], values: dict, visible_from=None) -> dict | None:
    mode = domain.strongest(_modes(conn, recipient.parent_id, student_ids, kind))
    quiet = _quiet_hours(conn, recipient.parent_id)
    timing = domain.when_to_send(mode, event.time, quiet, visible_from)
    if timing is None:
        return None
    digest, due_at = timing
    locale = recipient.locale or "fr"
    child = getattr(recipient, "first_name", None) or templates.word("child", locale)
    subject, body = templates.render(kind, locale, child=child, **_localise(kind, values, locale))
    return {"parent_id": recipient.parent_id, "event_id": event.id, "kind": kind, "email": recipient.email,
            "locale": locale, "subject": subject, "body": body, "digest": digest, "due_at": due_at,
            "next_try_at": due_at}


def _modes(conn, parent_id: str, student_ids: list[str], kind: str) -> list[str]:
    chosen = dict(conn.execute(
        select(preferences.c.student_id, preferences.c.mode)
        .where(preferences.c.parent_id == parent_id, preferences.c.kind == kind,
               preferences.c.student_id.in_(student_ids))).all())
    return [chosen.get(s, domain.DEFAULT_MODE) for s in student_ids]


def _quiet_hours(conn, parent_id: str) -> domain.QuietHours | None:
    row = conn.execute(select(parent_settings).where(parent_settings.c.parent_id == parent_id)).first()
    if row is None:
        return domain.DEFAULT_QUIET_HOURS
    if not row.quiet_hours:
        return None
    return domain.QuietHours(row.quiet_start or domain.QUIET_START, row.quiet_end or domain.QUIET_END)
