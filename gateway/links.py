"""Is this child the parent's, and which are their children? linking's answers, cached briefly.

Every child-scoped route asks; a dashboard would otherwise cost one more round trip each time.
``ChildLinked``/``ChildUnlinked`` seen on the bus drop the parent's answers at once, so the cache
never delays an auto-unlink on this gateway; the short lifetime bounds it on the others.

Bounded: the parents seen last, and for each the children asked about last (a parent may ask
about any number of ids that are not their children's). A miss costs one call to linking.
"""
from __future__ import annotations

import time
from collections import OrderedDict

from eventlet.event import Event

from .rpc import RpcClient


class Lru:
    """At most ``size`` entries: one more drops the least recently used."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()

    def get(self, key):
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def pop(self, key) -> None:
        self._items.pop(key, None)

    def values(self):
        return self._items.values()

    def __len__(self) -> int:
        return len(self._items)


class LinkCache:
    def __init__(self, rpc: RpcClient, ttl: float = 5.0, timeout: float = 2.0, parents: int = 10_000,
                 children_per_parent: int = 16):
        self.rpc, self.ttl, self.timeout = rpc, ttl, timeout
        self.children_per_parent = children_per_parent
        self._answers = Lru(parents)  # parent -> Lru(child -> (answer, until))
        self._families = Lru(parents)  # parent -> (children, until)
        self._asking: dict[str, Event] = {}  # parent -> the call in flight (a page opening many streams)

    def __len__(self) -> int:
        """How many answers are kept."""
        return sum(len(answers) for answers in self._answers.values()) + len(self._families)

    def is_linked(self, parent_id: str, student_id: str, correlation_id: str | None = None) -> bool:
        now = time.monotonic()
        answers = self._answers.get(parent_id)
        cached = answers.get(student_id) if answers is not None else None
        if cached is not None and cached[1] > now:
            return cached[0]
        linked = bool(self.rpc.call("linking", "is_linked", parent_id, student_id,
                                    timeout=self.timeout, correlation_id=correlation_id))
        answers = self._answers.get(parent_id)  # again: the call let others change the cache
        if answers is None:
            answers = Lru(self.children_per_parent)
            self._answers.put(parent_id, answers)
        answers.put(student_id, (linked, now + self.ttl))
        return linked

    def children(self, parent_id: str, correlation_id: str | None = None) -> list[dict]:
        """linking's ``children``: each child with its school, board and the tiles it shows."""
        now = time.monotonic()
        cached = self._families.get(parent_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        asking = self._asking.get(parent_id)
        if asking is not None:  # the same question is on its way: share its answer
            outcome, value = asking.wait()
            if outcome == "error":
                raise value
            return value
        asking = self._asking[parent_id] = Event()
        try:
            family = self.rpc.call("linking", "children", parent_id, timeout=self.timeout,
                                   correlation_id=correlation_id)
        except Exception as exc:
            asking.send(("error", exc))
            raise
        finally:
            self._asking.pop(parent_id, None)
        asking.send(("ok", family))
        self._families.put(parent_id, (family, now + self.ttl))
        return family

    def forget(self, parent_id: str) -> None:
        self._answers.pop(parent_id)
        self._families.pop(parent_id)
