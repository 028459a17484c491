"""What a real install needs beyond valid objects (issue: an SRE applies it and parents log in):
host names that agree everywhere, TLS on every public host, the operators' own extras turned off,
an install order that works on an empty namespace, backups, scaling on queue depth, mail through an
authenticated relay, and monitoring objects that Prometheus picks up."""
from pathlib import Path
from urllib.parse import urlsplit

from contracts import consumed_by
from contracts.registry import SOURCES
from tests.deploy.conftest import REPO, of_kind

SERVICES = ("identity", "linking", "attendance", "grades", "billing", "notices")


def one(objects, kind, name=None):
    found = [o for o in of_kind(objects, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def hosts(objects) -> tuple[str, str]:
    """The overlay's web host (the gateway's ingress) and login host (Keycloak's hostname)."""
    web = one(objects, "Ingress", "portal-gateway")["spec"]["rules"][0]["host"]
    login = urlsplit(one(objects, "Keycloak")["spec"]["hostname"]["hostname"]).hostname
    return web, login


def settings(objects) -> dict:
    return one(objects, "ConfigMap", "portal-settings")["data"]


def test_each_overlay_has_hosts_of_its_own(rendered):
    web, login = hosts(rendered)
    assert "example.org" in web and web != login
    assert web != "parents.example.org", "the base's host name was not replaced by the overlay's"


def test_the_web_client_may_come_back_only_to_the_overlays_host(rendered):
    web, _ = hosts(rendered)
    realm = one(rendered, "KeycloakRealmImport")["spec"]["realm"]
    client = next(c for c in realm["clients"] if c["clientId"] == "portal-web")
    assert client["redirectUris"] == [f"https://{web}/*"]
    assert client["webOrigins"] == [f"https://{web}"]
    assert client["attributes"]["post.logout.redirect.uris"] == f"https://{web}/*"
    assert "127.0.0.1" not in str(realm) and "localhost" not in str(realm)


def test_the_gateway_expects_the_public_issuer_and_fetches_keys_inside_the_cluster(rendered):
    _, login = hosts(rendered)
    config = settings(rendered)
    assert config["PORTAL_TOKEN_ISSUER"] == f"https://{login}/realms/portal"
    # The keys come from Keycloak's Service (the gateway's egress policy allows Keycloak's pods,
    # not the public host); the URL is derived from PORTAL_KEYCLOAK_URL (gateway/__main__.py).
    keycloak = urlsplit(config["PORTAL_KEYCLOAK_URL"])
    assert keycloak.hostname == "portal-keycloak-service" and keycloak.port == 8080
    assert "PORTAL_TOKEN_JWKS_URL" not in config or urlsplit(config["PORTAL_TOKEN_JWKS_URL"]).hostname == keycloak.hostname
    assert config["PORTAL_PUBLIC_URL"] == f"https://{hosts(rendered)[0]}"


def test_keycloak_makes_no_network_policy_or_service_monitor_of_its_own(rendered):
    spec = one(rendered, "Keycloak")["spec"]
    assert spec["networkPolicy"]["enabled"] is False, "the operator's policy opens 8080/9000 to all"
    assert spec["serviceMonitor"]["enabled"] is False, "the operator's ServiceMonitor would clash with ours"
    assert one(rendered, "ServiceMonitor", "portal-keycloak")


def test_every_public_host_has_tls(rendered):
    for ingress in of_kind(rendered, "Ingress"):
        covered = {h for tls in ingress["spec"].get("tls", []) if tls.get("secretName") for h in tls["hosts"]}
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] in covered, f"{ingress['metadata']['name']}: {rule['host']} has no certificate"
    keycloak = one(rendered, "Keycloak")["spec"]
    assert keycloak["hostname"]["hostname"].startswith("https://")


def test_the_login_host_routes_the_portal_realm_and_never_keycloaks_admin_or_master_realm(rendered):
    keycloak = one(rendered, "Keycloak")["spec"]
    assert keycloak["ingress"]["enabled"] is False, "the operator's ingress routes every path"
    ingress = one(rendered, "Ingress", "portal-keycloak")["spec"]
    login_host = urlsplit(keycloak["hostname"]["hostname"]).hostname
    assert [rule["host"] for rule in ingress["rules"]] == [login_host]
    paths = [p["path"] for rule in ingress["rules"] for p in rule["http"]["paths"]]
    assert sorted(paths) == ["/realms/portal/", "/resources/"]
    assert {p["pathType"] for rule in ingress["rules"] for p in rule["http"]["paths"]} == {"Prefix"}
    for ingress in of_kind(rendered, "Ingress"):  # nor does any other public host
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert not path["path"].startswith(("/admin", "/realms/master")), ingress["metadata"]["name"]


def test_the_gateways_ingress_reaches_its_public_port_and_never_its_ops_port(rendered):
    """/metrics, /healthz and /readyz are served on the ops port alone (gateway/__main__.py): the
    ingress routes to the public one, the probes and Prometheus use the ops one."""
    container = one(rendered, "Deployment", "portal-gateway")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert ports == {"http": int(env["PORTAL_GATEWAY_PORT"]), "ops": int(env["PORTAL_OPS_PORT"])}
    assert ports["http"] != ports["ops"]
    service = {p["name"]: p["targetPort"] for p in one(rendered, "Service", "portal-gateway")["spec"]["ports"]}
    routed = {path["backend"]["service"]["port"]["name"]
              for rule in one(rendered, "Ingress", "portal-gateway")["spec"]["rules"] for path in rule["http"]["paths"]}
    assert {service[name] for name in routed} == {"http"}
    assert container["readinessProbe"]["httpGet"]["port"] == container["livenessProbe"]["httpGet"]["port"] == "ops"
    scraped = {e["port"] for e in one(rendered, "ServiceMonitor", "portal-gateway")["spec"]["endpoints"]}
    assert {service[name] for name in scraped} == {"ops"}


def wave(obj) -> int:
    return int(obj["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


def test_a_first_install_creates_what_each_step_needs_before_it(rendered):
    """Argo CD applies wave by wave and waits for each to be healthy; the runbook does the same by
    hand. Policies and settings, then databases and broker, then Keycloak, then migrations, then
    the processes."""
    waves = {}
    for obj in rendered:
        waves.setdefault(obj["kind"], set()).add(wave(obj))
    order = [("NetworkPolicy", "ConfigMap", "ServiceAccount", "TriggerAuthentication"),
             ("Cluster", "RabbitmqCluster", "ScheduledBackup"),
             ("Keycloak", "KeycloakRealmImport"),
             ("Job",),
             ("Deployment", "Service", "ScaledObject", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress")]
    for earlier, later in zip(order, order[1:]):
        last = max(w for kind in earlier for w in waves.get(kind, ()))
        first = min(w for kind in later for w in waves.get(kind, ()))
        assert last < first, f"{earlier} (wave {last}) must come before {later} (wave {first})"
    for job in of_kind(rendered, "Job"):
        annotations = job["metadata"]["annotations"]
        # A PreSync hook runs before every wave, so on an empty namespace before the databases.
        assert annotations.get("argocd.argoproj.io/hook") != "PreSync"
        waits = [c["name"] for c in job["spec"]["template"]["spec"].get("initContainers", [])]
        assert "wait-for-database" in waits


def test_every_database_is_backed_up_to_an_object_store(rendered):
    scheduled = {b["spec"]["cluster"]["name"] for b in of_kind(rendered, "ScheduledBackup")}
    clusters = of_kind(rendered, "Cluster")
    assert len(clusters) == 7
    for cluster in clusters:
        name = cluster["metadata"]["name"]
        store = cluster["spec"]["backup"]["barmanObjectStore"]
        assert store["destinationPath"].startswith("s3://")
        assert {store["s3Credentials"][k]["name"] for k in ("accessKeyId", "secretAccessKey")} == {"portal-backup-s3"}
        assert cluster["spec"]["backup"]["retentionPolicy"]
        assert name in scheduled, f"{name}: no ScheduledBackup"


def consumed_queues(service: str) -> set[str]:
    """The queues a service consumes: `<service>.<source>` for each source it takes in from, as
    the contracts say (its `@event_streams`; tests/contracts/test_consumers.py holds them equal)."""
    return {f"{service}.{source}" for source in SOURCES if consumed_by(service, source)}


def test_consumers_scale_on_their_queue_depth_and_on_cpu(rendered):
    for svc in SERVICES:
        scaled = one(rendered, "ScaledObject", f"portal-{svc}")
        assert scaled["spec"]["scaleTargetRef"]["name"] == f"portal-{svc}"
        types = [t["type"] for t in scaled["spec"]["triggers"]]
        assert "cpu" in types
        queues = consumed_queues(svc)
        rabbit = [t for t in scaled["spec"]["triggers"] if t["type"] == "rabbitmq"]
        if not queues:
            assert not rabbit, f"{svc} consumes no queue"
            continue
        assert rabbit, f"{svc}: consumes {queues} but does not scale on them"
        for trigger in rabbit:
            assert trigger["metadata"]["queueName"] in queues
            auth = one(rendered, "TriggerAuthentication", trigger["authenticationRef"]["name"])
            assert auth["spec"]["secretTargetRef"][0]["name"] == "portal-rabbitmq-default-user"


def test_prometheus_picks_up_every_monitor_and_rule(rendered):
    for kind in ("ServiceMonitor", "PodMonitor", "PrometheusRule"):
        for obj in of_kind(rendered, kind):
            assert obj["metadata"].get("labels", {}).get("release") == "kube-prometheus-stack", obj["metadata"]["name"]


def test_every_database_is_scraped_by_a_pod_monitor_of_ours(rendered):
    monitored = {m["spec"]["selector"]["matchLabels"]["cnpg.io/cluster"] for m in of_kind(rendered, "PodMonitor")}
    for cluster in of_kind(rendered, "Cluster"):
        # The operator's own PodMonitor (deprecated) would lack the release label.
        assert not cluster["spec"].get("monitoring", {}).get("enablePodMonitor")
        assert cluster["metadata"]["name"] in monitored


def test_mail_goes_through_an_authenticated_relay_with_starttls(rendered):
    notices = one(rendered, "Deployment", "portal-notices")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in notices["env"]}
    assert env["PORTAL_SMTP_STARTTLS"]["value"] == "true"
    for name in ("PORTAL_SMTP_HOST", "PORTAL_SMTP_PORT", "PORTAL_SMTP_USERNAME", "PORTAL_SMTP_PASSWORD", "PORTAL_MAIL_FROM"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "portal-smtp", name
    smtp = one(rendered, "KeycloakRealmImport")["spec"]["realm"]["smtpServer"]
    assert (smtp["starttls"], smtp["auth"], smtp["ssl"]) == ("true", "true", "false")
    assert ".local" not in smtp["from"]
    placeholders = one(rendered, "KeycloakRealmImport")["spec"]["placeholders"]
    assert placeholders["PORTAL_SMTP_PASSWORD"]["secret"]["name"] == "portal-smtp"


def test_the_runbook_names_every_secret_the_manifests_read(rendered):
    """Secrets the operators make are theirs; every other one must be in docs/operations.md."""
    made_by_operators = {"portal-rabbitmq-default-user"} | {f"portal-db-{n}-app" for n in SERVICES + ("keycloak",)}
    read = set()

    def walk(node):
        if isinstance(node, dict):
            for key in ("secretKeyRef", "secret"):
                ref = node.get(key)
                if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                    read.add(ref["name"])
            for key in ("s3Credentials",):
                for ref in (node.get(key) or {}).values():
                    read.add(ref["name"])
            for key in ("secretName", "tlsSecret"):
                if isinstance(node.get(key), str):
                    read.add(node[key])
            for ref in node.get("secretTargetRef", []) if isinstance(node.get("secretTargetRef"), list) else []:
                read.add(ref["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(rendered)
    runbook = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = sorted(s for s in read - made_by_operators if f"`{s}`" not in runbook)
    assert not missing, f"docs/operations.md does not name these Secrets: {missing}"


def test_linking_alone_holds_the_pin_secret(rendered):
    holders = {d["metadata"]["name"] for d in of_kind(rendered, "Deployment")
               for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
               if e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "portal-linking"}
    assert holders == {"portal-linking"}
    linking = one(rendered, "Deployment", "portal-linking")["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"]: e for e in linking["env"]}["PORTAL_PIN_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "pin-secret"


def test_every_service_pseudonymises_its_access_log_with_the_one_secret(rendered):
    """A closure is taken in only with the key of the access log's pseudonyms (servicekit.children),
    the same in every service."""
    for service in SERVICES:
        container = one(rendered, "Deployment", f"portal-{service}")["spec"]["template"]["spec"]["containers"][0]
        secret = {e["name"]: e for e in container["env"]}["PORTAL_ACCESS_LOG_SECRET"]["valueFrom"]["secretKeyRef"]
        assert (secret["name"], secret["key"]) == ("portal-access-log", "secret"), service
