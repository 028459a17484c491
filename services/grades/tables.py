"""Grades' read models, the links it answers for, and its access log."""
from sqlalchemy import Boolean, Column, Date, DateTime, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from servicekit.children import link_tables

metadata = MetaData()

# A bulletin as the school published it, group averages included: the display rules are applied
# when answering, so that a changed school setting applies to what is already stored.
bulletins = Table(
    "bulletins", metadata,
    Column("bulletin_id", Text, primary_key=True),
    Column("student_id", Text, nullable=False),
    Column("school_id", Text, nullable=False),
    Column("school_year", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("term", Integer),
    Column("visible_from", Date),
    Column("subjects", JSONB, nullable=False),
    Column("document_url", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("bulletins_student_year_idx", "student_id", "school_year"),
)

assignments = Table(
    "assignments", metadata,
    Column("result_id", Text, primary_key=True),
    Column("student_id", Text, nullable=False),
    Column("school_id", Text, nullable=False),
    Column("school_year", Text, nullable=False),
    Column("subject_code", Text, nullable=False),
    Column("subject_name", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("date", Date, nullable=False),
    Column("points", Integer, nullable=False),
    Column("out_of", Integer, nullable=False),
    Column("weight", Integer),
    Column("group_average", Integer),
    Column("comment", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("assignments_student_year_idx", "student_id", "school_year"),
)

homework = Table(
    "homework", metadata,
    Column("homework_id", Text, primary_key=True),
    Column("student_id", Text, primary_key=True),
    Column("school_id", Text, nullable=False),
    Column("subject_code", Text, nullable=False),
    Column("subject_name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("assigned_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

ministry_results = Table(
    "ministry_results", metadata,
    Column("result_id", Text, primary_key=True),
    Column("student_id", Text, nullable=False, index=True),
    Column("school_id", Text, nullable=False),
    Column("school_year", Text, nullable=False),
    Column("exam_code", Text, nullable=False),
    Column("subject_name", Text, nullable=False),
    Column("grade", Text, nullable=False),
    Column("mark", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("visible_from", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

school_settings = Table(
    "school_settings", metadata,
    Column("school_id", Text, primary_key=True),
    Column("show_group_averages", Boolean, nullable=False),
    Column("show_assignment_results", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

links, access_log = link_tables(metadata)
