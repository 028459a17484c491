"""The gateway's WSGI application (served by eventlet outside any nameko worker pool): the one
URL map, and each answer's common path (correlation id, body limit, errors, security headers,
metrics). What each endpoint does lives in a module of its own:

- ``auth``: the parent behind the token, and the link check of child-scoped routes;
- ``calls``: a route of the table (``routes``), one service call;
- ``dashboard``: compositions of several calls with a deadline (dashboard, family, export);
- ``stream`` (with ``live``): the live updates of an open page;
- ``static``: the web client's files; ``http``: errors, JSON, headers.

``/metrics``, ``/healthz`` and ``/readyz`` are served by ``ops`` on a port the internet never
reaches (``python -m gateway``).
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from servicekit import logs, ops
from servicekit.tokens import SessionCheck

from . import openapi
from .auth import Auth
from .calls import Calls
from .dashboard import Compositions
from .http import ApiError, Turns, error_response, guarded, json_response, secure
from .links import LinkCache
from .live import LiveHub
from .messages import LANGUAGES, Catalogue
from .metrics import metrics
from .routes import MAX_BODY, ROUTES, Route
from .rpc import RpcClient
from .static import web_file
from .stream import event_stream

log = logging.getLogger(__name__)

API = "/api/v1"


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
    userinfo_url: str | None = None  # the session check's (SessionCheck); by default the issuer's
    concurrency: int = 64  # API requests served at once (http.Turns)
    queue_wait: float = 0.05


class Gateway:
    def __init__(self, settings: Settings, verifier, rpc: RpcClient | None = None, sessions=None):
        self.settings = settings
        self.metrics = metrics()
        self.rpc = rpc or RpcClient(settings.amqp_url, timeout=settings.rpc_timeout)
        self.links = LinkCache(self.rpc)
        self.live = LiveHub(settings.amqp_url, on_link_change=self._link_changed, metrics=self.metrics)
        self.catalogue = Catalogue()
        self.auth = Auth(verifier, self.links, sessions or SessionCheck(
            settings.userinfo_url or f"{settings.issuer}/protocol/openid-connect/userinfo", settings.issuer))
        self.calls = Calls(self.rpc, self.auth, self.links, self.catalogue, settings.trusted_proxies)
        self.compositions = Compositions(self.rpc, self.links, self.metrics, settings.tile_deadline)
        # Endpoints: a route of the table, or a handler(request, values, correlation_id).
        self.url_map = Map([Rule(API + r.path, methods=[r.method], endpoint=r) for r in ROUTES] + [
            Rule(API + path, methods=["GET"], endpoint=handler) for path, handler in (
                ("/children/<student_id>/dashboard", self._dashboard), ("/family", self._family),
                ("/me/export", self._export), ("/events", self._events),
                ("/calendar/<token>.ics", self._calendar), ("/config", self._config),
                ("/openapi.json", self._openapi))
        ], strict_slashes=False)
        self.openapi_document = json.dumps(openapi.document(ROUTES)).encode()
        self.turns = Turns(settings.concurrency, settings.queue_wait)
        self.ops = ops.ops_app("gateway", self.readiness_problems)

    def start(self) -> None:
        self.rpc.start()
        self.live.start()

    def stop(self) -> None:
        self.live.stop()
        self.rpc.stop()

    def _link_changed(self, parent_id: str) -> None:
        self.links.forget(parent_id)
        self.compositions.forget(parent_id)

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
            if request.args.get("lang", "fr") not in LANGUAGES:
                raise ApiError(422, "invalid_choice", "lang")
            # A stream stays open for hours: it takes no turn.
            with nullcontext() if endpoint == self._events else self.turns.one():
                if isinstance(endpoint, Route):
                    response = self.calls.respond(request, endpoint, values, correlation_id)
                else:
                    response = endpoint(request, values, correlation_id)
        except ApiError as exc:
            response = error_response(request, exc, self.catalogue)
        except HTTPException as exc:
            # The ops paths are not the web client's either: a probe or a scraper sent to this
            # port gets a 404, never the client's page.
            if (exc.code == 404 and not request.path.startswith(API) and request.path not in ops.PATHS
                    and self.settings.web_dist):
                route, response = "web", web_file(self.settings.web_dist, request)
            else:
                code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code, "invalid_request")
                response = error_response(request, ApiError(exc.code if exc.code < 500 else 400, code),
                                          self.catalogue)
                if isinstance(exc, MethodNotAllowed):  # the methods the address has (RFC 9110)
                    response.headers["Allow"] = ", ".join(sorted(exc.valid_methods or ()))
        except Exception:  # a bug: logged with its correlation id, never shown
            log.exception("request failed")
            response = error_response(request, ApiError(500, "internal_error"), self.catalogue)
        finally:
            logs.current.correlation_id = None
        response.headers["X-Correlation-Id"] = correlation_id
        secure(response, self.settings.issuer)
        self.metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        self.metrics.request_duration.labels(route).observe(time.perf_counter() - started)
        return response(environ, start_response)

    # -- the parent's compositions and live updates -----------------------------------------------

    def _dashboard(self, request: Request, values: dict, correlation_id: str) -> Response:
        parent_id, _ = self.auth.parent(request)
        self.auth.check_child(parent_id, values["student_id"], correlation_id)
        return json_response(self.compositions.dashboard(parent_id, values["student_id"], correlation_id))

    def _family(self, request: Request, values: dict, correlation_id: str) -> Response:
        parent_id, _ = self.auth.parent(request)
        return json_response(self.compositions.family(parent_id, correlation_id))

    def _export(self, request: Request, values: dict, correlation_id: str) -> Response:
        parent_id, _ = self.auth.parent(request, recent_login=True)
        return self.compositions.export(parent_id, correlation_id)

    def _events(self, request: Request, values: dict, correlation_id: str) -> Response:
        parent_id, claims = self.auth.parent(request)
        children = guarded(lambda: self.links.children(parent_id, correlation_id))
        return event_stream(request, self.live, parent_id, children, claims, lambda: self.auth.signed_in(request))

    def _calendar(self, request: Request, values: dict, correlation_id: str) -> Response:
        """The secret in the address is the credential (phone calendars)."""
        feed = guarded(lambda: self.rpc.call("notices", "calendar_feed", values["token"],
                                             correlation_id=correlation_id))
        return Response(feed["body"], content_type=feed["content_type"])

    # -- readiness, configuration, documentation ----------------------------------------------

    def readiness_problems(self) -> list[str]:
        """What keeps this gateway from answering parents (its ops port's ``/readyz``)."""
        return [p for ok, p in ((self.rpc.connected, "broker: RPC replies not consumed"),
                                (self.live.connected, "broker: live updates not consumed")) if not ok]

    def _config(self, request: Request, values: dict, correlation_id: str) -> Response:
        """What the web client needs to log in (public values only)."""
        return json_response({"issuer": self.settings.issuer, "client_id": self.settings.web_client_id,
                              "audience": self.settings.audience})

    def _openapi(self, request: Request, values: dict, correlation_id: str) -> Response:
        return Response(self.openapi_document, content_type="application/json")
