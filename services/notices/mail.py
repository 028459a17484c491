"""Outgoing mail over SMTP, and the sender loop that empties the outbox.

``Postman`` is the service's dependency for mail: it builds messages and hands them to the SMTP
server named in the config (``SMTP_HOST``, ``SMTP_PORT``, ``MAIL_FROM``; by default the
``PORTAL_SMTP_*`` settings of scripts/env.sh). Its loop sends the outbox's due mails: each row is
locked (``FOR UPDATE SKIP LOCKED``, so replicas share the work), sent, and marked sent in the
same transaction. A mail the server does not take is tried again with a growing delay; a mail
marked sent is never sent again. Only a crash between the server's "250" and the commit can send
a mail twice, and then with the same Message-ID, which mail systems use to drop copies.
"""
from __future__ import annotations

import logging
import os
import smtplib
from collections import defaultdict
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import select, update

from servicekit.database import make_engine

from . import domain, templates
from .tables import outbox

log = logging.getLogger(__name__)

DEFAULT_FROM = "ne-pas-repondre@portail-parents.local"
MAIL_DOMAIN = "portail-parents.local"


class MailNotSent(Exception):
    """The SMTP server could not be reached (``unreachable``) or refused the message."""

    def __init__(self, reason: str, unreachable: bool):
        super().__init__(reason)
        self.unreachable = unreachable


class Postman(DependencyProvider):
    batch_size = 50

    def setup(self):
        config = self.container.config
        self.host = config.get("SMTP_HOST") or os.environ.get("PORTAL_SMTP_HOST", "127.0.0.1")
        self.port = int(config.get("SMTP_PORT") or os.environ.get("PORTAL_SMTP_PORT", "8025"))
        self.sender = config.get("MAIL_FROM") or os.environ.get("PORTAL_MAIL_FROM", DEFAULT_FROM)
        self.timeout = float(config.get("SMTP_TIMEOUT", 10))
        self.poll_interval = float(config.get("MAIL_POLL_SECONDS", 1))
        self.first_retry = float(config.get("MAIL_RETRY_SECONDS", 2))
        self.engine = make_engine(config["DATABASE_URL"], pool_size=1)
        self._stopping = False

    def start(self):
        self._thread = self.container.spawn_managed_thread(self._run, identifier="mail-sender")

    def stop(self):
        self._stopping = True
        self._thread.wait()
        self.engine.dispose()

    def kill(self):
        self._thread.kill()

    def get_dependency(self, worker_ctx):
        return self

    # -- one mail -----------------------------------------------------------------------------

    def compose(self, to: str, locale: str, subject: str, body: str, message_id: str | None = None) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr(("Portail Parents", self.sender))
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = message_id or make_msgid(domain=MAIL_DOMAIN)
        message.set_content(body)
        message["Content-Language"] = "fr-CA" if locale == "fr" else "en-CA"  # after: set_content clears it
        return message

    def send(self, message: EmailMessage) -> None:
        with self.session() as session:
            session.send(message)

    def session(self) -> "SmtpSession":
        return SmtpSession(self.host, self.port, self.timeout)

    # -- the outbox ---------------------------------------------------------------------------

    def _run(self):
        while not self._stopping:
            try:
                while self.deliver_due() and not self._stopping:
                    pass
            except Exception:  # database gone: the rows wait, durable, for the next round
                log.warning("mail sender interrupted; trying again", exc_info=True)
            eventlet.sleep(self.poll_interval)

    def deliver_due(self) -> int:
        """Send one batch of due mails; how many rows it settled (sent or put off)."""
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(outbox).where(outbox.c.sent_at.is_(None), outbox.c.next_try_at <= now)
                .order_by(outbox.c.next_try_at).limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            mails = defaultdict(list)  # one mail per instant row, one per parent for the digest's rows
            for row in rows:
                mails[(row.parent_id, "digest") if row.digest else (row.parent_id, row.event_id)].append(row)
            with self.session() as session:
                self._send_all(conn, session, mails, now)
        return len(rows)

    def _send_all(self, conn, session: "SmtpSession", mails: dict, now: datetime) -> None:
        unreachable = None  # once the server cannot be reached, the rest of the batch waits too
        for (parent_id, what), grouped in mails.items():
            try:
                if unreachable:
                    raise unreachable
                session.send(self._message_for(parent_id, what, grouped))
            except MailNotSent as exc:
                unreachable = exc if exc.unreachable else None
                attempts = grouped[0].attempts + 1
                retry_at = now + domain.retry_delay(attempts, self.first_retry)
                log.warning("mail to parent %s not sent (%s); try %d at %s", parent_id, exc, attempts + 1,
                            retry_at.isoformat())
                self._mark(conn, grouped, attempts=attempts, next_try_at=retry_at, last_error=str(exc))
                continue
            self._mark(conn, grouped, sent_at=datetime.now(timezone.utc), last_error=None)

    def _message_for(self, parent_id: str, what: str, rows) -> EmailMessage:
        first = rows[0]
        if what != "digest":
            return self.compose(first.email, first.locale, first.subject, first.body,
                                message_id=f"<{first.event_id}.{parent_id}@{MAIL_DOMAIN}>")
        items = "\n".join(f"• {row.subject}" for row in sorted(rows, key=lambda r: r.due_at))
        subject, body = templates.render("digest", first.locale, items=items)
        newest = max(rows, key=lambda r: r.created_at)
        return self.compose(newest.email, newest.locale, subject, body,
                            message_id=f"<digest.{min(r.event_id for r in rows)}.{parent_id}@{MAIL_DOMAIN}>")

    @staticmethod
    def _mark(conn, rows, **values) -> None:
        for row in rows:
            conn.execute(update(outbox).where(outbox.c.parent_id == row.parent_id, outbox.c.event_id == row.event_id)
                         .values(**values))


class SmtpSession:
    """One SMTP connection for several mails, opened on the first and opened again after a
    failure (a server that refused one mail may take the next)."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpSession":
        return self

    def __exit__(self, *exc_info) -> None:
        self._close()

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            try:
                self.smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            except (OSError, smtplib.SMTPException) as exc:
                raise MailNotSent(type(exc).__name__, unreachable=True) from None
        try:
            self.smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            self._close()
            # The exception's class only: an SMTP reply may quote the message.
            raise MailNotSent(type(exc).__name__, unreachable=False) from None

    def _close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
