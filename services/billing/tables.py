"""Billing's read models, the links it answers for, and its access log. Amounts are integer cents
(BIGINT), never floats."""
from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from servicekit.children import link_tables

metadata = MetaData()

# Every statement the school issued, superseded ones included: which one is current is decided
# when answering (the latest visible one of its account, student, kind and period), so that the
# order in which statements arrive does not matter.
statements = Table(
    "statements", metadata,
    Column("statement_id", Text, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("student_id", Text, nullable=False, index=True),
    Column("school_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("balance_cents", BigInteger, nullable=False),
    Column("payment_reference", Text, nullable=False),
    Column("visible_from", Date),
    Column("document_url", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

payments = Table(
    "payments", metadata,
    Column("payment_id", Text, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("statement_id", Text, nullable=False),
    Column("student_id", Text, nullable=False, index=True),
    Column("amount_cents", BigInteger, nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

tax_receipts = Table(
    "tax_receipts", metadata,
    Column("receipt_id", Text, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("student_id", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("form", Text, nullable=False),
    Column("recipient_name", Text, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("document_url", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("tax_receipts_student_year_idx", "student_id", "year"),
)

links, access_log = link_tables(metadata)
