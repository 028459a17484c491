"""Writes the Grafana dashboards of dashboards/ (one overview, one per process) from one
description, so that the six services' dashboards cannot drift apart.

    python deploy/k8s/base/monitoring/generate_dashboards.py

tests/deploy/test_dashboards.py fails when the committed JSON differs from what this writes, and
when a query names a metric that the processes do not export.
"""
from __future__ import annotations

import json
from pathlib import Path

SERVICES = ("identity", "linking", "attendance", "grades", "billing", "notices")
# Metrics that only one service has, beside the kit's (servicekit.ops.Metrics).
OWN_PANELS = {
    "identity": [("Échecs de code / code failures", 'sum by (flow) (rate(portal_identity_code_failures_total[5m]))')],
    "linking": [("Tentatives de liaison / link attempts", 'sum by (outcome) (rate(portal_linking_link_attempts_total[5m]))')],
}
HERE = Path(__file__).parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def panel(title: str, exprs: list[tuple[str, str]], unit: str = "short", kind: str = "timeseries") -> dict:
    return {
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


def layout(panels: list[dict]) -> list[dict]:
    """Two panels a line; a row takes a line of its own."""
    x = y = 0
    for i, p in enumerate(panels, start=1):
        if p["type"] == "row":
            y += 0 if x == 0 else 8
            p["gridPos"] = {"x": 0, "y": y, "w": 24, "h": 1}
            x, y = 0, y + 1
        else:
            p["gridPos"] = {"x": x, "y": y, "w": 12, "h": 8}
            x, y = (12, y) if x == 0 else (0, y + 8)
        p["id"] = i
    return panels


def dashboard(uid: str, title: str, panels: list[dict]) -> dict:
    return {
        "uid": uid,
        "title": title,
        "tags": ["portail-parents"],
        "timezone": "browser",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{
            "name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus",
        }]},
        "panels": layout(panels),
    }


def service_dashboard(svc: str) -> dict:
    m = f"portal_{svc}"
    panels = [
        row("RED : appels et événements / calls and events"),
        panel("Débit par issue / rate by outcome",
              [(f"sum by (outcome) (rate({m}_requests_total[5m]))", "{{outcome}}")], "reqps"),
        panel("Taux d'erreurs / error ratio",
              [(f'sum(rate({m}_requests_total{{outcome="error"}}[5m])) / sum(rate({m}_requests_total[5m]))',
                "errors")], "percentunit"),
        panel("Durée p50 / p99 / duration",
              [(f"histogram_quantile(0.5, sum by (le) (rate({m}_request_duration_seconds_bucket[5m])))", "p50"),
               (f"histogram_quantile(0.99, sum by (le) (rate({m}_request_duration_seconds_bucket[5m])))", "p99")],
              "s"),
        panel("Durée p99 par point d'entrée / p99 by entrypoint",
              [(f"histogram_quantile(0.99, sum by (le, entrypoint) (rate({m}_request_duration_seconds_bucket[5m])))",
                "{{entrypoint}}")], "s"),
        row("Événements / events"),
        panel("Événements traités / events handled",
              [(f"sum by (source, outcome) (rate({m}_events_handled_total[5m]))", "{{source}} {{outcome}}")],
              "ops"),
        panel("Durée d'un lot p99 / batch duration p99",
              [(f"histogram_quantile(0.99, sum by (le, source) (rate({m}_event_handling_duration_seconds_bucket[5m])))",
                "{{source}}")], "s"),
        panel("Publiés par le relais / published by the relay",
              [(f"rate({m}_relay_published_total[5m])", "published")], "ops"),
        panel("Boîte d'envoi en attente / outbox backlog",
              [(f"max({m}_outbox_backlog_events)", "backlog")]),
        row("Retard / lag"),
        panel("Retard du consommateur / consumer lag",
              [(f"max by (source) ({m}_consumer_lag_seconds)", "{{source}}")], "s"),
        panel("Messages en file / queue depth",
              [(f"max by (queue) ({m}_queue_depth_messages)", "{{queue}}")]),
        row("Lettres mortes / dead letters"),
        panel("Nouvelles lettres mortes / dead-lettered",
              [(f"sum by (source, reason) (increase({m}_dead_letters_total[15m]))", "{{source}} {{reason}}")]),
        panel("File de lettres mortes / dead-letter queue",
              [(f"max({m}_dead_letter_queue_messages)", "messages")]),
    ]
    own = OWN_PANELS.get(svc, [])
    if own:
        panels.append(row("Propre au service / service's own"))
        panels += [panel(title, [(expr, "{{__name__}}")], "ops") for title, expr in own]
    panels += [row("Processus / process"),
               panel("Mémoire résidente / resident memory",
                     [(f'process_resident_memory_bytes{{job="portal-{svc}"}}', "{{instance}}")], "bytes")]
    return dashboard(f"portal-{svc}", f"Portail Parents — {svc}", panels)


def gateway_dashboard() -> dict:
    m = "portal_gateway"
    return dashboard("portal-gateway", "Portail Parents — gateway", [
        row("RED"),
        panel("Requêtes par statut / requests by status",
              [(f"sum by (status) (rate({m}_requests_total[5m]))", "{{status}}")], "reqps"),
        panel("Taux de 5xx / 5xx ratio",
              [(f'sum(rate({m}_requests_total{{status=~"5.."}}[5m])) / sum(rate({m}_requests_total[5m]))', "5xx")],
              "percentunit"),
        panel("Durée p99 par route / p99 by route",
              [(f"histogram_quantile(0.99, sum by (le, route) (rate({m}_request_duration_seconds_bucket[5m])))",
                "{{route}}")], "s"),
        panel("Requêtes par route / requests by route",
              [(f"sum by (route, method) (rate({m}_requests_total[5m]))", "{{method}} {{route}}")], "reqps"),
        row("Tableau de bord / dashboard"),
        panel("Tuiles dégradées / degraded tiles",
              [(f"sum by (tile) (increase({m}_tile_degraded_total[15m]))", "{{tile}}")]),
        panel("Flux en direct ouverts / live streams open",
              [(f"sum({m}_sse_streams)", "streams")]),
        row("Processus / process"),
        panel("Mémoire résidente / resident memory",
              [('process_resident_memory_bytes{job="portal-gateway"}', "{{instance}}")], "bytes"),
    ])


def overview_dashboard() -> dict:
    any_svc = "portal_[a-z]+"
    return dashboard("portal-overview", "Portail Parents — vue d'ensemble / overview", [
        row("Santé / health"),
        panel("Cibles en marche / targets up", [('sum by (job) (up{job=~"portal-.+"})', "{{job}}")]),
        panel("Taux d'erreurs par service / error ratio by service",
              [(f'sum by (job) (rate({{__name__=~"{any_svc}_requests_total", outcome="error"}}[5m]))'
                f' / sum by (job) (rate({{__name__=~"{any_svc}_requests_total", outcome=~"ok|client_error|error"}}[5m]))',
                "{{job}}"),
               ('sum(rate(portal_gateway_requests_total{status=~"5.."}[5m])) / sum(rate(portal_gateway_requests_total[5m]))',
                "gateway 5xx")], "percentunit"),
        panel("Durée p99 par processus / p99 by process",
              [(f'histogram_quantile(0.99, sum by (job, le) (rate({{__name__=~"{any_svc}_request_duration_seconds_bucket"}}[5m])))',
                "{{job}}")], "s"),
        panel("Débit par processus / rate by process",
              [(f'sum by (job) (rate({{__name__=~"{any_svc}_requests_total"}}[5m]))', "{{job}}")], "reqps"),
        row("Événements / events"),
        panel("Événements traités / events handled",
              [(f'sum by (job) (rate({{__name__=~"{any_svc}_events_handled_total"}}[5m]))', "{{job}}")], "ops"),
        panel("Retard des consommateurs / consumer lag",
              [(f'max by (job) ({{__name__=~"{any_svc}_consumer_lag_seconds"}})', "{{job}}")], "s"),
        panel("Boîtes d'envoi / outbox backlogs",
              [(f'max by (job) ({{__name__=~"{any_svc}_outbox_backlog_events"}})', "{{job}}")]),
        panel("Lettres mortes / dead letters",
              [(f'max by (job) ({{__name__=~"{any_svc}_dead_letter_queue_messages"}})', "{{job}}")]),
        row("Connexions / logins"),
        panel("Échecs de connexion / failed logins",
              [('sum by (realm, error) (rate(keycloak_user_events_total{event="login", error!=""}[5m]))',
                "{{realm}} {{error}}")], "ops"),
    ])


def all_dashboards() -> dict[str, dict]:
    boards = {"overview": overview_dashboard(), "gateway": gateway_dashboard()}
    boards.update({svc: service_dashboard(svc) for svc in SERVICES})
    return boards


def render(board: dict) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name, board in all_dashboards().items():
        (HERE / f"{name}.json").write_text(render(board), encoding="utf-8")
