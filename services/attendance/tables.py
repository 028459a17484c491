"""Attendance's read models and its access log."""
from sqlalchemy import Boolean, Column, Date, Index, Integer, LargeBinary, MetaData, Table, Text, Time, func
from sqlalchemy.dialects.postgresql import JSONB

from servicekit.children import link_tables
from servicekit.columns import MOMENT, key, optional, read_model, required, stamp

metadata = MetaData()

# Columns other than the key are nullable: a cancellation that arrives before its absence
# leaves a tombstone row (see servicekit.projection). The justification's columns were added
# after the stamp, and stay there.
absences = Table(
    "absences", metadata, *key("absence_id"), *required(student_id=Text),
    *optional(school_id=Text, date=Date, kind=Text, period=Text, start_time=Time, end_time=Time,
              minutes_late=Integer, reason_code=Text, requires_justification=Boolean),
    Column("cancelled", Boolean, nullable=False, server_default="false"),
    stamp(),
    *optional(justified_at=MOMENT, justification_reason=Text, justified_by=Text),
    Index("absences_student_date_idx", "student_id", "date"),
)

declarations = Table(
    "declarations", metadata, *key("declaration_id"),
    Column("student_id", Text, nullable=False, index=True),
    *required(parent_id=Text, start_date=Date, end_date=Date, kind=Text), *optional(time=Time),
    *required(reason_code=Text), *optional(explanation=Text), *required(declared_at=MOMENT),
)

calendars = read_model(
    "calendars", metadata, *key("school_id", "school_year"),
    *required(first_day=Date, last_day=Date, days_off=JSONB, day_start=Time, day_end=Time, reasons=JSONB),
)

# The links this service answers for, and who read which child's data when (Québec's Law 25).
links, access_log = link_tables(metadata)

# A student's timetable for a school year, replaced by the next one the school publishes.
timetables = read_model(
    "timetables", metadata, *key("student_id", "school_year"),
    *optional(cycle_length=Integer), *required(entries=JSONB),
)

detentions = read_model(
    "detentions", metadata, *key("detention_id"),
    *required(student_id=Text, date=Date, start=Time, end=Time, reason=Text), *optional(location=Text),
    Index("detentions_student_date_idx", "student_id", "date"),
)

# Not a read model: the documents parents attach to a justification (a photo or PDF of a medical
# note), kept here because no event carries bytes; the school system fetches one by the
# ``document_ref`` of ``AbsenceMotivated``. Never rebuilt.
documents = Table(
    "documents", metadata, *key("document_ref"), *required(absence_id=Text, student_id=Text),
    Column("parent_id", Text, nullable=False, index=True),
    *required(content_type=Text, size_bytes=Integer, sha256=Text, content=LargeBinary),
    Column("created_at", MOMENT, nullable=False, server_default=func.now()),
)
