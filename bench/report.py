"""Writes a benchmark's dated table into docs/performance.md, replacing its previous one."""
from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

PERFORMANCE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADER = """# Performance

Figures written by `make bench` (`python -m bench`); each table is replaced by the next run of its
benchmark and is dated, with the machine it ran on. Every figure stands beside a baseline measured
in the same run.
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}"


def record(key: str, title: str, rows: list[tuple[str, str, str]], notes: str = "") -> str:
    """Replace the section ``key`` with a table of (figure, value, target or baseline) rows."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"<!-- bench:{key} -->", f"## {title}", "", f"Measured {stamp} on {machine()}.", "",
             "| figure | value | target / baseline |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    if notes:
        lines += ["", notes.strip()]
    lines.append(f"<!-- /bench:{key} -->")
    section = "\n".join(lines)
    text = PERFORMANCE.read_text() if PERFORMANCE.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(key)} -->.*?<!-- /bench:{re.escape(key)} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    PERFORMANCE.write_text(text)
    print(section)
    return section
