"""``/events``: a parent's open page as a server-sent event stream, fed by the live hub (``live``)
with the news of the parent's children, until the token runs out or its session ends."""
from __future__ import annotations

import json
import time

from eventlet.queue import Empty
from werkzeug.wrappers import Request, Response

from .http import ApiError
from .live import Child, LiveHub, TooManyStreams

SSE_KEEPALIVE = 15.0


def event_stream(request: Request, live: LiveHub, parent_id: str, children: list[dict], claims: dict,
                 signed_in) -> Response:
    """``signed_in()``: whether the token's session still lives, asked at each keep-alive and
    before each event, so that an ended session closes the stream within ``SSE_KEEPALIVE``."""
    try:
        stream = live.open(parent_id, [Child(c["student_id"], c["school"]["id"], c["org"]["id"])
                                       for c in children])
    except TooManyStreams:
        raise ApiError(429, "too_many_streams") from None
    ends_at = float(claims.get("exp") or time.time() + 3600)
    request.environ["eventlet.minimum_write_chunk_size"] = 0  # each event leaves at once

    def generate():
        yield b"retry: 2000\n: open\n\n"
        while not stream.overflowed:
            remaining = ends_at - time.time()
            if remaining <= 0 or not signed_in():
                # The token ran out or its session ended: the client comes back with a fresh one,
                # or is sent to log in.
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
    response.call_on_close(lambda: live.close(stream))
    return response
