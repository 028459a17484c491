"""Billing's read models, the links it answers for, and its access log. Amounts are integer cents
(BIGINT), never floats."""
from sqlalchemy import BigInteger, Column, Date, Index, Integer, MetaData, Text
from sqlalchemy.dialects.postgresql import JSONB

from servicekit.children import link_tables
from servicekit.columns import key, optional, read_model, required

metadata = MetaData()

# Every statement the school issued, superseded ones included: which one is current is decided
# when answering (the latest visible one of its account, student, kind and period), so that the
# order in which statements arrive does not matter.
statements = read_model(
    "statements", metadata, *key("statement_id"), *required(account_id=Text),
    Column("student_id", Text, nullable=False, index=True),
    *required(school_id=Text, kind=Text, period=Text, issued_on=Date, due_date=Date, lines=JSONB,
              total_cents=BigInteger, paid_cents=BigInteger, balance_cents=BigInteger, payment_reference=Text),
    *optional(visible_from=Date, document_url=Text),
)

payments = read_model(
    "payments", metadata, *key("payment_id"), *required(account_id=Text, statement_id=Text),
    Column("student_id", Text, nullable=False, index=True),
    *required(amount_cents=BigInteger, paid_on=Date),
)

tax_receipts = read_model(
    "tax_receipts", metadata, *key("receipt_id"),
    *required(account_id=Text, student_id=Text, year=Integer, form=Text, recipient_name=Text,
              amount_cents=BigInteger, issued_on=Date),
    *optional(document_url=Text),
    Index("tax_receipts_student_year_idx", "student_id", "year"),
)

links, access_log = link_tables(metadata)
