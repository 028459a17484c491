"""The cost of crypto-shredding per event: sealing the personal fields of an event as the store
writes it and opening them as a replay reads it (servicekit.shredding), on the published
examples with the most personal fields (a student's record: four) and the fewest (a parent's
email: one). Pure computation: the key lookups ride on the batch's own queries."""
from __future__ import annotations

import time
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts import EVENTS, parse
from contracts.export import example_envelope
from contracts.registry import personal_fields
from servicekit import shredding

ROUNDS = 20_000


def cost(type: str) -> dict:
    envelope = parse(example_envelope(type))
    wire = envelope.wire_data()
    found = {person: AESGCM(AESGCM.generate_key(bit_length=256))
             for person in shredding.persons(envelope.type, envelope.version, wire)}
    ids = [str(uuid.uuid4()) for _ in range(ROUNDS)]
    started = time.perf_counter()
    sealed = [shredding.seal(i, envelope.type, envelope.version, wire, found) for i in ids]
    sealing = time.perf_counter() - started
    started = time.perf_counter()
    for i, data in zip(ids, sealed):
        shredding.unseal(i, envelope.type, envelope.version, data, found)
    opening = time.perf_counter() - started
    assert shredding.unseal(ids[0], envelope.type, envelope.version, sealed[0], found) == wire
    return {"event": type, "personal_fields": len(personal_fields(envelope.type, envelope.version)),
            "seal_us": round(sealing / ROUNDS * 1e6, 1), "open_us": round(opening / ROUNDS * 1e6, 1),
            "per_event_us": round((sealing + opening) / ROUNDS * 1e6, 1)}


def main() -> None:
    for type in ("StudentEnrolled", "ParentVerified", "AbsenceDeclared"):
        assert type in EVENTS
        print(cost(type), flush=True)


if __name__ == "__main__":
    main()
