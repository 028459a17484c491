"""The SMTP sink's mail directory, read the way a test expects a parent's mailbox."""
from __future__ import annotations

import email
import email.policy
import os
from pathlib import Path


def mail_dir() -> Path:
    return Path(os.environ["PORTAL_MAIL_DIR"])


def received(to: str) -> list[email.message.EmailMessage]:
    """Every mail the sink received for ``to``, oldest first."""
    mails = []
    for path in sorted(mail_dir().glob("*.eml")):
        with path.open("rb") as file:
            mail = email.message_from_binary_file(file, policy=email.policy.default)
        if to.lower() in mail.get("X-Envelope-To", "").lower().split(", "):
            mails.append(mail)
    return mails


def text_of(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()
