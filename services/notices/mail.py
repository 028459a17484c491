"""Outgoing mail over SMTP, and the sender loop that empties the outbox.

``Postman`` is the service's dependency for mail: it builds messages and hands them to the SMTP
server named in the config (``SMTP_HOST``, ``SMTP_PORT``, ``MAIL_FROM``; by default the
``PORTAL_SMTP_*`` settings of scripts/env.sh). Its loop sends the outbox's due mails: each row is
locked (``FOR UPDATE SKIP LOCKED``, so replicas share the work), sent, and marked sent in the
same transaction. A mail the server does not take is tried again with a growing delay; a mail
marked sent is never sent again. Only a crash between the server's "250" and the commit can send
a mail twice, and then with the same Message-ID, which mail systems use to drop copies. A mail
that cannot be built (a line separator in a header) or that the server refuses for good (an
unknown recipient) is marked failed with its reason, alone: the rest of its batch goes on.

Each notification has a text and an HTML part, a link to the notification preferences and a
one-click ``List-Unsubscribe`` (RFC 8058) whose signed token (``unsubscribe``) the gateway hands
back to ``NoticesService.unsubscribe``. Links start with the portal's public address
(``PUBLIC_URL``, else ``PORTAL_PUBLIC_URL``); tokens are signed with ``UNSUBSCRIBE_SECRET``, else
``PORTAL_UNSUBSCRIBE_SECRET``.
"""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections import defaultdict
from datetime import datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formataddr, make_msgid

import eventlet
from nameko.extensions import DependencyProvider
from prometheus_client import Counter
from sqlalchemy import select, update

from servicekit.database import make_engine
from servicekit.schooltime import school_now

from . import domain, templates, unsubscribe
from .tables import outbox

log = logging.getLogger(__name__)

DEFAULT_FROM = "ne-pas-repondre@portail-parents.local"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
MAIL_DOMAIN = "portail-parents.local"
UNSUBSCRIBE_PATH = "/api/v1/notifications/unsubscribe/"  # gateway/routes.py

# Once per process, however many containers a test starts (as servicekit.ops.metrics_for).
MAILS = Counter("portal_notices_mails_total", "Mails of the outbox: sent, put off, or failed for good.", ["outcome"])


class MailPolicy(EmailPolicy):
    """The default policy, but List-Unsubscribe on one line: the folder would cut its long address
    into encoded words, which RFC 2369 forbids inside the brackets and mail clients do not read."""

    def fold(self, name, value):
        return self._for(name).fold(name, value)

    def fold_binary(self, name, value):
        return self._for(name).fold_binary(name, value)

    def _for(self, name) -> EmailPolicy:
        if name.lower() == "list-unsubscribe":
            return EmailPolicy(max_line_length=998, linesep=self.linesep)  # SMTP's own line limit
        return super()


POLICY = MailPolicy()


class MailNotSent(Exception):
    """The SMTP server could not be reached (``unreachable``) or refused the message, for now or
    for good (``permanent``: trying again would be refused again)."""

    def __init__(self, reason: str, unreachable: bool, permanent: bool = False):
        super().__init__(reason)
        self.unreachable, self.permanent = unreachable, permanent


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
        self.public_url = (config.get("PUBLIC_URL") or os.environ.get("PORTAL_PUBLIC_URL")
                           or DEFAULT_PUBLIC_URL).rstrip("/")
        secret = config.get("UNSUBSCRIBE_SECRET") or os.environ.get("PORTAL_UNSUBSCRIBE_SECRET")
        if not secret:
            raise RuntimeError("UNSUBSCRIBE_SECRET (or PORTAL_UNSUBSCRIBE_SECRET) must be set")
        self.secret = secret.encode()
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

    def compose(self, to: str, locale: str, mail: templates.Mail, message_id: str | None = None,
                unsubscribe_url: str | None = None) -> EmailMessage:
        """The message: text and HTML parts; a notification (``unsubscribe_url``) also links to
        the preferences and offers one-click unsubscribe."""
        notification = unsubscribe_url is not None
        text, html = templates.page(locale, mail, self.link(domain.PREFERENCES_SCREEN) if notification else None)
        message = EmailMessage(policy=POLICY)
        message["From"] = formataddr(("Portail Parents", self.sender))
        message["To"] = to
        message["Subject"] = mail.subject
        message["Message-ID"] = message_id or make_msgid(domain=MAIL_DOMAIN)
        if notification:
            message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        message["Content-Language"] = "fr-CA" if locale == "fr" else "en-CA"  # after: set_content clears it
        return message

    def link(self, path: str) -> str:
        """The portal's public address of ``path``."""
        return self.public_url + path

    def unsubscribe_url(self, parent_id: str, mail: str) -> str:
        return self.link(UNSUBSCRIBE_PATH + unsubscribe.sign(self.secret, parent_id, mail))

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
        """Send one batch of due mails; how many rows it settled (sent, put off or failed)."""
        now = school_now()
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(outbox).where(outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None),
                                     outbox.c.next_try_at <= now)
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
                message = self._message_for(parent_id, what, grouped)
                message.as_bytes()  # what the SMTP client will write: any fault shows here, for this mail only
            except Exception as exc:  # noqa: BLE001 - whatever the content, it stays this mail's problem
                self._fail(conn, parent_id, grouped, f"cannot be built: {type(exc).__name__}")
                continue
            try:
                if unreachable:
                    raise unreachable
                session.send(message)
            except MailNotSent as exc:
                if exc.permanent:
                    self._fail(conn, parent_id, grouped, f"refused: {exc}")
                    continue
                unreachable = exc if exc.unreachable else None
                attempts = grouped[0].attempts + 1
                retry_at = now + domain.retry_delay(attempts, self.first_retry)
                log.warning("mail to parent %s not sent (%s); try %d at %s", parent_id, exc, attempts + 1,
                            retry_at.isoformat())
                self._mark(conn, grouped, attempts=attempts, next_try_at=retry_at, last_error=str(exc))
                MAILS.labels("put_off").inc()
                continue
            self._mark(conn, grouped, sent_at=school_now(), last_error=None)
            MAILS.labels("sent").inc()

    def _fail(self, conn, parent_id: str, rows, reason: str) -> None:
        """A mail that will never go: set aside with its reason (no value of the mail in it)."""
        log.warning("mail to parent %s failed for good (%s)", parent_id, reason)
        MAILS.labels("failed").inc()
        self._mark(conn, rows, attempts=rows[0].attempts + 1, failed_at=school_now(), last_error=reason)

    def _message_for(self, parent_id: str, what: str, rows) -> EmailMessage:
        first = rows[0]
        if what != "digest":
            # A mail queued before mails had an HTML part: its text, as HTML.
            mail = templates.Mail(first.subject, first.body, first.html or templates.as_html(first.body))
            return self.compose(first.email, first.locale, mail,
                                message_id=f"<{first.event_id}.{parent_id}@{MAIL_DOMAIN}>",
                                unsubscribe_url=self.unsubscribe_url(parent_id, first.event_id))
        items = [(row.subject, row.link or self.link(domain.DIGEST_SCREEN))
                 for row in sorted(rows, key=lambda r: r.due_at)]
        newest = max(rows, key=lambda r: r.created_at)
        return self.compose(newest.email, newest.locale, templates.digest(newest.locale, items),
                            message_id=f"<digest.{min(r.event_id for r in rows)}.{parent_id}@{MAIL_DOMAIN}>",
                            unsubscribe_url=self.unsubscribe_url(parent_id, unsubscribe.DIGEST))

    @staticmethod
    def _mark(conn, rows, **values) -> None:
        for row in rows:
            conn.execute(update(outbox).where(outbox.c.parent_id == row.parent_id, outbox.c.event_id == row.event_id)
                         .values(**values))


class SmtpSession:
    """One SMTP connection for several mails, opened on the first and opened again after a
    failure (a server that refused one mail may take the next)."""

    def __init__(self, host: str, port: int, timeout: float, starttls: bool | None = None,
                 username: str | None = None, password: str | None = None):
        self.host, self.port, self.timeout = host, port, timeout
        # A real relay (docs/operations.md): STARTTLS and a login, from PORTAL_SMTP_STARTTLS=true,
        # PORTAL_SMTP_USERNAME and PORTAL_SMTP_PASSWORD; the local sink needs neither.
        self.starttls = os.environ.get("PORTAL_SMTP_STARTTLS", "").lower() == "true" if starttls is None else starttls
        self.username = os.environ.get("PORTAL_SMTP_USERNAME") if username is None else username
        self.password = os.environ.get("PORTAL_SMTP_PASSWORD", "") if password is None else password
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpSession":
        return self

    def __exit__(self, *exc_info) -> None:
        self._close()

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            try:
                self.smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    self.smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    self.smtp.login(self.username, self.password)
            except (OSError, smtplib.SMTPException) as exc:
                self._close()
                raise MailNotSent(type(exc).__name__, unreachable=True) from None
        try:
            self.smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            self._close()
            # The exception's class and code only: an SMTP reply may quote the message.
            raise MailNotSent(_reason(exc), unreachable=False, permanent=_refused_for_good(exc)) from None

    def _close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def _reason(exc: Exception) -> str:
    code = getattr(exc, "smtp_code", None)
    return f"{type(exc).__name__} {code}" if code else type(exc).__name__


def _refused_for_good(exc: Exception) -> bool:
    """A 5xx refusal of this mail's recipient or content; the sender refused or a dropped
    connection concern every mail, and are tried again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500
