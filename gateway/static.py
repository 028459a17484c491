"""The web client's built files (``web/dist``): an asset by its path, else ``index.html`` for the
app's own paths (the client routes them)."""
from __future__ import annotations

from pathlib import Path

from werkzeug.wrappers import Request, Response

from .http import ApiError

MIMETYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
             ".json": "application/json", ".png": "image/png", ".ico": "image/x-icon", ".woff2": "font/woff2",
             ".webmanifest": "application/manifest+json", ".txt": "text/plain"}


def web_file(dist: Path, request: Request) -> Response:
    """A file of the built client, or its index.html for the app's own paths."""
    relative = request.path.lstrip("/")
    candidate = (dist / relative).resolve() if relative else dist / "index.html"
    if not candidate.is_relative_to(dist.resolve()) or not candidate.is_file():
        candidate = dist / "index.html"
    if not candidate.is_file():
        raise ApiError(404, "not_found")
    response = Response(candidate.read_bytes(), mimetype=mimetype(candidate))
    # Vite names assets by content hash: cache them for good, never the page itself.
    immutable = candidate.parent.name == "assets"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
    return response


def mimetype(path: Path) -> str:
    return MIMETYPES.get(path.suffix, "application/octet-stream")
