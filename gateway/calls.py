"""One route of the table (``routes``), one service call: the method's arguments taken from the
request (the parent's id, the checked child, path parameters, query, body fields), the answer as
JSON, or as the PDF the portal makes of it."""
from __future__ import annotations

import time

from eventlet import tpool
from werkzeug.wrappers import Request, Response

from servicekit.errors import NotFound

from . import documents
from .auth import Auth
from .http import ApiError, client_address, guarded, json_response, language, read_body
from .links import LinkCache
from .routes import Route

# A link travels to the other services by event, in well under a second.
CATCH_UP_PAUSES = (0.1, 0.2, 0.4, 0.8)


class Calls:
    def __init__(self, rpc, auth: Auth, links: LinkCache, catalogue, trusted_proxies: int = 0):
        self.rpc, self.auth, self.links, self.catalogue = rpc, auth, links, catalogue
        self.trusted_proxies = trusted_proxies

    def respond(self, request: Request, route: Route, values: dict, correlation_id: str) -> Response:
        if route.document is not None:
            return self._document(request, route, values, correlation_id)
        return json_response(self.answer(request, route, values, correlation_id), route.status)

    def answer(self, request: Request, route: Route, values: dict, correlation_id: str):
        args: list = []
        options = {name: request.args[name] for name in route.query if name in request.args}
        if not route.public:
            parent_id, _ = self.auth.parent(request, route.recent_login)
            if route.parent_keyword:
                options["parent_id"] = parent_id
            elif route.parent:
                args.append(parent_id)
        if route.child:
            self.auth.check_child(parent_id, values["student_id"], correlation_id)
            args.append(values["student_id"])
        args += [values[name] for name in route.params]
        if route.body:
            args.append(read_body(request))
        if route.fields:
            body = read_body(request)
            if not isinstance(body, dict):
                raise ApiError(422, "invalid_request")
            options.update({name: body[name] for name in route.fields if name in body})
        options.update(route.fixed)
        if route.client_address:
            options["client_address"] = client_address(request, self.trusted_proxies)
        def call():
            return self.rpc.call(route.service, route.rpc, *args, options=options, correlation_id=correlation_id)

        return guarded(once_caught_up(call) if route.child else call)

    def _document(self, request: Request, route: Route, values: dict, correlation_id: str) -> Response:
        """A PDF the portal makes from the service's answer (decision 7). Another parent's child, a
        child no longer linked, a document not yet visible or none at all: the same 404 as every
        child route's, byte for byte, so that nothing is learnt from it."""
        try:
            answer = self.answer(request, route, values, correlation_id)
            parent_id, _ = self.auth.parent(request)
            family = guarded(lambda: self.links.children(parent_id, correlation_id))
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
        name, pdf = tpool.execute(render, answer, child, language(request), self.catalogue)
        return Response(pdf, content_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def once_caught_up(call):
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
