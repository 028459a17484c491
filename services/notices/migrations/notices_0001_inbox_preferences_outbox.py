"""Notices' read models, the parents' own state (read marks, preferences, feed tokens), the mail
outbox and the access log.

Revision ID: notices_0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "notices_0001"
down_revision = None
branch_labels = ("notices",)
depends_on = None

STAMP = ("updated_at", sa.DateTime(timezone=True))


def upgrade():
    op.create_table(
        "links",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("school_id", sa.Text),
        sa.Column("org_id", sa.Text),
        sa.Column("linked", sa.Boolean, nullable=False),
        sa.Column(*STAMP, nullable=False),
    )
    op.create_index("links_student_idx", "links", ["student_id"])
    op.create_table(
        "students",
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("school_id", sa.Text, nullable=False),
        sa.Column("group", sa.Text, nullable=False),
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column(*STAMP, nullable=False),
    )
    op.create_index("students_org_idx", "students", ["org_id"])
    op.create_table(
        "guardians",
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("guardian_id", sa.Text, primary_key=True),
        sa.Column("email", sa.Text),
        sa.Column("principal", sa.Boolean),
        sa.Column("access", sa.Boolean),
        sa.Column("removed", sa.Boolean, nullable=False, server_default="false"),
        sa.Column(*STAMP, nullable=False),
    )
    op.create_index("guardians_email_idx", "guardians", ["email"])
    op.create_table(
        "parents",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("locale", sa.Text),
        sa.Column(*STAMP, nullable=False),
    )
    op.create_index("parents_email_idx", "parents", ["email"])
    op.create_table(
        "closed_parents",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("school_id", sa.Text),
        sa.Column("group", sa.Text),
        sa.Column("student_id", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(*STAMP, nullable=False),
    )
    op.create_index("messages_org_idx", "messages", ["org_id", "published_at"])
    op.create_table(
        "resources",
        sa.Column("resource_id", sa.Text, primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("school_id", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column(*STAMP, nullable=False),
    )
    op.create_table(
        "agenda",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text),
        sa.Column("day", sa.Date),
        sa.Column("starts", sa.Time),
        sa.Column("ends", sa.Time),
        sa.Column("title", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("cancelled", sa.Boolean, nullable=False, server_default="false"),
        sa.Column(*STAMP, nullable=False),
    )
    op.create_index("agenda_student_idx", "agenda", ["student_id", "day"])
    op.create_table(
        "days_off",
        sa.Column("school_id", sa.Text, primary_key=True),
        sa.Column("school_year", sa.Text, primary_key=True),
        sa.Column("days", JSONB, nullable=False),
        sa.Column(*STAMP, nullable=False),
    )
    op.create_table(
        "read_marks",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "preferences",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("student_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("mode", sa.Text, nullable=False),
    )
    op.create_table(
        "parent_settings",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("quiet_hours", sa.Boolean, nullable=False, server_default="true"),
        sa.Column("quiet_start", sa.Time),
        sa.Column("quiet_end", sa.Time),
        sa.Column("feed_token", sa.Text, unique=True),
    )
    op.create_table(
        "outbox",
        sa.Column("parent_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("digest", sa.Boolean, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("outbox_due_idx", "outbox", ["next_try_at"], postgresql_where=sa.text("sent_at IS NULL"))
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
    for table in ("access_log", "outbox", "parent_settings", "preferences", "read_marks", "days_off", "agenda",
                  "resources", "messages", "closed_parents", "parents", "guardians", "students", "links"):
        op.drop_table(table)
