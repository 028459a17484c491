"""A Monday-morning surge: parents logging in through Keycloak and opening the family overview.

Real logins of real users of the ``portal`` realm, through its login page as the web client
signs in (authorization code with PKCE, on a client that this benchmark creates and deletes
itself): the page, the form posted, the code traded for tokens. Each parent has a password and a
passkey of their own (bench/webauthn.py: a software authenticator whose key Keycloak stores as a
registered passkey's, answering the page's challenge without a browser, the user verified), and
one child, linked through the real linking flow, so that the overview asks linking, notices,
attendance, grades and billing.

In one run, each ramped the same way: bare Keycloak (password login only), the portal with
passwords (login, then the family overview through the gateway), the portal with passkeys. A
ramp stops at the first stage whose p99 passes 1 s; the figure held is the best rate of a stage
whose p99 stayed within 1 s, with Keycloak's CPU per login in that stage.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import http.client
import json
import os
import re
import secrets
import statistics
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from keycloak import KeycloakAdmin
from sqlalchemy import create_engine, text

from tests.gateway.stack import child_events, parent_verified, school_events
from contracts import EVENTS
from tests.support import publish

from .memory import portal
from .report import record
from .webauthn import Passkey

REALM = "portal"
PASSWORD = "Banc-Essai-2026!"  # a throw-away password of throw-away users, deleted after the run
PARENTS = int(os.environ.get("BENCH_SURGE_PARENTS", "200"))
STAGE_SECONDS = float(os.environ.get("BENCH_SURGE_STAGE_SECONDS", "8"))
CONCURRENCY = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48)
P99_LIMIT = 1.0
REDIRECT_URI = "http://127.0.0.1:8000/callback"  # nothing listens there: the code is read from the redirect
LOGIN_FORM = re.compile(r'<form id="kc-form-login"[^>]*action="([^"]+)"')
ORG, SCHOOL = "css-banc", "css-banc.ecole-surge"


class Connection:
    """One keep-alive HTTP connection per host, reopened when the server closed it."""

    def __init__(self, url: str, timeout: float = 30):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.connection = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        status, _, raw = self.exchange(method, path, body, headers)
        return status, raw

    def exchange(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """One request; its status, headers and body."""
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.connection.request(method, path, body, headers or {})
                response = self.connection.getresponse()
                return response.status, response.headers, response.read()
            except (http.client.HTTPException, OSError) as error:
                self.connection.close()
                self.connection = None
                # Once more only for a keep-alive connection the server had closed, not a slow answer.
                if attempt == 2 or isinstance(error, TimeoutError):
                    raise


class BenchParents:
    """Parents of the ``portal`` realm, made for one run, each with a password and a passkey, and
    the client they log in with (the web client's flow: code with PKCE); ``delete()`` removes them."""

    def __init__(self, prefix: str, count: int):
        # WebAuthn refuses an IP address: Keycloak is reached by host name, as a browser would.
        self.url = os.environ["PORTAL_KEYCLOAK_URL"].replace("127.0.0.1", "localhost")
        self.client_id = f"{prefix}-{os.getpid()}"
        self.admin = KeycloakAdmin(server_url=self.url, username=os.environ["PORTAL_KEYCLOAK_ADMIN"],
                                   password=os.environ["PORTAL_KEYCLOAK_ADMIN_PASSWORD"], realm_name=REALM,
                                   user_realm_name="master")
        self.client_uuid = self.admin.create_client({
            "clientId": self.client_id, "publicClient": True, "standardFlowEnabled": True,
            "directAccessGrantsEnabled": False, "redirectUris": [REDIRECT_URI],
            "attributes": {"pkce.code.challenge.method": "S256"},
            "protocolMappers": [{"name": "audience portal-api", "protocol": "openid-connect",
                                 "protocolMapper": "oidc-audience-mapper",
                                 "config": {"included.custom.audience": "portal-api",
                                            "access.token.claim": "true"}}]})
        self.emails = [f"{self.client_id}-{n:05d}@banc.exemple.invalid" for n in range(count)]
        self.passkeys = {email: Passkey() for email in self.emails}
        self.ids: dict[str, str] = {}
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            for email, user_id in zip(self.emails, pool.map(self._create, self.emails)):
                self.ids[email] = user_id
        self.created_per_second = count / (time.perf_counter() - started)
        self._local = threading.local()

    def _create(self, email: str) -> str:
        return self.admin.create_user({
            "username": email, "email": email, "emailVerified": True, "enabled": True, "firstName": "Parent",
            "lastName": "Banc", "credentials": [{"type": "password", "value": PASSWORD, "temporary": False},
                                                self.passkeys[email].credential("Téléphone")]})

    def login(self, email: str) -> str:
        """The parent signs in with their password; returns the access token."""
        def fill(page: str) -> tuple[str, dict]:
            action = LOGIN_FORM.search(page)
            if action is None:
                raise RuntimeError(f"no login form in the page: {page[:200]!r}")
            return html.unescape(action.group(1)), {"username": email, "password": PASSWORD}

        return form_login(self._local, self.url, REALM, self.client_id, fill)

    def passkey_login(self, email: str) -> str:
        """The parent signs in with their passkey; returns the access token."""
        return form_login(self._local, self.url, REALM, self.client_id,
                          lambda page: self.passkeys[email].answer(page, self.ids[email], self.url))

    def delete(self) -> None:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(self.admin.delete_user, self.ids.values()))
        self.admin.delete_client(self.client_uuid)


def form_login(local: threading.local, url: str, realm: str, client_id: str, fill) -> str:
    """A login through the realm's login page, as the web client's: the page (authorization code
    with PKCE), the form that ``fill(page)`` answers with (address, fields) posted with the page's
    cookies, the code traded for tokens; on this thread's connection, each login with cookies of
    its own. Returns the access token."""
    if not hasattr(local, "keycloak"):
        local.keycloak = Connection(url)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": REDIRECT_URI, "response_type": "code",
                                    "scope": "openid", "state": secrets.token_urlsafe(8),
                                    "code_challenge": challenge, "code_challenge_method": "S256"})
    status, headers, page = local.keycloak.exchange("GET", f"/realms/{realm}/protocol/openid-connect/auth?{query}")
    if status != 200:
        raise RuntimeError(f"login page: {status} {page[:200]!r}")
    cookies = "; ".join(c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or [])
    action, fields = fill(page.decode())
    target = urllib.parse.urlsplit(action)
    status, headers, raw = local.keycloak.exchange(
        "POST", f"{target.path}?{target.query}", urllib.parse.urlencode(fields).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(headers.get("Location", "")).query).get("code")
    if status != 302 or not code:
        raise RuntimeError(f"login refused ({status}): {raw[:200]!r}")
    body = urllib.parse.urlencode({"grant_type": "authorization_code", "client_id": client_id, "code": code[0],
                                   "redirect_uri": REDIRECT_URI, "code_verifier": verifier}).encode()
    status, raw = local.keycloak.request("POST", f"/realms/{realm}/protocol/openid-connect/token", body,
                                         {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"code refused ({status}): {raw[:200]!r}")
    return json.loads(raw)["access_token"]


def password_login(local: threading.local, url: str, realm: str, client_id: str, email: str, password: str) -> str:
    """A real password login (direct grant) on this thread's connection; returns the access token."""
    if not hasattr(local, "keycloak"):
        local.keycloak = Connection(url)
    body = urllib.parse.urlencode({"grant_type": "password", "client_id": client_id, "username": email,
                                   "password": password, "scope": "openid"}).encode()
    status, raw = local.keycloak.request("POST", f"/realms/{realm}/protocol/openid-connect/token", body,
                                         {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"login refused ({status}): {raw[:200]!r}")
    return json.loads(raw)["access_token"]


def get(url: str, path: str, token: str, local: threading.local) -> bytes:
    """An authenticated GET through the gateway on this thread's connection; raises unless 200."""
    if not hasattr(local, "gateway"):
        local.gateway = Connection(url)
    status, raw = local.gateway.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    if status != 200:
        raise RuntimeError(f"GET {path}: {status} {raw[:200]!r}")
    return raw


def link_families(running, parents: dict[str, str], login, answered, children_of) -> dict[str, list[str]]:
    """The children of each parent (``parents``: email -> account id; ``children_of(n)``: the
    (board, school, student number) of the n-th parent's children) on the school record with the
    parent's email as guardian's; the parent verified by identity's event and each child linked
    through the gateway (linking's real flow). ``answered(student_id)`` gives the path every
    parent then GETs for each child and the check its (status, body) must pass, once the services
    have heard of the link. Returns email -> the children's student ids."""
    families = {email: children_of(n) for n, email in enumerate(parents)}
    schools = sorted({(org, school) for children in families.values() for org, school, _ in children})
    events = [event for org, school in schools for event in school_events(org, school)]
    for email, parent_id in parents.items():
        for org, school, number in families[email]:
            events += child_events(org, school, number, "Léa", email)
        events.append(parent_verified(parent_id, email))
    events = [e for e in events if set(EVENTS[e.type].consumers) & set(running.processes)]  # else unroutable
    for i in range(0, len(events), 1000):
        publish(events[i:i + 1000], running.amqp_url)
    # A link asked before linking holds the record is a failed attempt, and failures lock linking.
    engine = create_engine(running.database_urls["linking"])
    wanted = (sum(len(children) for children in families.values()), len(parents))
    deadline = time.monotonic() + 300
    while True:
        with engine.connect() as conn:
            held = [conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() for table in ("guardians", "parents")]
        if held[0] >= wanted[0] and held[1] >= wanted[1]:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"linking holds {held} guardians and parents of {wanted} after 300 s")
        time.sleep(1)
    engine.dispose()
    local = threading.local()

    def link(email: str) -> None:
        token = login(email)
        if not hasattr(local, "gateway"):
            local.gateway = Connection(running.gateway_url)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for org, _, number in families[email]:
            body = json.dumps({"org_id": org, "last_name": "Gagnon", "first_name": "Léa",
                               "birth_date": "2018-08-05", "student_number": number}).encode()
            deadline = time.monotonic() + 120
            while True:  # once more when linking did not answer in time (503)
                status, raw = local.gateway.request("POST", "/api/v1/children", body, headers)
                if status == 201:
                    break
                if status != 503 or time.monotonic() > deadline:
                    raise RuntimeError(f"could not link {email}: {status} {raw[:200]!r}")
                time.sleep(0.2)
            while True:  # every service answering for the child has heard of the link
                path, check = answered(f"{org}.{number}")
                status, raw = local.gateway.request("GET", path, headers=headers)
                if check(status, raw):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"GET {path} for {email} still {status} {raw[:300]!r}")
                time.sleep(0.2)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(link, parents))
    return {email: [f"{org}.{number}" for org, _, number in children] for email, children in families.items()}


def family_answered(student_id: str):
    """The family overview answers with every tile fresh."""
    return "/api/v1/family", lambda status, raw: status == 200 and not json.loads(raw)["stale"]


def quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else float("nan"))


@dataclasses.dataclass
class Stage:
    concurrency: int
    done: int
    failed: int
    seconds: float
    p50: float
    p99: float
    cpu: dict[str, float]  # cores used by each group of processes during the stage

    @property
    def rate(self) -> float:
        return self.done / self.seconds


def ramp(journey, emails: list[str], portal_pids: set[int], levels=CONCURRENCY) -> list[Stage]:
    """Run ``journey(email)`` from more and more threads, a stage each, until a stage's p99
    passes the limit (or a stage fails more than it succeeds)."""
    stages = []
    turn = iter(range(10**9))
    lock = threading.Lock()
    for concurrency in levels:
        latencies: list[float] = []
        failures = [0]
        deadline = time.monotonic() + STAGE_SECONDS

        def worker():
            while time.monotonic() < deadline:
                with lock:
                    email = emails[next(turn) % len(emails)]
                started = time.perf_counter()
                try:
                    journey(email)
                except Exception:  # counted; the load goes on
                    with lock:
                        failures[0] += 1
                    continue
                latencies.append(time.perf_counter() - started)

        before, started = cpu_snapshot(portal_pids), time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - started
        after = cpu_snapshot(portal_pids)
        stage = Stage(concurrency, len(latencies), failures[0], seconds, quantile(latencies, 50),
                      quantile(latencies, 99), cores_used(before, after, seconds))
        stages.append(stage)
        print(f"surge: {concurrency:3d} at once: {stage.rate:6.1f}/s p50 {stage.p50 * 1000:5.0f} ms "
              f"p99 {stage.p99 * 1000:5.0f} ms, {stage.failed} failed; cores {fmt_cpu(stage.cpu)}", flush=True)
        if not latencies or stage.p99 > P99_LIMIT or stage.failed > stage.done:
            break
    return stages


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_snapshot(portal_pids: set[int]) -> dict[int, tuple[str, float]]:
    """Every process of the machine: what it is (Keycloak, RabbitMQ, PostgreSQL, the portal
    processes of this run, this load generator, anything else, i.e. other work on the machine)
    and the CPU seconds it has used."""
    snapshot = {}
    # The Keycloak the logins reach; another one (a cluster's nodes started beside it) is other work.
    keycloak_home = f"kc.home.dir={os.environ.get('PORTAL_KEYCLOAK_HOME', 'keycloak')}/"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        group = ("portal" if pid in portal_pids else "load generator" if pid == os.getpid()
                 else "keycloak" if "java" in command and keycloak_home in command
                 else "rabbitmq" if "beam.smp" in command else "postgresql" if command.startswith("postgres")
                 else "other")
        snapshot[pid] = (group, cpu_seconds(pid))
    return snapshot


def cores_used(before: dict, after: dict, seconds: float) -> dict[str, float]:
    """Cores used by each group between two snapshots; a process born meanwhile counts whole,
    one that ended meanwhile is not seen (its last moments are lost, never counted negative)."""
    used: dict[str, float] = {}
    for pid, (group, spent) in after.items():
        earlier = before.get(pid, (group, 0.0))[1]
        used[group] = used.get(group, 0.0) + max(spent - earlier, 0.0) / seconds
    return used


def fmt_cpu(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {cores:.2f}" for name, cores in sorted(cpu.items(), key=lambda kv: -kv[1]))


def held(stages: list[Stage]) -> Stage | None:
    within = [s for s in stages if s.p99 <= P99_LIMIT and s.failed == 0]
    return max(within, key=lambda s: s.rate) if within else None


def keycloak_ms_per_login(stage: Stage | None) -> float:
    """Keycloak's CPU time per login in a stage: its cores used over the stage's logins per second."""
    return stage.cpu.get("keycloak", 0.0) / stage.rate * 1000 if stage and stage.rate else float("nan")


def main() -> dict:
    print(f"surge: creating {PARENTS} parents in the {REALM} realm, each with a password and a passkey", flush=True)
    parents = BenchParents("bench-surge", PARENTS)
    try:
        # The gateway reaches Keycloak by the host name the logins use, so that the tokens' issuer
        # is the one it expects and the one Keycloak's userinfo (its session check) answers for.
        with portal("benchsurge", services=("linking", "attendance", "grades", "billing", "notices"),
                    environment={"PORTAL_KEYCLOAK_URL": parents.url}) as running:
            print(f"surge: linking their children ({parents.created_per_second:.0f} accounts/s created)", flush=True)
            link_families(running, parents.ids, parents.login, family_answered, lambda n: [(ORG, SCHOOL, f"{n:07d}")])
            print("surge: each parent's passkey signs in once", flush=True)
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(parents.passkey_login, parents.emails))
            pids = {p.pid for p in running.processes.values()}
            print("surge: bare Keycloak (password logins)", flush=True)
            bare = ramp(parents.login, parents.emails, pids)
            local, degraded = threading.local(), []

            def journey(login):
                def run(email: str) -> None:
                    overview = json.loads(get(running.gateway_url, "/api/v1/family", login(email), local))
                    if overview["stale"]:
                        degraded.append(email)
                return run

            print("surge: password login, then the family overview", flush=True)
            with_password = ramp(journey(parents.login), parents.emails, pids)
            print("surge: passkey login, then the family overview", flush=True)
            with_passkey = ramp(journey(parents.passkey_login), parents.emails, pids)
            print("surge: the family overview alone, one parent at a time", flush=True)
            tokens = {email: parents.login(email) for email in parents.emails[:20]}
            alone = ramp(lambda email: get(running.gateway_url, "/api/v1/family", tokens[email], local),
                         list(tokens), pids, levels=(1,))[0]
    finally:
        parents.delete()
    best = {name: held(stages) for name, stages in
            (("bare", bare), ("password", with_password), ("passkey", with_passkey))}

    def ratio(a: str, b: str) -> float:
        return best[a].rate / best[b].rate if best[a] and best[b] else float("nan")

    def figure(stage: Stage | None) -> str:
        if stage is None:
            return "no stage kept p99 within 1 s"
        return (f"{stage.rate:.1f}/s with {stage.concurrency} at once (p50 {stage.p50 * 1000:.0f} ms, "
                f"p99 {stage.p99 * 1000:.0f} ms); Keycloak {keycloak_ms_per_login(stage):.0f} ms of CPU a login")

    def broke(stages: list[Stage]) -> str:
        last = stages[-1]
        return (f"{last.concurrency} at once: {last.rate:.1f}/s, p99 {last.p99 * 1000:.0f} ms, {last.failed} failed; "
                f"cores used: {fmt_cpu(last.cpu)}")

    for name, stage in best.items():
        print(f"surge: {name}: {figure(stage)}", flush=True)
    rows = [
        ("parents", f"{PARENTS} users of the {REALM} realm, each with a password and a passkey, one linked child each; "
                    f"stages of {STAGE_SECONDS:.0f} s, {', '.join(str(s.concurrency) for s in bare)} … at once", ""),
        ("login", "the web client's flow through the realm's login page: page, form, code traded for tokens "
                  "(code with PKCE, on a client the benchmark creates and deletes)", ""),
        ("bare Keycloak: password logins held (p99 ≤ 1 s)", figure(best["bare"]), "baseline"),
        ("portal, password: login + family overview held", figure(best["password"]), "≥ 0.8 of the baseline"),
        ("portal, passkey: login + family overview held", figure(best["passkey"]), "≥ 2× the password path"),
        ("password path / bare Keycloak", f"{ratio('password', 'bare'):.2f}", "≥ 0.8"),
        ("passkey path / password path", f"{ratio('passkey', 'password'):.2f}", "≥ 2"),
        ("passkey path / bare Keycloak", f"{ratio('passkey', 'bare'):.2f}", ""),
        ("ratios at the first stage (1 at once), whatever its p99",
         f"password / bare {with_password[0].rate / bare[0].rate:.2f}, "
         f"passkey / password {with_passkey[0].rate / with_password[0].rate:.2f}", ""),
        ("Keycloak's CPU a login at the first stage",
         f"bare {keycloak_ms_per_login(bare[0]):.0f} ms, password path {keycloak_ms_per_login(with_password[0]):.0f} ms, "
         f"passkey path {keycloak_ms_per_login(with_passkey[0]):.0f} ms", ""),
        ("overviews with a tile stale or unavailable (tile deadline passed)",
         f"{len(degraded)} of {sum(s.done for s in with_password + with_passkey)}", "0"),
        ("family overview alone (a token at hand), one parent at a time",
         f"{alone.rate:.1f}/s, p50 {alone.p50 * 1000:.0f} ms, p99 {alone.p99 * 1000:.0f} ms", ""),
        ("bare Keycloak, first stage past the limit", broke(bare), ""),
        ("portal with passwords, first stage past the limit", broke(with_password), ""),
        ("portal with passkeys, first stage past the limit", broke(with_passkey), ""),
    ]
    record("surge", "Monday-morning surge (logins, then the family overview)", rows, notes=(
        "Cores used = CPU seconds per second of each group of processes during the stage, read from "
        "/proc: whichever group sits near the machine's 2 cores is what limited the stage; Keycloak's CPU a "
        "login = its cores used over the stage's logins per second. A password login is dominated by Keycloak's "
        "password hashing; a passkey login is one signature check, the page and the tokens costing the same. The "
        "overview adds one token check and five RPCs (one child) at the gateway. Load generator, Keycloak, "
        "RabbitMQ, PostgreSQL and the portal share the 2 cores ('other': anything else running on the machine), "
        "so absolute rates are low; the ratios are the figures to compare. Tables before 2026-12-02 logged in "
        "with the direct grant (no login page): their rates are not comparable with these."))
    return {"bare": bare, "password": with_password, "passkey": with_passkey}
