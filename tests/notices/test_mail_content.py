"""What a notification mail says and offers: the child, what happened, the link to its screen,
an HTML part, the preferences and a one-click unsubscribe; and a mail that cannot go fails alone.

The first tests need no server; the others run against the real RabbitMQ, PostgreSQL, SMTP sink
and the gateway served in this process."""
from __future__ import annotations

import dataclasses
import smtplib
import subprocess
import sys
import urllib.request
import uuid
from datetime import date, time
from urllib.parse import quote

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from services.notices import domain, mail, templates, unsubscribe
from services.notices.service import NoticesService
from servicekit.schooltime import school_today
from tests.gateway.stack import ServedGateway, free_port, request
from tests.local_env import REPO
from tests.notices import events
from tests.notices.mailbox import mail_dir, received, text_of
from tests.notices.test_notices_service import FAST_MAIL, outbox_rows, settle
from tests.support import eventually, publish, stop_processes

PORTAL = "https://portail.example.org"  # the public address, from the service's configuration
ALL_DAY_QUIET = {"start": "00:00", "end": "23:59"}


# -- without servers --------------------------------------------------------------------------

def test_dates_times_amounts_and_lists_are_written_the_quebec_way():
    first, third = date(2026, 12, 1), date(2026, 12, 3)
    assert [templates.day(d, "fr") for d in (first, third)] == ["mardi 1er décembre", "jeudi 3 décembre"]
    assert templates.day(third, "en") == "Thursday, December 3"
    assert (templates.long_date(third, "fr"), templates.long_date(third, "en")) == ("3 décembre 2026",
                                                                                    "December 3, 2026")
    assert [templates.clock(t, "fr") for t in (time(15, 10), time(8, 0))] == ["15 h 10", "8 h"]
    assert [templates.clock(t, "en") for t in (time(15, 10), time(8, 0))] == ["3:10 p.m.", "8 a.m."]
    assert (templates.money(16900, "fr"), templates.money(16900, "en")) == ("169,00\u00a0$", "$169.00")


@pytest.mark.parametrize("kind, values, sentence", [
    ("absence", {"date": date(2026, 12, 1), "what": "absence", "requires_justification": True},
     "Une absence de Léa a été enregistrée le mardi 1er décembre."),
    ("absence", {"date": date(2026, 12, 1), "what": "lateness", "requires_justification": False},
     "Un retard de Léa a été enregistré le mardi 1er décembre."),
    ("bulletin", {"school_year": "2026-2027", "what": "term", "term": 1},
     "Le bulletin de la 1re étape de Léa est disponible (année scolaire 2026-2027)."),
    ("statement", {"account": "daycare", "period": "2026-10", "total": 16900, "balance": 8450,
                   "due_date": date(2026, 11, 15), "reference": "2093100412"},
     "Un nouvel état de compte de 169,00\u00a0$ pour Léa est disponible (service de garde, 2026-10)."),
    ("detention", {"date": date(2026, 12, 3), "start": time(15, 10), "end": time(16, 10), "place": "C-110",
                   "reason": "Travaux non remis"},
     "Léa a une retenue le jeudi 3 décembre, de 15 h 10 à 16 h 10, local C-110."),
    ("reenrollment", {"school_year": "2027-2028", "opens_on": date(2027, 1, 18), "closes_on": date(2027, 2, 5)},
     "la réinscription de Léa pour l'année scolaire 2027-2028 dans le Portail Parents, du 18 janvier 2027 au "
     "5 février 2027."),
])
def test_each_kind_says_what_happened_to_the_child_in_a_sentence(kind, values, sentence):
    written = templates.notification(kind, "fr", {"children": ["Léa"], **values}, f"{PORTAL}/enfants/x/{kind}")
    assert sentence in written.text
    assert f"{PORTAL}/enfants/x/{kind}" in written.text and f'href="{PORTAL}/enfants/x/{kind}"' in written.html
    english = templates.notification(kind, "en", {"children": ["Léa"], **values}, f"{PORTAL}/enfants/x/{kind}")
    assert "Léa" in english.text


def test_the_html_part_escapes_every_value_and_declares_its_language():
    hostile = {"children": ['<img src=x onerror="alert(1)">'], "title": "<script>alert(1)</script>",
               "author": "A & B", "body": "</p><a href='https://evil.example'>clic</a>"}
    written = templates.notification("message", "fr", hostile, f"{PORTAL}/messages?a=1&b=2")
    _, html = templates.page("fr", written, f"{PORTAL}/compte")
    assert "<script>" not in html and "<img" not in html and "evil.example'>" not in html
    assert "&lt;script&gt;" in html and "A &amp; B" in html and "/messages?a=1&amp;b=2" in html
    assert '<html lang="fr-CA">' in html and "<title>Message de l&#x27;école : &lt;script&gt;alert(1)" in html


def test_each_news_leads_to_its_screen_of_the_web_client():
    assert domain.screen("absence", ["css-a.123 4"]) == "/enfants/css-a.123%204/absences"
    assert [domain.screen(k, ["s"]).rsplit("/", 1)[1] for k in ("bulletin", "statement", "detention", "message",
                                                                "reenrollment")] == \
        ["results", "finances", "agenda", "messages", "reenrollment"]
    assert domain.screen("message", ["s1", "s2"]) == "/messages"
    assert domain.screen("reenrollment", ["s1", "s2"]) == "/famille"


def test_an_unsubscribe_token_is_read_back_only_with_its_secret_and_unchanged():
    token = unsubscribe.sign(b"secret", "parent-1", "event-1")
    assert unsubscribe.read(b"secret", token) == ("parent-1", "event-1")
    payload, mac = token.split(".")
    forged = unsubscribe.sign(b"guess", "parent-2", "event-1")
    for wrong in (unsubscribe.read(b"other", token), unsubscribe.read(b"secret", forged),
                  unsubscribe.read(b"secret", f"{forged.split('.')[0]}.{mac}"), unsubscribe.read(b"secret", payload),
                  unsubscribe.read(b"secret", None), unsubscribe.read(b"secret", "é" * 50),
                  unsubscribe.read(b"secret", f"{payload}.{mac[:-1]}\udcff"),
                  unsubscribe.read(b"secret", token + "A" * 400)):
        assert wrong is None
    assert "parent-1" not in token and "@" not in token  # ids encoded, no address in clear


def test_a_refused_recipient_fails_for_good_and_a_refused_sender_is_tried_again():
    assert mail._refused_for_good(smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no such user")}))
    assert not mail._refused_for_good(smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"busy")}))
    assert mail._refused_for_good(smtplib.SMTPDataError(554, b"rejected"))
    assert not mail._refused_for_good(smtplib.SMTPSenderRefused(550, b"no", "portal@example.org"))


# -- against the real servers -----------------------------------------------------------------

@pytest.fixture
def notices(start_service, portal_env):
    return start_service(NoticesService, PUBLIC_URL=PORTAL, **FAST_MAIL)


@pytest.fixture
def database(engine_of):
    return engine_of("notices")


@pytest.fixture
def gateway(amqp_url):
    """The gateway, as the mail clients reach it (its public routes only)."""
    from gateway.app import Gateway, Settings

    served = ServedGateway(Gateway(Settings(amqp_url=amqp_url, issuer="http://127.0.0.1:1/realms/none"), None),
                           free_port())
    yield served
    served.stop()


def parts(message) -> tuple[str, str]:
    return text_of(message), message.get_body(preferencelist=("html",)).get_content()


def raw(message) -> bytes:
    """The message as the SMTP server received it."""
    marker = f"Message-ID: {message['Message-ID']}".encode()
    return next(p.read_bytes() for p in mail_dir().glob("*.eml") if marker in p.read_bytes())


def one_click(gateway, message, **headers):
    """What a mail client does with List-Unsubscribe-Post (RFC 8058): POST to the header's address."""
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    address = str(message["List-Unsubscribe"]).strip("<>")
    assert address.startswith(f"{PORTAL}/api/v1/notifications/unsubscribe/")
    path = address.removeprefix(PORTAL)
    sent = urllib.request.Request(gateway.url + path, method="POST", data=b"List-Unsubscribe=One-Click",
                                  headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
    with urllib.request.urlopen(sent, timeout=20) as answer:
        return answer.status, answer.read()


def test_text_and_html_parts_name_the_child_and_link_to_the_screen(notices, rpc, amqp_url):
    family = settle(rpc, amqp_url, events.family(first_name="Léa"))
    recorded = events.absence(family.student_id, family.school_id)
    publish([recorded], amqp_url)
    message = eventually(lambda: received(family.email))[0]
    assert message.get_content_type() == "multipart/alternative"
    plain, html = parts(message)
    screen = f"{PORTAL}/enfants/{quote(family.student_id, safe='')}/absences"
    sentence = f"Une absence de Léa a été enregistrée le {templates.day(recorded.data['date'], 'fr')}."
    for part in (plain, html):
        assert sentence in part
        assert screen in part and f"{PORTAL}/compte" in part
    assert f'href="{screen}"' in html and '<html lang="fr-CA">' in html
    # The address on one line, as RFC 2369 wants it: no encoded words, no whitespace in the brackets.
    assert f"\nList-Unsubscribe: <{PORTAL}/api/v1/notifications/unsubscribe/".encode() in raw(message)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_statement_in_english_says_the_amount_and_links_to_the_finances(notices, rpc, amqp_url):
    family = settle(rpc, amqp_url, events.family(first_name="Noah"), locale="en")
    today = school_today()
    publish([events.sis("StatementIssued", family.student_id, {
        "statement_id": f"edc-{uuid.uuid4().hex[:6]}", "account_id": "css-test.fam-1", "student_id": family.student_id,
        "school_id": family.school_id, "kind": "school", "period": "2026-2027", "issued_on": today,
        "due_date": today, "lines": [{"description": "Matériel", "amount_cents": 16900}], "total_cents": 16900,
        "paid_cents": 8450, "balance_cents": 8450, "payment_reference": "2093100412", "visible_from": None,
        "document_url": None})], amqp_url)
    message = eventually(lambda: received(family.email))[0]
    plain, html = parts(message)
    for part in (plain, html):
        assert "A new statement of account of $169.00 for Noah is available" in part and "Balance: $84.50" in part
        assert f"{PORTAL}/enfants/{quote(family.student_id, safe='')}/finances" in part
    assert '<html lang="en-CA">' in html and message["Content-Language"] == "en-CA"


def test_one_click_unsubscribe_turns_that_kind_off_for_that_child_only(notices, gateway, rpc, amqp_url, database):
    lea = settle(rpc, amqp_url, events.family(first_name="Léa"))
    noah = settle(rpc, amqp_url, lea.parent_of(events.family(lea.org_id, first_name="Noah")))
    publish([events.absence(lea.student_id, lea.school_id)], amqp_url)
    first = eventually(lambda: received(lea.email))[0]

    waiting = events.absence(lea.student_id, lea.school_id)  # held by quiet hours when the parent clicks
    rpc.notices.set_preferences(lea.parent_id, {"quiet_hours": ALL_DAY_QUIET})
    publish([waiting], amqp_url)
    eventually(lambda: waiting.id in {r.event_id for r in outbox_rows(database, lea.parent_id)})
    rpc.notices.set_preferences(lea.parent_id, {"quiet_hours": None})

    status, answer = one_click(gateway, first)
    assert status == 200 and b'"absence"' in answer
    kinds = {c["student_id"]: c["kinds"] for c in rpc.notices.preferences(lea.parent_id)["children"]}
    assert kinds[lea.student_id]["absence"] == "off" and kinds[lea.student_id]["detention"] == "instant"
    assert kinds[noah.student_id]["absence"] == "instant"

    # Léa's next absence, then two markers that do send: another kind for Léa, the same kind for Noah.
    silent = events.absence(lea.student_id, lea.school_id)
    markers = [events.detention(lea.student_id, school_today()), events.absence(noah.student_id, noah.school_id)]
    publish([silent, *markers], amqp_url)
    mails = eventually(lambda: len(received(lea.email)) == 3 and received(lea.email))
    assert sorted(" ".join(m["Subject"].split(" ")[:4]) for m in mails) == [
        "Absence enregistrée pour Léa", "Absence enregistrée pour Noah", "Retenue pour Léa le"]
    queued = {r.event_id for r in outbox_rows(database, lea.parent_id)}
    assert {m.id for m in markers} <= queued and not {silent.id, waiting.id} & queued


def test_a_forged_or_altered_unsubscribe_link_is_refused_in_both_languages(notices, gateway):
    path = "/api/v1/notifications/unsubscribe/"
    forged = unsubscribe.sign(b"not-the-secret", str(uuid.uuid4()), str(uuid.uuid4()))
    for token, language in ((forged, "fr"), (forged[:-2] + "AA", "en"), ("x" * 500, "fr")):
        status, _, body = request(gateway.url, "POST", path + token, headers={"Accept-Language": language})
        assert status == 404 and body["code"] == "unsubscribe_link_not_found"
        assert body["message"].startswith("Ce lien" if language == "fr" else "This unsubscribe link")
    # Opening the address (a link checker, a preview) changes nothing: only the one-click POST does.
    assert request(gateway.url, "GET", path + forged)[0] == 405


def test_the_digest_offers_one_click_unsubscribe_too(notices, gateway, rpc, amqp_url, database):
    family = settle(rpc, amqp_url, events.family(first_name="Léa"))
    rpc.notices.set_preferences(family.parent_id, {"children": [
        {"student_id": family.student_id, "kinds": {"absence": "digest", "detention": "digest"}}]})
    publish([events.absence(family.student_id, family.school_id)], amqp_url)
    eventually(lambda: outbox_rows(database, family.parent_id))
    with database.begin() as conn:  # the morning comes
        conn.execute(text("UPDATE outbox SET due_at = now(), next_try_at = now() WHERE parent_id = :p"),
                     {"p": family.parent_id})
    digest = eventually(lambda: received(family.email))[0]
    plain, html = parts(digest)
    assert f"{PORTAL}/enfants/{quote(family.student_id, safe='')}/absences" in plain and f"{PORTAL}/compte" in html
    # News of the day after, waiting for the next digest, when the parent clicks.
    publish([events.detention(family.student_id, school_today())], amqp_url)
    eventually(lambda: len(outbox_rows(database, family.parent_id)) == 2)
    assert one_click(gateway, digest)[0] == 200
    kinds = rpc.notices.preferences(family.parent_id)["children"][0]["kinds"]
    assert (kinds["absence"], kinds["detention"], kinds["message"]) == ("off", "off", "instant")
    assert [r.sent_at is not None for r in outbox_rows(database, family.parent_id)] == [True]  # the next one is off


def test_a_mail_that_cannot_be_built_fails_alone_and_every_other_goes_exactly_once(notices, rpc, amqp_url,
                                                                                    database):
    org = events.new_org()
    families = [settle(rpc, amqp_url, events.family(org), quiet_hours=ALL_DAY_QUIET) for _ in range(6)]
    publish([events.message({"scope": "org", "org_id": org})], amqp_url)
    eventually(lambda: all(outbox_rows(database, f.parent_id) for f in families))
    poisoned, others = families[3], families[:3] + families[4:]
    failed_before = REGISTRY.get_sample_value("portal_notices_mails_total", {"outcome": "failed"}) or 0
    parent_ids = [f.parent_id for f in families]
    with database.begin() as conn:
        # A title with a line separator, as a school system could send it: no header may hold it.
        conn.execute(text("UPDATE outbox SET subject = subject || E'\\u2028Bcc: x@example.org' WHERE parent_id = :p"),
                     {"p": poisoned.parent_id})
        # Their quiet hours end: one batch holds every mail.
        conn.execute(text("UPDATE outbox SET due_at = now(), next_try_at = now() WHERE parent_id = ANY(:p)"),
                     {"p": parent_ids})
    failed = eventually(lambda: outbox_rows(database, poisoned.parent_id)[0].failed_at
                        and outbox_rows(database, poisoned.parent_id)[0])
    assert failed.sent_at is None and failed.last_error == "cannot be built: ValueError" and failed.attempts == 1
    assert REGISTRY.get_sample_value("portal_notices_mails_total", {"outcome": "failed"}) == failed_before + 1
    eventually(lambda: all(outbox_rows(database, f.parent_id)[0].sent_at for f in others))
    assert [len(received(f.email)) for f in others] == [1] * 5 and received(poisoned.email) == []

    # The sender goes on: a later mail reaches everyone, the poisoned one is neither sent nor tried again.
    for family in families:
        rpc.notices.set_preferences(family.parent_id, {"quiet_hours": None})
    publish([events.message({"scope": "org", "org_id": org}, "Marqueur")], amqp_url)
    eventually(lambda: all(any(m["Subject"].endswith("Marqueur") for m in received(f.email)) for f in families))
    assert [len(received(f.email)) for f in others] == [2] * 5 and len(received(poisoned.email)) == 1
    assert outbox_rows(database, poisoned.parent_id)[0].attempts == 1


def test_a_recipient_the_server_refuses_fails_alone_and_the_others_go_once(start_service, rpc, amqp_url, database,
                                                                          unused_port, tmp_path):
    sink = subprocess.Popen([sys.executable, "-m", "tests.notices.refusing_sink", "--port", str(unused_port),
                             "--dir", str(tmp_path)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: _answers(unused_port), timeout=30)
        start_service(NoticesService, SMTP_PORT=unused_port, PUBLIC_URL=PORTAL, **FAST_MAIL)
        org = events.new_org()
        families = [settle(rpc, amqp_url, events.family(org), quiet_hours=ALL_DAY_QUIET) for _ in range(2)]
        unknown = dataclasses.replace(events.family(org), email=f"refuse.{uuid.uuid4().hex[:8]}@example.org")
        families.insert(1, settle(rpc, amqp_url, unknown, quiet_hours=ALL_DAY_QUIET))
        publish([events.message({"scope": "org", "org_id": org})], amqp_url)
        eventually(lambda: all(outbox_rows(database, f.parent_id) for f in families))
        with database.begin() as conn:  # their quiet hours end: one batch
            conn.execute(text("UPDATE outbox SET due_at = now(), next_try_at = now() WHERE parent_id = ANY(:p)"),
                         {"p": [f.parent_id for f in families]})
        refused = eventually(lambda: outbox_rows(database, unknown.parent_id)[0].failed_at
                             and outbox_rows(database, unknown.parent_id)[0])
        assert refused.last_error == "refused: SMTPRecipientsRefused" and refused.sent_at is None
        eventually(lambda: all(outbox_rows(database, f.parent_id)[0].sent_at for f in families if f is not unknown))
        delivered = [p.read_bytes() for p in tmp_path.glob("*.eml")]
        assert sorted(sum(f.email.encode() in mail for mail in delivered) for f in families) == [0, 1, 1]
    finally:
        stop_processes(sink)


def _answers(port: int) -> bool:
    try:
        smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
    except OSError:
        return False
    return True
