"""Cluster fault 4: one gateway killed (``kill -9``) while parents' requests arrive through the
balancer: the balancer sends each, the one in flight included, to the other gateway."""
import pytest

from tests.faults.support import report
from tests.gateway.stack import request

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1500)]

REQUESTS = 300


def test_a_gateway_killed_the_other_answers(cluster):
    portal = cluster.env["PORTAL_GATEWAY_URL"]
    statuses, killed_at = [], REQUESTS // 3
    try:
        for n in range(REQUESTS):
            if n == killed_at:
                cluster.kill9_group("gateway-a")
            # The balancer sends only to a gateway whose /readyz (on its ops port) says ready.
            statuses.append(request(portal, "GET", "/api/v1/config")[0])
        document = request(portal, "GET", "/api/v1/openapi.json")[0]
        report("kill -9 of one of the two gateways behind HAProxy",
               requests=REQUESTS, killed_before_request=killed_at,
               answered_200_before=statuses[:killed_at].count(200), answered_200_after=statuses[killed_at:].count(200),
               other_answers=sorted({s for s in statuses if s != 200}), api_document_after=document)
        assert statuses == [200] * REQUESTS
        assert document == 200
    finally:
        cluster.heal()
