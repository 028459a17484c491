"""From events to mails: who hears about an event, when, and in which words.

Runs in the transaction that admits the events, for fresh events only, so a redelivered event
adds nothing, and a rebuild of the read models (which replays the store) mails nobody. Each mail
is a row of the outbox keyed by (parent, event); ``mail.Postman`` sends it when it is due.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from sqlalchemy import any_, delete, literal, select, update
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


def _about_student(conn, event, kind: str) -> list[dict]:
    values = _student_values(event, kind)
    recipients = _by_parent(_linked_parents(conn, links.c.student_id == event.data["student_id"]))
    return _mails(conn, event, kind, recipients, lambda rows: values, event.data.get("visible_from"))


def _message(conn, event) -> list[dict]:
    audience = event.data["audience"]
    candidates = _linked_parents(conn, links.c.org_id == audience["org_id"]) if audience["scope"] != "student" \
        else _linked_parents(conn, links.c.student_id == audience["student_id"])
    recipients = _by_parent(r for r in candidates
                            if domain.reaches(audience, domain.Child(r.student_id, r.org_id, r.school_id, r.group)))
    values = {k: event.data[k] for k in ("title", "author", "body")}
    return _mails(conn, event, "message", recipients, lambda rows: values)


def _reenrollment(conn, event) -> list[dict]:
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
    dates = {k: str(event.data[k]) for k in ("school_year", "opens_on", "closes_on")}
    return _mails(conn, event, "reenrollment", recipients,
                  lambda rows: {"children": [r.first_name for r in rows], **dates})


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
    if kind == "reenrollment":
        values["children"] = templates.listing(values["children"], locale)
    return values


def _mails(conn, event, kind: str, recipients: dict[str, list], values_of, visible_from=None) -> list[dict]:
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
        child = first.first_name or templates.word("child", locale)
        subject, body = templates.render(kind, locale, child=child, **_localise(kind, values_of(rows), locale))
        mails.append({"parent_id": parent_id, "event_id": event.id, "kind": kind,
                      "student_ids": [r.student_id for r in rows], "email": first.email,
                      "locale": locale, "subject": subject, "body": body, "digest": digest, "due_at": due_at,
                      "next_try_at": due_at})
    return mails


def _quiet_hours(settings) -> domain.QuietHours | None:
    if settings is None:
        return domain.DEFAULT_QUIET_HOURS
    if not settings.quiet_hours:
        return None
    return domain.QuietHours(settings.quiet_start or domain.QUIET_START, settings.quiet_end or domain.QUIET_END)
