"""Outgoing mail over SMTP.

``Postman`` is the service's dependency for mail: it builds messages and hands them to the SMTP
server named in the config (``SMTP_HOST``, ``SMTP_PORT``, ``MAIL_FROM``; by default the
``PORTAL_SMTP_*`` settings of scripts/env.sh).
"""
from __future__ import annotations

import logging
import os
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

DEFAULT_FROM = "ne-pas-repondre@portail-parents.local"
MAIL_DOMAIN = "portail-parents.local"


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the message."""


class Postman(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.host = config.get("SMTP_HOST") or os.environ.get("PORTAL_SMTP_HOST", "127.0.0.1")
        self.port = int(config.get("SMTP_PORT") or os.environ.get("PORTAL_SMTP_PORT", "8025"))
        self.sender = config.get("MAIL_FROM") or os.environ.get("PORTAL_MAIL_FROM", DEFAULT_FROM)
        self.timeout = float(config.get("SMTP_TIMEOUT", 10))

    def get_dependency(self, worker_ctx):
        return self

    def compose(self, to: str, locale: str, subject: str, body: str, message_id: str | None = None) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr(("Portail Parents", self.sender))
        message["To"] = to
        message["Subject"] = subject
        # A stable id lets a mail server or client drop a copy sent again after a crash.
        message["Message-ID"] = message_id or make_msgid(domain=MAIL_DOMAIN)
        message.set_content(body)
        message["Content-Language"] = "fr-CA" if locale == "fr" else "en-CA"  # after: set_content clears it
        return message

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            # The exception's class only: an SMTP reply may quote the message.
            raise MailNotSent(type(exc).__name__) from None
