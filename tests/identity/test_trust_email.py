"""No social provider vouches for an email (``trustEmail``): with Microsoft's multi-tenant
endpoint any tenant's administrator writes the ``mail`` claim, so a stranger could otherwise get
an account already "verified" for a guardian's address. A school email is proven by the portal's
own emailed code (``test_social_first_login_with_the_school_email_still_proves_it_by_code``).
Read from the files, locally and in the cluster; no servers."""
import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_no_identity_provider_of_the_realm_trusts_the_email_it_gives():
    realm = json.loads((REPO / "deploy" / "keycloak" / "portal-realm.json").read_text(encoding="utf-8"))
    providers = {p["alias"]: p["trustEmail"] for p in realm["identityProviders"]}
    assert providers and set(providers.values()) == {False}, providers
    cluster = yaml.safe_load((REPO / "deploy" / "k8s" / "base" / "keycloak" / "realm-import.yaml").read_text(
        encoding="utf-8"))["spec"]["realm"]
    assert {p["alias"]: p["trustEmail"] for p in cluster["identityProviders"]} == providers
