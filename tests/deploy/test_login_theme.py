"""The cluster's Keycloak shows the portal's login theme, as the local one does."""
import base64

from tests.deploy.conftest import K8S, REPO, of_kind
from tests.deploy.test_generated import generator

KEYCLOAK = K8S / "base" / "keycloak"
THEME = REPO / "deploy" / "keycloak" / "themes" / "portail"


def test_the_theme_manifests_are_generated_from_the_theme():
    theme = generator(KEYCLOAK, "generate_login_theme")
    for name, text in theme.render().items():
        assert (KEYCLOAK / name).read_text(encoding="utf-8") == text, f"run generate_login_theme.py ({name} is stale)"


def test_keycloak_mounts_every_file_of_the_theme_the_realm_names(rendered):
    (keycloak,) = of_kind(rendered, "Keycloak")
    pod = keycloak["spec"]["unsupported"]["podTemplate"]["spec"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "login-theme"]
    assert mount["mountPath"] == f"/opt/keycloak/themes/{THEME.name}"
    (volume,) = [v for v in pod["volumes"] if v["name"] == "login-theme"]
    config_maps = {c["metadata"]["name"]: c for c in of_kind(rendered, "ConfigMap")}
    theme = config_maps[volume["configMap"]["name"]]
    files = {k: v.encode() for k, v in theme.get("data", {}).items()}
    files |= {k: base64.b64decode(v) for k, v in theme.get("binaryData", {}).items()}
    mounted = {item["path"]: files[item["key"]] for item in volume["configMap"]["items"]}
    assert mounted == {p.relative_to(THEME).as_posix(): p.read_bytes() for p in THEME.rglob("*") if p.is_file()}

    # The theme's links lead to the portal's address of this environment.
    (env,) = [e for e in pod["containers"][0]["env"] if e["name"] == "PORTAL_PUBLIC_URL"]
    ref = env["valueFrom"]["configMapKeyRef"]
    assert config_maps[ref["name"]]["data"][ref["key"]].startswith("https://")

    (realm,) = of_kind(rendered, "KeycloakRealmImport")
    assert realm["spec"]["realm"]["loginTheme"] == THEME.name
