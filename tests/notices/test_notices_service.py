"""The notices service against the real RabbitMQ, PostgreSQL and SMTP sink."""
from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
import uuid
from datetime import date, datetime, time, timedelta

import icalendar
import pytest
from sqlalchemy import create_engine, text

from contracts import Envelope
from contracts.fields import FORGOTTEN
from scripts.school_calendar import current_year, last_school_day, next_school_day
from services.notices.domain import SCHOOL_TIME
from servicekit.schooltime import school_today, school_year_of
from services.notices.service import NoticesService
from services.notices.templates import day, long_date
from servicekit import store
from servicekit.errors import DomainError, NotFound
from tests.local_env import REPO
from tests.notices import events
from tests.notices.mailbox import received, text_of
from tests.support import eventually, publish

pytestmark = pytest.mark.school_clock

FAST_MAIL = {"MAIL_POLL_SECONDS": 0.1, "MAIL_RETRY_SECONDS": 0.2}


@pytest.fixture
def notices(start_service, portal_env):
    return start_service(NoticesService, **FAST_MAIL)


@pytest.fixture
def database(database_url):
    engine = create_engine(database_url("notices"))
    yield engine
    engine.dispose()


def linked(rpc, family) -> bool:
    try:
        rpc.notices.inbox(family.parent_id, family.student_id)
    except NotFound:
        return False
    return True


def settle(rpc, amqp_url, family, locale="fr", quiet_hours=None):
    """Publish the family, wait until notices knows it; quiet hours off unless given, so that the
    tests do not depend on the time of day they run at."""
    publish(family.events(locale), amqp_url)
    eventually(lambda: linked(rpc, family) and rpc.notices.export(family.parent_id)["account"])
    rpc.notices.set_preferences(family.parent_id, {"quiet_hours": quiet_hours})
    return family


def outbox_rows(database, parent_id):
    with database.connect() as conn:
        return conn.execute(text("SELECT * FROM outbox WHERE parent_id = :p ORDER BY created_at"),
                            {"p": parent_id}).all()


def mail_id(event, family) -> str:
    """The Message-ID of the mail ``event`` sends to ``family``'s parent."""
    return f"<{event.id}.{family.parent_id}@portail-parents.local>"


def mails_through(family, marker, to: str | None = None) -> list:
    """Every mail to the parent once the mail about ``marker`` has arrived: the positive sign
    that ends a wait for something that must not happen. The marker is published after the
    event that must have no effect, on the same queue, so notices takes it in later; the sender
    sends due mails oldest first, each round starting from the oldest, so a mail the first
    event called for (or the same mail again) is sent before the marker's or with it."""
    to = to or family.email
    return eventually(lambda: (lambda mails: mails if mail_id(marker, family) in ids_of(mails) else None)(
        received(to)))


def ids_of(mails) -> list[str]:
    return [m["Message-ID"] for m in mails]


def test_messages_reach_exactly_the_parents_of_their_audience(notices, rpc, amqp_url):
    org, other_org = events.new_org(), events.new_org()
    a = settle(rpc, amqp_url, events.family(org, school="ecole-a", group="301"))
    b = settle(rpc, amqp_url, events.family(org, school="ecole-b", group="301"))
    c = settle(rpc, amqp_url, events.family(other_org, school="ecole-a"))
    sent = {
        "board": events.message({"scope": "org", "org_id": org}),
        "school a": events.message({"scope": "school", "org_id": org, "school_id": a.school_id}),
        "group 301 of a": events.message({"scope": "group", "org_id": org, "school_id": a.school_id, "group": "301"}),
        "group 302 of a": events.message({"scope": "group", "org_id": org, "school_id": a.school_id, "group": "302"}),
        "student b": events.message({"scope": "student", "org_id": org, "school_id": b.school_id,
                                     "student_id": b.student_id}),
        "other board": events.message({"scope": "org", "org_id": other_org}),
    }
    publish(list(sent.values()), amqp_url)
    ids = {event.data["message_id"]: name for name, event in sent.items()}

    def inbox_of(family):
        return {ids[m["message_id"]] for m in rpc.notices.inbox(family.parent_id)["messages"]}

    assert eventually(lambda: inbox_of(a) == {"board", "school a", "group 301 of a"} or inbox_of(a))
    assert eventually(lambda: inbox_of(b) == {"board", "student b"} or inbox_of(b))
    assert eventually(lambda: inbox_of(c) == {"other board"} or inbox_of(c))
    mails = {name: eventually(lambda f=f, n=n: len(received(f.email)) == n and received(f.email))
             for name, f, n in (("a", a, 3), ("b", b, 2), ("c", c, 1))}
    assert sorted(m["Subject"] for m in mails["c"]) == ["Message de l'école : Journée pédagogique"]
    assert "Le service de garde sera ouvert." in text_of(mails["c"][0])


def test_newest_first_with_read_marks_per_parent(notices, rpc, amqp_url):
    mother = settle(rpc, amqp_url, events.family())
    father = settle(rpc, amqp_url, events.family().parent_of(mother))
    board = {"scope": "org", "org_id": mother.org_id}
    older, newer = events.message(board, "Ancien"), events.message(board, "Nouveau")
    publish([older], amqp_url)
    eventually(lambda: rpc.notices.inbox(mother.parent_id)["messages"])
    publish([newer], amqp_url)
    listed = eventually(lambda: len(rpc.notices.inbox(mother.parent_id)["messages"]) == 2
                        and rpc.notices.inbox(mother.parent_id))
    assert [m["title"] for m in listed["messages"]] == ["Nouveau", "Ancien"] and listed["unread"] == 2
    rpc.notices.mark_read(mother.parent_id, older.data["message_id"])
    assert rpc.notices.inbox(mother.parent_id)["unread"] == 1
    assert rpc.notices.inbox(father.parent_id)["unread"] == 2
    assert rpc.notices.inbox(mother.parent_id, mother.student_id)["messages"][1]["read"] is True


def test_a_message_or_child_that_is_not_theirs_is_not_found(notices, rpc, amqp_url):
    mine = settle(rpc, amqp_url, events.family())
    stranger = settle(rpc, amqp_url, events.family())
    theirs = events.message({"scope": "org", "org_id": stranger.org_id})
    publish([theirs], amqp_url)
    eventually(lambda: rpc.notices.inbox(stranger.parent_id)["messages"])
    with pytest.raises(NotFound) as refused:
        rpc.notices.mark_read(mine.parent_id, theirs.data["message_id"])
    assert refused.value.code == "message_not_found"
    for call in (lambda: rpc.notices.inbox(mine.parent_id, stranger.student_id),
                 lambda: rpc.notices.resources(mine.parent_id, stranger.student_id),
                 lambda: rpc.notices.resources(mine.parent_id, f"{mine.org_id}.nobody")):
        with pytest.raises(NotFound) as refused:
            call()
        assert refused.value.code == "child_not_found"


def test_resources_of_the_childs_school_and_board(notices, rpc, amqp_url):
    family = settle(rpc, amqp_url, events.family())

    def resource(audience, title):
        resource_id = f"res-{uuid.uuid4().hex[:8]}"
        return events.sis("ResourcePublished", resource_id, {
            "resource_id": resource_id, "audience": {"group": None, "student_id": None, "school_id": None,
                                                     **audience},
            "title": title, "kind": "link", "url": "https://example.org/r", "description": None})

    org = family.org_id
    publish([resource({"scope": "org", "org_id": org}, "Calendrier scolaire"),
             resource({"scope": "school", "org_id": org, "school_id": family.school_id}, "Code de vie"),
             resource({"scope": "school", "org_id": org, "school_id": f"{org}.ailleurs"}, "Pas pour nous"),
             resource({"scope": "org", "org_id": events.new_org()}, "Autre centre")], amqp_url)
    listed = eventually(lambda: len(rpc.notices.resources(family.parent_id, family.student_id)["resources"]) == 2
                        and rpc.notices.resources(family.parent_id, family.student_id)["resources"])
    assert [r["title"] for r in listed] == ["Code de vie", "Calendrier scolaire"]


def test_the_same_event_delivered_twice_sends_one_mail(notices, rpc, amqp_url, database):
    family = settle(rpc, amqp_url, events.family(first_name="Zoé"))
    recorded = events.absence(family.student_id, family.school_id)
    publish([recorded, recorded], amqp_url)
    publish([recorded], amqp_url)
    eventually(lambda: received(family.email))
    marker = events.absence(family.student_id, family.school_id)
    publish([marker], amqp_url)
    mails = mails_through(family, marker)
    assert sorted(ids_of(mails)) == sorted([mail_id(recorded, family), mail_id(marker, family)])
    mail = next(m for m in mails if m["Message-ID"] == f"<{recorded.id}.{family.parent_id}@portail-parents.local>")
    assert mail["Subject"] == f"Absence enregistrée pour Zoé le {day(recorded.data['date'], 'fr')}"
    assert [r.event_id for r in outbox_rows(database, family.parent_id)] == [recorded.id, marker.id]


def test_mail_is_in_the_parents_language(notices, rpc, amqp_url):
    family = settle(rpc, amqp_url, events.family(first_name="Noah"), locale="en")
    statement = events.sis("StatementIssued", family.student_id, {
        "statement_id": f"edc-{uuid.uuid4().hex[:6]}", "account_id": "css-test.fam-1", "student_id": family.student_id,
        "school_id": family.school_id, "kind": "school", "period": school_year_of(school_today()),
        "issued_on": last_school_day(), "due_date": last_school_day() + timedelta(days=30),
        "lines": [{"description": "Matériel", "amount_cents": 123456}],
        "total_cents": 123456, "paid_cents": 0, "balance_cents": 123456, "payment_reference": "2093100412",
        "visible_from": None, "document_url": None})
    publish([statement], amqp_url)
    mail = eventually(lambda: received(family.email))[0]
    assert mail["Subject"] == "New statement of account for Noah" and mail["Content-Language"] == "en-CA"
    assert "Balance: $1,234.56" in text_of(mail) and "2093100412" in text_of(mail)


def test_preferences_per_child_and_kind(notices, rpc, amqp_url, database):
    family = settle(rpc, amqp_url, events.family())
    answer = rpc.notices.set_preferences(family.parent_id, {
        "children": [{"student_id": family.student_id, "kinds": {"absence": "off", "detention": "digest"}}]})
    kinds = answer["children"][0]["kinds"]
    assert (kinds["absence"], kinds["detention"], kinds["message"]) == ("off", "digest", "instant")
    assert answer["quiet_hours"] is None
    publish([events.absence(family.student_id, family.school_id),
             events.detention(family.student_id, school_today() + timedelta(days=1)),
             events.message({"scope": "org", "org_id": family.org_id})], amqp_url)
    mails = eventually(lambda: received(family.email))
    rows = eventually(lambda: len(outbox_rows(database, family.parent_id)) == 2 and outbox_rows(database,
                                                                                                  family.parent_id))
    assert [m["Subject"] for m in mails] == ["Message de l'école : Journée pédagogique"]
    digest = next(r for r in rows if r.kind == "detention")
    assert digest.digest and digest.sent_at is None
    assert digest.due_at.astimezone(SCHOOL_TIME).time() == time(7, 0)


@pytest.mark.parametrize("preferences, code, field", [
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "invalid_time", "quiet_hours.start"),
    ({"quiet_hours": {"start": "07:00", "end": "07:00"}}, "quiet_hours_empty", "quiet_hours.end"),
    ({"children": [{"student_id": "STUDENT", "kinds": {"absence": "loud"}}]}, "invalid_choice", None),
    ({"children": [{"student_id": "css-test.nobody", "kinds": {"absence": "off"}}]}, "child_not_found",
     "student_id"),
    ({"colour": "blue"}, "unknown_field", "colour"),
    ("everything", "invalid_request", None),
])
def test_bad_preferences_get_a_clear_error_and_change_nothing(notices, rpc, amqp_url, preferences, code, field):
    family = settle(rpc, amqp_url, events.family())
    before = rpc.notices.preferences(family.parent_id)
    if isinstance(preferences, dict) and "children" in preferences and preferences["children"][0][
            "student_id"] == "STUDENT":
        preferences = {"children": [{**preferences["children"][0], "student_id": family.student_id}]}
    with pytest.raises(DomainError) as refused:
        rpc.notices.set_preferences(family.parent_id, preferences)
    assert refused.value.code == code
    if field:
        assert refused.value.field == field
    assert rpc.notices.preferences(family.parent_id) == before


def test_quiet_hours_hold_mail_until_they_end(notices, rpc, amqp_url, database):
    # Quiet all day but one minute: whatever the hour of the run, the mail waits.
    family = settle(rpc, amqp_url, events.family(), quiet_hours={"start": "00:00", "end": "23:59"})
    publish([events.message({"scope": "student", "org_id": family.org_id, "school_id": family.school_id,
                             "student_id": family.student_id})], amqp_url)
    row = eventually(lambda: outbox_rows(database, family.parent_id))[0]
    assert row.sent_at is None and not row.digest and row.due_at > row.created_at
    # Another parent, without quiet hours, gets a mail queued after it: once it has arrived, the
    # sender has gone past the held mail and left it.
    other = settle(rpc, amqp_url, events.family())
    marker = events.message({"scope": "student", "org_id": other.org_id, "school_id": other.school_id,
                             "student_id": other.student_id})
    publish([marker], amqp_url)
    mails_through(other, marker)
    assert received(family.email) == []
    assert outbox_rows(database, family.parent_id)[0].sent_at is None


def test_smtp_down_then_up_sends_once(start_service, rpc, amqp_url, database, unused_port, tmp_path):
    start_service(NoticesService, SMTP_PORT=unused_port, SMTP_TIMEOUT=2, **FAST_MAIL)
    family = settle(rpc, amqp_url, events.family())
    recorded = events.absence(family.student_id, family.school_id)
    publish([recorded], amqp_url)
    eventually(lambda: [r for r in outbox_rows(database, family.parent_id) if r.attempts >= 2])
    sink = subprocess.Popen([sys.executable, str(REPO / "scripts" / "smtp_sink.py"), "--port", str(unused_port),
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: list(tmp_path.glob("*.eml")), timeout=30)
        eventually(lambda: outbox_rows(database, family.parent_id)[0].sent_at)
        marker = events.absence(family.student_id, family.school_id)  # a mail queued after it
        publish([marker], amqp_url)
        sent = eventually(lambda: (lambda ids: ids if mail_id(marker, family) in ids else None)(sunk(tmp_path)))
        assert sorted(sent) == sorted([mail_id(recorded, family), mail_id(marker, family)])
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    row = outbox_rows(database, family.parent_id)[0]
    assert row.attempts >= 2 and row.last_error is None


def sunk(directory) -> list[str]:
    """The Message-IDs of the mails an SMTP sink of the test's own wrote."""
    ids = []
    for path in sorted(directory.glob("*.eml")):
        with path.open("rb") as file:
            ids.append(email.message_from_binary_file(file, policy=email.policy.default)["Message-ID"])
    return ids


def test_reenrolment_is_announced_to_the_principal_guardian_only(notices, rpc, amqp_url):
    principal = settle(rpc, amqp_url, events.family(first_name="Léa"))
    other = settle(rpc, amqp_url, events.family().parent_of(principal))
    org = principal.org_id
    publish([events.sis("GuardianAssigned", principal.student_id, {
                "student_id": principal.student_id, "guardian_id": f"{org}.r-1", "name": "Julie Gagnon",
                "email": principal.email.upper(), "principal": True, "access": True}),
             events.sis("GuardianAssigned", principal.student_id, {
                "student_id": principal.student_id, "guardian_id": f"{org}.r-2", "name": "Marc Roy",
                "email": other.email, "principal": False, "access": True})], amqp_url)
    # The same queue: notices takes the guardians in before the opening of the period.
    opens_on = school_today()
    closes_on = opens_on + timedelta(days=18)
    next_year = school_year_of(current_year().last_day + timedelta(days=30))
    publish([events.sis("ReenrollmentOpened", org, {"org_id": org, "school_year": next_year,
                                                   "opens_on": opens_on, "closes_on": closes_on})],
            amqp_url)
    mail = eventually(lambda: received(principal.email))[0]
    assert mail["Subject"] == f"La réinscription {next_year} est ouverte"
    assert f"de Léa pour l'année scolaire {next_year}" in text_of(mail)
    assert f"du {long_date(opens_on, 'fr')} au {long_date(closes_on, 'fr')}" in text_of(mail)
    # A message about the child, queued after the opening, reaches the other guardian: the
    # opening reached them or not before it.
    marker = events.message({"scope": "student", "org_id": org, "school_id": principal.school_id,
                             "student_id": principal.student_id})
    publish([marker], amqp_url)
    assert ids_of(mails_through(other, marker)) == [mail_id(marker, other)]


def test_a_standard_icalendar_parser_reads_the_feed_and_a_reset_token_closes_the_old_url(notices, rpc, amqp_url):
    family = settle(rpc, amqp_url, events.family(first_name="Léa"))
    soon = next_school_day()
    cancelled = events.absence(family.student_id, family.school_id, soon)
    publish([events.school_calendar(family.school_id, next_school_day(soon)),
             events.absence(family.student_id, family.school_id, soon),
             cancelled,
             events.detention(family.student_id, soon),
             events.homework(family.student_id, family.school_id, soon)], amqp_url)
    publish([events.sis("AbsenceCancelled", family.student_id,
                        {"absence_id": cancelled.data["absence_id"], "student_id": family.student_id})], amqp_url)
    token = rpc.notices.feed_url_token(family.parent_id)["token"]
    assert rpc.notices.feed_url_token(family.parent_id)["token"] == token

    def parsed():
        answer = rpc.notices.calendar_feed(token)
        assert answer["content_type"] == "text/calendar; charset=utf-8"
        calendar = icalendar.Calendar.from_ical(answer["body"])
        found = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
        return found if len(found) == 4 else None

    found = eventually(parsed)
    assert set(found) == {"Absence — Léa", "Retenue : Travaux non remis — Léa",
                          "Devoir à remettre : Français : Lire le chapitre 3 — Léa", "Congé : Journée pédagogique"}
    detention = found["Retenue : Travaux non remis — Léa"]
    assert detention.decoded("dtstart") == datetime.combine(soon, time(15, 10), SCHOOL_TIME)
    assert str(detention["location"]) == "C-110"
    assert found["Absence — Léa"].decoded("dtstart") == soon
    assert len({str(e["uid"]) for e in found.values()}) == 4

    fresh = rpc.notices.reset_feed_token(family.parent_id)["token"]
    assert fresh != token
    with pytest.raises(NotFound) as refused:
        rpc.notices.calendar_feed(token)
    assert refused.value.code == "feed_not_found"
    assert icalendar.Calendar.from_ical(rpc.notices.calendar_feed(fresh)["body"]).walk("VEVENT")
    for forged in ("", "x" * 43, None, "../" * 15):
        with pytest.raises(NotFound):
            rpc.notices.calendar_feed(forged)


def test_a_closed_account_is_forgotten(notices, rpc, amqp_url, database, database_url):
    from servicekit.cli import rebuild_projections

    family = settle(rpc, amqp_url, events.family())
    rpc.notices.feed_url_token(family.parent_id)
    rpc.notices.set_preferences(family.parent_id, {
        "quiet_hours": {"start": "22:00", "end": "06:00"},
        "children": [{"student_id": family.student_id, "kinds": {"absence": "off"}}]})
    message = events.message({"scope": "org", "org_id": family.org_id})
    publish([message], amqp_url)
    eventually(lambda: received(family.email))
    rpc.notices.mark_read(family.parent_id, message.data["message_id"])
    assert rpc.notices.export(family.parent_id)["mails"]
    tables = ("links", "parents", "read_marks", "preferences", "parent_settings", "outbox", "access_log")

    def held():
        with database.connect() as conn:
            left = {table: conn.execute(text(f"SELECT count(*) FROM {table} WHERE parent_id = :p"),
                                        {"p": family.parent_id}).scalar()
                    for table in tables}
            emails = {e.data["email"] for chunk in store.read_all(conn) for e in chunk
                      if e.type == "ParentVerified" and e.data["parent_id"] == family.parent_id}
        return left, emails

    assert held() == (dict.fromkeys(tables, 1), {family.email})
    publish([Envelope.new("ParentAccountClosed", "identity", family.parent_id, {"parent_id": family.parent_id},
                          correlation_id="close")], amqp_url)
    eventually(lambda: rpc.notices.export(family.parent_id)["account"] is None)
    # A late verification (another queue, another order) does not bring the account back: once
    # another family published after it on the same queues is known, notices has taken it in.
    publish(family.events()[1:], amqp_url)
    settle(rpc, amqp_url, events.family())
    exported = rpc.notices.export(family.parent_id)
    assert exported["account"] is None and exported["children"] == [] and exported["mails"] == []
    assert exported["access_log"] == [] and exported["calendar_feed"] == {"active": False}
    forgotten = (dict.fromkeys(tables, 0), {FORGOTTEN})  # the email in the store too: its key is gone
    assert held() == forgotten
    rebuild_projections("notices", database_url("notices"))
    assert held() == forgotten
    assert rpc.notices.export(family.parent_id)["account"] is None


def test_rebuilding_the_read_models_mails_nobody(notices, rpc, amqp_url, database_url, database):
    from servicekit.cli import rebuild_projections

    family = settle(rpc, amqp_url, events.family())
    publish([events.message({"scope": "org", "org_id": family.org_id})], amqp_url)
    eventually(lambda: received(family.email))
    result = rebuild_projections("notices", database_url("notices"))
    assert result["events"] > 0
    assert rpc.notices.inbox(family.parent_id)["messages"]
    marker = events.message({"scope": "org", "org_id": family.org_id})
    publish([marker], amqp_url)
    mails = mails_through(family, marker)
    assert len(mails) == 2 and mail_id(marker, family) in ids_of(mails)
    assert len(outbox_rows(database, family.parent_id)) == 2


def test_the_daily_digest_gathers_the_days_news_in_one_mail(notices, rpc, amqp_url, database):
    family = settle(rpc, amqp_url, events.family(first_name="Léa"))
    rpc.notices.set_preferences(family.parent_id, {"children": [
        {"student_id": family.student_id, "kinds": {"absence": "digest", "detention": "digest"}}]})
    recorded, detention = (events.absence(family.student_id, family.school_id),
                           events.detention(family.student_id, school_today() + timedelta(days=2)))
    publish([recorded, detention], amqp_url)
    eventually(lambda: len(outbox_rows(database, family.parent_id)) == 2)
    assert received(family.email) == []
    with database.begin() as conn:  # the morning comes
        conn.execute(text("UPDATE outbox SET due_at = now(), next_try_at = now() WHERE parent_id = :p"),
                     {"p": family.parent_id})
    mail = eventually(lambda: received(family.email))[0]
    assert mail["Subject"] == "Votre résumé du Portail Parents"
    body = text_of(mail)
    assert f"Absence enregistrée pour Léa le {day(recorded.data['date'], 'fr')}" in body
    assert f"Retenue pour Léa le {day(detention.data['date'], 'fr')}" in body
    marker = events.message({"scope": "org", "org_id": family.org_id})  # instant, queued after the digest
    publish([marker], amqp_url)
    mails = mails_through(family, marker)
    assert sorted(ids_of(mails)) == sorted([mail["Message-ID"], mail_id(marker, family)])
    assert all(r.sent_at for r in outbox_rows(database, family.parent_id))


def test_an_unlinked_parent_hears_no_more_about_the_child(notices, rpc, amqp_url, database):
    family = settle(rpc, amqp_url, events.family())
    other = settle(rpc, amqp_url, events.family(family.org_id))  # still linked, in the same board
    publish([Envelope.new("ChildUnlinked", "linking", family.parent_id, {
        "parent_id": family.parent_id, "student_id": family.student_id, "reason": "access_denied"},
        correlation_id="unlink")], amqp_url)
    eventually(lambda: not linked(rpc, family))
    message = events.message({"scope": "org", "org_id": family.org_id})
    publish([events.absence(family.student_id, family.school_id), message], amqp_url)
    # The board's message reaches the other parent, in their inbox and by mail: both events were
    # taken in, and the sender went past anything they queued.
    mails_through(other, message)
    assert rpc.notices.inbox(other.parent_id)["messages"]
    assert rpc.notices.inbox(family.parent_id) == {"messages": [], "unread": 0}
    assert outbox_rows(database, family.parent_id) == [] and received(family.email) == []


def test_mail_waiting_about_a_child_no_longer_linked_is_not_sent(notices, rpc, amqp_url, database):
    family = settle(rpc, amqp_url, events.family(), quiet_hours={"start": "00:00", "end": "23:59"})
    publish([events.absence(family.student_id, family.school_id)], amqp_url)
    assert eventually(lambda: outbox_rows(database, family.parent_id))[0].student_ids == [family.student_id]
    publish([Envelope.new("ChildUnlinked", "linking", family.parent_id, {
        "parent_id": family.parent_id, "student_id": family.student_id, "reason": "access_denied"},
        correlation_id="unlink")], amqp_url)
    eventually(lambda: outbox_rows(database, family.parent_id) == [])


def test_mail_follows_a_changed_school_email(notices, rpc, amqp_url, database):
    family = settle(rpc, amqp_url, events.family(), quiet_hours={"start": "00:00", "end": "23:59"})
    publish([events.message({"scope": "org", "org_id": family.org_id})], amqp_url)
    eventually(lambda: outbox_rows(database, family.parent_id))
    rpc.notices.set_preferences(family.parent_id, {"quiet_hours": None})
    new_email = f"Nouveau.{uuid.uuid4().hex[:8]}@example.org"
    publish([Envelope.new("ParentEmailChanged", "identity", family.parent_id, {
        "parent_id": family.parent_id, "old_email": family.email, "new_email": new_email},
        correlation_id="email")], amqp_url)
    eventually(lambda: rpc.notices.export(family.parent_id)["account"]["email"] == new_email.lower())
    assert [r.email for r in outbox_rows(database, family.parent_id)] == [new_email.lower()]  # waiting, re-addressed
    publish([events.absence(family.student_id, family.school_id)], amqp_url)
    eventually(lambda: received(new_email))
    assert received(family.email) == []


def test_two_replicas_share_the_outbox_and_send_each_mail_once(start_service, rpc, amqp_url):
    replicas = [start_service(NoticesService, **FAST_MAIL) for _ in range(2)]
    org = events.new_org()
    families = [settle(rpc, amqp_url, events.family(org)) for _ in range(20)]
    sent = [events.message({"scope": "org", "org_id": org}) for _ in range(5)]
    publish(sent, amqp_url)
    eventually(lambda: all(len(received(f.email)) >= 5 for f in families), timeout=30)
    # A sixth message, queued once the five have arrived, reaches every parent: a round of a
    # sender that went past the five; then both replicas stop, which waits for the mail each one
    # is sending: nothing is left on its way.
    marker = events.message({"scope": "org", "org_id": org})
    publish([marker], amqp_url)
    for family in families:
        mails_through(family, marker)
    for replica in replicas:
        replica.stop()
    for family in families:
        assert sorted(ids_of(received(family.email))) == sorted(mail_id(e, family) for e in [*sent, marker])


def test_an_event_that_breaks_its_contract_is_dead_lettered_with_the_reason(notices, rpc, amqp_url):
    from kombu import Connection, Exchange

    from servicekit import deadletters

    family = settle(rpc, amqp_url, events.family())
    bad = events.message({"scope": "org", "org_id": family.org_id}).to_dict()
    del bad["data"]["audience"]
    with Connection(amqp_url) as connection:
        exchange = Exchange("sis.events", "topic", durable=True)
        connection.Producer().publish(json.dumps(bad), exchange=exchange, routing_key="MessagePublished",
                                      content_type="application/json", message_id=bad["id"], declare=[exchange])
    good = events.message({"scope": "org", "org_id": family.org_id})
    publish([good], amqp_url)
    eventually(lambda: rpc.notices.inbox(family.parent_id)["messages"])
    letter = eventually(lambda: next((d for d in deadletters.peek(amqp_url, "notices") if d["event_id"] == bad["id"]),
                                     None))
    assert "data.audience" in letter["reason"] and letter["queue"] == "notices.sis"
    assert [m["message_id"] for m in rpc.notices.inbox(family.parent_id)["messages"]] == [good.data["message_id"]]
    assert len(eventually(lambda: received(family.email))) == 1
