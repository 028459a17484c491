"""The generated manifests are up to date, and the dashboards' queries name only metrics that the
portal's processes export (read from the processes' own metric definitions)."""
import importlib
import re
import sys

import pytest

from prometheus_client import CollectorRegistry

from tests.deploy.conftest import K8S

MONITORING = K8S / "base" / "monitoring"
KEYCLOAK = K8S / "base" / "keycloak"
# Exported by Prometheus itself and by Keycloak (started with user-event metrics), not by our code.
EXTERNAL = {"up", "keycloak_user_events_total", "process_resident_memory_bytes"}


def generator(directory, module):
    sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.pop(0)


def test_dashboards_are_generated_from_their_description():
    dashboards = generator(MONITORING, "generate_dashboards")
    boards = dashboards.all_dashboards()
    assert {p.stem for p in (MONITORING / "dashboards").glob("*.json")} == set(boards)
    for name, board in boards.items():
        committed = (MONITORING / "dashboards" / f"{name}.json").read_text(encoding="utf-8")
        assert committed == dashboards.render(board), f"run generate_dashboards.py ({name}.json is stale)"


def test_realm_import_is_generated_from_the_realm_file():
    realm = generator(KEYCLOAK, "generate_realm_import")
    assert (KEYCLOAK / "realm-import.yaml").read_text(encoding="utf-8") == realm.render(), \
        "run generate_realm_import.py (realm-import.yaml is stale)"


def kit_names() -> set[str]:
    """Every series name that the services' kit defines for each service, as Prometheus sees it."""
    from servicekit import ops

    registry = CollectorRegistry()
    original = ops.Counter, ops.Gauge, ops.Histogram
    try:
        ops.Counter, ops.Gauge, ops.Histogram = (
            (lambda cls: lambda *a, **kw: cls(*a, registry=registry, **kw))(cls) for cls in original)
        for svc in generator(MONITORING, "generate_dashboards").SERVICES:
            ops.Metrics(svc)
    finally:
        ops.Counter, ops.Gauge, ops.Histogram = original
    return series_names(registry)


def series_names(registry) -> set[str]:
    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_sum", "_count"]}
    return {family.name + s for family in registry.collect() for s in suffixes.get(family.type, [""])}


def own_names(module: str) -> set[str]:
    """What a process's own code registers (its service-specific metrics) when imported."""
    from prometheus_client import REGISTRY

    importlib.import_module(module)
    return series_names(REGISTRY)


def queried_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", without_strings))
    return {w for w in words if w.startswith(("portal_", "keycloak_", "process_")) or w == "up"}


# The process whose code defines a dashboard's own metrics, beside the kit's.
OWNERS = {"gateway": "gateway.metrics", "identity": "services.identity.service", "linking": "services.linking.service"}


@pytest.mark.parametrize("board", ["overview", "gateway", "identity", "linking", "attendance", "grades",
                                   "billing", "notices"])
def test_dashboard_queries_use_only_exported_metrics(board):
    exported = kit_names()
    assert "portal_attendance_consumer_lag_seconds" in exported
    owners = [OWNERS[board]] if board in OWNERS else ([OWNERS["gateway"]] if board == "overview" else [])
    for module in owners:
        exported |= own_names(module)
    unknown = set()
    for panel in generator(MONITORING, "generate_dashboards").all_dashboards()[board]["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            unknown |= queried_names(expr) - exported - EXTERNAL
            unknown |= {p for p in re.findall(r'__name__=~"([^"]+)"', expr)
                        if not any(re.fullmatch(p, n) for n in exported)}
    assert not unknown, f"{board}: queries name metrics nobody exports: {unknown}"
