"""Compositions of several service calls sent at once: a child's dashboard, the family overview,
the export. A tile that does not answer within the deadline is served from its last good answer
(kept here, bounded) marked ``stale``, or marked ``unavailable``."""
from __future__ import annotations

import logging
import time

import eventlet
from nameko.exceptions import RemoteError
from werkzeug.wrappers import Response

from servicekit.errors import DomainError, NotFound

from .http import guarded, json_response
from .links import LinkCache, Lru
from .routes import EXPORTERS, TILES
from .rpc import CANNOT_ANSWER

log = logging.getLogger(__name__)

FAMILY_TILES = ("absences", "results", "finances")
STALE_KEPT_FOR = 600.0  # seconds a tile's last good answer may stand in for a failing service
STALE_KEPT_PARENTS = 10_000  # the parents seen last; only a fallback, so a bounded one
STALE_KEPT_PER_PARENT = 200  # tiles of the family's children


class Compositions:
    def __init__(self, rpc, links: LinkCache, metrics, tile_deadline: float):
        self.rpc, self.links, self.metrics, self.tile_deadline = rpc, links, metrics, tile_deadline
        self.last_good = Lru(STALE_KEPT_PARENTS)  # parent -> Lru((child, tile) -> (data, as_of, at))

    def forget(self, parent_id: str) -> None:
        """The parent's links changed: no older answer of theirs is shown."""
        self.last_good.pop(parent_id)

    def tiles(self, parent_id: str, wanted: dict[str, tuple[str, list]], correlation_id: str) -> dict:
        """Every tile's call sent at once; each answered, stale (last good answer) or
        unavailable after the deadline."""
        pending = {tile: self.rpc.call_async(service, method, *args, correlation_id=correlation_id)
                   for tile, (service, method, args) in wanted.items()}
        deadline = time.monotonic() + self.tile_deadline
        kept = self.last_good.get(parent_id)
        if kept is None:
            kept = Lru(STALE_KEPT_PER_PARENT)
            self.last_good.put(parent_id, kept)
        tiles = {}
        for tile, call in pending.items():
            key = (tuple(wanted[tile][2][1:]), tile)
            try:
                data = call.result(max(deadline - time.monotonic(), 0))
            except NotFound:
                # linking has just said the child is the parent's: this service has not heard of the
                # link yet (just made), or of its end (just unlinked). No older answer is shown.
                tiles[tile] = {"status": "unavailable"}
                continue
            except CANNOT_ANSWER as exc:
                self.metrics.tile_degraded.labels(tile).inc()
                if isinstance(exc, RemoteError):
                    log.error("tile %s failed: %s", tile, exc)
                last = kept.get(key)
                if last is not None and time.monotonic() - last[2] < STALE_KEPT_FOR:
                    tiles[tile] = {"status": "stale", "as_of": last[1], "data": last[0]}
                else:
                    tiles[tile] = {"status": "unavailable"}
                continue
            except DomainError as exc:
                tiles[tile] = {"status": "error", "code": exc.code}
                continue
            tiles[tile] = {"status": "ok", "data": data}
            kept.put(key, (data, now_iso(), time.monotonic()))
        return tiles

    def dashboard(self, parent_id: str, student_id: str, correlation_id: str) -> dict:
        wanted = {tile: (service, method, [parent_id, student_id]) for tile, (service, method) in TILES.items()}
        # Which tiles the school shows: asked alongside the tiles, within the same deadline.
        def ask_family() -> list:
            try:
                return self.links.children(parent_id, correlation_id)
            except CANNOT_ANSWER:
                return []  # its own failure, even after the deadline, where nobody waits for it

        lookup = eventlet.spawn(ask_family)
        tiles = self.tiles(parent_id, wanted, correlation_id)
        shown = list(TILES)  # when linking cannot say in time, all of them
        family = []
        with eventlet.Timeout(self.tile_deadline, False):
            family = lookup.wait()
        child = next((c for c in family if c.get("student_id") == student_id), None)
        if child is not None and child.get("tiles") is not None:
            shown = [tile for tile in TILES if tile in child["tiles"]]
        return {"student_id": student_id, "tiles": {tile: tiles[tile] for tile in shown},
                "stale": [tile for tile in shown if tiles[tile]["status"] in ("stale", "unavailable")]}

    def family(self, parent_id: str, correlation_id: str) -> dict:
        children = guarded(lambda: self.rpc.call("linking", "children", parent_id, correlation_id=correlation_id))
        wanted = {"messages": ("notices", "inbox", [parent_id])}
        for child in children:
            for tile in FAMILY_TILES:
                service, method = TILES[tile]
                wanted[f"{child['student_id']}/{tile}"] = (service, method, [parent_id, child["student_id"]])
        tiles = self.tiles(parent_id, wanted, correlation_id)
        return {
            "messages": tiles.pop("messages"),
            "children": [dict(child, news={tile: tiles[f"{child['student_id']}/{tile}"] for tile in FAMILY_TILES})
                         for child in children],
            "stale": sorted(name for name, tile in tiles.items() if tile["status"] in ("stale", "unavailable")),
        }

    def export(self, parent_id: str, correlation_id: str) -> Response:
        """Everything held on the parent and their children, in one file; all of it or an error
        (a partial export would look complete)."""
        pending = {service: self.rpc.call_async(service, method, parent_id, correlation_id=correlation_id)
                   for service, method in EXPORTERS.items()}
        parts = {s: guarded(lambda call=call: call.result()) for s, call in pending.items()}
        body = {"exported_at": now_iso(), "parent_id": parent_id, "services": parts}
        response = json_response(body)
        response.headers["Content-Disposition"] = 'attachment; filename="portail-parents-mes-donnees.json"'
        return response


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
