"""The SMTP sink's mail directory, read the way a test expects a parent's mailbox.

The directory is shared by every test and grows; each file's recipients are read once (the
sink's first header lines) and remembered, so that polling stays cheap and does not starve the
services running in the same process.
"""
from __future__ import annotations

import email
import email.policy
import os
from pathlib import Path

_recipients: dict[Path, list[str]] = {}


def mail_dir() -> Path:
    return Path(os.environ["PORTAL_MAIL_DIR"])


def _to(path: Path) -> list[str]:
    if path not in _recipients:
        with path.open("rb") as file:
            for line in (file.readline(), file.readline()):  # X-Envelope-From, X-Envelope-To
                if line.lower().startswith(b"x-envelope-to:"):
                    _recipients[path] = line.split(b":", 1)[1].decode().strip().lower().split(", ")
        _recipients.setdefault(path, [])
    return _recipients[path]


def received(to: str) -> list[email.message.EmailMessage]:
    """Every mail the sink received for ``to``, oldest first."""
    mails = []
    for path in sorted(mail_dir().glob("*.eml")):
        if to.lower() in _to(path):
            with path.open("rb") as file:
                mails.append(email.message_from_binary_file(file, policy=email.policy.default))
    return mails


def text_of(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()
