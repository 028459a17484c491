"""Attendance's read models and its access log."""
from sqlalchemy import (
    BigInteger, Boolean, Column, Date, DateTime, Identity, Index, Integer, LargeBinary, MetaData, Table, Text, Time,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from servicekit.children import link_tables

metadata = MetaData()

# Columns other than the key are nullable: a cancellation that arrives before its absence
# leaves a tombstone row (see servicekit.projection).
absences = Table(
    "absences", metadata,
    Column("absence_id", Text, primary_key=True),
    Column("student_id", Text, nullable=False),
    Column("school_id", Text),
    Column("date", Date),
    Column("kind", Text),
    Column("period", Text),
    Column("start_time", Time),
    Column("end_time", Time),
    Column("minutes_late", Integer),
    Column("reason_code", Text),
    Column("requires_justification", Boolean),
    Column("cancelled", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("justified_at", DateTime(timezone=True)),
    Column("justification_reason", Text),
    Column("justified_by", Text),
    Index("absences_student_date_idx", "student_id", "date"),
)

declarations = Table(
    "declarations", metadata,
    Column("declaration_id", Text, primary_key=True),
    Column("student_id", Text, nullable=False, index=True),
    Column("parent_id", Text, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("kind", Text, nullable=False),
    Column("time", Time),
    Column("reason_code", Text, nullable=False),
    Column("explanation", Text),
    Column("declared_at", DateTime(timezone=True), nullable=False),
)

calendars = Table(
    "calendars", metadata,
    Column("school_id", Text, primary_key=True),
    Column("school_year", Text, primary_key=True),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("days_off", JSONB, nullable=False),
    Column("day_start", Time, nullable=False),
    Column("day_end", Time, nullable=False),
    Column("reasons", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The links this service answers for, and who read which child's data when (Québec's Law 25).
links, access_log = link_tables(metadata)

# A student's timetable for a school year, replaced by the next one the school publishes.
timetables = Table(
    "timetables", metadata,
    Column("student_id", Text, primary_key=True),
    Column("school_year", Text, primary_key=True),
    Column("cycle_length", Integer),
    Column("entries", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

detentions = Table(
    "detentions", metadata,
    Column("detention_id", Text, primary_key=True),
    Column("student_id", Text, nullable=False),
    Column("date", Date, nullable=False),
    Column("start", Time, nullable=False),
    Column("end", Time, nullable=False),
    Column("reason", Text, nullable=False),
    Column("location", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("detentions_student_date_idx", "student_id", "date"),
)

# Not a read model: the documents parents attach to a justification (a photo or PDF of a medical
# note), kept here because no event carries bytes; the school system fetches one by the
# ``document_ref`` of ``AbsenceMotivated``. Never rebuilt.
documents = Table(
    "documents", metadata,
    Column("document_ref", Text, primary_key=True),
    Column("absence_id", Text, nullable=False),
    Column("student_id", Text, nullable=False),
    Column("parent_id", Text, nullable=False, index=True),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
