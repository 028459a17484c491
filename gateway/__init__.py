"""The gateway: the parents' only HTTP surface (JSON API under /api/v1, live updates, the web
client). It keeps nothing durable; every answer comes from the services over RPC.

Where each thing lives:

- ``app``: the WSGI application: settings, the one URL map, each answer's common path;
- ``routes``: the route table, read by ``calls`` and by ``openapi`` (the served document);
- ``auth``: the parent behind the bearer token, and the link check (``links``: linking's cached answers);
- ``calls``: one route, one service call (arguments from the request, the answer as JSON or a PDF
  made by ``documents``);
- ``dashboard``: compositions of several calls with a deadline (a child's dashboard, the family,
  the export) and the last good answers shown for a failing service;
- ``live`` (the bus, fanned out to open pages) and ``stream`` (``/events``, the page's event stream);
- ``static``: the web client's files;
- ``http``: the API's error, services' failures as errors, JSON, language, the client's address,
  security headers; ``rpc``: calls in nameko's protocol and the one list of ways a service
  cannot answer (``CANNOT_ANSWER``); ``messages``: the catalogue; ``metrics``.

Decision record: docs/decisions/0004-gateway.md.
"""
