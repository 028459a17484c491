"""From events to mails: who hears about an event, when, and in which words.

Runs in the transaction that admits the events, for fresh events only, so a redelivered event
adds nothing, and a rebuild of the read models (which replays the store) mails nobody. Each mail
is a row of the outbox keyed by (parent, event), written in the parent's language with a link to
the screen that shows the news; ``mail.Postman`` sends it when it is due.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import any_, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from servicekit.schooltime import school_now

from . import domain, templates
from .tables import guardians, links, outbox, parent_settings, parents, preferences, students

STUDENT_KINDS = {"AbsenceRecorded": "absence", "BulletinPublished": "bulletin", "StatementIssued": "statement",
                 "DetentionRecorded": "detention"}


def enqueue(conn: Connection, events: list, public_url: str, now: datetime | None = None) -> int:
    """Queue the mails ``events`` call for, their links under ``public_url`` (the portal's public
    address); returns how many were queued."""
    now = now or school_now()
    queued = []
    for event in events:
        if not domain.is_news(event.time, now):
            continue
        if event.type in STUDENT_KINDS:
            queued += _about_student(conn, event, STUDENT_KINDS[event.type], public_url)
        elif event.type == "MessagePublished":
            queued += _message(conn, event, public_url)
        elif event.type == "ReenrollmentOpened":
            queued += _reenrollment(conn, event, public_url)
    if not queued:
        return 0
    return len(conn.execute(insert(outbox).values(queued).on_conflict_do_nothing().returning(outbox.c.event_id)).all())


def follow_email_changes(conn: Connection, events: list) -> None:
    """Mail not sent yet goes to the parent's new school email."""
    for event in events:
        if event.type == "ParentEmailChanged":
            conn.execute(update(outbox).where(outbox.c.parent_id == event.data["parent_id"], outbox.c.sent_at.is_(None))
                         .values(email=event.data["new_email"].lower()))


def drop_unlinked(conn: Connection, events: list) -> None:
    """Mail not sent yet about a child the parent no longer sees is not sent (unless it is also
    about another child still linked)."""
    for event in events:
        if event.type == "ChildUnlinked":
            still_linked = select(links.c.student_id).where(
                links.c.parent_id == outbox.c.parent_id, links.c.linked.is_(True),
                links.c.student_id == any_(outbox.c.student_ids)).exists()
            conn.execute(delete(outbox).where(
                outbox.c.parent_id == event.data["parent_id"], outbox.c.sent_at.is_(None),
                literal(event.data["student_id"]) == any_(outbox.c.student_ids), ~still_linked))


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


def _by_parent(rows) -> dict[str, list]:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row.parent_id].append(row)
    return grouped


def _about_student(conn, event, kind: str, public_url: str) -> list[dict]:
    values = _student_values(event, kind)
    recipients = _by_parent(_linked_parents(conn, links.c.student_id == event.data["student_id"]))
    return _mails(conn, event, kind, recipients, values, public_url, event.data.get("visible_from"))


def _message(conn, event, public_url: str) -> list[dict]:
    audience = event.data["audience"]
    candidates = _linked_parents(conn, links.c.org_id == audience["org_id"]) if audience["scope"] != "student" \
        else _linked_parents(conn, links.c.student_id == audience["student_id"])
    recipients = _by_parent(r for r in candidates
                            if domain.reaches(audience, domain.Child(r.student_id, r.org_id, r.school_id, r.group)))
    values = {k: event.data[k] for k in ("title", "author", "body")}
    return _mails(conn, event, "message", recipients, values, public_url)


def _reenrollment(conn, event, public_url: str) -> list[dict]:
    """The principal guardians of the board's students, matched to parents by their verified
    school email."""
    recipients = _by_parent(conn.execute(
        select(parents.c.parent_id, parents.c.email, parents.c.locale, students.c.student_id, students.c.first_name)
        .select_from(guardians.join(students, students.c.student_id == guardians.c.student_id)
                     .join(parents, parents.c.email == guardians.c.email))
        .where(students.c.org_id == event.data["org_id"], guardians.c.principal.is_(True),
               guardians.c.access.is_(True), guardians.c.removed.is_(False))
        .order_by(students.c.first_name)
    ).all())
    dates = {k: event.data[k] for k in ("school_year", "opens_on", "closes_on")}
    return _mails(conn, event, "reenrollment", recipients, dates, public_url)


# -- one mail ---------------------------------------------------------------------------------

def _student_values(event, kind: str) -> dict:
    """What the mail about a student's event says, as the event has it (``templates`` writes
    it in each language)."""
    d = event.data
    if kind == "absence":
        return {"date": d["date"], "what": d["kind"], "requires_justification": d["requires_justification"]}
    if kind == "bulletin":
        return {"school_year": d["school_year"], "what": d["kind"], "term": d.get("term")}
    if kind == "statement":
        return {"account": d["kind"], "period": d["period"], "total": d["total_cents"],
                "balance": d["balance_cents"], "due_date": d["due_date"], "reference": d["payment_reference"]}
    return {"date": d["date"], "start": d["start"], "end": d["end"], "place": d.get("location"),
            "reason": d["reason"]}


def _mails(conn, event, kind: str, recipients: dict[str, list], values: dict, public_url: str,
           visible_from=None) -> list[dict]:
    """The outbox rows of one event: per parent (with the rows of the children it concerns), in
    their language, at the time their choices for those children say."""
    if not recipients:
        return []
    chosen = {(r.parent_id, r.student_id): r.mode for r in conn.execute(
        select(preferences).where(preferences.c.parent_id.in_(list(recipients)), preferences.c.kind == kind))}
    settings = {r.parent_id: r for r in conn.execute(
        select(parent_settings).where(parent_settings.c.parent_id.in_(list(recipients))))}
    mails = []
    for parent_id, rows in recipients.items():
        mode = domain.strongest(chosen.get((parent_id, r.student_id), domain.DEFAULT_MODE) for r in rows)
        timing = domain.when_to_send(mode, event.time, _quiet_hours(settings.get(parent_id)), visible_from)
        if timing is None:
            continue
        digest, due_at = timing
        first = rows[0]
        locale = first.locale or "fr"
        student_ids = [r.student_id for r in rows]
        link = public_url + domain.screen(kind, student_ids)
        mail = templates.notification(kind, locale, {"children": [r.first_name for r in rows], **values},
                                      link)
        mails.append({"parent_id": parent_id, "event_id": event.id, "kind": kind, "student_ids": student_ids,
                      "email": first.email, "locale": locale, "subject": mail.subject, "body": mail.text,
                      "html": mail.html, "link": link, "digest": digest, "due_at": due_at, "next_try_at": due_at})
    return mails


def _quiet_hours(settings) -> domain.QuietHours | None:
    if settings is None:
        return domain.DEFAULT_QUIET_HOURS
    if not settings.quiet_hours:
        return None
    return domain.QuietHours(settings.quiet_start or domain.QUIET_START, settings.quiet_end or domain.QUIET_END)
