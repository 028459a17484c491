"""The notices service: mail to parents (verification codes, notifications), each parent's inbox
of school messages with read marks, resources per school and board, notification preferences,
and the private calendar feed.

Entrypoints first; the rules are in ``domain``, the read models in ``projections``, the mails in
``notifications`` (which ones), ``templates`` (their words) and ``mail`` (sending), the feed in
``feed``.
"""
from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as upsert

from servicekit import errors, store
from servicekit.consumer import event_streams
from servicekit.privacy import Privacy
from servicekit.projection import take_in
from servicekit.rpc import rpc
from servicekit.service import Service

from . import domain, feed, notifications, projections, tables, templates
from . import unsubscribe as unsubscribe_tokens
from .mail import MailNotSent, Postman
from .projections import children
from .schemas import PreferencesSchema, RequestSchema, VerificationCodeSchema
from .tables import (
    agenda, days_off, links, messages, outbox, parent_settings, parents, preferences, read_marks,
    resources, students,
)


log = logging.getLogger(__name__)

# The family as notices shows it: each linked child with the board, school and group mails and
# messages are addressed to.
FAMILY = (select(links.c.student_id, links.c.org_id, links.c.school_id, students.c.group)
          .select_from(links.outerjoin(students, students.c.student_id == links.c.student_id))
          .order_by(links.c.student_id))


class NoticesService(Service, Privacy):
    name = "notices"

    postman = Postman()

    # -- events ---------------------------------------------------------------------------------

    @event_streams(name)
    def take_in(self, events):
        """Admit and apply a batch, forget the closed accounts' own state, then bring the mails
        in waiting up to date and queue the new ones."""
        return take_in(self.db, events, projections.apply, _forget_own_state, notifications.follow_email_changes,
                       notifications.drop_unlinked,
                       lambda conn, fresh: notifications.enqueue(conn, fresh, self.postman.public_url))

    # -- mail on request ------------------------------------------------------------------------

    @rpc(callers=("identity",))
    def send_verification_code(self, email, code, locale, flow):
        """Mail a verification code (identity's flows: register, reset, claim). The code is
        neither stored nor logged: it exists here only in the message handed to SMTP."""
        request = errors.load(VerificationCodeSchema(),
                              {"email": email, "code": code, "locale": locale, "flow": flow})
        mail = templates.verification_code(request["code"], request["locale"], request["flow"])
        message = self.postman.compose(request["email"], request["locale"], mail)
        try:
            self.postman.send(message)
        except MailNotSent as exc:
            log.warning("verification mail not sent (%s)", exc)
            raise errors.Unavailable("mail_unavailable") from None
        return {"sent": True}

    # -- messages and resources -----------------------------------------------------------------

    @rpc
    def inbox(self, parent_id, student_id=None):
        """The school's messages for the parent's children (or one child), newest first, each
        with the children it concerns and whether this parent read it."""
        request = errors.load(RequestSchema(), {"parent_id": parent_id, "student_id": student_id})
        with self.db.begin() as conn:
            children = self._children(conn, request["parent_id"], request["student_id"], "inbox")
            listed = _inbox(conn, request["parent_id"], children)
        return {"messages": listed, "unread": sum(1 for m in listed if not m["read"])}

    @rpc
    def mark_read(self, parent_id, message_id):
        request = errors.load(RequestSchema(), {"parent_id": parent_id, "message_id": message_id})
        with self.db.begin() as conn:
            children = self._children(conn, request["parent_id"], None, None)
            if not any(m["message_id"] == request["message_id"] for m in _inbox(conn, request["parent_id"], children)):
                raise errors.NotFound("message_not_found", field="message_id")
            conn.execute(upsert(read_marks).values(parent_id=request["parent_id"], message_id=request["message_id"])
                         .on_conflict_do_nothing())
        return {"message_id": request["message_id"], "read": True}

    @rpc
    def resources(self, parent_id, student_id):
        """Links and documents the child's school and board publish."""
        request = errors.load(RequestSchema(), {"parent_id": parent_id, "student_id": student_id})
        if request["student_id"] is None:
            raise errors.DomainError("required", field="student_id")
        with self.db.begin() as conn:
            child = self._children(conn, request["parent_id"], request["student_id"], "resources")[0]
            rows = conn.execute(
                select(resources).where(or_(
                    (resources.c.scope == "org") & (resources.c.org_id == child.org_id),
                    (resources.c.scope == "school") & (resources.c.school_id == child.school_id),
                )).order_by(resources.c.scope.desc(), resources.c.title)
            ).all()
        return {"resources": [
            {"resource_id": r.resource_id, "scope": r.scope, "title": r.title, "kind": r.kind, "url": r.url,
             "description": r.description} for r in rows]}

    # -- preferences ----------------------------------------------------------------------------

    @rpc
    def preferences(self, parent_id):
        """Per linked child and per kind: instant, digest or off; and the quiet hours."""
        request = errors.load(RequestSchema(), {"parent_id": parent_id})
        with self.db.begin() as conn:
            return _preferences(conn, request["parent_id"])

    @rpc
    def set_preferences(self, parent_id, preferences):
        """Change some choices: ``{"quiet_hours": {"start": "21:00", "end": "07:00"} or null,
        "children": [{"student_id": ..., "kinds": {"absence": "digest", ...}}]}``."""
        parent_id = errors.load(RequestSchema(), {"parent_id": parent_id})["parent_id"]
        request = errors.load(PreferencesSchema(), preferences)
        with self.db.begin() as conn:
            for child in request.get("children", ()):
                self._children(conn, parent_id, child["student_id"], None)
                for kind, mode in child["kinds"].items():
                    conn.execute(upsert(tables.preferences).values(
                        parent_id=parent_id, student_id=child["student_id"], kind=kind, mode=mode)
                        .on_conflict_do_update(index_elements=["parent_id", "student_id", "kind"],
                                               set_={"mode": mode}))
            if "quiet_hours" in request:
                quiet = request["quiet_hours"]
                values = {"quiet_hours": quiet is not None, "quiet_start": quiet and quiet["start"],
                          "quiet_end": quiet and quiet["end"]}
                conn.execute(upsert(parent_settings).values(parent_id=parent_id, **values)
                             .on_conflict_do_update(index_elements=["parent_id"], set_=values))
            return _preferences(conn, parent_id)

    @rpc
    def unsubscribe(self, token):
        """One-click unsubscribe (RFC 8058), from the link of a mail: what that mail was about is
        turned off, for the children it named (a digest: every kind the parent had on digest),
        and such mail still waiting is not sent. A token that notices did not sign, or whose mail
        or parent is gone, is not found."""
        named = unsubscribe_tokens.read(self.postman.secret, token)
        if named is None:
            raise errors.NotFound("unsubscribe_link_not_found")
        parent_id, mail = named
        with self.db.begin() as conn:
            waiting = (outbox.c.parent_id == parent_id) & outbox.c.sent_at.is_(None) & outbox.c.failed_at.is_(None)
            if mail == unsubscribe_tokens.DIGEST:
                if not _is_parent(conn, parent_id):
                    raise errors.NotFound("unsubscribe_link_not_found")
                kinds = conn.execute(
                    update(preferences).where(preferences.c.parent_id == parent_id, preferences.c.mode == domain.DIGEST)
                    .values(mode=domain.OFF).returning(preferences.c.kind)).scalars().all()
                conn.execute(delete(outbox).where(waiting, outbox.c.digest.is_(True)))
                return {"unsubscribed": sorted(set(kinds))}
            row = conn.execute(select(outbox.c.kind, outbox.c.student_ids)
                               .where(outbox.c.parent_id == parent_id, outbox.c.event_id == mail)).first()
            if row is None:
                raise errors.NotFound("unsubscribe_link_not_found")
            children = row.student_ids or []  # a mail queued before the outbox named its children: none
            for student_id in children:
                conn.execute(upsert(preferences).values(
                    parent_id=parent_id, student_id=student_id, kind=row.kind, mode=domain.OFF)
                    .on_conflict_do_update(index_elements=["parent_id", "student_id", "kind"],
                                           set_={"mode": domain.OFF}))
            conn.execute(delete(outbox).where(waiting, outbox.c.kind == row.kind,
                                              outbox.c.student_ids.contained_by(children)))
        return {"unsubscribed": [row.kind]}

    # -- the calendar feed ----------------------------------------------------------------------

    @rpc
    def feed_url_token(self, parent_id):
        """The secret of the parent's calendar URL (made on first request)."""
        parent_id = errors.load(RequestSchema(), {"parent_id": parent_id})["parent_id"]
        with self.db.begin() as conn:
            conn.execute(upsert(parent_settings).values(parent_id=parent_id, feed_token=feed.new_token())
                         .on_conflict_do_nothing())
            token = conn.execute(select(parent_settings.c.feed_token)
                                 .where(parent_settings.c.parent_id == parent_id)).scalar_one()
            if token is None:
                token = self._new_feed_token(conn, parent_id)
        return {"token": token}

    @rpc
    def reset_feed_token(self, parent_id):
        """A new secret: the old URL stops working at once."""
        parent_id = errors.load(RequestSchema(), {"parent_id": parent_id})["parent_id"]
        with self.db.begin() as conn:
            conn.execute(upsert(parent_settings).values(parent_id=parent_id).on_conflict_do_nothing())
            return {"token": self._new_feed_token(conn, parent_id)}

    @rpc
    def calendar_feed(self, token):
        """The ``text/calendar`` body of the parent whose secret is ``token``."""
        if not feed.looks_like_token(token):
            raise errors.NotFound("feed_not_found")
        with self.db.begin() as conn:
            row = conn.execute(select(parent_settings.c.parent_id)
                               .where(parent_settings.c.feed_token == token)).first()
            if row is None:
                raise errors.NotFound("feed_not_found")
            children = self._children(conn, row.parent_id, None, "calendar_feed")
            locale = conn.execute(select(parents.c.locale).where(parents.c.parent_id == row.parent_id)).scalar()
            body = feed.calendar(_entries(conn, children), _holidays(conn, children), locale or "fr")
        return {"content_type": "text/calendar; charset=utf-8", "body": body.decode()}

    # -- Law 25 ---------------------------------------------------------------------------------

    @rpc
    def export(self, parent_id):
        """Everything notices holds on the parent, for their download."""
        parent_id = errors.load(RequestSchema(), {"parent_id": parent_id})["parent_id"]
        with self.db.begin() as conn:
            account = conn.execute(select(parents).where(parents.c.parent_id == parent_id)).first()
            linked = self._children(conn, parent_id, None, None)
            mails = conn.execute(select(outbox).where(outbox.c.parent_id == parent_id)
                                 .order_by(outbox.c.created_at)).all()
            settings = conn.execute(select(parent_settings).where(parent_settings.c.parent_id == parent_id)).first()
            return {
                "service": "notices",
                "account": {"email": account.email, "locale": account.locale} if account else None,
                "children": [c.student_id for c in linked],
                "preferences": _preferences(conn, parent_id),
                "calendar_feed": {"active": bool(settings and settings.feed_token)},
                "messages": _inbox(conn, parent_id, linked),
                "mails": [{"kind": m.kind, "to": m.email, "subject": m.subject, "queued_at": m.created_at.isoformat(),
                           "sent_at": m.sent_at.isoformat() if m.sent_at else None} for m in mails],
                "access_log": children.accesses(conn, parent_id),
                "events": store.about_parent(conn, parent_id),
            }

    # -- helpers --------------------------------------------------------------------------------

    def _children(self, conn, parent_id: str, student_id: str | None, what: str | None) -> list[domain.Child]:
        """The parent's linked children (or the one asked for, refused like a child that does not
        exist when it is not theirs); logs the read when ``what`` names one (``Children.family``)."""
        return [domain.Child(*row) for row in children.family(conn, FAMILY, parent_id, student_id, what,
                                                                field="student_id")]

    @staticmethod
    def _new_feed_token(conn, parent_id: str) -> str:
        token = feed.new_token()
        conn.execute(update(parent_settings).where(parent_settings.c.parent_id == parent_id).values(feed_token=token))
        return token


def _forget_own_state(conn, events) -> None:
    """Law 25: what notices keeps on a parent beyond the read models goes with the account."""
    children.forget(conn, [e.data["parent_id"] for e in events if e.type == "ParentAccountClosed"],
                    read_marks, preferences, parent_settings, outbox)


def _inbox(conn, parent_id: str, children: list[domain.Child]) -> list[dict]:
    if not children:
        return []
    orgs = {c.org_id for c in children}
    rows = conn.execute(
        select(messages, read_marks.c.read_at)
        .select_from(messages.outerjoin(read_marks, (read_marks.c.message_id == messages.c.message_id)
                                        & (read_marks.c.parent_id == parent_id)))
        .where(or_(messages.c.org_id.in_(orgs), messages.c.student_id.in_([c.student_id for c in children])))
        .order_by(messages.c.published_at.desc(), messages.c.message_id)
    ).all()
    listed = []
    for row in rows:
        audience = {"scope": row.scope, "org_id": row.org_id, "school_id": row.school_id, "group": row.group,
                    "student_id": row.student_id}
        concerned = [c.student_id for c in children if domain.reaches(audience, c)]
        if concerned:
            listed.append({
                "message_id": row.message_id, "title": row.title, "body": row.body, "author": row.author,
                "published_at": row.published_at.isoformat(), "scope": row.scope, "student_ids": concerned,
                "read": row.read_at is not None,
            })
    return listed


def _is_parent(conn, parent_id: str) -> bool:
    return conn.execute(select(parents.c.parent_id).where(parents.c.parent_id == parent_id)).first() is not None


def _preferences(conn, parent_id: str) -> dict:
    chosen = {(r.student_id, r.kind): r.mode for r in conn.execute(
        select(preferences).where(preferences.c.parent_id == parent_id)).all()}
    settings = conn.execute(select(parent_settings).where(parent_settings.c.parent_id == parent_id)).first()
    if settings is None:
        quiet = {"start": domain.QUIET_START.strftime("%H:%M"), "end": domain.QUIET_END.strftime("%H:%M")}
    elif not settings.quiet_hours:
        quiet = None
    else:
        quiet = {"start": (settings.quiet_start or domain.QUIET_START).strftime("%H:%M"),
                 "end": (settings.quiet_end or domain.QUIET_END).strftime("%H:%M")}
    linked = children.of_parent(conn, parent_id)
    return {
        "quiet_hours": quiet,
        "time_zone": str(domain.SCHOOL_TIME),
        "children": [{"student_id": s, "kinds": {k: chosen.get((s, k), domain.DEFAULT_MODE) for k in domain.KINDS}}
                     for s in linked],
    }


def _entries(conn, children: list[domain.Child]) -> list[feed.Entry]:
    if not children:
        return []
    names = dict(conn.execute(select(students.c.student_id, students.c.first_name)
                              .where(students.c.student_id.in_([c.student_id for c in children]))).all())
    rows = conn.execute(
        select(agenda).where(agenda.c.student_id.in_([c.student_id for c in children]),
                             agenda.c.cancelled.is_(False), agenda.c.day.is_not(None))
        .order_by(agenda.c.day, agenda.c.starts.nulls_first())
    ).all()
    return [feed.Entry(r.entry_id, names.get(r.student_id, r.student_id), r.kind, r.day, r.starts, r.ends, r.title,
                       r.detail, r.updated_at) for r in rows]


def _holidays(conn, children: list[domain.Child]) -> list[feed.Holiday]:
    schools = {c.school_id for c in children if c.school_id}
    if not schools:
        return []
    rows = conn.execute(select(days_off).where(days_off.c.school_id.in_(schools))
                        .order_by(days_off.c.school_id, days_off.c.school_year)).all()
    return [feed.Holiday(r.school_id, date.fromisoformat(d["date"]), d["label"], r.updated_at)
            for r in rows for d in r.days]

