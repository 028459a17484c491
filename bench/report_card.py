"""A report-card day: 30,000 ``BulletinPublished`` and 2,000 parents opening their child's results.

The school's 30,000 bulletins are published at an even pace over the window while 2,000 parents,
each with one child linked through the real linking flow, open the results page at random moments
of it (the same seed every run). The issue's 10 minutes are scaled down to ``BENCH_REPORT_CARD_SECONDS``
(2 minutes by default) so that the benchmark stays bounded: the same events and page opens, five
times denser. ``BENCH_REPORT_CARD_PARENTS`` and ``BENCH_REPORT_CARD_BULLETINS`` scale the rest (linking
2,000 parents through the real flow takes minutes on a busy machine). Queue depths are sampled
from RabbitMQ's management API each second and plotted into docs/report-card-day.svg. Nothing
lost = grades stores and shows every bulletin exactly once, and every parent's page finally shows
the child's bulletin.

The parents log in to a throw-away realm with a cheap password hash: logins are the surge's
subject; here they would only stretch the set-up. Running: linking, grades and the gateway (notices
would mail 2,000 parents into the local mail sink; its mail rate is measured on its own).
"""
from __future__ import annotations

import dataclasses
import http.client
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html import escape
from pathlib import Path

from sqlalchemy import create_engine, text

from contracts import Envelope
from services.grades.domain import school_today, school_year_of

from tests.gateway.stack import PASSWORD, KeycloakRealm
from tests.support import send

from .memory import dead_letters, portal, queue_depths
from .report import record
from .surge import ORG, SCHOOL, Connection, link_families, password_login, quantile

BULLETINS = int(os.environ.get("BENCH_REPORT_CARD_BULLETINS", "30000"))
PARENTS = int(os.environ.get("BENCH_REPORT_CARD_PARENTS", "2000"))
WINDOW = float(os.environ.get("BENCH_REPORT_CARD_SECONDS", "120"))
CHUNK = 250
OPENERS = 32  # parents' browsers at once, at most
DRAIN_LIMIT = 300
PAGE_TIMEOUT = 10.0  # seconds a parent waits for the page before giving up
TIMED_OUT = -1
PLOT = Path(__file__).resolve().parent.parent / "docs" / "report-card-day.svg"


def bulletins(count: int, linked: list[str]) -> list[Envelope]:
    """One term bulletin per student: the linked children first, then the rest of the board."""
    year = school_year_of(school_today())
    students = linked + [f"{ORG}.b{n:07d}" for n in range(count - len(linked))]
    return [Envelope.new("BulletinPublished", "sis", student, {
        "bulletin_id": f"bul-{uuid.uuid4().hex[:16]}", "student_id": student, "school_id": SCHOOL,
        "school_year": year, "kind": "term", "term": 1,
        "subjects": [{"code": code, "name": name, "mark": 60 + n % 40, "group_average": 74, "comment": None,
                      "competencies": [{"name": "Comprendre", "mark": 60 + n % 40, "rating": None, "comment": None}]}
                     for code, name in (("FRA", "Français"), ("MAT", "Mathématique"), ("ANG", "Anglais"))],
        "document_url": f"https://sis.banc.exemple.org/bulletins/{n}.pdf"}, "bench-report-card")
        for n, student in enumerate(students[:count])]


def cheap_realm(name: str, count: int) -> tuple[KeycloakRealm, dict[str, str], Callable[[str], str]]:
    """A throw-away realm, its ``count`` parents (email -> account id), imported in bulk, and how a
    parent logs in (email -> access token, on the calling thread's connection)."""
    realm = KeycloakRealm(f"{name}-{os.getpid()}", "http://127.0.0.1")
    realm.admin.connection.user_realm_name = "master"  # the admin's token is refreshed where it was issued
    realm.admin.update_realm(realm.name, {"passwordPolicy": "hashAlgorithm(pbkdf2-sha256) and hashIterations(1)",
                                          "accessTokenLifespan": 3600, "bruteForceProtected": False})
    emails = [f"parent-{n:05d}@banc.exemple.invalid" for n in range(count)]
    parents = {}
    for i in range(0, len(emails), 500):
        answer = realm.admin.partial_import_realm(realm.name, {"ifResourceExists": "FAIL", "users": [
            {"username": email, "email": email, "emailVerified": True, "enabled": True, "firstName": "Parent",
             "lastName": "Banc", "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]}
            for email in emails[i:i + 500]]})
        parents.update({r["resourceName"]: r["id"] for r in answer["results"]})
    local = threading.local()

    def login(email: str) -> str:
        return password_login(local, realm.url, realm.name, "portal-tests", email, PASSWORD)

    return realm, parents, login


@dataclasses.dataclass
class Opening:
    due: float  # seconds into the window
    started: float = 0.0
    seconds: float = 0.0
    status: int = 0
    shown: int = 0  # bulletins on the page


def sample(running, engine, started: float, stop: threading.Event, published: list[int], samples: list) -> None:
    """Each second: the services' queue depths, events published and bulletins applied so far."""
    while not stop.is_set():
        depths = queue_depths(running.vhost)
        with engine.connect() as conn:
            applied = conn.execute(text("SELECT count(*) FROM bulletins")).scalar()
        samples.append({"t": time.monotonic() - started, "published": published[0], "applied": applied,
                        "depths": depths})
        stop.wait(1.0)


def main() -> dict:
    print(f"report card: {PARENTS} parents in a realm of their own", flush=True)
    realm, parents, login = cheap_realm("bench-report-card", PARENTS)
    try:
        with portal("benchcard", services=("linking", "grades"),
                    environment={"PORTAL_KEYCLOAK_REALM": realm.name}) as running:
            def results_answered(student_id: str):
                return f"/api/v1/children/{student_id}/results", lambda status, raw: status == 200

            print("report card: linking their children", flush=True)
            linking_started = time.monotonic()
            students = {email: children[0] for email, children in link_families(
                running, parents, login, results_answered, lambda n: [(ORG, SCHOOL, f"{n:07d}")]).items()}
            print(f"report card: {len(students)} linked in {time.monotonic() - linking_started:.0f} s", flush=True)
            with ThreadPoolExecutor(16) as pool:
                tokens = dict(zip(parents, pool.map(login, parents)))
            engine = create_engine(running.database_urls["grades"])
            result = day(running, engine, students, tokens)
            engine.dispose()
    finally:
        realm.delete()
    return result


def open_results(gateway_url: str, students: dict[str, str], tokens: dict[str, str], openings: dict[str, Opening],
                 started: float, browsers: int = OPENERS) -> None:
    """The parents' browsers: each opens its child's results page at its moment."""
    queue = sorted(openings.items(), key=lambda item: item[1].due)
    lock = threading.Lock()
    local = threading.local()

    def browser():
        local.gateway = Connection(gateway_url, timeout=PAGE_TIMEOUT)
        while True:
            with lock:
                if not queue:
                    return
                email, opening = queue.pop(0)
            time.sleep(max(0.0, started + opening.due - time.monotonic()))
            opening.started = time.monotonic() - started
            try:
                status, raw = local.gateway.request("GET", f"/api/v1/children/{students[email]}/results",
                                                    headers={"Authorization": f"Bearer {tokens[email]}"})
            except (OSError, http.client.HTTPException):  # no answer in time: the parent gave up
                status, raw = TIMED_OUT, b""
            opening.seconds = time.monotonic() - started - opening.started
            opening.status = status
            opening.shown = len(json.loads(raw)["bulletins"]) if status == 200 else 0

    threads = [threading.Thread(target=browser, daemon=True) for _ in range(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def day(running, engine, students: dict[str, str], tokens: dict[str, str]) -> dict:
    # Baseline: the same page, one parent after another, before the day begins.
    quiet = {email: Opening(0) for email in list(students)[:200]}
    open_results(running.gateway_url, students, tokens, quiet, time.monotonic(), browsers=1)
    events = bulletins(BULLETINS, list(students.values()))
    draw = random.Random(2026)
    openings = {email: Opening(draw.uniform(0, WINDOW)) for email in students}
    published, samples, stop = [0], [], threading.Event()
    started = time.monotonic()
    sampler = threading.Thread(target=sample, args=(running, engine, started, stop, published, samples), daemon=True)
    sampler.start()
    browsers = threading.Thread(target=open_results, args=(running.gateway_url, students, tokens, openings, started),
                                daemon=True)
    browsers.start()
    print(f"report card: {BULLETINS} bulletins over {WINDOW:.0f} s while {len(openings)} parents open their results",
          flush=True)
    chunks = range(0, len(events), CHUNK)
    for n, i in enumerate(chunks):
        time.sleep(max(0.0, started + n * WINDOW / len(chunks) - time.monotonic()))
        send(events[i:i + CHUNK], running.amqp_url)
        published[0] += len(events[i:i + CHUNK])
    published_in = time.monotonic() - started
    browsers.join()
    deadline = time.monotonic() + DRAIN_LIMIT
    while time.monotonic() < deadline and (not samples or samples[-1]["applied"] < BULLETINS
                                           or any(samples[-1]["depths"].values())):
        time.sleep(1)
    stop.set()
    sampler.join()
    drained_in = samples[-1]["t"]
    ids = [uuid.UUID(e.id) for e in events]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM events WHERE event_id = ANY(:ids)"), {"ids": ids}).scalar()
        applied = conn.execute(text("SELECT count(DISTINCT bulletin_id) FROM bulletins")).scalar()
    refused = dead_letters(running.vhost)
    # Every parent's page now shows the child's bulletin.
    final = {email: Opening(0) for email in students}
    open_results(running.gateway_url, students, tokens, final, time.monotonic())
    shown = sum(1 for o in final.values() if o.status == 200 and o.shown == 1)

    during = [o for o in openings.values() if o.status]
    latencies = [o.seconds for o in during]  # a parent who gave up counts the time waited
    at_rest = [o.seconds for o in quiet.values() if o.status == 200]
    late = max((o.started - o.due for o in during), default=0.0)
    peak = max(samples, key=lambda s: sum(s["depths"].values()))
    lost = BULLETINS - applied
    plot(samples, published_in)
    rows = [
        ("the day", f"{BULLETINS:,} BulletinPublished paced over {WINDOW:.0f} s (the issue's 10 min scaled down "
                    f"{600 / WINDOW:.0f}×); {len(openings):,} parents open their results at random moments"
                    + (" (the issue's 2,000 scaled down: BENCH_REPORT_CARD_PARENTS)" if PARENTS < 2000 else ""), ""),
        ("bulletins stored and shown by grades", f"{stored:,} stored, {applied:,} in the read model, {refused} "
                                                 f"dead-lettered", f"{BULLETINS:,}, none lost"),
        ("parents whose page shows the child's bulletin afterwards", f"{shown:,} of {len(final):,}",
         f"{len(final):,}"),
        ("results page during the day", f"p50 {quantile(latencies, 50) * 1000:.0f} ms, "
                                        f"p99 {quantile(latencies, 99) * 1000:.0f} ms, "
                                        f"{sum(o.status == TIMED_OUT for o in during)} without an answer "
                                        f"within {PAGE_TIMEOUT:.0f} s, "
                                        f"{sum(o.status not in (200, TIMED_OUT) for o in during)} errors", ""),
        ("results page at rest, one parent at a time (same run, before the day)",
         f"p50 {quantile(at_rest, 50) * 1000:.0f} ms, p99 {quantile(at_rest, 99) * 1000:.0f} ms", "baseline"),
        ("page opens behind their moment (browsers busy)", f"{late * 1000:.0f} ms at worst", ""),
        ("publishing", f"{published_in:.0f} s for {BULLETINS:,} ({BULLETINS / published_in:,.0f}/s)", ""),
        ("queue depth (services' event queues)", f"peak {sum(peak['depths'].values()):,} at {peak['t']:.0f} s; "
                                                 f"all applied {drained_in:.0f} s after the first bulletin",
         "docs/report-card-day.svg"),
    ]
    verdict = ("Nothing lost." if lost == 0 and shown == len(final)
               else f"Bulletins lost: {lost}; pages that did not show the child's bulletin once the queue was "
                    f"drained (an error, or no answer within {PAGE_TIMEOUT:.0f} s): {len(final) - shown}.")
    record("report-card", "Report-card day (grades, gateway)", rows, notes=(
        "Services as separate processes (linking, grades, gateway) on a private vhost and databases; "
        "RabbitMQ, PostgreSQL, Keycloak and the load generator on the same 2 cores. RabbitMQ's management API refreshes its queue figures every "
        "5 s (its default statistics interval), so the plotted depth moves in steps of about 5 s. " + verdict))
    return {"samples": samples, "latencies": latencies, "lost": lost, "shown": shown}


def plot(samples: list[dict], published_in: float) -> None:
    """Two panels on one time axis: the queue depth; events published and applied."""
    width, height, left, right, gap = 880, 460, 70, 20, 40
    panel = (height - 60 - gap) // 2
    t_max = max(s["t"] for s in samples) or 1
    depth = [sum(s["depths"].values()) for s in samples]
    d_max = max(max(depth), 10)
    c_max = max(BULLETINS, 1)

    def x(t: float) -> float:
        return left + (width - left - right) * t / t_max

    def line(values: list[float], top: int, top_value: float, colour: str) -> str:
        points = " ".join(f"{x(s['t']):.1f},{top + panel - panel * v / top_value:.1f}" for s, v in zip(samples, values))
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'

    def axis(top: int, top_value: float, label: str) -> str:
        parts = [f'<line x1="{left}" y1="{top + panel}" x2="{width - right}" y2="{top + panel}" stroke="#444"/>',
                 f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + panel}" stroke="#444"/>',
                 f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{top_value:,.0f}</text>',
                 f'<text x="{left - 6}" y="{top + panel + 4}" text-anchor="end">0</text>',
                 f'<text x="{left + 6}" y="{top - 6}">{escape(label)}</text>']
        return "\n".join(parts)

    top1, top2 = 40, 40 + panel + gap
    ticks = "\n".join(f'<text x="{x(t):.1f}" y="{height - 8}" text-anchor="middle">{t:.0f} s</text>'
                      for t in range(0, int(t_max) + 1, max(10, int(t_max) // 10 // 10 * 10)))
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"
 font-family="sans-serif" font-size="12" role="img" aria-labelledby="title">
<title id="title">Journée des bulletins / Report-card day: {BULLETINS:,} BulletinPublished</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="{left}" y="20" font-size="14" font-weight="bold">Journée des bulletins / Report-card day — \
{BULLETINS:,} bulletins, publiés en / published in {published_in:.0f} s</text>
{axis(top1, d_max, "Messages en attente dans les files des services / messages waiting in the services' queues")}
{line(depth, top1, d_max, "#c0392b")}
{axis(top2, c_max, "Bulletins publiés (bleu) et appliqués par grades (vert) / published (blue), applied (green)")}
{line([s["published"] for s in samples], top2, c_max, "#2471a3")}
{line([s["applied"] for s in samples], top2, c_max, "#1e8449")}
{ticks}
</svg>
"""
    PLOT.write_text(svg)
