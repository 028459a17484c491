"""The rules every workload of the portal keeps (issue: run it like SREs do). The checker is also
run on broken copies, so that a rule that stops checking anything is noticed."""
import copy

import pytest

from tests.deploy.conftest import of_kind


def selects(selector: dict, labels: dict) -> bool:
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def policy_problems(objects: list[dict]) -> list[str]:
    problems = []
    pdbs, policies = of_kind(objects, "PodDisruptionBudget"), of_kind(objects, "NetworkPolicy")
    # Scaled by an HorizontalPodAutoscaler of its own, or by KEDA's (a ScaledObject).
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(objects, "HorizontalPodAutoscaler")
              if h["spec"]["scaleTargetRef"]["kind"] == "Deployment"}
    scaled |= {s["spec"]["scaleTargetRef"]["name"] for s in of_kind(objects, "ScaledObject")
               if s["spec"]["scaleTargetRef"].get("kind", "Deployment") == "Deployment"}
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]
        labels, spec = pod["metadata"]["labels"], pod["spec"]
        pod_security = spec.get("securityContext", {})
        if not pod_security.get("runAsNonRoot"):
            problems.append(f"{name}: pod may run as root")
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: no RuntimeDefault seccomp profile")
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name}/{container['name']}"
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                if container.get(probe, {}).get("httpGet", {}).get("path") != path:
                    problems.append(f"{where}: no {probe} on {path}")
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(kind, {}):
                        problems.append(f"{where}: no {resource} {kind}")
            security = container.get("securityContext", {})
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: privilege escalation allowed")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities not all dropped")
        if not any(selects(p["spec"]["selector"], labels) for p in pdbs):
            problems.append(f"{name}: no PodDisruptionBudget")
        if name not in scaled:
            problems.append(f"{name}: no HorizontalPodAutoscaler")
        own = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        if not any(p["spec"].get("ingress") for p in own) or not any(p["spec"].get("egress") for p in own):
            problems.append(f"{name}: no NetworkPolicy of its own for ingress and egress")
    # A budget that also counts a Job's pods (a migration's, done or failing) blocks node drains.
    for job in of_kind(objects, "Job"):
        labels = job["spec"]["template"]["metadata"]["labels"]
        for pdb in pdbs:
            if selects(pdb["spec"]["selector"], labels):
                problems.append(f"{pdb['metadata']['name']}: PodDisruptionBudget selects the pods of Job {job['metadata']['name']}")
    if not any(p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies):
        problems.append("namespace: no default-deny NetworkPolicy")
    return problems


def test_every_deployment_keeps_the_rules(rendered):
    assert of_kind(rendered, "Deployment")
    assert policy_problems(rendered) == []


def _without(objects, kind, name):
    return [o for o in objects if not (o["kind"] == kind and o["metadata"]["name"] == name)]


def _deployment(objects, name):
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name)


def _break_probe(objects):
    del _deployment(objects, "portal-attendance")["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    return objects


def _break_limits(objects):
    del _deployment(objects, "portal-gateway")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    return objects


def _break_security(objects):
    _deployment(objects, "portal-notices")["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "readOnlyRootFilesystem"] = False
    return objects


def _break_root(objects):
    del _deployment(objects, "portal-grades")["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
    return objects


def _break_budget(objects):
    pdb = next(o for o in objects if o["kind"] == "PodDisruptionBudget" and o["metadata"]["name"] == "portal-billing")
    pdb["spec"]["selector"]["matchLabels"].pop("app.kubernetes.io/component")
    return objects


@pytest.mark.parametrize("breakage, expected", [
    (_break_probe, "portal-attendance/service: no livenessProbe on /healthz"),
    (_break_limits, "portal-gateway/gateway: no cpu limits"),
    (_break_security, "portal-notices/service: root filesystem is writable"),
    (_break_root, "portal-grades: pod may run as root"),
    (lambda o: _without(o, "PodDisruptionBudget", "portal-billing"), "portal-billing: no PodDisruptionBudget"),
    (lambda o: _without(o, "ScaledObject", "portal-linking"), "portal-linking: no HorizontalPodAutoscaler"),
    (lambda o: _without(o, "HorizontalPodAutoscaler", "portal-gateway"), "portal-gateway: no HorizontalPodAutoscaler"),
    (_break_budget, "portal-billing: PodDisruptionBudget selects the pods of Job portal-migrate-billing"),
    (lambda o: _without(o, "NetworkPolicy", "portal-identity"),
     "portal-identity: no NetworkPolicy of its own for ingress and egress"),
    (lambda o: _without(o, "NetworkPolicy", "default-deny"), "namespace: no default-deny NetworkPolicy"),
])
def test_the_policy_check_catches_each_breach(rendered, breakage, expected):
    assert expected in policy_problems(breakage(copy.deepcopy(rendered)))
