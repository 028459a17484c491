"""The gateway's HTTP application (WSGI, served by eventlet outside any nameko worker pool).

Requests: token → parent id; child-scoped routes check the link first and answer 404 for any
child that is not the parent's; then one RPC, or a composition of several in parallel with a
deadline each (the dashboard, the family overview, the export). Errors are JSON with a stable
code, a message from the catalogue in the request's language, and the field.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import eventlet
from eventlet import tpool
from eventlet.queue import Empty
from nameko.exceptions import RemoteError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from servicekit import logs, schooltime
from servicekit.errors import DomainError, NotFound
from servicekit.tokens import InvalidToken

from . import documents, openapi
from .messages import Catalogue
from .links import LinkCache, Lru
from .live import Child, LiveHub, TooManyStreams
from .metrics import metrics
from .routes import EXPORTERS, MAX_BODY, ROUTES, TILES, Route
from .rpc import CANNOT_ANSWER, RpcClient

log = logging.getLogger(__name__)

API = "/api/v1"
FAMILY_TILES = ("absences", "results", "finances")
STALE_KEPT_FOR = 600.0  # seconds a tile's last good answer may stand in for a failing service
STALE_KEPT_PARENTS = 10_000  # the parents seen last; only a fallback, so a bounded one
STALE_KEPT_PER_PARENT = 200  # tiles of the family's children
SSE_KEEPALIVE = 15.0


class ApiError(Exception):
    def __init__(self, status: int, code: str, field: str | None = None, params: dict | None = None):
        super().__init__(code)
        self.status, self.code, self.field, self.params = status, code, field, params or {}


@dataclass
class Settings:
    amqp_url: str
    issuer: str  # the realm's issuer URL, as the browser sees it
    audience: str = "portal-api"
    web_client_id: str = "portal-web"
    web_dist: Path | None = None
    tile_deadline: float = 0.3
    rpc_timeout: float = 5.0
    trusted_proxies: int = 0  # proxies in front of the gateway that append to X-Forwarded-For


class Gateway:
    def __init__(self, settings: Settings, verifier, rpc: RpcClient | None = None):
        self.settings = settings
        self.verifier = verifier
        self.metrics = metrics()
        self.rpc = rpc or RpcClient(settings.amqp_url, timeout=settings.rpc_timeout)
        self.links = LinkCache(self.rpc)
        self.live = LiveHub(settings.amqp_url, on_link_change=self._link_changed, metrics=self.metrics)
        self.catalogue = Catalogue()
        self._last_good = Lru(STALE_KEPT_PARENTS)  # parent -> Lru((child, tile) -> (data, as_of, at))
        self.url_map = Map([Rule(API + r.path, methods=[r.method], endpoint=r) for r in ROUTES] + [
            Rule(f"{API}/children/<student_id>/dashboard", methods=["GET"], endpoint="dashboard"),
            Rule(f"{API}/family", methods=["GET"], endpoint="family"),
            Rule(f"{API}/me/export", methods=["GET"], endpoint="export"),
            Rule(f"{API}/events", methods=["GET"], endpoint="events"),
            Rule(f"{API}/calendar/<token>.ics", methods=["GET"], endpoint="calendar"),
            Rule(f"{API}/config", methods=["GET"], endpoint="config"),
            Rule(f"{API}/openapi.json", methods=["GET"], endpoint="openapi"),
            Rule("/healthz", methods=["GET"], endpoint="healthz"),
            Rule("/readyz", methods=["GET"], endpoint="readyz"),
            Rule("/metrics", methods=["GET"], endpoint="metrics"),
        ], strict_slashes=False)
        self.openapi_document = json.dumps(openapi.document(ROUTES)).encode()

    def start(self) -> None:
        self.rpc.start()
        self.live.start()

    def stop(self) -> None:
        self.live.stop()
        self.rpc.stop()

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        started = time.perf_counter()
        correlation_id = request.headers.get("X-Correlation-Id", "")[:100] or str(uuid.uuid4())
        logs.current.correlation_id = correlation_id
        route = "unmatched"
        try:
            rule, values = self.url_map.bind_to_environ(environ).match(return_rule=True)
            endpoint, route = rule.endpoint, rule.rule.removeprefix(API)
            # Refused from its announced length, before a byte of it is read (chunked bodies are
            # never read: Werkzeug gives an empty stream when eventlet sends no length).
            if (request.content_length or 0) > (endpoint.max_body if isinstance(endpoint, Route) else MAX_BODY):
                raise ApiError(413, "request_too_large")
            response = self._dispatch(request, endpoint, values, correlation_id)
        except ApiError as exc:
            response = self._error(request, exc)
        except HTTPException as exc:
            if exc.code == 404 and not request.path.startswith(API) and self.settings.web_dist:
                route, response = "web", self._web(request)
            else:
                code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code, "invalid_request")
                response = self._error(request, ApiError(exc.code if exc.code < 500 else 400, code))
        except Exception:  # a bug: logged with its correlation id, never shown
            log.exception("request failed")
            response = self._error(request, ApiError(500, "internal_error"))
        finally:
            logs.current.correlation_id = None
        response.headers["X-Correlation-Id"] = correlation_id
        _secure(response, self.settings)
        self.metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        self.metrics.request_duration.labels(route).observe(time.perf_counter() - started)
        return response(environ, start_response)

    def _dispatch(self, request: Request, endpoint, values: dict, correlation_id: str) -> Response:
        if isinstance(endpoint, Route):
            return self._route(request, endpoint, values, correlation_id)
        if endpoint in ("healthz", "readyz", "metrics", "config", "openapi"):
            return getattr(self, f"_{endpoint}")()
        if endpoint == "calendar":  # the secret in the address is the credential (phone calendars)
            feed = self._call_guarded(lambda: self.rpc.call("notices", "calendar_feed", values["token"],
                                                            correlation_id=correlation_id))
            return Response(feed["body"], content_type=feed["content_type"])
        parent_id, claims = self._parent(request)
        if endpoint == "dashboard":
            self._check_child(parent_id, values["student_id"], correlation_id)
            return _json(self._dashboard(parent_id, values["student_id"], correlation_id))
        if endpoint == "family":
            return _json(self._family(parent_id, correlation_id))
        if endpoint == "export":
            return self._export(parent_id, correlation_id)
        return self._events(request, parent_id, claims, correlation_id)

    # -- the parent ---------------------------------------------------------------------------

    def _parent(self, request: Request) -> tuple[str, dict]:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "token_missing")
        try:
            claims = self.verifier.verify(token.strip())
        except InvalidToken as exc:
            # The client only needs to know whether a refresh may help; the reason is logged.
            log.info("refused a token: %s", exc.code)
            raise ApiError(401, "token_expired" if exc.code == "expired" else "token_invalid") from None
        except OSError:  # a key the gateway has not cached, and Keycloak out of reach to fetch it
            raise ApiError(503, "sign_in_unavailable") from None
        return claims["sub"], claims

    def _check_child(self, parent_id: str, student_id: str, correlation_id: str) -> None:
        if not self._call_guarded(lambda: self.links.is_linked(parent_id, student_id, correlation_id)):
            raise ApiError(404, "child_not_found")

    def _link_changed(self, parent_id: str) -> None:
        self.links.forget(parent_id)
        self._last_good.pop(parent_id)

    # -- one route, one service call -----------------------------------------------------------

    def _route(self, request: Request, route: Route, values: dict, correlation_id: str) -> Response:
        if route.document is not None:
            return self._document(request, route, values, correlation_id)
        return _json(self._answer(request, route, values, correlation_id), route.status)

    def _answer(self, request: Request, route: Route, values: dict, correlation_id: str):
        args: list = []
        options = {name: request.args[name] for name in route.query if name in request.args}
        if not route.public:
            parent_id, _ = self._parent(request)
            if route.parent_keyword:
                options["parent_id"] = parent_id
            elif route.parent:
                args.append(parent_id)
        if route.child:
            self._check_child(parent_id, values["student_id"], correlation_id)
            args.append(values["student_id"])
        args += [values[name] for name in route.params]
        if route.body:
            args.append(_body(request))
        if route.fields:
            body = _body(request)
            if not isinstance(body, dict):
                raise ApiError(422, "invalid_request")
            options.update({name: body[name] for name in route.fields if name in body})
        options.update(route.fixed)
        if route.client_address:
            options["client_address"] = _client_address(request, self.settings.trusted_proxies)
        def call():
            return self.rpc.call(route.service, route.rpc, *args, options=options, correlation_id=correlation_id)

        return self._call_guarded(_once_caught_up(call) if route.child else call)

    def _document(self, request: Request, route: Route, values: dict, correlation_id: str) -> Response:
        """A PDF the portal makes from the service's answer (decision 7). Another parent's child, a
        child no longer linked, a document not yet visible or none at all: the same 404 as every
        child route's, byte for byte, so that nothing is learnt from it."""
        try:
            answer = self._answer(request, route, values, correlation_id)
            parent_id, _ = self._parent(request)
            family = self._call_guarded(lambda: self.links.children(parent_id, correlation_id))
            child = next((c for c in family if c["student_id"] == values["student_id"]), None)
        except ApiError as exc:
            if exc.status != 404:
                raise
            child = None
        if child is None:  # not the parent's, unlinked since the check, or no such document yet
            raise ApiError(404, "child_not_found")
        render = getattr(documents, route.document)
        # In a thread of its own: a page of PDF takes a tenth of a second of CPU, which would
        # otherwise stop every other request and live stream of this process meanwhile.
        name, pdf = tpool.execute(render, answer, child, _language(request), self.catalogue)
        return Response(pdf, content_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def _call_guarded(self, call):
        """A service's answer; its domain errors and its absence as API errors."""
        try:
            return call()
        except DomainError as exc:  # Unavailable among them, with its own reason (mail, sign-in)
            raise ApiError(exc.status, exc.code, exc.field, exc.params) from None
        except RemoteError as exc:
            log.error("service failed: %s", exc)
            raise ApiError(502, "internal_error") from None
        except CANNOT_ANSWER:  # the others: down, too slow, or not offering this yet
            raise ApiError(503, "service_unavailable") from None

    # -- compositions -------------------------------------------------------------------------

    def _tiles(self, parent_id: str, wanted: dict[str, tuple[str, list]], correlation_id: str) -> dict:
        """Every tile's call sent at once; each answered, stale (last good answer) or
        unavailable after the deadline."""
        pending = {tile: self.rpc.call_async(service, method, *args, correlation_id=correlation_id)
                   for tile, (service, method, args) in wanted.items()}
        deadline = time.monotonic() + self.settings.tile_deadline
        kept = self._last_good.get(parent_id)
        if kept is None:
            kept = Lru(STALE_KEPT_PER_PARENT)
            self._last_good.put(parent_id, kept)
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
            kept.put(key, (data, _now_iso(), time.monotonic()))
        return tiles

    def _dashboard(self, parent_id: str, student_id: str, correlation_id: str) -> dict:
        wanted = {tile: (service, method, [parent_id, student_id]) for tile, (service, method) in TILES.items()}
        # Which tiles the school shows: asked alongside the tiles, within the same deadline.
        def ask_family() -> list:
            try:
                return self.links.children(parent_id, correlation_id)
            except CANNOT_ANSWER:
                return []  # its own failure, even after the deadline, where nobody waits for it

        lookup = eventlet.spawn(ask_family)
        tiles = self._tiles(parent_id, wanted, correlation_id)
        shown = list(TILES)  # when linking cannot say in time, all of them
        family = []
        with eventlet.Timeout(self.settings.tile_deadline, False):
            family = lookup.wait()
        child = next((c for c in family if c.get("student_id") == student_id), None)
        if child is not None and child.get("tiles") is not None:
            shown = [tile for tile in TILES if tile in child["tiles"]]
        return {"student_id": student_id, "tiles": {tile: tiles[tile] for tile in shown},
                "stale": [tile for tile in shown if tiles[tile]["status"] in ("stale", "unavailable")]}

    def _family(self, parent_id: str, correlation_id: str) -> dict:
        children = self._call_guarded(lambda: self.rpc.call("linking", "children", parent_id,
                                                            correlation_id=correlation_id))
        wanted = {"messages": ("notices", "inbox", [parent_id])}
        for child in children:
            for tile in FAMILY_TILES:
                service, method = TILES[tile]
                wanted[f"{child['student_id']}/{tile}"] = (service, method, [parent_id, child["student_id"]])
        tiles = self._tiles(parent_id, wanted, correlation_id)
        return {
            "messages": tiles.pop("messages"),
            "children": [dict(child, news={tile: tiles[f"{child['student_id']}/{tile}"] for tile in FAMILY_TILES})
                         for child in children],
            "stale": sorted(name for name, tile in tiles.items() if tile["status"] in ("stale", "unavailable")),
        }

    def _export(self, parent_id: str, correlation_id: str) -> Response:
        """Everything held on the parent and their children, in one file; all of it or an error
        (a partial export would look complete)."""
        pending = {service: self.rpc.call_async(service, method, parent_id, correlation_id=correlation_id)
                   for service, method in EXPORTERS.items()}
        parts = {s: self._call_guarded(lambda call=call: call.result()) for s, call in pending.items()}
        body = {"exported_at": _now_iso(), "parent_id": parent_id, "services": parts}
        response = _json(body)
        response.headers["Content-Disposition"] = 'attachment; filename="portail-parents-mes-donnees.json"'
        return response

    # -- live updates ---------------------------------------------------------------------------

    def _events(self, request: Request, parent_id: str, claims: dict, correlation_id: str) -> Response:
        children = self._call_guarded(lambda: self.links.children(parent_id, correlation_id))
        try:
            stream = self.live.open(parent_id, [Child(c["student_id"], c["school"]["id"], c["org"]["id"])
                                                for c in children])
        except TooManyStreams:
            raise ApiError(429, "too_many_streams") from None
        ends_at = float(claims.get("exp") or time.time() + 3600)
        request.environ["eventlet.minimum_write_chunk_size"] = 0  # each event leaves at once

        def generate():
            yield b"retry: 2000\n: open\n\n"
            while not stream.overflowed:
                remaining = ends_at - time.time()
                if remaining <= 0:
                    # The token ran out: the client comes back with a fresh one.
                    yield b"event: session_expired\ndata: {}\n\n"
                    return
                try:
                    item = stream.queue.get(timeout=min(SSE_KEEPALIVE, remaining))
                except Empty:
                    # Also how a page that went away is noticed: this write fails, the server
                    # closes the response, and the stream's place is free again.
                    yield b": keep-alive\n\n"
                    continue
                payload = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
                yield f"event: {item['type']}\nid: {item['id']}\ndata: {payload}\n\n".encode()

        response = Response(generate(), mimetype="text/event-stream",
                            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        # On the response's close, which the server always calls: a generator closed before
        # its first step would never run a ``finally`` of its own.
        response.call_on_close(lambda: self.live.close(stream))
        return response

    # -- ops, configuration, documentation, the web client --------------------------------------

    def _healthz(self) -> Response:
        return _json({"status": "alive", "service": "gateway"})

    def _readyz(self) -> Response:
        problems = [p for ok, p in ((self.rpc.connected, "broker: RPC replies not consumed"),
                                    (self.live.connected, "broker: live updates not consumed")) if not ok]
        return _json({"ready": not problems, "problems": problems, **schooltime.readiness_note()},
                     503 if problems else 200)

    def _metrics(self) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

        return Response(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)

    def _config(self) -> Response:
        """What the web client needs to log in (public values only)."""
        return _json({"issuer": self.settings.issuer, "client_id": self.settings.web_client_id,
                      "audience": self.settings.audience})

    def _openapi(self) -> Response:
        return Response(self.openapi_document, content_type="application/json")

    def _web(self, request: Request) -> Response:
        """A file of the built client, or its index.html for the app's own paths."""
        dist = self.settings.web_dist
        relative = request.path.lstrip("/")
        candidate = (dist / relative).resolve() if relative else dist / "index.html"
        if not candidate.is_relative_to(dist.resolve()) or not candidate.is_file():
            candidate = dist / "index.html"
        if not candidate.is_file():
            raise ApiError(404, "not_found")
        response = Response(candidate.read_bytes(), mimetype=_mimetype(candidate))
        # Vite names assets by content hash: cache them for good, never the page itself.
        immutable = candidate.parent.name == "assets"
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return response

    def _error(self, request: Request, exc: ApiError) -> Response:
        language = _language(request)
        body = {"code": exc.code, "message": self.catalogue.message(exc.code, language, exc.params),
                "field": exc.field}
        if exc.params:
            body["params"] = exc.params
        response = _json(body, exc.status)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
        if exc.status == 429 and "retry_after" in exc.params:
            response.headers["Retry-After"] = str(exc.params["retry_after"])
        return response


def _language(request: Request) -> str:
    asked = request.args.get("lang")
    if asked in ("fr", "en"):
        return asked
    return request.accept_languages.best_match(["fr", "en"], default="fr")


def _client_address(request: Request, trusted_proxies: int) -> str:
    """The parent's address, which rate limits count: the connection's, or behind
    ``trusted_proxies`` proxies (each appends the address it saw to X-Forwarded-For) the one the
    outermost of them saw, the N-th from the right. What the client wrote there itself is further
    left and never read; without trusted proxies the header is ignored."""
    if trusted_proxies:
        forwarded = [a.strip() for a in ",".join(request.headers.getlist("X-Forwarded-For")).split(",")]
        if len(forwarded) >= trusted_proxies:
            try:
                return str(ipaddress.ip_address(forwarded[-trusted_proxies]))
            except ValueError:
                pass  # not an address: a proxy that does not write the header as said
    return request.remote_addr


def _body(request: Request):
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        raise ApiError(400, "invalid_json") from None


def _json(value, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False, separators=(",", ":")), status,
                    content_type="application/json; charset=utf-8")


# A link travels to the other services by event, in well under a second.
CATCH_UP_PAUSES = (0.1, 0.2, 0.4, 0.8)


def _once_caught_up(call):
    """``call`` for a child linking has just confirmed: a service that answers child_not_found
    has not yet heard of a link just made, so it is asked again before the parent is told."""

    def again():
        for pause in CATCH_UP_PAUSES:
            try:
                return call()
            except NotFound as exc:
                if exc.code != "child_not_found":
                    raise
            time.sleep(pause)
        return call()

    return again


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


MIMETYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
             ".json": "application/json", ".png": "image/png", ".ico": "image/x-icon", ".woff2": "font/woff2",
             ".webmanifest": "application/manifest+json", ".txt": "text/plain"}


def _mimetype(path: Path) -> str:
    return MIMETYPES.get(path.suffix, "application/octet-stream")


def _secure(response: Response, settings: Settings) -> None:
    """Security headers on every answer; the strict CSP lets the app talk only to itself and to
    Keycloak (login, token refresh)."""
    keycloak = settings.issuer.split("/realms/")[0]
    response.headers.setdefault("Content-Security-Policy", "; ".join((
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "font-src 'self'", f"connect-src 'self' {keycloak}", f"form-action 'self' {keycloak}",
        "manifest-src 'self'", "base-uri 'none'", "frame-ancestors 'none'",
    )))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
