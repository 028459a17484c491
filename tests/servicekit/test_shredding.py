"""Crypto-shredding in the event store: personal fields are stored sealed with their person's key,
read back plain, and read ``FORGOTTEN`` once the key is deleted, while the events stay replayable."""
import json
import uuid

import pytest
from sqlalchemy import create_engine, select, text

import contracts
from contracts import Envelope
from contracts.fields import FORGOTTEN
from servicekit import shredding, store


@pytest.fixture
def engine(database_url):
    # A database with the kit's tables only: events written here feed no read model.
    engine = create_engine(database_url("kit"))
    yield engine
    engine.dispose()


def family():
    parent, student = str(uuid.uuid4()), f"s-{uuid.uuid4().hex[:8]}"
    note = f"Rendez-vous chez le dentiste {uuid.uuid4().hex}"
    enrolled = Envelope.new("StudentEnrolled", "sis", student, {
        "student_id": student, "org_id": "o", "school_id": "s", "student_number": "1234567",
        "permanent_code": "GAGL05581812", "last_name": f"Gagnon-{uuid.uuid4().hex[:6]}", "first_name": "Léa",
        "birth_date": "2018-08-05", "grade": "P3", "group": "301"}, "corr")
    verified = Envelope.new("ParentVerified", "identity", parent, {
        "parent_id": parent, "email": f"{uuid.uuid4().hex[:10]}@example.org", "locale": "fr"}, "corr")
    declared = Envelope.new("AbsenceDeclared", "attendance", student, {
        "declaration_id": str(uuid.uuid4()), "student_id": student, "school_id": "s", "parent_id": parent,
        "start_date": "2026-11-24", "end_date": "2026-11-24", "kind": "full_day", "reason_code": "RDV",
        "explanation": note}, "corr")
    return parent, student, enrolled, verified, declared


def stored_family(engine):
    """A new family's events in the store: the school's and identity's taken in, the parent's
    declaration appended; (parent, student, enrolled, verified, declared)."""
    parent, student, enrolled, verified, declared = made = family()
    with engine.begin() as conn:
        store.admit(conn, [enrolled, verified])
        store.append(conn, 0, [declared])
    return made


def stored_text(conn, *envelopes) -> str:
    """The store's rows of ``envelopes`` as PostgreSQL holds them."""
    ids = [uuid.UUID(e.id) for e in envelopes]
    return json.dumps([row.data for row in conn.execute(select(store.events.c.data).where(
        store.events.c.event_id.in_(ids))).all()], ensure_ascii=False)


def replayed(conn, *envelopes) -> dict:
    wanted = {e.id for e in envelopes}
    return {e.id: e.data for chunk in store.read_all(conn) for e in chunk if e.id in wanted}


def test_personal_fields_are_stored_sealed_and_read_back_plain(engine):
    parent, student, enrolled, verified, declared = stored_family(engine)
    with engine.begin() as conn:
        raw = stored_text(conn, enrolled, verified, declared)
        for secret in (enrolled.data["last_name"], "GAGL05581812", "2018-08-05", verified.data["email"],
                       declared.data["explanation"]):
            assert secret not in raw
        assert student in raw and "RDV" in raw  # ids and the rest stay readable
        back = replayed(conn, enrolled, verified, declared)
        assert store.load_stream(conn, student)[0].data == declared.data
    assert back == {e.id: e.data for e in (enrolled, verified, declared)}


def test_forgetting_a_parent_deletes_the_key_and_their_fields_read_forgotten(engine):
    parent, student, enrolled, verified, declared = stored_family(engine)
    with engine.begin() as conn:
        shredding.forget(conn, "parent", [parent])
    with engine.begin() as conn:
        back = replayed(conn, enrolled, verified, declared)
        key = conn.execute(select(shredding.person_keys.c.key).where(
            shredding.person_keys.c.kind == "parent", shredding.person_keys.c.person_id == parent)).one()
    assert key.key is None
    assert back[verified.id] == {**verified.data, "email": FORGOTTEN}
    assert back[declared.id] == {**declared.data, "explanation": FORGOTTEN}
    assert back[enrolled.id] == enrolled.data  # the child is not forgotten with the parent


def test_an_event_about_a_forgotten_person_is_stored_forgotten_not_under_a_new_key(engine):
    parent, student, enrolled, verified, declared = family()
    with engine.begin() as conn:
        shredding.forget(conn, "parent", [parent])
    with engine.begin() as conn:
        taken = store.admit(conn, [verified])
        raw = stored_text(conn, verified)
        back = replayed(conn, verified)
    assert taken[0].data["email"] == FORGOTTEN
    assert verified.data["email"] not in raw
    assert back[verified.id]["email"] == FORGOTTEN


def test_the_relay_publishes_plain_values_then_the_marker_and_both_are_valid_events(engine):
    parent, student, enrolled, verified, declared = family()
    relay = f"relay-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        store.append(conn, 0, [declared])
        last = conn.execute(text("SELECT max(position) FROM events")).scalar_one()
        store.advance(conn, relay, last - 1)
        before = store.envelope_of(store.unpublished(conn, relay, "attendance", 1)[0])
        shredding.forget(conn, "parent", [parent])
        after = store.envelope_of(store.unpublished(conn, relay, "attendance", 1)[0])
    assert before.data == declared.data
    assert after.data["explanation"] == FORGOTTEN
    assert contracts.parse(after.to_json()).data["explanation"] == FORGOTTEN


def test_a_sealed_value_copied_into_another_event_does_not_open(engine):
    parent, student, enrolled, verified, declared = family()
    other = Envelope.new("ParentEmailChanged", "identity", parent, {
        "parent_id": parent, "old_email": "a@example.org", "new_email": "b@example.org"}, "corr")
    with engine.begin() as conn:
        store.admit(conn, [verified, other])
        sealed = conn.execute(select(store.events.c.data).where(
            store.events.c.event_id == uuid.UUID(verified.id))).scalar_one()["email"]
        conn.execute(store.events.update().where(store.events.c.event_id == uuid.UUID(other.id)).values(
            data={**other.wire_data(), "new_email": sealed}))
        with pytest.raises(ValueError, match="does not open"):
            replayed(conn, other)
        conn.rollback()


def test_events_stored_plain_before_shredding_are_sealed_by_the_kits_migration(engine):
    parent, student, enrolled, verified, declared = family()
    with engine.begin() as conn:
        store.admit(conn, [enrolled, verified])
        # As a store written before crypto-shredding holds them: the wire values themselves.
        for envelope in (enrolled, verified):
            conn.execute(store.events.update().where(store.events.c.event_id == uuid.UUID(envelope.id))
                         .values(data=envelope.wire_data()))
        assert verified.data["email"] in stored_text(conn, enrolled, verified)
        assert store.seal_plain(conn) == 2
        raw = stored_text(conn, enrolled, verified)
        back = replayed(conn, enrolled, verified)
        assert store.seal_plain(conn) == 0  # once
    assert verified.data["email"] not in raw and enrolled.data["last_name"] not in raw
    assert back == {e.id: e.data for e in (enrolled, verified)}
