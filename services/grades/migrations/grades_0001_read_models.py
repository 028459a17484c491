"""Grades' read models, links and access log.

Revision ID: grades_0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "grades_0001"
down_revision = None
branch_labels = ("grades",)
depends_on = None


def upgrade():
    op.create_table(
        "bulletins",
        sa.Column("bulletin_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, nullable=False),
        sa.Column("school_id", sa.Text, nullable=False),
        sa.Column("school_year", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("term", sa.Integer),
        sa.Column("visible_from", sa.Date),
        sa.Column("subjects", JSONB, nullable=False),
        sa.Column("document_url", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("bulletins_student_year_idx", "bulletins", ["student_id", "school_year"])
    op.create_table(
        "assignments",
        sa.Column("result_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, nullable=False),
        sa.Column("school_id", sa.Text, nullable=False),
        sa.Column("school_year", sa.Text, nullable=False),
        sa.Column("subject_code", sa.Text, nullable=False),
        sa.Column("subject_name", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("out_of", sa.Integer, nullable=False),
        sa.Column("weight", sa.Integer),
        sa.Column("group_average", sa.Integer),
        sa.Column("comment", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("assignments_student_year_idx", "assignments", ["student_id", "school_year"])
    op.create_table(
        "homework",
        sa.Column("homework_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("school_id", sa.Text, nullable=False),
        sa.Column("subject_code", sa.Text, nullable=False),
        sa.Column("subject_name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("assigned_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ministry_results",
        sa.Column("result_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, nullable=False, index=True),
        sa.Column("school_id", sa.Text, nullable=False),
        sa.Column("school_year", sa.Text, nullable=False),
        sa.Column("exam_code", sa.Text, nullable=False),
        sa.Column("subject_name", sa.Text, nullable=False),
        sa.Column("grade", sa.Text, nullable=False),
        sa.Column("mark", sa.Integer, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("visible_from", sa.Date, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "school_settings",
        sa.Column("school_id", sa.Text, primary_key=True),
        sa.Column("show_group_averages", sa.Boolean, nullable=False),
        sa.Column("show_assignment_results", sa.Boolean, nullable=False),
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
    # Forgetting a closed account finds its rows by parent.
    op.create_index("access_log_parent_idx", "access_log", ["parent_id"])


def downgrade():
    for table in ("access_log", "links", "school_settings", "ministry_results", "homework", "assignments",
                  "bulletins"):
        op.drop_table(table)
