"""Every rendered object is valid, strictly (an unknown field is an error, as with kubeconform
-strict): Kubernetes' own kinds against the Kubernetes schemas (kubernetes-validate, offline), the
operators' kinds against their published CRDs in deploy/k8s/crds (README.md there says which
release each comes from). An object of a kind that has no schema is an error too.

PORTAL_KEYCLOAK_CRDS may name a directory holding the Keycloak operator's published CRDs
(keycloaks/keycloakrealmimports *.yml); they then replace the repository's Keycloak schemas."""
import copy
import os
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from contracts import trust
from tests.deploy.conftest import K8S, of_kind

KUBERNETES_VERSION = "1.33.0"


def crd_files() -> list[Path]:
    files = sorted((K8S / "crds").glob("*.yaml"))
    keycloak = os.environ.get("PORTAL_KEYCLOAK_CRDS")
    if keycloak:
        upstream = sorted(Path(keycloak).glob("*.y*ml"))
        assert upstream, f"PORTAL_KEYCLOAK_CRDS={keycloak} holds no CRD"
        files = [f for f in files if not f.name.startswith("k8s.keycloak.org_")] + upstream
    return files


def crd_validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    validators = {}
    for path in crd_files():
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def strict(schema: dict) -> dict:
    """The openAPI schema as JSON Schema, where a field not listed is an error (the API server
    would prune it silently) unless the schema keeps unknown fields on purpose."""
    schema = copy.deepcopy(schema)
    # The API server always takes these, though some generated CRDs (Keycloak's) leave them out.
    schema.setdefault("properties", {}).setdefault("apiVersion", {"type": "string"})
    schema["properties"].setdefault("kind", {"type": "string"})
    schema["properties"].setdefault("metadata", {"type": "object"})

    def walk(node):
        if not isinstance(node, dict):
            return
        if node.pop("x-kubernetes-int-or-string", None):
            node.pop("type", None)
        preserve = node.pop("x-kubernetes-preserve-unknown-fields", False)
        node.pop("format", None)
        if "properties" in node and not preserve:
            node.setdefault("additionalProperties", False)
        for key in ("properties",):
            for child in node.get(key, {}).values():
                walk(child)
        for key in ("items", "additionalProperties"):
            walk(node.get(key))
        for child in node.get("anyOf", []):
            walk(child)

    walk(schema)
    return schema


VALIDATORS = crd_validators()


def test_each_overlay_renders_the_whole_portal(rendered):
    names = {(o["kind"], o["metadata"]["name"]) for o in rendered}
    for svc in ("identity", "linking", "attendance", "grades", "billing", "notices"):
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "ScaledObject",
                     "ServiceMonitor", "Job", "Cluster", "ScheduledBackup", "PodMonitor"):
            prefix = {"Job": "portal-migrate", "Cluster": "portal-db", "ScheduledBackup": "portal-db",
                      "PodMonitor": "portal-db"}.get(kind, "portal")
            assert (kind, f"{prefix}-{svc}") in names
    for kind, name in [("Deployment", "portal-gateway"), ("RabbitmqCluster", "portal-rabbitmq"),
                       ("HorizontalPodAutoscaler", "portal-gateway"), ("TriggerAuthentication", "portal-rabbitmq-keda"),
                       ("Keycloak", "portal-keycloak"), ("KeycloakRealmImport", "portal-realm-portal"),
                       ("PrometheusRule", "portal-alerts"), ("Cluster", "portal-db-keycloak")]:
        assert (kind, name) in names
    assert all(o["metadata"].get("namespace", "").startswith("portail-parents") for o in rendered)
    assert "SERVICE" not in yaml.safe_dump_all(rendered), "a placeholder was not filled in"


def test_kubernetes_objects_match_the_kubernetes_schemas(rendered):
    builtin = [o for o in rendered if (o["apiVersion"], o["kind"]) not in VALIDATORS]
    assert builtin
    for obj in builtin:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")


def test_custom_resources_match_the_operators_schemas(rendered):
    custom = [o for o in rendered if (o["apiVersion"], o["kind"]) in VALIDATORS]
    assert {o["kind"] for o in custom} == {"RabbitmqCluster", "Cluster", "ScheduledBackup", "Keycloak",
                                          "KeycloakRealmImport", "ServiceMonitor", "PodMonitor", "PrometheusRule",
                                          "ScaledObject", "TriggerAuthentication", "User", "Permission"}
    for obj in custom:
        errors = [f"{'.'.join(map(str, e.path))}: {e.message}"
                  for e in VALIDATORS[(obj["apiVersion"], obj["kind"])].iter_errors(obj)]
        assert not errors, f"{obj['kind']}/{obj['metadata']['name']}: {errors}"


def test_the_crd_check_rejects_a_misspelt_field(rendered):
    cluster = copy.deepcopy(of_kind(rendered, "RabbitmqCluster")[0])
    cluster["spec"]["persistance"] = cluster["spec"].pop("persistence")
    assert list(VALIDATORS[("rabbitmq.com/v1beta1", "RabbitmqCluster")].iter_errors(cluster))


def test_the_crd_check_rejects_a_placeholder_where_the_realm_wants_a_boolean(rendered):
    """The operator's schema types the realm: `${...}` is a string, refused by the API server in a
    boolean field such as an identity provider's `enabled`."""
    realm_import = copy.deepcopy(of_kind(rendered, "KeycloakRealmImport")[0])
    realm_import["spec"]["realm"]["identityProviders"][0]["enabled"] = "${PORTAL_GOOGLE_LOGIN_ENABLED:false}"
    errors = list(VALIDATORS[("k8s.keycloak.org/v2alpha1", "KeycloakRealmImport")].iter_errors(realm_import))
    assert [list(e.path) for e in errors] == [["spec", "realm", "identityProviders", 0, "enabled"]]


def test_the_crd_check_rejects_a_permission_without_its_vhost(rendered):
    permission = copy.deepcopy(of_kind(rendered, "Permission")[0])
    del permission["spec"]["vhost"]
    assert list(VALIDATORS[("rabbitmq.com/v1beta1", "Permission")].iter_errors(permission))


def test_every_portal_process_has_its_broker_user_with_the_permissions_of_the_trust_table(rendered):
    """contracts/trust.py says who may say what; the cluster's users and permissions are those, and
    each Deployment connects as its own user, never as the operator's default user."""
    users = {u["metadata"]["name"]: u for u in of_kind(rendered, "User")}
    permissions = {p["spec"]["userReference"]["name"]: p for p in of_kind(rendered, "Permission")}
    for user in trust.users():
        name = f"portal-broker-{user}"
        # The imported Secret holds `username: <user>`, the name consumers check in user_id.
        assert users[name]["spec"]["importCredentialsSecret"]["name"] == name
        assert permissions[name]["spec"]["permissions"] == trust.permissions(user), user
        assert permissions[name]["spec"]["vhost"] == "/"
        deployment = next(d for d in of_kind(rendered, "Deployment") if d["metadata"]["name"] == f"portal-{user}")
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        for key in ("PORTAL_AMQP_USERNAME", "PORTAL_AMQP_PASSWORD"):
            assert env[key]["valueFrom"]["secretKeyRef"]["name"] == name, (user, key)
    assert set(users) == set(permissions) == {f"portal-broker-{u}" for u in trust.users()}


def test_every_object_has_a_schema(rendered):
    for obj in rendered:
        if (obj["apiVersion"], obj["kind"]) in VALIDATORS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            pytest.fail(f"no schema for {obj['apiVersion']} {obj['kind']} ({obj['metadata']['name']})")
        except kubernetes_validate.ValidationError:
            pass  # reported by the test above


def test_secrets_are_referenced_never_committed(rendered):
    assert not of_kind(rendered, "Secret")
