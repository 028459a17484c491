"""Linking's read models (the school directory, the children's records, links, requests), its
record of link attempts and its access log."""
from sqlalchemy import (
    BigInteger, Boolean, Column, Date, DateTime, Identity, Index, MetaData, Table, Text, Time, func,
)
from sqlalchemy.dialects.postgresql import JSONB

from servicekit.children import link_tables

metadata = MetaData()

# Read models: columns other than the key are nullable where an event that arrives early may
# leave a row with only its key and stamp (servicekit.projection).
organisations = Table(
    "organisations", metadata,
    Column("org_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("search_key", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

schools = Table(
    "schools", metadata,
    Column("school_id", Text, primary_key=True),
    Column("org_id", Text, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("address", JSONB, nullable=False),
    Column("phone", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("website", Text),
    Column("principal_name", Text, nullable=False),
    Column("contacts", JSONB, nullable=False),
    Column("tiles", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

students = Table(
    "students", metadata,
    Column("student_id", Text, primary_key=True),
    Column("org_id", Text),
    Column("school_id", Text),
    Column("student_number", Text),
    Column("permanent_code", Text),
    Column("last_name", Text),
    Column("first_name", Text),
    Column("birth_date", Date),
    Column("grade", Text),
    Column("group", Text),
    Column("withdrawn", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("students_org_number_idx", "org_id", "student_number"),
    Index("students_org_code_idx", "org_id", "permanent_code"),
    Index("students_org_birth_idx", "org_id", "birth_date"),
)

guardians = Table(
    "guardians", metadata,
    Column("student_id", Text, primary_key=True),
    Column("guardian_id", Text, primary_key=True),
    Column("name", Text),
    Column("email", Text),  # lower case
    Column("principal", Boolean),
    Column("access", Boolean),
    Column("removed", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("guardians_email_idx", "email"),
)

pins = Table(
    "pins", metadata,
    Column("student_id", Text, primary_key=True),
    Column("guardian_id", Text, primary_key=True),
    Column("pin_hash", Text, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

courses = Table(
    "courses", metadata,
    Column("student_id", Text, primary_key=True),
    Column("school_year", Text, primary_key=True),
    Column("courses", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

transport = Table(
    "transport", metadata,
    Column("student_id", Text, primary_key=True),
    Column("route", Text, nullable=False),
    Column("stop", Text, nullable=False),
    Column("morning_pickup", Time, nullable=False),
    Column("afternoon_dropoff", Time, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

reenrollment_periods = Table(
    "reenrollment_periods", metadata,
    Column("org_id", Text, primary_key=True),
    Column("school_year", Text, primary_key=True),
    Column("opens_on", Date, nullable=False),
    Column("closes_on", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

reenrollment_answers = Table(
    "reenrollment_answers", metadata,
    Column("student_id", Text, primary_key=True),
    Column("school_year", Text, primary_key=True),
    Column("parent_id", Text),  # forgotten when the parent closes the account; the answer stays
    Column("decision", Text, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
)

corrections = Table(
    "corrections", metadata,
    Column("request_id", Text, primary_key=True),
    Column("student_id", Text, nullable=False),
    Column("parent_id", Text),
    Column("field", Text),
    Column("requested_value", Text),
    Column("comment", Text),
    Column("requested_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False),
    Column("resolution_comment", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("corrections_parent_student_idx", "parent_id", "student_id"),
)

parents = Table(
    "parents", metadata,
    Column("parent_id", Text, primary_key=True),
    Column("email", Text),  # the verified school email, lower case; null once closed
    Column("closed", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The links linking owns, with how each was proven (and why one ended), and who read which
# child's data, when (Québec's Law 25; not a read model, never rebuilt).
links, access_log = link_tables(
    metadata, Column("org_id", Text), Column("method", Text), Column("guardian_id", Text), Column("reason", Text),
    Index("links_student_idx", "student_id"))

# Not a read model, never rebuilt: every try of the "Associer un enfant" form (for the lockout and
# for audit).
link_attempts = Table(
    "link_attempts", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("parent_id", Text, nullable=False),
    Column("attempt_key", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("link_attempts_parent_idx", "parent_id", "at"),
    Index("link_attempts_key_idx", "attempt_key", "at"),
)
