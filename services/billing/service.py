"""The billing service: a child's statements of account (school, sports programme, daycare) with
their lines, payments and balance, the family's balance, and daycare tax receipts.

Entrypoints first; the rules are in ``domain``, the read models in ``projections``. Amounts are
integer cents everywhere, in the events, the tables and the answers.
"""
from __future__ import annotations

from sqlalchemy import select

from servicekit import errors, store
from servicekit.children import ParentSchema
from servicekit.consumer import event_streams
from servicekit.privacy import Privacy
from servicekit.projection import take_in
from servicekit.rpc import rpc
from servicekit.service import Service

from . import domain, projections
from .projections import children
from .schemas import ReceiptSchema, ReceiptsSchema
from .tables import payments, statements, tax_receipts


class BillingService(Service, Privacy):
    name = "billing"

    # -- events ---------------------------------------------------------------------------------

    @event_streams(name)
    def take_in(self, events):
        """Admit and apply a batch, then hold each payment to its statement (``servicekit.
        projection.take_in``: one that contradicts it is dead-lettered with the reason)."""
        return take_in(self.db, events, projections.apply, _check_payments)

    # -- queries --------------------------------------------------------------------------------

    @rpc
    def statements(self, parent_id, student_id):
        """The child's current statements (school, sports, daycare; newest period first), each
        with its lines, the payments the school published, its balance and the payment reference
        to give the bank, and the total balance. Superseded statements are named, not listed."""
        with self.db.begin() as conn:
            children.school_of(conn, parent_id, student_id, "statements")
            return self._statements_of(conn, student_id)

    @rpc
    def family_balance(self, parent_id):
        """The balance of every linked child's current statements, per child and in total."""
        errors.load(ParentSchema(), {"parent_id": parent_id})
        with self.db.begin() as conn:
            linked = children.of_parent(conn, parent_id)
            children.log(conn, parent_id, linked, "family_balance")
            per_child = [{"student_id": s, "balance_cents": self._statements_of(conn, s)["balance_cents"]}
                         for s in linked]
        return {"balance_cents": sum(c["balance_cents"] for c in per_child), "children": per_child}

    @rpc
    def tax_receipts(self, parent_id, student_id=None, year=None):
        """Daycare tax receipts (RL-24 and federal), newest year first: of one child when
        ``student_id`` is given, else of every linked child; of one ``year`` when given."""
        request = errors.load(ReceiptsSchema(), {"parent_id": parent_id, "student_id": student_id, "year": year})
        with self.db.begin() as conn:
            if request["student_id"] is None:
                wanted = list(children.of_parent(conn, parent_id))
                children.log(conn, parent_id, wanted, "tax_receipts")
            else:
                children.school_of(conn, parent_id, student_id, "tax_receipts")
                wanted = [student_id]
            return {"receipts": self._receipts(conn, wanted, request["year"])}

    @rpc
    def tax_receipt(self, parent_id, student_id, receipt_id):
        """One of the child's tax receipts; another child's is answered like one that does not
        exist."""
        errors.load(ReceiptSchema(), {"parent_id": parent_id, "student_id": student_id, "receipt_id": receipt_id})
        with self.db.begin() as conn:
            children.school_of(conn, parent_id, student_id, "tax_receipt")
            row = conn.execute(select(tax_receipts).where(
                tax_receipts.c.receipt_id == receipt_id, tax_receipts.c.student_id == student_id)).first()
        if row is None:
            raise errors.NotFound("tax_receipt_not_found", field="receipt_id")
        return _receipt(row)

    @rpc
    def export(self, parent_id):
        """Everything billing holds on the parent and their linked children (Law 25)."""
        errors.load(ParentSchema(), {"parent_id": parent_id})
        with self.db.begin() as conn:
            linked = list(children.of_parent(conn, parent_id))
            children.log(conn, parent_id, linked, "export")
            return {
                "service": "billing", "parent_id": parent_id, "links": children.links_of(conn, parent_id),
                "children": [{"student_id": s, **self._statements_of(conn, s),
                              "tax_receipts": self._receipts(conn, [s], None)} for s in linked],
                "access_log": children.accesses(conn, parent_id),
                "events": store.about_parent(conn, parent_id),
            }

    # -- helpers --------------------------------------------------------------------------------

    def _statements_of(self, conn, student_id: str) -> dict:
        rows = {r.statement_id: r
                for r in conn.execute(select(statements).where(statements.c.student_id == student_id))}
        paid = [_payment(r._mapping) for r in conn.execute(
            select(payments).where(payments.c.student_id == student_id).order_by(payments.c.paid_on))]
        listed = []
        for statement, superseded in domain.current([_statement(r) for r in rows.values()],
                                                    domain.school_today()).items():
            series = {statement.statement_id, *(s.statement_id for s in superseded)}
            own = [p for p in paid if p.statement_id in series]
            listed.append(_shown(rows[statement.statement_id], own, domain.balance_cents(statement, own), superseded))
        # School fees, then sports, then daycare; in each, the newest period first.
        listed.sort(key=lambda s: s["period"], reverse=True)
        listed.sort(key=lambda s: domain.KINDS.index(s["kind"]))
        return {"statements": listed, "balance_cents": sum(s["balance_cents"] for s in listed)}

    def _receipts(self, conn, student_ids: list[str], year: int | None) -> list[dict]:
        if not student_ids:
            return []
        query = select(tax_receipts).where(tax_receipts.c.student_id.in_(student_ids))
        if year is not None:
            query = query.where(tax_receipts.c.year == year)
        rows = conn.execute(query.order_by(tax_receipts.c.year.desc(), tax_receipts.c.student_id,
                                           tax_receipts.c.form)).all()
        return [_receipt(r) for r in rows]


def _check_payments(conn, fresh: list) -> None:
    """Against the statements as projected, the batch's own included (a payment may also come
    before its statement: it is then kept unchecked)."""
    paid = [e for e in fresh if e.type == "PaymentRecorded"]
    known = _statements(conn, statements.c.statement_id.in_({e.data["statement_id"] for e in paid}))
    for event in paid:
        domain.check_payment(_payment(event.data), known.get(event.data["statement_id"]))


def _statements(conn, condition) -> dict[str, domain.Statement]:
    return {r.statement_id: _statement(r) for r in conn.execute(select(statements).where(condition))}


def _statement(row) -> domain.Statement:
    return domain.Statement(row.statement_id, row.account_id, row.student_id, row.kind, row.period, row.issued_on,
                            row.updated_at, row.balance_cents, row.visible_from)


def _payment(data) -> domain.Payment:
    return domain.Payment(data["payment_id"], data["account_id"], data["statement_id"], data["student_id"],
                          data["amount_cents"], data["paid_on"])


# Neither here nor in _shown the school system's document address: the portal makes its own PDF
# behind its own link checks (decision 7).
def _receipt(row) -> dict:
    return {"receipt_id": row.receipt_id, "student_id": row.student_id, "account_id": row.account_id,
            "year": row.year, "form": row.form, "recipient_name": row.recipient_name,
            "amount_cents": row.amount_cents, "issued_on": row.issued_on.isoformat()}


def _shown(row, own: list[domain.Payment], balance: int, superseded: list[domain.Statement]) -> dict:
    return {
        "statement_id": row.statement_id, "account_id": row.account_id, "kind": row.kind, "period": row.period,
        "issued_on": row.issued_on.isoformat(), "due_date": row.due_date.isoformat(), "lines": row.lines,
        "total_cents": row.total_cents, "paid_cents": row.paid_cents, "balance_cents": balance,
        "payments": [{"payment_id": p.payment_id, "amount_cents": p.amount_cents, "paid_on": p.paid_on.isoformat()}
                     for p in own],
        "payment_reference": row.payment_reference, "supersedes": [s.statement_id for s in superseded],
    }

