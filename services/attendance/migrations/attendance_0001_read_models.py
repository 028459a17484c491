"""Attendance's read models and access log.

Revision ID: attendance_0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "attendance_0001"
down_revision = None
branch_labels = ("attendance",)
depends_on = None


def upgrade():
    op.create_table(
        "absences",
        sa.Column("absence_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, nullable=False),
        sa.Column("school_id", sa.Text),
        sa.Column("date", sa.Date),
        sa.Column("kind", sa.Text),
        sa.Column("period", sa.Text),
        sa.Column("start_time", sa.Time),
        sa.Column("end_time", sa.Time),
        sa.Column("minutes_late", sa.Integer),
        sa.Column("reason_code", sa.Text),
        sa.Column("requires_justification", sa.Boolean),
        sa.Column("cancelled", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("justified_at", sa.DateTime(timezone=True)),
        sa.Column("justification_reason", sa.Text),
        sa.Column("justified_by", sa.Text),
    )
    op.create_index("absences_student_date_idx", "absences", ["student_id", "date"])
    op.create_table(
        "declarations",
        sa.Column("declaration_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, nullable=False, index=True),
        sa.Column("parent_id", sa.Text, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("time", sa.Time),
        sa.Column("reason_code", sa.Text, nullable=False),
        sa.Column("explanation", sa.Text),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "calendars",
        sa.Column("school_id", sa.Text, primary_key=True),
        sa.Column("school_year", sa.Text, primary_key=True),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("days_off", JSONB, nullable=False),
        sa.Column("day_start", sa.Time, nullable=False),
        sa.Column("day_end", sa.Time, nullable=False),
        sa.Column("reasons", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
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


def downgrade():
    for table in ("access_log", "links", "calendars", "declarations", "absences"):
        op.drop_table(table)
