"""Report-card morning on the read path: thousands of different parents open their pages at once.

``BENCH_READ_PARENTS`` parents (2,000) of a throw-away realm, each with a token of their own and 1
to 3 children linked through the real flow across two boards; each child has an absence, a
bulletin and a statement on record. A parent's visit asks what the web client asks: the family
page (``/family`` and ``/family/balance``), one child's dashboard, then one or two of the child's
tiles (results; absences; finances: statements and tax receipts), a few seconds apart as a parent
reads. Visits follow one another through the parents, so that every token, link and page is a
different parent's until all have come.

Pages start at a fixed offered rate (``BENCH_READ_RATE``, 200/s) for ``BENCH_READ_SECONDS`` (60),
open loop: a page's time runs from the moment it was due, so a load generator that falls behind
counts against the portal, never for it. A page succeeds when each of its calls answered 200 within
``PAGE_TIMEOUT`` with every tile fresh; degraded tiles, 503s, other errors and time-outs are counted
apart. The trivial endpoint (``/api/v1/config``) at the same offered rate in the same run is the
machine's baseline. Then twice the rate the read path held: nobody should wait more than a second,
the excess being refused at once. CPU per page sums every process of the stack (gateway, services,
RabbitMQ, PostgreSQL, Keycloak) from /proc over the phase.
"""
from __future__ import annotations

import dataclasses
import heapq
import http.client
import json
import os
import random
import threading
import time
import uuid
from collections import Counter

from contracts import EVENTS, Envelope
from contracts.publish import EXAMPLES
from services.grades.domain import school_today, school_year_of

from tests.gateway.stack import absence
from tests.support import publish

from .memory import portal
from .report import record
from .report_card import cheap_realm
from .surge import Connection, cores_used, cpu_snapshot, link_families, quantile

PARENTS = int(os.environ.get("BENCH_READ_PARENTS", "2000"))
RATE = float(os.environ.get("BENCH_READ_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_READ_SECONDS", "60"))
OVERLOAD_SECONDS = 20.0
BOARDS = (("css-lecture-a", "css-lecture-a.ecole-1"), ("css-lecture-b", "css-lecture-b.ecole-2"))
THINK = 2.0  # seconds between two pages of one visit
PAGE_TIMEOUT = 5.0
P99_TARGET = 0.150
CPU_TARGET_MS = 10.0
BROWSERS = 400  # pages in flight at once, at most, before the generator itself falls behind
STACK = ("portal", "rabbitmq", "postgresql", "keycloak")  # the groups of processes whose CPU a page costs


def children_of(n: int) -> list[tuple[str, str, str]]:
    """The n-th parent's 1 to 3 children, across the two boards."""
    return [(*BOARDS[(n + k) % 2], f"{n:06d}{k}") for k in range(1 + n % 3)]


def school_record(student_id: str, school_id: str) -> list[Envelope]:
    """What the school has published about a child: an absence, a bulletin, a statement."""
    def example(type: str, **data) -> Envelope:
        spec = EVENTS[type]
        base = json.loads(EXAMPLES.joinpath(f"{type}.json").read_text(encoding="utf-8"))["data"]
        return Envelope.new(type, spec.source, student_id, {**base, "student_id": student_id,
                                                             "school_id": school_id, **data}, "bench-readpath")

    suffix = uuid.uuid4().hex[:12]
    return [absence(student_id, school_id),
            example("BulletinPublished", bulletin_id=f"bul-{suffix}", school_year=school_year_of(school_today()),
                    visible_from=None),
            example("StatementIssued", statement_id=f"edc-{suffix}", account_id=f"{student_id}-famille")]


def fresh_family(status: int, body: dict) -> bool:
    return status == 200 and not body["stale"]


def fresh_tiles(status: int, body: dict) -> bool:
    return status == 200 and all(tile["status"] == "ok" for tile in body["tiles"].values())


def answered(status: int, body: dict) -> bool:
    return status == 200


@dataclasses.dataclass
class Page:
    due: float  # seconds into the phase
    kind: str
    email: str
    calls: list[tuple[str, object]]  # (path, the check of its status and body)
    outcome: str = ""  # "ok", "degraded", "503", "timeout", "error <status>"
    seconds: float = 0.0  # from the moment it was due to its last answer


def pages_of(email: str, student_ids: list[str], start: float, draw: random.Random) -> list[Page]:
    """One visit: the family page, one child's dashboard, one or two of its tiles."""
    child = draw.choice(student_ids)
    base = f"/api/v1/children/{child}"
    tiles = {"results": [(f"{base}/results", answered)], "absences": [(f"{base}/absences", answered)],
             "finances": [(f"{base}/statements", answered), (f"{base}/tax-receipts", answered)]}
    chosen = draw.sample(sorted(tiles), draw.choice((1, 2)))
    kinds = [("family", [("/api/v1/family", fresh_family), ("/api/v1/family/balance", answered)]),
             ("dashboard", [(f"{base}/dashboard", fresh_tiles)])] + [(kind, tiles[kind]) for kind in chosen]
    return [Page(start + n * THINK, kind, email, calls) for n, (kind, calls) in enumerate(kinds)]


def schedule(families: dict[str, list[str]], rate: float, seconds: float, seed: int) -> list[Page]:
    """Visits through the parents in a shuffled order, started so that pages are due at ``rate``."""
    draw = random.Random(seed)
    order = list(families)
    draw.shuffle(order)
    pages: list[Page] = []
    start, n = 0.0, 0
    while start < seconds:
        email = order[n % len(order)]
        visit = [p for p in pages_of(email, families[email], start, draw) if p.due < seconds]
        pages += visit
        start += len(visit) / rate if visit else 1 / rate
        n += 1
    return sorted(pages, key=lambda p: p.due)


def trivial(rate: float, seconds: float, emails: list[str]) -> list[Page]:
    return [Page(n / rate, "trivial", emails[n % len(emails)], [("/api/v1/config", answered)])
            for n in range(int(rate * seconds))]


def run_phase(gateway_url: str, tokens: dict[str, str], pages: list[Page], pids: set[int]) -> dict:
    """Every page started at its due time by the first free browser; returns the cores used."""
    queue = [(p.due, n) for n, p in enumerate(pages)]
    heapq.heapify(queue)
    lock = threading.Lock()
    started = time.monotonic()

    def browser():
        gateway = Connection(gateway_url, timeout=PAGE_TIMEOUT)
        while True:
            with lock:
                if not queue:
                    return
                _, n = heapq.heappop(queue)
            page = pages[n]
            time.sleep(max(0.0, started + page.due - time.monotonic()))
            page.outcome = visit(gateway, page, tokens[page.email])
            page.seconds = time.monotonic() - started - page.due

    before = cpu_snapshot(pids)
    threads = [threading.Thread(target=browser, daemon=True) for _ in range(BROWSERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"cores": cores_used(before, cpu_snapshot(pids), elapsed), "elapsed": elapsed}


def visit(gateway: Connection, page: Page, token: str) -> str:
    """The page's calls one after the other (the web client sends a page's calls together; one
    connection each keeps the generator light); the first that fails names the outcome."""
    headers = {"Authorization": f"Bearer {token}"}
    for path, check in page.calls:
        try:
            status, raw = gateway.request("GET", path, headers=headers)
        except (OSError, http.client.HTTPException):
            return "timeout"
        if status == 503:
            return "503"
        if status != 200:
            return f"error {status}"
        if not check(status, json.loads(raw)):
            return "degraded"
    return "ok"


def summary(pages: list[Page], phase: dict) -> dict:
    done = [p for p in pages if p.outcome]
    ok = [p for p in done if p.outcome == "ok"]
    cpu = sum(phase["cores"].get(group, 0.0) for group in STACK) * phase["elapsed"]
    by_kind = {}
    for kind in sorted({p.kind for p in done}):
        seconds = [p.seconds for p in done if p.kind == kind]
        by_kind[kind] = (quantile(seconds, 50), quantile(seconds, 95), quantile(seconds, 99))
    return {"offered": len(pages), "ok": len(ok), "rate": len(ok) / phase["elapsed"],
            "failures": Counter(p.outcome for p in done if p.outcome != "ok"),
            "p99": quantile([p.seconds for p in done], 99), "worst": max((p.seconds for p in done), default=0.0),
            "refused_p99": quantile([p.seconds for p in done if p.outcome == "503"], 99),
            "by_kind": by_kind, "cpu_ms": cpu / max(len(done), 1) * 1000, "cores": phase["cores"]}


def ready(gateway_url: str, families: dict[str, list[str]], tokens: dict[str, str]) -> None:
    """Before the clock starts: every child's dashboard whole and its bulletin in its results."""
    gateway = Connection(gateway_url)
    deadline = time.monotonic() + 300
    for email, students in families.items():
        headers = {"Authorization": f"Bearer {tokens[email]}"}
        for student in students:
            while True:
                status, raw = gateway.request("GET", f"/api/v1/children/{student}/dashboard", headers=headers)
                if fresh_tiles(status, json.loads(raw)):
                    status, raw = gateway.request("GET", f"/api/v1/children/{student}/results", headers=headers)
                    if status == 200 and json.loads(raw)["bulletins"]:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{student} not ready after 300 s: {status} {raw[:200]!r}")
                time.sleep(0.5)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def failures(figures: dict) -> str:
    return ", ".join(f"{count} {outcome}" for outcome, count in figures["failures"].most_common()) or "none"


def main() -> dict:
    print(f"read path: {PARENTS} parents in a realm of their own", flush=True)
    realm, parents, login = cheap_realm("bench-readpath", PARENTS)
    try:
        with portal("benchread", services=("linking", "attendance", "grades", "billing", "notices"),
                    environment={"PORTAL_KEYCLOAK_REALM": realm.name}) as running:
            print("read path: linking their children", flush=True)
            linking_started = time.monotonic()
            families = link_families(running, parents, login, lambda student_id: (
                f"/api/v1/children/{student_id}/absences", lambda status, raw: status == 200), children_of)
            schools = {f"{org}.{number}": school for n in range(len(parents))
                       for org, school, number in children_of(n)}
            records = [event for student, school in schools.items() for event in school_record(student, school)]
            for i in range(0, len(records), 1000):
                publish(records[i:i + 1000], running.amqp_url)
            print(f"read path: {len(schools):,} children linked and their records published "
                  f"in {time.monotonic() - linking_started:.0f} s", flush=True)
            tokens = {email: login(email) for email in families}
            ready(running.gateway_url, families, tokens)
            pids = {p.pid for p in running.processes.values()}
            print(f"read path: the trivial endpoint at {RATE:.0f}/s for {SECONDS:.0f} s", flush=True)
            baseline_pages = trivial(RATE, SECONDS, list(families))
            baseline = summary(baseline_pages, run_phase(running.gateway_url, tokens, baseline_pages, pids))
            print(f"read path: parents' pages at {RATE:.0f}/s for {SECONDS:.0f} s", flush=True)
            offered = schedule(families, RATE, SECONDS, seed=2026)
            pages = summary(offered, run_phase(running.gateway_url, tokens, offered, pids))
            held = pages["rate"] if pages["ok"] else RATE
            print(f"read path: twice the rate held ({2 * held:.0f}/s) for {OVERLOAD_SECONDS:.0f} s", flush=True)
            crowd = schedule(families, 2 * held, OVERLOAD_SECONDS, seed=2027)
            overload = summary(crowd, run_phase(running.gateway_url, tokens, crowd, pids))
    finally:
        realm.delete()
    rows = [
        ("parents", f"{len(families):,}, each with a token of their own and 1–3 children ({len(schools):,} in all) "
                    f"linked through the real flow across {len(BOARDS)} boards", "2,000"),
        (f"trivial endpoint at {RATE:.0f}/s offered", f"{baseline['rate']:.0f}/s answered, p99 {ms(baseline['p99'])}, "
                                                      f"failures: {failures(baseline)}", "baseline"),
        (f"pages at {RATE:.0f}/s offered ({pages['offered']:,} in {SECONDS:.0f} s)",
         f"{pages['rate']:.0f}/s answered whole ({pages['rate'] / baseline['rate']:.2f} of the baseline)",
         "≥ 0.9 of the baseline"),
        ("pages p99", ms(pages["p99"]), f"≤ {ms(P99_TARGET)}"),
        *[(f"{kind} p50 / p95 / p99", " / ".join(ms(v) for v in figures), "")
          for kind, figures in pages["by_kind"].items()],
        ("pages failed, by kind", failures(pages), "none"),
        ("CPU per page, every process of the stack", f"{pages['cpu_ms']:.1f} ms",
         f"≤ {CPU_TARGET_MS:.0f} ms; trivial endpoint {baseline['cpu_ms']:.1f} ms"),
        ("cores used during the pages", ", ".join(f"{k} {v:.2f}" for k, v in sorted(
            pages["cores"].items(), key=lambda kv: -kv[1])), ""),
        (f"twice the rate held ({len(crowd) / OVERLOAD_SECONDS:.0f}/s offered for {OVERLOAD_SECONDS:.0f} s)",
         f"{overload['rate']:.0f}/s answered whole; longest wait {ms(overload['worst'])}; "
         + (f"refused within {ms(overload['refused_p99'])} (p99); " if overload["failures"]["503"] else "")
         + f"failures: {failures(overload)}",
         "no wait over 1 s; the excess refused fast (503)"),
    ]
    record("readpath", "Report-card morning: the read path with thousands of different parents", rows, notes=(
        "Services (linking, attendance, grades, billing, notices) and the gateway as separate processes on a "
        "vhost and databases of their own; RabbitMQ, PostgreSQL, Keycloak and the load generator on the same "
        "machine. The parents log in once, before the clock starts, to a realm with a cheap password hash "
        "(logins are the surge's subject); their tokens then meet the gateway's checks as any parent's would. "
        f"Pages are started open loop, a visit's pages {THINK:.0f} s apart, at most {BROWSERS} in flight; a "
        "page's time runs from when it was due. A page's calls go one after the other on one connection."))
    return {"baseline": baseline, "pages": pages, "overload": overload}
