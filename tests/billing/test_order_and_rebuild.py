"""Two billing consumers on one queue, statements reissued and delivered out of order; then a
rebuild of the read models from the store answers the same."""
import random
import uuid

from sqlalchemy import create_engine, text

from services.billing.service import BillingService
from servicekit.cli import rebuild_projections
from servicekit.errors import NotFound
from tests.billing.test_billing_service import SCHOOL, payment_event, statement_event
from tests.support import eventually, link_event, publish


def test_two_consumers_and_reordered_statements_end_with_the_latest_and_a_rebuild_agrees(
        start_service, amqp_url, database_url, rpc):
    start_service(BillingService), start_service(BillingService)
    parent, child = str(uuid.uuid4()), f"css-test.{uuid.uuid4().hex[:8]}"
    # Thirty reissues of one statement, one day apart, then each one's payment; shuffled.
    reissues = [statement_event(child, issued_days_ago=60 - n, paid=100 * n, lines=(10_000,)) for n in range(30)]
    paid = [payment_event(reissues[0], 100, days_ago=60 - n) for n in range(1, 30)]
    shuffled = reissues + paid
    random.Random(7).shuffle(shuffled)
    publish(shuffled[:40] + [link_event("ChildLinked", parent, child, SCHOOL)], amqp_url)
    publish(shuffled[40:] + shuffled[:10], amqp_url)  # and a redelivery of some

    def settled():
        try:
            answer = rpc.billing.statements(parent, child)
        except NotFound:  # the link is not applied yet
            return None
        statement = answer["statements"][0] if answer["statements"] else None
        return answer if statement and len(statement["payments"]) == 29 and len(statement["supersedes"]) == 29 \
            else None

    answer = eventually(settled, timeout=30)
    # The newest statement already counts every payment (all made up to its issue date): none twice.
    assert answer["statements"][0]["statement_id"] == reissues[-1].data["statement_id"]
    assert answer["statements"][0]["paid_cents"] == 2900 and answer["balance_cents"] == 10_000 - 2900

    result = rebuild_projections("billing", database_url("billing"))
    assert result["events"] >= len(shuffled) + 1
    assert rpc.billing.statements(parent, child) == answer
    engine = create_engine(database_url("billing"))
    with engine.connect() as conn:
        logged = conn.execute(text("SELECT count(*) FROM access_log WHERE parent_id = :p"), {"p": parent}).scalar()
    engine.dispose()
    assert logged >= 2  # the access log is not a read model: a rebuild keeps it
