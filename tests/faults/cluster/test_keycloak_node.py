"""Cluster fault 3: one of the two Keycloak nodes killed (``kill -9``) while 50 parents log in
through the balancer: the other node logs in the rest, and the sessions opened before the kill,
kept by both nodes' shared caches, are still there (their refresh tokens still work)."""
import uuid

import pytest
from keycloak.exceptions import KeycloakError

from tests.faults.support import report
from tests.gateway.stack import PASSWORD, KeycloakRealm

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1500)]

PARENTS = 50


def test_a_keycloak_node_killed_during_logins_the_other_logs_parents_in(cluster):
    realm = KeycloakRealm(f"cluster-{uuid.uuid4().hex[:8]}", cluster.env["PORTAL_GATEWAY_URL"],
                          url=cluster.env["PORTAL_KEYCLOAK_URL"])
    try:
        emails = [f"p{n}-{uuid.uuid4().hex[:6]}@example.org" for n in range(PARENTS)]
        for email in emails:
            realm.add_parent(email)
        killed_at = PARENTS // 2
        sessions, refused = {}, {}
        for n, email in enumerate(emails):
            if n == killed_at:
                cluster.kill9_group("keycloak-1")
            try:
                sessions[email] = realm.oidc.token(email, PASSWORD)
            except KeycloakError as error:
                refused[email] = f"{error.response_code} {str(error)[:120]}"
        refreshed, lost = 0, []
        for email in emails[:killed_at]:
            try:
                realm.oidc.refresh_token(sessions[email]["refresh_token"])
                refreshed += 1
            except (KeycloakError, KeyError) as error:
                lost.append(f"{email}: {str(error)[:120]}")
        report("kill -9 of one of the two Keycloak nodes during 50 logins",
               logins=PARENTS, killed_before_login=killed_at + 1, logged_in=len(sessions),
               refused=list(refused.values())[:5], sessions_before_the_kill=killed_at,
               refreshed_after_the_kill=refreshed, sessions_lost=lost[:5])
        assert not refused
        assert refreshed == killed_at, "a session opened before the kill was lost"
    finally:
        cluster.heal()
        realm.delete()
