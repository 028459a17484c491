"""The verification code mail (identity's flows) through the real SMTP sink."""
import logging
import uuid

import pytest
from sqlalchemy import create_engine, text

from services.notices.service import NoticesService
from servicekit.errors import DomainError
from tests.notices.mailbox import received, text_of
from tests.support import eventually


@pytest.fixture
def notices(start_service, portal_env):
    return start_service(NoticesService)


@pytest.fixture
def rpc(amqp_url):
    """Notices as identity calls it: the code mail answers identity alone."""
    from gateway.rpc import RpcClient

    client = RpcClient(amqp_url, timeout=20, caller="identity")
    client.start()
    yield type("Services", (), {"notices": client.service("notices")})()
    client.stop()


def test_the_code_mail_answers_identity_alone(notices, amqp_url):
    from nameko.exceptions import RemoteError

    from gateway.rpc import RpcClient

    as_gateway = RpcClient(amqp_url, timeout=20)
    as_gateway.start()
    try:
        to = address()
        with pytest.raises(RemoteError) as refused:
            as_gateway.service("notices").send_verification_code(to, "482913", "fr", "register")
        assert refused.value.exc_type == "CallerRefused"
    finally:
        as_gateway.stop()


def address() -> str:
    return f"parent.{uuid.uuid4().hex[:10]}@example.org"


@pytest.mark.parametrize("locale, flow, subject, phrase", [
    ("fr", "register", "Votre code de vérification : 482913", "pour créer votre compte"),
    ("fr", "reset", "Votre code de vérification : 482913", "pour choisir un nouveau mot de passe"),
    ("fr", "claim", "Votre code de vérification : 482913", "l'adresse courriel que vous avez fournie à l'école"),
    ("en", "register", "Your verification code: 482913", "to create your account"),
    ("en", "reset", "Your verification code: 482913", "to choose a new password"),
    ("en", "claim", "Your verification code: 482913", "the email address you gave the school"),
])
def test_the_code_reaches_the_parent_in_their_language(notices, rpc, locale, flow, subject, phrase):
    to = address()
    assert rpc.notices.send_verification_code(to, "482913", locale, flow) == {"sent": True}
    mails = eventually(lambda: received(to))
    assert len(mails) == 1
    mail = mails[0]
    assert mail["To"] == to and mail["Subject"] == subject
    assert mail["Content-Language"] == ("fr-CA" if locale == "fr" else "en-CA")
    body = text_of(mail)
    assert "482913" in body and phrase in body and "15 minutes" in body


def test_the_code_is_neither_stored_nor_logged(notices, rpc, caplog, database_url):
    to = address()
    with caplog.at_level(logging.DEBUG):
        rpc.notices.send_verification_code(to, "907152", "fr", "register")
        eventually(lambda: received(to))
    assert not [r for r in caplog.records if "907152" in r.getMessage()]
    engine = create_engine(database_url("notices"))
    with engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).scalars().all()
        holding = [t for t in tables
                   if conn.execute(text(f'SELECT count(*) FROM "{t}" AS r WHERE r::text LIKE :c'),
                                   {"c": "%907152%"}).scalar()]
    engine.dispose()
    assert holding == []


@pytest.mark.parametrize("arguments, code, field", [
    (("not-an-email", "123456", "fr", "register"), "invalid_email", "email"),
    (("a@example.org\r\nBcc: x@example.org", "123456", "fr", "register"), "invalid_email", "email"),
    (("a@example.org", "12345", "fr", "register"), "invalid_code_format", "code"),
    (("a@example.org", "12345a", "fr", "register"), "invalid_code_format", "code"),
    (("a@example.org", None, "fr", "register"), "required", "code"),
    (("a@example.org", "123456", "de", "register"), "invalid_choice", "locale"),
    (("a@example.org", "123456", "fr", "login"), "invalid_choice", "flow"),
])
def test_bad_requests_get_a_clear_error_and_send_nothing(notices, rpc, arguments, code, field):
    with pytest.raises(DomainError) as refused:
        rpc.notices.send_verification_code(*arguments)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert received(arguments[0]) == []


def test_an_smtp_server_that_is_down_is_said_plainly(start_service, rpc, unused_port):
    start_service(NoticesService, SMTP_PORT=unused_port, SMTP_TIMEOUT=2)
    to = address()
    with pytest.raises(DomainError) as refused:
        rpc.notices.send_verification_code(to, "551234", "fr", "register")
    assert refused.value.code == "mail_unavailable"
    assert received(to) == []
