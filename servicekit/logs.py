"""JSON log lines carrying the service name and the correlation id of the work in hand."""
from __future__ import annotations

import json
import logging
import threading
import time

from .private import format_exception, log_message

# Green-thread local once eventlet has patched threading: one value per worker.
current = threading.local()


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": log_message(record),
        }
        for key in ("correlation_id", "event_id"):
            value = getattr(record, key, None) or getattr(current, key, None)
            if value:
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)

    def formatException(self, exc_info) -> str:
        return format_exception(exc_info)  # a database error's message quotes the row: withheld


def configure(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # nameko and kombu log every message and reconnect at INFO; keep their warnings only.
    for noisy in ("nameko", "kombu", "amqp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
