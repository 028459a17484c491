"""The billing service against the real RabbitMQ and PostgreSQL."""
import json
import uuid
from datetime import timedelta

import pytest
from kombu import Connection, Exchange
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text

from contracts import Envelope
from services.billing.domain import school_today
from services.billing.service import BillingService
from servicekit import deadletters
from servicekit.errors import DomainError, NotFound
from tests.support import eventually, linked_child, publish, school_event

pytestmark = pytest.mark.school_clock

SCHOOL = "css-test.ecole-b"
ACCOUNT = "css-test.fam-1"


def statement_event(student_id, issued_days_ago=30, paid=0, lines=(8550, 4000), kind="school", period="2026-2027",
                    **changes):
    issued = school_today() - timedelta(days=issued_days_ago)
    total = sum(lines)
    data = {"statement_id": f"edc-{uuid.uuid4().hex[:10]}", "account_id": ACCOUNT, "student_id": student_id,
            "school_id": SCHOOL, "kind": kind, "period": period, "issued_on": issued,
            "due_date": issued + timedelta(days=30),
            "lines": [{"description": f"Ligne {i}", "amount_cents": amount} for i, amount in enumerate(lines)],
            "total_cents": total, "paid_cents": paid, "balance_cents": total - paid,
            "payment_reference": "2093100412", **changes}
    return school_event("StatementIssued", data, student_id)


def payment_event(statement, amount, days_ago=1, **changes):
    d = statement.data
    data = {"payment_id": f"pai-{uuid.uuid4().hex[:10]}", "account_id": d["account_id"],
            "statement_id": d["statement_id"], "student_id": d["student_id"], "amount_cents": amount,
            "paid_on": school_today() - timedelta(days=days_ago), **changes}
    return school_event("PaymentRecorded", data, d["student_id"])


def receipt_event(student_id, year, form="RL-24", amount=183500, **changes):
    return school_event("TaxReceiptIssued", {
        "receipt_id": f"rl-{uuid.uuid4().hex[:10]}", "account_id": ACCOUNT, "student_id": student_id, "year": year,
        "form": form, "recipient_name": "Julie Gagnon", "amount_cents": amount,
        "issued_on": f"{year + 1}-02-20", **changes}, student_id)


@pytest.fixture
def billing(start_service):
    return start_service(BillingService)


def new_child(amqp_url, rpc, parent):
    return linked_child(amqp_url, rpc.billing.statements, SCHOOL, parent)[1]


@pytest.fixture
def family(amqp_url, billing, rpc):
    return linked_child(amqp_url, rpc.billing.statements, SCHOOL)


def statements_when(rpc, parent, child, check):
    def answer():
        got = rpc.billing.statements(parent, child)
        return got if check(got) else None
    return eventually(answer)


def test_a_later_statement_supersedes_the_earlier_one_in_any_order_of_arrival(rpc, amqp_url, family):
    parent, child = family
    first = statement_event(child, issued_days_ago=60)
    updated = statement_event(child, issued_days_ago=10, paid=4000)
    daycare = statement_event(child, kind="daycare", period="2026-10", lines=(30000,))
    publish([updated], amqp_url)
    publish([first, daycare], amqp_url)
    answer = statements_when(rpc, parent, child, lambda r: len(r["statements"]) == 2)
    school, care = answer["statements"]
    assert (school["statement_id"], school["supersedes"]) == (updated.data["statement_id"],
                                                              [first.data["statement_id"]])
    assert school["balance_cents"] == 8550 and school["lines"][0] == {"description": "Ligne 0", "amount_cents": 8550}
    assert school["payment_reference"] == "2093100412"
    assert care["statement_id"] == daycare.data["statement_id"] and care["balance_cents"] == 30000
    assert answer["balance_cents"] == 38550


def test_a_published_payment_shows_at_once_and_an_updated_statement_takes_over(rpc, amqp_url, family):
    parent, child = family
    issued = statement_event(child, issued_days_ago=20)
    publish([issued], amqp_url)
    statements_when(rpc, parent, child, lambda r: r["statements"])
    paid = payment_event(issued, 4000, days_ago=5)
    publish([paid], amqp_url)
    after = statements_when(rpc, parent, child, lambda r: r["statements"][0]["payments"])
    assert after["statements"][0]["payments"][0]["payment_id"] == paid.data["payment_id"]
    assert after["balance_cents"] == 12550 - 4000
    reissued = statement_event(child, issued_days_ago=2, paid=4000)
    publish([reissued], amqp_url)
    final = statements_when(rpc, parent, child,
                            lambda r: r["statements"][0]["statement_id"] == reissued.data["statement_id"])
    # The new statement counts the payment itself: it is not taken off twice.
    assert final["balance_cents"] == 8550 and final["statements"][0]["payments"][0]["amount_cents"] == 4000


def test_a_statement_is_invisible_before_its_visible_from_date(rpc, amqp_url, family):
    parent, child = family
    shown = statement_event(child, issued_days_ago=30)
    hidden = statement_event(child, issued_days_ago=1, paid=12550, visible_from=school_today() + timedelta(days=1))
    marker = statement_event(child, kind="sports", lines=(5000,))
    publish([shown, hidden, marker], amqp_url)
    answer = statements_when(rpc, parent, child, lambda r: len(r["statements"]) == 2)
    assert [s["statement_id"] for s in answer["statements"]] == [shown.data["statement_id"],
                                                                 marker.data["statement_id"]]
    assert hidden.data["statement_id"] not in json.dumps(rpc.billing.export(parent))


def test_the_family_balance_adds_every_linked_child(rpc, amqp_url, family):
    parent, first = family
    second = new_child(amqp_url, rpc, parent)
    stranger_child = f"css-test.{uuid.uuid4().hex[:8]}"
    publish([statement_event(first, lines=(10000,)), statement_event(second, lines=(2500, -500)),
             statement_event(stranger_child, lines=(99999,))], amqp_url)
    balance = eventually(lambda: (lambda b: b if b["balance_cents"] == 12000 else None)(
        rpc.billing.family_balance(parent)))
    assert sorted(c["balance_cents"] for c in balance["children"]) == [2000, 10000]


def test_tax_receipts_by_year(rpc, amqp_url, family):
    parent, child = family
    older, newer = receipt_event(child, 2024), receipt_event(child, 2025, form="federal")
    publish([older, newer], amqp_url)
    every = eventually(lambda: (lambda r: r if len(r["receipts"]) == 2 else None)(rpc.billing.tax_receipts(parent)))
    assert [r["year"] for r in every["receipts"]] == [2025, 2024]
    assert rpc.billing.tax_receipts(parent, child, year=2024)["receipts"][0]["receipt_id"] == older.data["receipt_id"]
    assert rpc.billing.tax_receipts(parent, year="2025")["receipts"][0]["amount_cents"] == 183500
    with pytest.raises(DomainError) as refused:
        rpc.billing.tax_receipts(parent, year="l'an dernier")
    assert (refused.value.code, refused.value.field) == ("invalid_number", "year")


def test_one_tax_receipt_is_its_own_childs_only_and_the_school_systems_address_stays_in(rpc, amqp_url, family):
    parent, child = family
    sister = new_child(amqp_url, rpc, parent)
    address = {"document_url": "https://sis.example.org/releves/rl24.pdf"}
    own, hers = receipt_event(child, 2025, **address), receipt_event(sister, 2025, **address)
    publish([own, hers, statement_event(child, **address)], amqp_url)
    eventually(lambda: len(rpc.billing.tax_receipts(parent)["receipts"]) == 2)
    one = rpc.billing.tax_receipt(parent, child, own.data["receipt_id"])
    assert (one["receipt_id"], one["amount_cents"], one["form"]) == (own.data["receipt_id"], 183500, "RL-24")
    with pytest.raises(NotFound) as refused:
        rpc.billing.tax_receipt(parent, child, hers.data["receipt_id"])
    assert (refused.value.code, refused.value.field) == ("tax_receipt_not_found", "receipt_id")
    with pytest.raises(NotFound) as refused:
        rpc.billing.tax_receipt(str(uuid.uuid4()), child, own.data["receipt_id"])
    assert refused.value.code == "child_not_found"
    statements = statements_when(rpc, parent, child, lambda s: s["statements"])
    for answer in (one, rpc.billing.tax_receipts(parent), statements, rpc.billing.export(parent)):
        assert "sis.example.org" not in json.dumps(answer)


def test_a_child_not_linked_is_answered_like_a_child_that_does_not_exist(rpc, amqp_url, family):
    parent, child = family
    stranger = str(uuid.uuid4())
    for call in (lambda: rpc.billing.statements(stranger, child), lambda: rpc.billing.statements(parent, "x.nobody"),
                 lambda: rpc.billing.tax_receipts(stranger, child)):
        with pytest.raises(NotFound) as refused:
            call()
        assert refused.value.code == "child_not_found"
    assert rpc.billing.family_balance(stranger) == {"balance_cents": 0, "children": []}


def test_every_read_is_in_the_access_log_and_a_closed_account_is_forgotten(rpc, amqp_url, family, database_url):
    parent, child = family
    rpc.billing.family_balance(parent)
    rpc.billing.tax_receipts(parent)
    with pytest.raises(NotFound):
        rpc.billing.tax_receipt(parent, child, "rl-unknown")
    engine = create_engine(database_url("billing"))

    def logged():
        with engine.connect() as conn:
            return [r.what for r in conn.execute(
                text("SELECT what FROM access_log WHERE parent_id = :p AND student_id = :s ORDER BY id"),
                {"p": parent, "s": child})]

    # A receipt asked for is a read of the child's data, found or not.
    assert logged()[-3:] == ["family_balance", "tax_receipts", "tax_receipt"]
    publish([Envelope.new("ParentAccountClosed", "identity", parent, {"parent_id": parent}, correlation_id="c")],
            amqp_url)

    def links_left():
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM links WHERE parent_id = :p"), {"p": parent}).scalar()

    eventually(lambda: links_left() == 0 and logged() == [])
    engine.dispose()


def dead_lettered(kind: str) -> float:
    """This process's count of billing's dead letters of one kind (what /metrics exports)."""
    return REGISTRY.get_sample_value("portal_billing_dead_letters_total", {"source": "sis", "reason": kind}) or 0


def raw_publish(amqp_url, envelopes: list[dict]):
    """Publish bodies the contracts' publisher would refuse, as a faulty school system might."""
    with Connection(amqp_url) as connection:
        producer = connection.Producer()
        exchange = Exchange("sis.events", "topic", durable=True)
        for body in envelopes:
            producer.publish(json.dumps(body), exchange=exchange, routing_key=body["type"],
                             content_type="application/json", message_id=body["id"], declare=[exchange])


def test_bad_amounts_and_contradicting_payments_are_dead_lettered_and_never_half_applied(
        rpc, amqp_url, family, database_url):
    parent, child = family
    issued = statement_event(child)
    publish([issued], amqp_url)
    statements_when(rpc, parent, child, lambda r: r["statements"])
    negative = payment_event(issued, 100).to_dict()
    negative["data"]["amount_cents"] = -100
    fractional = statement_event(child).to_dict()
    fractional["data"]["lines"][0]["amount_cents"] = 85.5
    as_text = payment_event(issued, 100).to_dict()
    as_text["data"]["amount_cents"] = "100"
    counted = {kind: dead_lettered(kind) for kind in ("invalid", "unprocessable")}
    raw_publish(amqp_url, [negative, fractional, as_text])
    foreign = payment_event(issued, 700, account_id="css-test.fam-other")
    good = payment_event(issued, 300)
    publish([foreign, good], amqp_url)
    answer = statements_when(rpc, parent, child, lambda r: r["statements"][0]["payments"])
    assert [p["payment_id"] for p in answer["statements"][0]["payments"]] == [good.data["payment_id"]]
    wanted = {negative["id"]: "data.amount_cents", fractional["id"]: "amount_cents", as_text["id"]: "data.amount_cents",
              foreign.id: "payment_account_mismatch"}

    def letters():
        found = {l["event_id"]: l for l in deadletters.peek(amqp_url, "billing") if l["event_id"] in wanted}
        return found if len(found) == len(wanted) else None

    found = eventually(letters, timeout=20)
    for event_id, reason in wanted.items():
        assert reason in found[event_id]["reason"], found[event_id]
    assert {kind: dead_lettered(kind) - before for kind, before in counted.items()} == {
        "invalid": 3, "unprocessable": 1}
    engine = create_engine(database_url("billing"))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM events WHERE event_id = ANY(:ids)"),
                              {"ids": list(wanted)}).scalar()
        applied = conn.execute(text("SELECT count(*) FROM payments WHERE student_id = :s"), {"s": child}).scalar()
    engine.dispose()
    assert (stored, applied) == (0, 1)
