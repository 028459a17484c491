"""Linking's read models (the school directory, the children's records, links, requests), its
record of link attempts and its access log."""
from sqlalchemy import BigInteger, Boolean, Column, Date, Identity, Index, MetaData, Table, Text, Time, func
from sqlalchemy.dialects.postgresql import JSONB

from servicekit.children import link_tables
from servicekit.columns import MOMENT, key, optional, read_model, required

metadata = MetaData()

# Read models: columns other than the key are nullable where an event that arrives early may
# leave a row with only its key and stamp (servicekit.projection).
organisations = read_model(
    "organisations", metadata, *key("org_id"), *required(name=Text, kind=Text, search_key=Text),
)

schools = read_model(
    "schools", metadata, *key("school_id"), Column("org_id", Text, nullable=False, index=True),
    *required(name=Text, level=Text, address=JSONB, phone=Text, email=Text), *optional(website=Text),
    *required(principal_name=Text, contacts=JSONB, tiles=JSONB),
)

students = read_model(
    "students", metadata, *key("student_id"),
    *optional(org_id=Text, school_id=Text, student_number=Text, permanent_code=Text, last_name=Text,
              first_name=Text, birth_date=Date, grade=Text, group=Text),
    *required(withdrawn=Boolean),
    Index("students_org_number_idx", "org_id", "student_number"),
    Index("students_org_code_idx", "org_id", "permanent_code"),
    Index("students_org_birth_idx", "org_id", "birth_date"),
)

guardians = read_model(
    "guardians", metadata, *key("student_id", "guardian_id"),
    *optional(name=Text, email=Text, principal=Boolean, access=Boolean),  # email in lower case
    *required(removed=Boolean),
    Index("guardians_email_idx", "email"),
)

pins = read_model(
    "pins", metadata, *key("student_id", "guardian_id"),
    *required(pin_hash=Text, expires_on=Date), *optional(used_at=MOMENT),
)

courses = read_model("courses", metadata, *key("student_id", "school_year"), *required(courses=JSONB))

transport = read_model(
    "transport", metadata, *key("student_id"),
    *required(route=Text, stop=Text, morning_pickup=Time, afternoon_dropoff=Time),
)

reenrollment_periods = read_model(
    "reenrollment_periods", metadata, *key("org_id", "school_year"), *required(opens_on=Date, closes_on=Date),
)

reenrollment_answers = Table(
    "reenrollment_answers", metadata, *key("student_id", "school_year"),
    *optional(parent_id=Text),  # forgotten when the parent closes the account; the answer stays
    *required(decision=Text, submitted_at=MOMENT),
)

corrections = read_model(
    "corrections", metadata, *key("request_id"), *required(student_id=Text),
    *optional(parent_id=Text, field=Text, requested_value=Text, comment=Text, requested_at=MOMENT),
    *required(status=Text), *optional(resolution_comment=Text),
    Index("corrections_parent_student_idx", "parent_id", "student_id"),
)

parents = read_model(
    "parents", metadata, *key("parent_id"),
    *optional(email=Text),  # the verified school email, lower case; null once closed
    *required(closed=Boolean),
)

# The links linking owns, with how each was proven (and why one ended), and who read which
# child's data, when (Québec's Law 25; not a read model, never rebuilt).
links, access_log = link_tables(
    metadata, *optional(org_id=Text, method=Text, guardian_id=Text, reason=Text),
    Index("links_student_idx", "student_id"))

# Not a read model, never rebuilt: every try of the "Associer un enfant" form (for the lockout and
# for audit).
link_attempts = Table(
    "link_attempts", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    *required(parent_id=Text, attempt_key=Text, outcome=Text),
    Column("at", MOMENT, nullable=False, server_default=func.now()),
    Index("link_attempts_parent_idx", "parent_id", "at"),
    Index("link_attempts_key_idx", "attempt_key", "at"),
)
