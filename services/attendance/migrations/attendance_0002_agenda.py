"""A child's agenda (timetable, detentions) and the documents parents attach to a justification.

Revision ID: attendance_0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "attendance_0002"
down_revision = "attendance_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "timetables",
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("school_year", sa.Text, primary_key=True),
        sa.Column("cycle_length", sa.Integer),
        sa.Column("entries", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "detentions",
        sa.Column("detention_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("start", sa.Time, nullable=False),
        sa.Column("end", sa.Time, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("location", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("detentions_student_date_idx", "detentions", ["student_id", "date"])
    op.create_table(
        "documents",
        sa.Column("document_ref", sa.Text, primary_key=True),
        sa.Column("absence_id", sa.Text, nullable=False),
        sa.Column("student_id", sa.Text, nullable=False),
        sa.Column("parent_id", sa.Text, nullable=False, index=True),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade():
    for table in ("documents", "detentions", "timetables"):
        op.drop_table(table)
