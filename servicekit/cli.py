"""The service command line."""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
import time

import eventlet

from . import config, deadletters, errors, logs, migrations, privacy, store
from .children import StudentSchema
from .database import make_engine

SERVICES = ("identity", "linking", "attendance", "grades", "billing", "notices")
# The services that answer about a child, and so keep an access log (servicekit.children).
ACCESS_LOGGED = SERVICES[1:]


def service_class(service: str):
    module = importlib.import_module(f"services.{service}.service")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == service:
            return value
    raise SystemExit(f"services.{service}.service defines no nameko service named {service!r}")


def run(service: str) -> int:
    from nameko.runners import ServiceRunner

    logs.configure(service)
    runner = ServiceRunner(config.service_config(service))
    runner.add_service(service_class(service))

    def shutdown(signum, frame):
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    logging.getLogger(__name__).info("%s started", service)
    runner.wait()
    return 0


def rebuild_projections(service: str, url: str) -> dict:
    """Empty the service's read models and replay its whole store into them, in one
    transaction: readers see the old read models until the new ones are complete."""
    projections = importlib.import_module(f"services.{service}.projections")
    engine = make_engine(url, pool_size=1)
    started, count = time.perf_counter(), 0
    with engine.begin() as conn:
        for table in reversed(projections.TABLES):
            conn.execute(table.delete())
        for chunk in store.read_all(conn):
            projections.apply(conn, chunk)
            count += len(chunk)
    engine.dispose()
    seconds = time.perf_counter() - started
    return {"service": service, "events": count, "seconds": round(seconds, 3),
            "events_per_second": round(count / seconds) if seconds else None}


def readers(service: str, url: str, student_id: str) -> list[dict]:
    """The school's list of who read a child's data in ``service`` (``privacy.Privacy.readers``)."""
    request = errors.load(StudentSchema(), {"student_id": student_id})
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        found = privacy.children_of(service).readers(conn, request["student_id"])
    engine.dispose()
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "migrate", "rebuild-projections"):
        commands.add_parser(name).add_argument("service", choices=SERVICES)
    log = commands.add_parser("access-log", help="who read a child's data, what and when (for its school)")
    log.add_argument("student_id")
    log.add_argument("services", nargs="*", metavar="service",
                     help=f"among {', '.join(ACCESS_LOGGED)} (all when none is named)")
    dead = commands.add_parser("dead-letters", help="list or replay a service's dead letters")
    dead.add_argument("action", choices=("list", "replay"))
    dead.add_argument("service", choices=SERVICES)
    dead.add_argument("event_ids", nargs="*", help="ids to replay (all when --all)")
    dead.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "run":
        return run(args.service)
    if args.command == "migrate":
        migrations.upgrade(args.service, config.database_url(args.service))
        print(f"{args.service}: schema up to date")
        return 0
    if args.command == "rebuild-projections":
        print(json.dumps(rebuild_projections(args.service, config.database_url(args.service))))
        return 0
    if args.command == "access-log":
        unknown = sorted(set(args.services) - set(ACCESS_LOGGED))
        if unknown:
            parser.error(f"no access log in {', '.join(unknown)}: choose among {', '.join(ACCESS_LOGGED)}")
        try:
            for service in args.services or ACCESS_LOGGED:
                for read in readers(service, config.database_url(service), args.student_id):
                    print(json.dumps({"service": service, **read}, ensure_ascii=False))
        except errors.DomainError as error:
            parser.error(f"student_id: {error}")
        return 0
    if args.action == "list":
        for letter in deadletters.peek(config.amqp_url(args.service), args.service):
            print(json.dumps(letter, ensure_ascii=False))
        return 0
    if not args.event_ids and not args.all:
        print("name the event ids to replay, or --all", file=sys.stderr)
        return 2
    replayed = deadletters.replay(config.amqp_url(args.service), args.service, None if args.all else set(args.event_ids))
    print(f"{len(replayed)} dead letters sent back to their queue")
    return 0
