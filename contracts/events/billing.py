"""Statements of account, payments and tax receipts (billing owns them)."""
from marshmallow import validates_schema

from .. import fields as f
from .. import rules
from ..registry import EventSchema, Part, event

STUDENT = "css-trois-lacs.1234567"


class StatementLine(Part):
    description = f.Text(200)
    amount_cents = f.Cents(minimum=-10_000_000, metadata={
        "description": "integer cents; negative for a credit or a discount"})


@event("sis", subject="student_id", consumers=("billing", "notices"), example={
    "statement_id": "edc-2026-00412", "account_id": "css-trois-lacs.fam-20931",
    "student_id": STUDENT, "school_id": "css-trois-lacs.ecole-du-ruisseau", "kind": "school",
    "period": "2026-2027", "issued_on": "2026-09-15", "due_date": "2026-10-15",
    "lines": [{"description": "Matériel didactique", "amount_cents": 8550},
              {"description": "Sorties éducatives", "amount_cents": 4000}],
    "total_cents": 12550, "paid_cents": 4000, "balance_cents": 8550,
    "payment_reference": "2093100412", "visible_from": None,
    "document_url": None})
class StatementIssued(EventSchema):
    """A statement of account (school fees, sports programme, daycare). A payment shows to parents
    only once the school issues an updated statement: the latest statement is the truth."""
    statement_id = f.Id()
    account_id = f.Id(metadata={"description": "the paying family's account"})
    student_id = f.Id()
    school_id = f.Id()
    kind = f.Choice("school", "sports", "daycare")
    period = f.Text(50, metadata={"description": "e.g. 2026-2027 or 2026-10"})
    issued_on = f.Date()
    due_date = f.Date()
    lines = f.NestedList(StatementLine, min_items=1, max_items=200)
    total_cents = f.Cents(minimum=-10_000_000)
    paid_cents = f.Cents()
    balance_cents = f.Cents(minimum=-10_000_000)
    payment_reference = f.Text(40, metadata={"description": "what the parent gives the bank"})
    visible_from = f.Date(required=False)
    document_url = f.Url(required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.not_before(data, "due_date", "issued_on")
        rules.equals(data, "total_cents", sum(line["amount_cents"] for line in data["lines"]),
                     "the sum of the lines")
        rules.equals(data, "balance_cents", data["total_cents"] - data["paid_cents"],
                     "total_cents - paid_cents")


@event("sis", subject="student_id", consumers=("billing",), example={
    "payment_id": "pai-771203", "account_id": "css-trois-lacs.fam-20931",
    "statement_id": "edc-2026-00412", "student_id": STUDENT, "amount_cents": 4000,
    "paid_on": "2026-09-22"})
class PaymentRecorded(EventSchema):
    """The school recorded a payment against a statement. `student_id` (the statement's student)
    keeps the payment in the same stream, and so in order, with its statement."""
    payment_id = f.Id()
    account_id = f.Id()
    statement_id = f.Id()
    student_id = f.Id()
    amount_cents = f.Cents(minimum=1)
    paid_on = f.Date()


@event("sis", subject="student_id", consumers=("billing",), example={
    "receipt_id": "rl24-2026-00087", "account_id": "css-trois-lacs.fam-20931",
    "student_id": STUDENT, "year": 2026, "form": "RL-24", "recipient_name": "Julie Gagnon",
    "amount_cents": 183500, "issued_on": "2027-02-20",
    "document_url": "https://sis.trois-lacs.example.org/releves/rl24-2026-00087.pdf"})
class TaxReceiptIssued(EventSchema):
    """A tax receipt for daycare fees: Québec's RL-24 or the federal receipt."""
    receipt_id = f.Id()
    account_id = f.Id()
    student_id = f.Id()
    year = f.Count(2000, 2100)
    form = f.Choice("RL-24", "federal")
    recipient_name = f.Personal("child", f.Text(150))
    amount_cents = f.Cents()
    issued_on = f.Date()
    document_url = f.Url(required=False)
