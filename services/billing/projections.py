"""Billing's read models, fed by events: statements (superseded ones kept), payments, tax
receipts, and the parent↔child links this service answers for.

``apply`` serves both the live consumer and ``rebuild-projections``; every write is
order-tolerant (``servicekit.projection``).
"""
from __future__ import annotations

from sqlalchemy.engine import Connection

from servicekit.children import Children
from servicekit.projection import by_type, row_of, upsert_latest

from .tables import access_log, links, payments, statements, tax_receipts

TABLES = [statements, payments, tax_receipts, links]

children = Children(links, access_log)


def apply(conn: Connection, events: list) -> None:
    groups = by_type(events)
    for event_type, table, key in (("StatementIssued", statements, ["statement_id"]),
                                   ("PaymentRecorded", payments, ["payment_id"]),
                                   ("TaxReceiptIssued", tax_receipts, ["receipt_id"])):
        upsert_latest(conn, table, (row_of(e, table) for e in groups.get(event_type, ())), key)
    children.apply(conn, groups)
    children.forget_students(conn, groups)

