"""Linking's read models, link attempts and access log.

Revision ID: linking_0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "linking_0001"
down_revision = None
branch_labels = ("linking",)
depends_on = None


def stamp():
    return sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)


def upgrade():
    op.create_table(
        "organisations",
        sa.Column("org_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("search_key", sa.Text, nullable=False),
        stamp(),
    )
    op.create_table(
        "schools",
        sa.Column("school_id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("address", JSONB, nullable=False),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("website", sa.Text),
        sa.Column("principal_name", sa.Text, nullable=False),
        sa.Column("contacts", JSONB, nullable=False),
        sa.Column("tiles", JSONB, nullable=False),
        stamp(),
    )
    op.create_table(
        "students",
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text),
        sa.Column("school_id", sa.Text),
        sa.Column("student_number", sa.Text),
        sa.Column("permanent_code", sa.Text),
        sa.Column("last_name", sa.Text),
        sa.Column("first_name", sa.Text),
        sa.Column("birth_date", sa.Date),
        sa.Column("grade", sa.Text),
        sa.Column("group", sa.Text),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        stamp(),
    )
    op.create_index("students_org_number_idx", "students", ["org_id", "student_number"])
    op.create_index("students_org_code_idx", "students", ["org_id", "permanent_code"])
    op.create_index("students_org_birth_idx", "students", ["org_id", "birth_date"])
    op.create_table(
        "guardians",
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("guardian_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("principal", sa.Boolean),
        sa.Column("access", sa.Boolean),
        sa.Column("removed", sa.Boolean, nullable=False),
        stamp(),
    )
    op.create_index("guardians_email_idx", "guardians", ["email"])
    op.create_table(
        "pins",
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("guardian_id", sa.Text, primary_key=True),
        sa.Column("pin_hash", sa.Text, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        stamp(),
    )
    op.create_table(
        "courses",
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("school_year", sa.Text, primary_key=True),
        sa.Column("courses", JSONB, nullable=False),
        stamp(),
    )
    op.create_table(
        "transport",
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("route", sa.Text, nullable=False),
        sa.Column("stop", sa.Text, nullable=False),
        sa.Column("morning_pickup", sa.Time, nullable=False),
        sa.Column("afternoon_dropoff", sa.Time, nullable=False),
        stamp(),
    )
    op.create_table(
        "reenrollment_periods",
        sa.Column("org_id", sa.Text, primary_key=True),
        sa.Column("school_year", sa.Text, primary_key=True),
        sa.Column("opens_on", sa.Date, nullable=False),
        sa.Column("closes_on", sa.Date, nullable=False),
        stamp(),
    )
    op.create_table(
        "reenrollment_answers",
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("school_year", sa.Text, primary_key=True),
        sa.Column("parent_id", sa.Text),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "corrections",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, nullable=False),
        sa.Column("parent_id", sa.Text),
        sa.Column("field", sa.Text),
        sa.Column("requested_value", sa.Text),
        sa.Column("comment", sa.Text),
        sa.Column("requested_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("resolution_comment", sa.Text),
        stamp(),
    )
    op.create_index("corrections_parent_student_idx", "corrections", ["parent_id", "student_id"])
    op.create_table(
        "parents",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("email", sa.Text),
        sa.Column("closed", sa.Boolean, nullable=False),
        stamp(),
    )
    op.create_table(
        "links",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("school_id", sa.Text),
        sa.Column("org_id", sa.Text),
        sa.Column("method", sa.Text),
        sa.Column("guardian_id", sa.Text),
        sa.Column("linked", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        stamp(),
    )
    op.create_index("links_student_idx", "links", ["student_id"])
    op.create_table(
        "link_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("parent_id", sa.Text, nullable=False),
        sa.Column("attempt_key", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("link_attempts_parent_idx", "link_attempts", ["parent_id", "at"])
    op.create_index("link_attempts_key_idx", "link_attempts", ["attempt_key", "at"])
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
    for table in ("access_log", "link_attempts", "links", "parents", "corrections", "reenrollment_answers",
                  "reenrollment_periods", "transport", "courses", "pins", "guardians", "students", "schools",
                  "organisations"):
        op.drop_table(table)
