"""The access log outlives closed accounts (Québec's Law 25): a closed account's reads stay, under a
keyed hash of its id, for the child's school to list (an RPC in the service's own name, and
``python -m servicekit access-log``), until they are older than their board's retention."""
import json
import time
import uuid
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook
from sqlalchemy import create_engine, func, insert, select

from contracts import Envelope
from services.attendance.service import AttendanceService
from services.grades.service import GradesService
from servicekit import cli, schooltime
from servicekit.children import pseudonym, retention_days
from servicekit.errors import DomainError
from servicekit.privacy import children_of, retention_metrics
from tests.support import eventually, publish

BOARD = "css-test"
SCHOOL = f"{BOARD}.ecole-a"


@pytest.fixture
def services(start_service):
    return start_service(AttendanceService), start_service(GradesService)


@pytest.fixture
def school(amqp_url):
    """RPC as the services' own broker users, as the school's staff tooling calls."""
    from gateway.rpc import RpcClient

    clients = {name: RpcClient(amqp_url, timeout=20, caller=name) for name in ("attendance", "grades")}
    for client in clients.values():
        client.start()
    yield {name: client.service(name) for name, client in clients.items()}
    for client in clients.values():
        client.stop()


def link(parent, child):
    return Envelope.new("ChildLinked", "linking", parent, {
        "parent_id": parent, "student_id": child, "school_id": SCHOOL, "org_id": BOARD, "method": "email"}, "log-test")


def linked(database_url, parent) -> int:
    """How many of attendance and grades link the parent (asked without a logged read)."""
    count = 0
    for service in ("attendance", "grades"):
        engine = create_engine(database_url(service))
        with engine.connect() as conn:
            count += conn.execute(select(func.count()).select_from(children_of(service).links)
                                  .where(children_of(service).links.c.parent_id == parent)).scalar()
        engine.dispose()
    return count


def test_a_closed_accounts_reads_stay_under_one_pseudonym_for_the_school(services, school, rpc, amqp_url,
                                                                           database_url, capsys, monkeypatch):
    parent, other, child = str(uuid.uuid4()), str(uuid.uuid4()), f"{BOARD}.{uuid.uuid4().hex[:8]}"
    publish([link(parent, child), link(other, child)], amqp_url)
    eventually(lambda: linked(database_url, parent) == linked(database_url, other) == 2)
    rpc.attendance.agenda(parent, child)
    rpc.grades.results(parent, child)
    rpc.attendance.agenda(other, child)
    before = school["attendance"].readers(child)
    assert [(r["parent_id"], r["parent_pseudonym"], r["what"]) for r in before] == [
        (parent, None, "agenda"), (other, None, "agenda")]

    publish([Envelope.new("ParentAccountClosed", "identity", parent, {"parent_id": parent}, "close-test")], amqp_url)
    eventually(lambda: linked(database_url, parent) == 0)
    hashed = pseudonym(parent)
    assert hashed != parent and len(hashed) == 64
    after = school["attendance"].readers(child)
    # The same reads, when and what, but the closed account's by its pseudonym alone.
    assert after == [{**before[0], "parent_id": None, "parent_pseudonym": hashed}, before[1]]
    assert [(r["parent_id"], r["parent_pseudonym"], r["what"]) for r in school["grades"].readers(child)] == [
        (None, hashed, "results")]
    assert rpc.attendance.export(parent)["access_log"] == []  # nothing is the parent's any more

    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url("attendance"))
    assert cli.main(["access-log", child, "attendance"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed == [{"service": "attendance", **read} for read in after]


def test_the_list_answers_the_service_itself_alone_and_refuses_a_bad_id(services, school, rpc):
    with pytest.raises(RemoteError) as refused:
        rpc.attendance.readers(f"{BOARD}.1234567")
    assert refused.value.exc_type == "CallerRefused"
    with pytest.raises(DomainError) as bad:
        school["attendance"].readers("")
    assert (bad.value.code, bad.value.field) == ("invalid_length", "student_id")
    assert school["attendance"].readers(f"{BOARD}.{uuid.uuid4().hex[:8]}") == []


def test_the_cli_names_a_service_without_an_access_log_as_an_error(capsys):
    with pytest.raises(SystemExit) as refused:
        cli.main(["access-log", f"{BOARD}.1234567", "identity"])
    assert refused.value.code == 2 and "no access log in identity" in capsys.readouterr().err


def test_retention_deletes_each_boards_reads_older_than_its_setting_once(services, database_url, monkeypatch):
    """Board ``css-keep`` keeps two years, every other board the default year."""
    monkeypatch.setenv("PORTAL_ACCESS_LOG_RETENTION_DAYS", "css-keep=730")
    attendance, _ = services
    log = children_of("attendance").access_log
    metrics = retention_metrics("attendance")
    counted, started = metrics.removed.labels("access_log_rows")._value.get(), time.time()
    now, run = schooltime.school_now(), uuid.uuid4().hex[:8]
    ages = {f"css-keep.{run}": (400, 800), f"css-other.{run}": (100, 400)}
    engine = create_engine(database_url("attendance"))
    with engine.begin() as conn:
        conn.execute(insert(log), [{"parent_id": str(uuid.uuid4()), "student_id": child, "what": "agenda",
                                    "at": now - timedelta(days=age)}
                                   for child, both in ages.items() for age in both])

    def left() -> dict:
        with engine.connect() as conn:
            return {child: sorted((now - at).days for (at,) in conn.execute(
                select(log.c.at).where(log.c.student_id == child))) for child in ages}

    with entrypoint_hook(attendance, "retention") as run_retention:
        run_retention()
        second = run_retention()
    engine.dispose()
    assert left() == {f"css-keep.{run}": [400], f"css-other.{run}": [100]}
    assert second == {"access_log_rows": 0}
    # Counted once, whether the run at the service's start or the first run here deleted them.
    assert metrics.removed.labels("access_log_rows")._value.get() - counted == 2
    assert metrics.last_success._value.get() >= started


@pytest.mark.parametrize("setting, days", [
    ("", {None: 365}),
    ("400", {None: 400}),
    ("css-a=730, 200,css-b=30", {None: 200, "css-a": 730, "css-b": 30}),
])
def test_the_retention_setting(setting, days):
    assert retention_days(setting) == days


@pytest.mark.parametrize("setting", ["a year", "css-a=", "css-a=0", "css-a=-3", "x=y=3"])
def test_a_bad_retention_setting_is_refused_with_what_is_wrong(setting):
    with pytest.raises(ValueError, match="PORTAL_ACCESS_LOG_RETENTION_DAYS"):
        retention_days(setting)
