"""Crypto-shredding: the personal fields of stored events, sealed with a key per person.

The contracts declare which fields of an event are a person's own data and whose
(``contracts.fields.Personal``: the parent named by ``parent_id`` or the child named by
``student_id``). The event store keeps those fields sealed with AES-256-GCM under that person's
key, kept in ``person_keys`` in the same database; everything else in the event stays readable.
Forgetting a person deletes the key and leaves a tombstone: the events stay where they are, a
replay still reads every one of them, and the person's fields read ``FORGOTTEN``; an event about a
forgotten person that arrives later is stored with the marker, never under a new key.
docs/decisions/0008-crypto-shredding.md says why and what it costs.
"""
from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, Table, Text, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from contracts.fields import FORGOTTEN, PERSON_IDS
from contracts.registry import personal_fields

metadata = MetaData()

# One row per person whose data this service's store holds; ``key`` null once forgotten (the row
# stays, so that a late event about that person is stored forgotten, not under a new key).
person_keys = Table(
    "person_keys", metadata,
    Column("kind", Text, primary_key=True),  # a key of contracts.fields.PERSON_IDS
    Column("person_id", Text, primary_key=True),
    Column("key", LargeBinary),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("forgotten_at", DateTime(timezone=True)),
)

NONCE_BYTES = 12
SEALED = "sealed"  # a sealed value in the stored data: {"sealed": base64(nonce + ciphertext + tag)}

Person = tuple[str, str]  # (kind, person id)


def persons(type: str, version: int, data: dict) -> set[Person]:
    """The persons whose personal fields the event's ``data`` holds (not null)."""
    fields = personal_fields(type, version)
    return {(whose, data[PERSON_IDS[whose]]) for name, whose in fields.items() if data.get(name) is not None}


def keys(conn: Connection, wanted: Iterable[Person], create: bool = False) -> dict[Person, AESGCM | None]:
    """The ciphers of ``wanted``' keys, one per person for a whole batch (making one costs more
    than sealing a field): None for a forgotten person. ``create``: a person without a row gets
    a new key (storing their data); else, without a row, they read as forgotten."""
    wanted = sorted(set(wanted))
    if not wanted:
        return {}
    if create:
        # Sorted, so that two writers of the same new persons lock their rows in the same order.
        conn.execute(insert(person_keys).on_conflict_do_nothing(),
                     [{"kind": kind, "person_id": pid, "key": AESGCM.generate_key(bit_length=256)}
                      for kind, pid in wanted])
    rows = conn.execute(select(person_keys.c.kind, person_keys.c.person_id, person_keys.c.key)
                        .where(tuple_(person_keys.c.kind, person_keys.c.person_id).in_(wanted))).all()
    found = {(row.kind, row.person_id): AESGCM(row.key) for row in rows if row.key is not None}
    return {person: found.get(person) for person in wanted}


def forget(conn: Connection, kind: str, person_ids: Iterable[str]) -> None:
    """Delete the persons' keys: every personal field of theirs in the store reads ``FORGOTTEN``
    from now on, and later events about them are stored that way."""
    person_ids = sorted(set(person_ids))
    if person_ids:
        statement = insert(person_keys).values(
            [{"kind": kind, "person_id": pid, "key": None, "forgotten_at": func.now()} for pid in person_ids])
        conn.execute(statement.on_conflict_do_update(
            index_elements=["kind", "person_id"],
            set_={"key": None, "forgotten_at": func.coalesce(person_keys.c.forgotten_at, statement.excluded.forgotten_at)}))


def _aad(event_id: str, name: str) -> bytes:
    # Binds a sealed value to its event and field: it cannot be moved to another and still open.
    return f"{event_id}/{name}".encode()


def seal(event_id: str, type: str, version: int, data: dict, found: dict[Person, AESGCM | None]) -> dict:
    """``data`` (wire form) with its personal fields sealed under their persons' keys, or the
    marker where the person is forgotten."""
    fields = personal_fields(type, version)
    if not fields:
        return data
    sealed = dict(data)
    for name, whose in fields.items():
        value = data.get(name)
        if value is None or value == FORGOTTEN:
            continue
        cipher = found.get((whose, data[PERSON_IDS[whose]]))
        if cipher is None:
            sealed[name] = FORGOTTEN
        else:
            nonce = os.urandom(NONCE_BYTES)
            box = cipher.encrypt(nonce, json.dumps(value, ensure_ascii=False).encode(), _aad(event_id, name))
            sealed[name] = {SEALED: base64.b64encode(nonce + box).decode()}
    return sealed


def unseal(event_id: str, type: str, version: int, data: dict, found: dict[Person, AESGCM | None]) -> dict:
    """The stored ``data`` with its personal fields opened (wire form), ``FORGOTTEN`` where the
    person's key is gone. A value stored before sealing existed is read as it is."""
    fields = personal_fields(type, version)
    if not fields:
        return data
    opened = dict(data)
    for name, whose in fields.items():
        value = data.get(name)
        if value is None:
            continue
        cipher = found.get((whose, data[PERSON_IDS[whose]]))
        if cipher is None:
            opened[name] = FORGOTTEN
            continue
        if not isinstance(value, dict):
            continue
        raw = base64.b64decode(value[SEALED])
        try:
            opened[name] = json.loads(cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(event_id, name)))
        except InvalidTag:
            raise ValueError(f"event {event_id}: {name} does not open with its person's key") from None
    return opened


def forgotten(type: str, version: int, data: dict, found: dict[Person, AESGCM | None]) -> dict:
    """``data`` as the store will read it back: the fields of forgotten persons ``FORGOTTEN``."""
    fields = personal_fields(type, version)
    changed = {name: FORGOTTEN for name, whose in fields.items()
               if data.get(name) is not None and found.get((whose, data[PERSON_IDS[whose]])) is None}
    return {**data, **changed} if changed else data
