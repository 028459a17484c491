"""In a cluster notices sends through an authenticated relay (deploy/k8s/base/services/notices/
mail.yaml sets PORTAL_SMTP_STARTTLS, PORTAL_SMTP_USERNAME, PORTAL_SMTP_PASSWORD): the connection
is encrypted with STARTTLS before the login, and the login before any mail."""
from email.message import EmailMessage

import pytest

from services.notices import mail


class RecordingSMTP:
    calls: list = []

    def __init__(self, host, port, timeout):
        self.calls.append(("connect", host, port))

    def starttls(self, context):
        self.calls.append(("starttls", context.verify_mode.name))

    def login(self, username, password):
        self.calls.append(("login", username, password))

    def send_message(self, message):
        self.calls.append(("send", message["To"]))

    def quit(self):
        self.calls.append(("quit",))

    def close(self):
        pass


@pytest.fixture
def recording(monkeypatch):
    RecordingSMTP.calls = []
    monkeypatch.setattr(mail.smtplib, "SMTP", RecordingSMTP)
    return RecordingSMTP.calls


def message() -> EmailMessage:
    m = EmailMessage()
    m["To"] = "parent@example.org"
    m.set_content("x")
    return m


def test_the_relay_gets_starttls_then_the_login_then_the_mail(recording, monkeypatch):
    monkeypatch.setenv("PORTAL_SMTP_STARTTLS", "true")
    monkeypatch.setenv("PORTAL_SMTP_USERNAME", "portal")
    monkeypatch.setenv("PORTAL_SMTP_PASSWORD", "s3cret")
    with mail.SmtpSession("smtp.example.org", 587, 10) as session:
        session.send(message())
    assert recording == [("connect", "smtp.example.org", 587), ("starttls", "CERT_REQUIRED"),
                         ("login", "portal", "s3cret"), ("send", "parent@example.org"), ("quit",)]


def test_the_local_sink_gets_plain_smtp(recording, monkeypatch):
    for name in ("PORTAL_SMTP_STARTTLS", "PORTAL_SMTP_USERNAME", "PORTAL_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with mail.SmtpSession("127.0.0.1", 8025, 10) as session:
        session.send(message())
    assert [c[0] for c in recording] == ["connect", "send", "quit"]
