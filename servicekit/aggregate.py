"""Aggregates: state rebuilt from their own stream, new events kept until stored.

Pure Python, so that domains build on it and stay testable without a database; a command loads
and saves them through ``store.Commands``.
"""
from __future__ import annotations

from contracts import Envelope


class Aggregate:
    """Subclasses set ``source`` (the service whose events these are), maybe ``stream_prefix``,
    and implement ``apply(event)``; their commands call ``record``, which makes the event,
    applies it and keeps it until it is stored."""

    source = ""
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

    def record(self, event_type: str, data: dict, correlation_id: str, causation_id: str | None = None
               ) -> Envelope:
        """A new event of this aggregate's stream, applied and kept until it is stored."""
        event = Envelope.new(event_type, self.source, self.stream_id, data, correlation_id, causation_id)
        self.apply(event)
        self.changes.append(event)
        return event

    @classmethod
    def rebuild(cls, key: str, history: list[Envelope]):
        aggregate = cls(key)
        for event in history:
            aggregate.apply(event)
            aggregate.version += 1
        return aggregate


class OncePerId(Aggregate):
    """An aggregate whose invariant is one event per id (an absence justified once, a child linked
    once, a school year answered once): its state is the set of ``ids`` its events named, the
    field ``adds[type]`` of an event of a type in ``adds`` joining it, ``removes[type]`` leaving it."""

    adds: dict[str, str] = {}
    removes: dict[str, str] = {}

    def __init__(self, key: str):
        super().__init__(key)
        self.ids: set[str] = set()

    def apply(self, event: Envelope) -> None:
        if event.type in self.adds:
            self.ids.add(event.data[self.adds[event.type]])
        elif event.type in self.removes:
            self.ids.discard(event.data[self.removes[event.type]])
