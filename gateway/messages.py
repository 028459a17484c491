"""User-facing messages of error codes, French and English (``catalogue/{fr,en}.json``).

Every service adds its codes there; a code without a message still reaches the client with a
generic message, so the client can show something, and the test suite lists the missing ones.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent / "catalogue"
LANGUAGES = ("fr", "en")
FALLBACK = "invalid"


class Catalogue:
    def __init__(self, directory: Path = HERE):
        self.messages = {lang: json.loads((directory / f"{lang}.json").read_text(encoding="utf-8"))
                         for lang in LANGUAGES}

    def message(self, code: str, language: str, params: dict | None = None) -> str:
        messages = self.messages[language if language in self.messages else "fr"]
        template = messages.get(code) or messages[FALLBACK]
        try:
            return template.format(**(params or {}))
        except (KeyError, IndexError, ValueError):
            return template  # a message written for other values: shown without them
