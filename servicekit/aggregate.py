"""Aggregates: state rebuilt from their own stream, new events kept until stored.

Pure Python, so that domains build on it and stay testable without a database; loading and
saving are ``store.load`` and ``store.save``.
"""
from __future__ import annotations

from contracts import Envelope


class Aggregate:
    """Subclasses set ``stream_prefix`` and implement ``apply(event)``; commands call
    ``record(event)``, which applies the event and keeps it until it is stored."""

    stream_prefix = ""

    def __init__(self, key: str):
        self.key = key
        self.version = 0
        self.changes: list[Envelope] = []

    @property
    def stream_id(self) -> str:
        return f"{self.stream_prefix}{self.key}"

    def apply(self, event: Envelope) -> None:
        raise NotImplementedError

    def record(self, event: Envelope) -> None:
        self.apply(event)
        self.changes.append(event)

    @classmethod
    def rebuild(cls, key: str, history: list[Envelope]):
        aggregate = cls(key)
        for event in history:
            aggregate.apply(event)
            aggregate.version += 1
        return aggregate
