"""The living demo of `make run`: the demo school's events, then demo parents' accounts made and
their children linked through the portal's own flows (emailed code read from the SMTP sink).

    python scripts/demo.py STATE_DIR

Run by scripts/run.sh once the services run. Idempotent: the school's events are published once
per version (they depend on today's date; an event told again on a later day keeps its id, so
the services take it once), accounts once (their passwords are kept in
STATE_DIR/demo-accounts.env, mode 600), and linking again is harmless.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from servicekit.green import patch  # noqa: E402

patch()  # nameko's RPC proxy expects green threads

import hashlib  # noqa: E402
import importlib.util  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import time  # noqa: E402
from email import message_from_binary_file, policy  # noqa: E402

from contracts import trust  # noqa: E402
from contracts.publish import publish, read_batch  # noqa: E402
from gateway.rpc import RpcClient  # noqa: E402
from servicekit import config  # noqa: E402
from servicekit.errors import DomainError  # noqa: E402


def demo_school():
    spec = importlib.util.spec_from_file_location("demo_school", ROOT / "scripts" / "demo_school.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    demo = module.Demo(seed=2026)  # on the school's today
    return demo, demo.build()


def code_mailed_to(email: str, after: float, timeout: float = 60) -> str:
    """The six-digit code of the newest mail the sink received for ``email`` since ``after``."""
    mail_dir = Path(os.environ["PORTAL_MAIL_DIR"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            if path.stat().st_mtime < after:
                break
            with path.open("rb") as file:
                mail = message_from_binary_file(file, policy=policy.default)
            if email in str(mail["To"]).lower():
                found = re.search(r"\b(\d{6})\b", mail.get_body(preferencelist=("plain",)).get_content())
                if found:
                    return found.group(1)
        time.sleep(0.5)
    raise SystemExit(f"demo: no verification code reached {email} in {timeout}s")


def account(identity, email: str, passwords: dict) -> tuple[str, str]:
    """(parent id, password) of a demo parent, registering them the first time."""
    if email in passwords:
        return passwords[email]
    asked = time.time() - 1
    identity.request_code("register", email, "fr", "127.0.0.1")
    ticket = identity.verify_code("register", email, code_mailed_to(email, asked))["ticket"]
    # Letters of both cases, digits and a symbol: any password rule of the guides accepts it.
    password = f"Demo-{secrets.token_urlsafe(9)}7a"
    created = identity.register(ticket, password, password, "fr")
    passwords[email] = (created["parent_id"], password)
    return passwords[email]


def link(linking, parent_id: str, student: dict, timeout: float = 60) -> None:
    request = {"org_id": student["org_id"], "last_name": student["last_name"], "first_name": student["first_name"],
               "birth_date": str(student["birth_date"]), "student_number": student["student_number"]}
    deadline = time.monotonic() + timeout
    while True:
        try:
            linking.link_child(parent_id, request)
            return
        except DomainError as refused:  # the account's ParentVerified may still be on its way
            if refused.code != "account_not_verified" or time.monotonic() > deadline:
                raise


def main(state_dir: str) -> int:
    state = Path(state_dir)
    demo, lines = demo_school()
    version = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    published = state / f"demo-published-{version}"
    if not published.exists():
        envelopes, problems = read_batch(lines, f"demo-{version}")
        if problems:
            raise SystemExit(f"demo: {len(problems)} invalid demo events, first: {problems[0]}")
        # Each board's events in the name of its own school system.
        for board, events in itertools.groupby(envelopes, trust.board_of):
            publish(list(events), config.amqp_url(trust.school_user(board)))
        published.touch()

    accounts_file = state / "demo-accounts.env"
    passwords = {}
    if accounts_file.exists():
        for line in accounts_file.read_text().splitlines():
            email, parent_id, password = line.split(" ", 2)
            passwords[email] = (parent_id, password)
    services = RpcClient(config.amqp_url(trust.GATEWAY), timeout=60)  # as the gateway calls them
    services.start()
    try:
        for _, student, method, email in demo.linking_help:
            parent_id, _ = account(services.service("identity"), email, passwords)
            if method == "email":
                link(services.service("linking"), parent_id, student)
    finally:
        services.stop()
    accounts_file.touch(mode=0o600)
    accounts_file.write_text("".join(f"{e} {p} {pw}\n" for e, (p, pw) in sorted(passwords.items())))

    for board, student, method, email in demo.linking_help:
        state_of = "linked" if method == "email" else f"to link with {method}"
        print(f"  {email} ({passwords[email][1]}): {student['first_name']} {student['last_name']}, {board}, "
              f"{state_of}; fiche {student['student_number']}, born {student['birth_date']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
