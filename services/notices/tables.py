"""Notices' tables: read models fed by events (``projections.TABLES``, rebuilt by replay) and the
parents' own state, which no event carries and a rebuild never touches (read marks, preferences,
feed tokens, the mail outbox, the access log)."""
from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, Table, Text, Time, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from servicekit.children import link_tables
from servicekit.columns import MOMENT, key, optional, read_model, required

metadata = MetaData()

# -- read models ------------------------------------------------------------------------------

# The links, with the board each child is in (for audiences), and who read which child's data,
# when (Québec's Law 25; never rebuilt).
links, access_log = link_tables(metadata, *optional(org_id=Text), Index("links_student_idx", "student_id"),
                                log_by_parent=False)

# Where each student is (for audiences: board, school, group) and the first name mails use.
students = read_model(
    "students", metadata, *key("student_id"),
    *required(org_id=Text, school_id=Text, group=Text, first_name=Text),
    Index("students_org_idx", "org_id"),
)

# Guardians on the school record: who is the principal guardian (re-enrolment mail).
guardians = read_model(
    "guardians", metadata, *key("student_id", "guardian_id"),
    *optional(email=Text, principal=Boolean, access=Boolean),
    Column("removed", Boolean, nullable=False, server_default="false"),
    Index("guardians_email_idx", "email"),
)

# Verified parents: where and in which language to write.
parents = read_model(
    "parents", metadata, *key("parent_id"), *required(email=Text), *optional(locale=Text),
    Index("parents_email_idx", "email"),
)

# Ids only: a late ParentVerified or ChildLinked must not bring a closed account back.
closed_parents = Table("closed_parents", metadata, *key("parent_id"), *required(closed_at=MOMENT))

messages = read_model(
    "messages", metadata, *key("message_id"), *required(scope=Text, org_id=Text),
    *optional(school_id=Text, group=Text, student_id=Text),
    *required(title=Text, body=Text, author=Text, published_at=MOMENT),
    Index("messages_org_idx", "org_id", "published_at"),
)

resources = read_model(
    "resources", metadata, *key("resource_id"),
    *required(scope=Text, org_id=Text), *optional(school_id=Text),
    *required(title=Text, kind=Text, url=Text), *optional(description=Text),
)

# The calendar feed's dated entries per student: absences, detentions, homework due dates.
# Columns other than the key are nullable: a cancellation may arrive before its absence.
agenda = read_model(
    "agenda", metadata, *key("entry_id"), *required(student_id=Text),
    *optional(kind=Text, day=Date, starts=Time, ends=Time, title=Text, detail=Text),
    Column("cancelled", Boolean, nullable=False, server_default="false"),
    Index("agenda_student_idx", "student_id", "day"),
)

# Each school's days off per school year (the feed's holidays).
days_off = read_model("days_off", metadata, *key("school_id", "school_year"), *required(days=JSONB))

# -- the parents' own state -------------------------------------------------------------------

read_marks = Table(
    "read_marks", metadata, *key("parent_id", "message_id"),
    Column("read_at", MOMENT, nullable=False, server_default=func.now()),
)

# A row only where the parent chose something else than the default (instant).
preferences = Table("preferences", metadata, *key("parent_id", "student_id", "kind"), *required(mode=Text))

# A row only once the parent changed quiet hours or asked for a feed; quiet hours are off when
# both bounds are null.
parent_settings = Table(
    "parent_settings", metadata, *key("parent_id"),
    Column("quiet_hours", Boolean, nullable=False, server_default="true"),
    *optional(quiet_start=Time, quiet_end=Time), Column("feed_token", Text, unique=True),
)

# One mail per parent per event: the key makes a redelivered event a no-op. The sender loop
# sends what is due and marks it sent (or failed for good) in the same transaction that locked
# the row. ``student_ids``: the children it is about; ``body``: the text part's content, the frame
# added when sent, ``html`` the same in HTML; ``link``: the screen it leads to (a digest lists each
# row's); ``failed_at``: will never go (``last_error`` says why).
outbox = Table(
    "outbox", metadata, *key("parent_id", "event_id"), *required(kind=Text),
    *optional(student_ids=ARRAY(Text)),
    *required(email=Text, locale=Text, subject=Text, body=Text), *optional(html=Text, link=Text),
    *required(digest=Boolean, due_at=MOMENT),
    Column("attempts", Integer, nullable=False, server_default="0"),
    *required(next_try_at=MOMENT), *optional(last_error=Text, sent_at=MOMENT, failed_at=MOMENT),
    Column("created_at", MOMENT, nullable=False, server_default=func.now()),
    Index("outbox_due_idx", "next_try_at", postgresql_where="sent_at IS NULL AND failed_at IS NULL"),
)
