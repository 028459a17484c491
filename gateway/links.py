"""Is this child the parent's, and which are their children? linking's answers, cached briefly.

Every child-scoped route asks; a dashboard would otherwise cost one more round trip each time.
``ChildLinked``/``ChildUnlinked`` seen on the bus drop the parent's answers at once, so the cache
never delays an auto-unlink on this gateway; the short lifetime bounds it on the others.
"""
from __future__ import annotations

import time

from eventlet.event import Event

from .rpc import RpcClient


class LinkCache:
    def __init__(self, rpc: RpcClient, ttl: float = 5.0, timeout: float = 2.0):
        self.rpc, self.ttl, self.timeout = rpc, ttl, timeout
        self._answers: dict[str, dict[str, tuple[bool, float]]] = {}  # parent -> child -> (answer, until)
        self._families: dict[str, tuple[list, float]] = {}  # parent -> (children, until)
        self._asking: dict[str, Event] = {}  # parent -> the call in flight (a page opening many streams)

    def is_linked(self, parent_id: str, student_id: str, correlation_id: str | None = None) -> bool:
        now = time.monotonic()
        cached = self._answers.get(parent_id, {}).get(student_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        linked = bool(self.rpc.call("linking", "is_linked", parent_id, student_id,
                                    timeout=self.timeout, correlation_id=correlation_id))
        if len(self._answers) > 100_000:
            self._answers.clear()  # bounded memory; a refill costs one call per parent and child
        self._answers.setdefault(parent_id, {})[student_id] = (linked, now + self.ttl)
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
        if len(self._families) > 100_000:
            self._families.clear()
        self._families[parent_id] = (family, now + self.ttl)
        return family

    def forget(self, parent_id: str) -> None:
        self._answers.pop(parent_id, None)
        self._families.pop(parent_id, None)
