"""Who can talk to whom, worked out from the rendered NetworkPolicies as a CNI enforces them, with
the labels the pods really carry: ours from the pod templates, the operators' from what each
operator puts on the pods it makes (listed below). Every way the portal needs is open; a few that
must stay shut are shut; nothing reaches an address outside the cluster but the few the overlay
names (its egress.yaml)."""
import copy
import ipaddress

import pytest
import yaml

from tests.deploy.conftest import K8S, of_kind

SERVICES = ("identity", "linking", "attendance", "grades", "billing", "notices")

# Labels the operators set on the pods they make (not in our manifests).
KEYCLOAK_POD = {"app": "keycloak", "app.kubernetes.io/instance": "portal-keycloak",
                "app.kubernetes.io/managed-by": "keycloak-operator", "app.kubernetes.io/component": "server"}
# The Keycloak operator's realm import Job.
REALM_IMPORT_POD = {"app": "keycloak-realm-import", "app.kubernetes.io/instance": "portal-keycloak",
                    "app.kubernetes.io/managed-by": "keycloak-operator"}
RABBITMQ_POD = {"app.kubernetes.io/name": "portal-rabbitmq", "app.kubernetes.io/component": "rabbitmq",
                "app.kubernetes.io/part-of": "rabbitmq"}


def database_pod(cluster: str) -> dict:
    return {"cnpg.io/cluster": cluster, "cnpg.io/instanceRole": "primary", "cnpg.io/podRole": "instance"}


def namespace_labels(name: str) -> dict:
    return {"kubernetes.io/metadata.name": name}


def matches(selector: dict, labels: dict) -> bool:
    """A LabelSelector (matchLabels and matchExpressions); {} selects everything."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        present, value = expr["key"] in labels, labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and value in expr["values"]:
            return False
        if expr["operator"] == "Exists" and not present:
            return False
        if expr["operator"] == "DoesNotExist" and present:
            return False
    return True


def outside(address: str) -> dict:
    """An address outside the cluster, as a destination of ``allowed``."""
    return {"address": address}


def peer_matches(peer: dict, policy_ns: str, pod: dict, pod_ns: str | None) -> bool:
    if "ipBlock" in peer:  # addresses outside the cluster
        if pod_ns is not None:
            return False
        address = ipaddress.ip_address(pod["address"])
        return (address in ipaddress.ip_network(peer["ipBlock"]["cidr"])
                and not any(address in ipaddress.ip_network(e) for e in peer["ipBlock"].get("except", [])))
    if pod_ns is None:
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], namespace_labels(pod_ns)):
            return False
    elif pod_ns != policy_ns:
        return False
    return matches(peer.get("podSelector", {}), pod)


def port_matches(rule: dict, port: int) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("port") in (None, port) for p in ports)


def allowed(policies: list[dict], namespace: str, src: dict, src_ns: str | None,
            dst: dict, dst_ns: str | None, port: int) -> bool:
    """Whether a TCP connection from src to dst:port gets through the policies of `namespace`
    (pods elsewhere are not restricted: their namespaces are not ours)."""
    def side(pod, pod_ns, kind, other, other_ns):
        if pod_ns != namespace:
            return True
        relevant = [p for p in policies if matches(p["spec"]["podSelector"], pod)
                    and kind.capitalize() in p["spec"].get("policyTypes", ["Ingress"])]
        if not relevant:
            return True
        direction, peers = ("egress", "to") if kind == "egress" else ("ingress", "from")
        for policy in relevant:
            for rule in policy["spec"].get(direction, []):
                if not port_matches(rule, port):
                    continue
                if peers not in rule or any(peer_matches(peer, namespace, other, other_ns) for peer in rule[peers]):
                    return True
        return False

    return side(src, src_ns, "egress", dst, dst_ns) and side(dst, dst_ns, "ingress", src, src_ns)


def pods(objects: list[dict]) -> dict[str, dict]:
    """Our pods' labels, by Deployment or Job name."""
    found = {}
    for kind in ("Deployment", "Job"):
        for obj in of_kind(objects, kind):
            found[obj["metadata"]["name"]] = obj["spec"]["template"]["metadata"]["labels"]
    return found


def egress_addresses(objects: list[dict]) -> dict[str, str]:
    """An address in each of the overlay's ways out (its local ConfigMap portal-egress, which
    kustomize leaves out of the output), by the overlay's namespace."""
    for overlay in (K8S / "overlays").iterdir():
        if yaml.safe_load((overlay / "kustomization.yaml").read_text())["namespace"] == namespace_of(objects):
            data = yaml.safe_load((overlay / "egress.yaml").read_text())["data"]
            return {name: str(next(iter(ipaddress.ip_network(value).hosts()), ipaddress.ip_network(value)[0]))
                    for name, value in data.items()}
    raise AssertionError(f"no overlay of namespace {namespace_of(objects)}")


def needed_ways(objects: list[dict]) -> list[tuple]:
    """(what, source labels, source namespace, destination labels, destination namespace, port);
    None as namespace: outside the cluster (``outside(address)``). OURS stands for the portal's
    namespace."""
    ours = pods(objects)
    egress = egress_addresses(objects)
    api, store = outside(egress["kubernetes-api"]), outside(egress["object-store"])
    ways = []
    for svc in SERVICES:
        db = database_pod(f"portal-db-{svc}")
        ways += [
            (f"{svc} database -> Kubernetes API", db, "OURS", api, None, 443),
            (f"{svc} database -> backups' object store", db, "OURS", store, None, 443),
            (f"{svc} -> its database", ours[f"portal-{svc}"], "OURS", db, "OURS", 5432),
            (f"{svc} migration -> its database", ours[f"portal-migrate-{svc}"], "OURS", db, "OURS", 5432),
            (f"{svc} -> broker", ours[f"portal-{svc}"], "OURS", RABBITMQ_POD, "OURS", 5672),
            (f"Prometheus -> {svc}", {}, "monitoring", ours[f"portal-{svc}"], "OURS", 8080),
            (f"CloudNativePG -> {svc} database", {}, "cnpg-system", db, "OURS", 8000),
            (f"Prometheus -> {svc} database metrics", {}, "monitoring", db, "OURS", 9187),
        ]
    keycloak_db = database_pod("portal-db-keycloak")
    ways += [
        ("gateway -> broker", ours["portal-gateway"], "OURS", RABBITMQ_POD, "OURS", 5672),
        ("gateway -> Keycloak (realm keys)", ours["portal-gateway"], "OURS", KEYCLOAK_POD, "OURS", 8080),
        ("identity -> Keycloak (admin API)", ours["portal-identity"], "OURS", KEYCLOAK_POD, "OURS", 8080),
        ("ingress controller -> gateway", {}, "ingress-nginx", ours["portal-gateway"], "OURS", 8000),
        ("Prometheus -> gateway (ops port)", {}, "monitoring", ours["portal-gateway"], "OURS", 8080),
        ("ingress controller -> Keycloak", {}, "ingress-nginx", KEYCLOAK_POD, "OURS", 8080),
        ("Keycloak -> its database", KEYCLOAK_POD, "OURS", keycloak_db, "OURS", 5432),
        ("realm import -> Keycloak's database", REALM_IMPORT_POD, "OURS", keycloak_db, "OURS", 5432),
        ("Keycloak -> Keycloak (caches)", KEYCLOAK_POD, "OURS", KEYCLOAK_POD, "OURS", 7800),
        ("Prometheus -> Keycloak metrics", {}, "monitoring", KEYCLOAK_POD, "OURS", 9000),
        ("Prometheus -> broker metrics", {}, "monitoring", RABBITMQ_POD, "OURS", 15692),
        ("KEDA -> broker (queue depths)", {}, "keda", RABBITMQ_POD, "OURS", 5672),
        ("notices -> mail relay", ours["portal-notices"], "OURS", outside(egress["mail-relay"]), None, 587),
        ("Keycloak -> mail relay", KEYCLOAK_POD, "OURS", outside(egress["mail-relay"]), None, 587),
        ("Keycloak -> egress proxy (social providers)", KEYCLOAK_POD, "OURS", outside(egress["egress-proxy"]), None,
         3128),
        ("Keycloak's database -> Kubernetes API", keycloak_db, "OURS", api, None, 6443),
        ("Keycloak's database -> backups' object store", keycloak_db, "OURS", store, None, 443),
        ("broker -> Kubernetes API (peer discovery)", RABBITMQ_POD, "OURS", api, None, 443),
        ("Prometheus -> Keycloak's database metrics", {}, "monitoring", keycloak_db, "OURS", 9187),
    ]
    return ways


FORBIDDEN = [
    ("gateway -> a service's database", "portal-gateway", database_pod("portal-db-billing"), 5432),
    ("linking -> another service's database", "portal-linking", database_pod("portal-db-billing"), 5432),
    ("grades -> Keycloak", "portal-grades", KEYCLOAK_POD, 8080),
    ("gateway -> Keycloak's database", "portal-gateway", database_pod("portal-db-keycloak"), 5432),
]


def shut_ways(objects: list[dict], namespace: str) -> list[str]:
    policies = of_kind(objects, "NetworkPolicy")
    resolve = {"OURS": namespace}
    return [what for what, src, src_ns, dst, dst_ns, port in needed_ways(objects)
            if not allowed(policies, namespace, src, resolve.get(src_ns, src_ns), dst, resolve.get(dst_ns, dst_ns), port)]


def namespace_of(objects):
    return objects[0]["metadata"]["namespace"]


def test_every_way_the_portal_needs_is_open(rendered):
    assert shut_ways(rendered, namespace_of(rendered)) == []


@pytest.mark.parametrize("what, source, destination, port", FORBIDDEN)
def test_what_must_stay_shut_is_shut(rendered, what, source, destination, port):
    ns = namespace_of(rendered)
    src = pods(rendered)[source]
    assert not allowed(of_kind(rendered, "NetworkPolicy"), ns, src, ns, destination, ns, port), what


def test_the_ingress_controller_never_reaches_the_gateways_ops_port(rendered):
    ns = namespace_of(rendered)
    gateway = pods(rendered)["portal-gateway"]
    assert not allowed(of_kind(rendered, "NetworkPolicy"), ns, {}, "ingress-nginx", gateway, ns, 8080)


# Addresses outside the cluster that nothing of the portal needs: the internet, the cloud's
# metadata service, a private network.
ELSEWHERE = ("8.8.8.8", "140.82.112.3", "169.254.169.254", "10.1.2.3")


def ways_out(objects: list[dict]) -> list[str]:
    """Every pod of the namespace (ours and the operators') that reaches an address outside the
    cluster other than the overlay's, on any port a policy names or a usual one."""
    ns = namespace_of(objects)
    policies = of_kind(objects, "NetworkPolicy")
    ports = {p["port"] for policy in policies for rule in policy["spec"].get("egress", [])
             for p in rule.get("ports", []) if isinstance(p.get("port"), int)} | {25, 80, 443, 587, 3128, 6443}
    sources = {**pods(objects), "Keycloak": KEYCLOAK_POD, "realm import": REALM_IMPORT_POD, "broker": RABBITMQ_POD,
               "Keycloak's database": database_pod("portal-db-keycloak"),
               **{f"{svc} database": database_pod(f"portal-db-{svc}") for svc in SERVICES}}
    return [f"{name} -> {address}:{port}" for name, labels in sources.items() for address in ELSEWHERE
            for port in sorted(ports) if allowed(policies, ns, labels, ns, outside(address), None, port)]


def test_nothing_reaches_an_address_outside_the_cluster_but_the_overlays(rendered):
    assert ways_out(rendered) == []


@pytest.mark.parametrize("rule", [
    {"ports": [{"port": 443}]},  # any address, as Keycloak's policy once had
    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}], "ports": [{"port": 587}]},
])
def test_the_check_sees_a_policy_that_lets_a_pod_reach_any_address(rendered, rule):
    broken = copy.deepcopy(rendered)
    policy = next(p for p in of_kind(broken, "NetworkPolicy") if p["metadata"]["name"] == "portal-keycloak")
    policy["spec"]["egress"].append(rule)
    assert any(way.startswith("Keycloak -> 8.8.8.8:") for way in ways_out(broken))


def test_a_pod_with_no_policy_of_its_own_reaches_nothing(rendered):
    ns = namespace_of(rendered)
    stray = {"app": "debug"}
    policies = of_kind(rendered, "NetworkPolicy")
    assert not allowed(policies, ns, stray, ns, KEYCLOAK_POD, ns, 8080)
    assert not allowed(policies, ns, stray, ns, database_pod("portal-db-identity"), ns, 5432)


def test_the_check_sees_a_policy_that_selects_the_wrong_labels(rendered):
    """Before the realm import had a policy of its own, its pods (labelled by the operator, not
    `app: keycloak`) could not reach Keycloak's database: the check must say so."""
    broken = copy.deepcopy(rendered)
    for policy in of_kind(broken, "NetworkPolicy"):
        if policy["metadata"]["name"] == "portal-keycloak-realm-import":
            policy["spec"]["podSelector"] = {"matchLabels": {"app": "keycloak"}}
    assert "realm import -> Keycloak's database" in shut_ways(broken, namespace_of(broken))
