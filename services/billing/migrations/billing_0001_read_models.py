"""Billing's read models, links and access log.

Revision ID: billing_0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "billing_0001"
down_revision = None
branch_labels = ("billing",)
depends_on = None


def upgrade():
    op.create_table(
        "statements",
        sa.Column("statement_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("student_id", sa.Text, nullable=False, index=True),
        sa.Column("school_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("period", sa.Text, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        sa.Column("total_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False),
        sa.Column("balance_cents", sa.BigInteger, nullable=False),
        sa.Column("payment_reference", sa.Text, nullable=False),
        sa.Column("visible_from", sa.Date),
        sa.Column("document_url", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("statement_id", sa.Text, nullable=False),
        sa.Column("student_id", sa.Text, nullable=False, index=True),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "tax_receipts",
        sa.Column("receipt_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("student_id", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("form", sa.Text, nullable=False),
        sa.Column("recipient_name", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("document_url", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("tax_receipts_student_year_idx", "tax_receipts", ["student_id", "year"])
    op.create_table(
        "links",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("school_id", sa.Text),
        sa.Column("linked", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("parent_id", sa.Text, nullable=False),
        sa.Column("student_id", sa.Text, nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("access_log_student_idx", "access_log", ["student_id", "at"])
    op.create_index("access_log_parent_idx", "access_log", ["parent_id"])


def downgrade():
    for table in ("access_log", "links", "tax_receipts", "payments", "statements"):
        op.drop_table(table)
