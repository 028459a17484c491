"""Notices' rules, without servers: audiences, quiet hours, digests, back-off, the feed's text."""
from datetime import date, datetime, time, timedelta, timezone

import icalendar
import pytest

from services.notices import domain, feed, templates

CHILD = domain.Child("css-a.1", "css-a", "css-a.ecole", "301")
EST = domain.SCHOOL_TIME


@pytest.mark.parametrize("audience, reached", [
    ({"scope": "org", "org_id": "css-a"}, True),
    ({"scope": "org", "org_id": "css-b"}, False),
    ({"scope": "school", "org_id": "css-a", "school_id": "css-a.ecole"}, True),
    ({"scope": "school", "org_id": "css-a", "school_id": "css-a.autre"}, False),
    ({"scope": "group", "org_id": "css-a", "school_id": "css-a.ecole", "group": "301"}, True),
    ({"scope": "group", "org_id": "css-a", "school_id": "css-a.ecole", "group": "302"}, False),
    ({"scope": "group", "org_id": "css-a", "school_id": "css-a.autre", "group": "301"}, False),
    ({"scope": "student", "org_id": "css-a", "school_id": "css-a.ecole", "student_id": "css-a.1"}, True),
    ({"scope": "student", "org_id": "css-a", "school_id": "css-a.ecole", "student_id": "css-a.2"}, False),
])
def test_a_message_reaches_exactly_its_audience(audience, reached):
    assert domain.reaches(audience, CHILD) is reached


def test_a_child_whose_group_is_unknown_gets_no_group_message():
    child = domain.Child("css-a.1", "css-a", "css-a.ecole", None)
    assert not domain.reaches({"scope": "group", "org_id": "css-a", "school_id": "css-a.ecole", "group": "301"}, child)


def test_the_most_immediate_choice_wins_for_a_notice_about_several_children():
    assert domain.strongest(["off", "digest"]) == "digest"
    assert domain.strongest(["digest", "instant", "off"]) == "instant"
    assert domain.strongest(["off"]) == "off"


def at(hour, minute=0, day=date(2026, 11, 23)):
    return datetime.combine(day, time(hour, minute), EST)


def test_instant_mail_goes_at_once_outside_quiet_hours():
    assert domain.when_to_send("instant", at(12), domain.DEFAULT_QUIET_HOURS) == (False, at(12))


@pytest.mark.parametrize("happened, due", [
    (at(21), at(7, day=date(2026, 11, 24))),
    (at(23, 30), at(7, day=date(2026, 11, 24))),
    (at(3), at(7)),
    (at(6, 59), at(7)),
])
def test_what_falls_in_quiet_hours_waits_for_the_morning(happened, due):
    assert domain.when_to_send("instant", happened, domain.DEFAULT_QUIET_HOURS) == (False, due)


def test_quiet_hours_within_a_day_and_none():
    afternoon = domain.QuietHours(time(13, 0), time(14, 0))
    assert domain.when_to_send("instant", at(13, 30), afternoon) == (False, at(14))
    assert domain.when_to_send("instant", at(22), afternoon) == (False, at(22))
    assert domain.when_to_send("instant", at(22), None) == (False, at(22))


def test_the_digest_goes_out_once_a_day_when_quiet_hours_end():
    assert domain.when_to_send("digest", at(12), domain.DEFAULT_QUIET_HOURS) == (True, at(7, day=date(2026, 11, 24)))
    assert domain.when_to_send("digest", at(5), domain.DEFAULT_QUIET_HOURS) == (True, at(7))
    assert domain.when_to_send("digest", at(12), None) == (True, at(7, day=date(2026, 11, 24)))


def test_off_sends_nothing():
    assert domain.when_to_send("off", at(12), None) is None


def test_a_document_is_not_announced_before_it_is_visible():
    assert domain.when_to_send("instant", at(12), domain.DEFAULT_QUIET_HOURS, date(2026, 11, 27)) == (
        False, at(7, day=date(2026, 11, 27)))
    assert domain.when_to_send("instant", at(12), domain.DEFAULT_QUIET_HOURS, date(2026, 11, 1)) == (False, at(12))


def test_quiet_hours_follow_quebec_time_across_daylight_saving():
    summer_night_utc = datetime(2026, 7, 1, 2, 0, tzinfo=timezone.utc)  # 22:00 EDT
    digest, due = domain.when_to_send("instant", summer_night_utc, domain.DEFAULT_QUIET_HOURS)
    assert due == datetime(2026, 7, 1, 7, 0, tzinfo=EST) and due.utcoffset() == timedelta(hours=-4)


def test_old_news_is_not_mailed():
    now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
    assert domain.is_news(now - timedelta(hours=47), now)
    assert not domain.is_news(now - timedelta(days=3), now)


def test_retries_back_off_up_to_five_minutes():
    assert [domain.retry_delay(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert domain.retry_delay(30).total_seconds() == 300


def test_amounts_and_lists_are_written_as_each_language_does():
    assert templates.money(123456, "fr") == "1\u00a0234,56\u00a0$"
    assert templates.money(-850, "en") == "-$8.50"
    assert templates.listing(["Léa", "Noah", "Zoé"], "fr") == "Léa, Noah et Zoé"
    assert templates.listing(["Léa"], "en") == "Léa"


def test_every_mail_has_both_languages():
    assert set(templates.FR) == set(templates.EN) and set(templates.CATALOGUES) == set(templates.LOCALES)


def test_the_feed_is_valid_icalendar_with_times_in_quebec():
    stamp = datetime(2026, 11, 20, tzinfo=timezone.utc)
    body = feed.calendar([
        feed.Entry("detention:ret-1", "Léa", "detention", date(2026, 11, 26), time(15, 10), time(16, 10),
                   "Travaux non remis", "C-110", stamp),
        feed.Entry("absence:abs-1", "Léa", "lateness", date(2026, 11, 24), time(8, 10), None, "period", "12", stamp),
    ], [feed.Holiday("css-a.ecole", date(2026, 11, 27), "Journée pédagogique", stamp)], "en")
    calendar = icalendar.Calendar.from_ical(body)
    assert [c.name for c in calendar.walk("VTIMEZONE")] == ["VTIMEZONE"]
    found = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert set(found) == {"Detention: Travaux non remis — Léa", "Lateness — Léa", "No school: Journée pédagogique"}
    lateness = found["Lateness — Léa"]
    assert lateness.decoded("dtend") - lateness.decoded("dtstart") == timedelta(minutes=30)
    assert str(lateness["description"]) == "12 min late"
    assert found["No school: Journée pédagogique"].decoded("dtstart") == date(2026, 11, 27)


def test_feed_tokens_are_long_and_checked_before_any_lookup():
    token = feed.new_token()
    assert feed.looks_like_token(token) and token != feed.new_token()
    assert not any(feed.looks_like_token(v) for v in (None, 42, "", token[:-1], token[:-1] + "/", token[:-1] + "é"))
