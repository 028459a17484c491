"""Notices' tables: read models fed by events (``projections.TABLES``, rebuilt by replay) and the
parents' own state, which no event carries and a rebuild never touches (read marks, preferences,
feed tokens, the mail outbox, the access log)."""
from sqlalchemy import (
    Boolean, Column, Date, DateTime, Index, Integer, MetaData, Table, Text, Time, func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from servicekit.children import link_tables

metadata = MetaData()

# -- read models ------------------------------------------------------------------------------

# The links, with the board each child is in (for audiences), and who read which child's data,
# when (Québec's Law 25; never rebuilt).
links, access_log = link_tables(metadata, Column("org_id", Text), Index("links_student_idx", "student_id"),
                                log_by_parent=False)

# Where each student is (for audiences: board, school, group) and the first name mails use.
students = Table(
    "students", metadata,
    Column("student_id", Text, primary_key=True),
    Column("org_id", Text, nullable=False),
    Column("school_id", Text, nullable=False),
    Column("group", Text, nullable=False),
    Column("first_name", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("students_org_idx", "org_id"),
)

# Guardians on the school record: who is the principal guardian (re-enrolment mail).
guardians = Table(
    "guardians", metadata,
    Column("student_id", Text, primary_key=True),
    Column("guardian_id", Text, primary_key=True),
    Column("email", Text),
    Column("principal", Boolean),
    Column("access", Boolean),
    Column("removed", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("guardians_email_idx", "email"),
)

# Verified parents: where and in which language to write.
parents = Table(
    "parents", metadata,
    Column("parent_id", Text, primary_key=True),
    Column("email", Text, nullable=False),
    Column("locale", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("parents_email_idx", "email"),
)

# Ids only: a late ParentVerified or ChildLinked must not bring a closed account back.
closed_parents = Table(
    "closed_parents", metadata,
    Column("parent_id", Text, primary_key=True),
    Column("closed_at", DateTime(timezone=True), nullable=False),
)

messages = Table(
    "messages", metadata,
    Column("message_id", Text, primary_key=True),
    Column("scope", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("school_id", Text),
    Column("group", Text),
    Column("student_id", Text),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("messages_org_idx", "org_id", "published_at"),
)

resources = Table(
    "resources", metadata,
    Column("resource_id", Text, primary_key=True),
    Column("scope", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("school_id", Text),
    Column("title", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The calendar feed's dated entries per student: absences, detentions, homework due dates.
# Columns other than the key are nullable: a cancellation may arrive before its absence.
agenda = Table(
    "agenda", metadata,
    Column("entry_id", Text, primary_key=True),
    Column("student_id", Text, nullable=False),
    Column("kind", Text),
    Column("day", Date),
    Column("starts", Time),
    Column("ends", Time),
    Column("title", Text),
    Column("detail", Text),
    Column("cancelled", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("agenda_student_idx", "student_id", "day"),
)

# Each school's days off per school year (the feed's holidays).
days_off = Table(
    "days_off", metadata,
    Column("school_id", Text, primary_key=True),
    Column("school_year", Text, primary_key=True),
    Column("days", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# -- the parents' own state -------------------------------------------------------------------

read_marks = Table(
    "read_marks", metadata,
    Column("parent_id", Text, primary_key=True),
    Column("message_id", Text, primary_key=True),
    Column("read_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A row only where the parent chose something else than the default (instant).
preferences = Table(
    "preferences", metadata,
    Column("parent_id", Text, primary_key=True),
    Column("student_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("mode", Text, nullable=False),
)

# A row only once the parent changed quiet hours or asked for a feed; quiet hours are off when
# both bounds are null.
parent_settings = Table(
    "parent_settings", metadata,
    Column("parent_id", Text, primary_key=True),
    Column("quiet_hours", Boolean, nullable=False, server_default="true"),
    Column("quiet_start", Time),
    Column("quiet_end", Time),
    Column("feed_token", Text, unique=True),
)

# One mail per parent per event: the key makes a redelivered event a no-op. The sender loop
# sends what is due and marks it sent (or failed for good) in the same transaction that locked
# the row.
outbox = Table(
    "outbox", metadata,
    Column("parent_id", Text, primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("student_ids", ARRAY(Text)),  # the children it is about
    Column("email", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),  # the text part's content; the frame is added when sent
    Column("html", Text),  # the same content in HTML
    Column("link", Text),  # the screen it leads to (a digest lists each row's)
    Column("digest", Boolean, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_try_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),  # will never go (last_error says why)
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("outbox_due_idx", "next_try_at", postgresql_where="sent_at IS NULL AND failed_at IS NULL"),
)
