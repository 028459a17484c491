"""Grades' read models, the links it answers for, and its access log."""
from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, Text
from sqlalchemy.dialects.postgresql import JSONB

from servicekit.children import link_tables
from servicekit.columns import key, optional, read_model, required

metadata = MetaData()

# A bulletin as the school published it, group averages included: the display rules are applied
# when answering, so that a changed school setting applies to what is already stored.
bulletins = read_model(
    "bulletins", metadata, *key("bulletin_id"),
    *required(student_id=Text, school_id=Text, school_year=Text, kind=Text),
    *optional(term=Integer, visible_from=Date), *required(subjects=JSONB), *optional(document_url=Text),
    Index("bulletins_student_year_idx", "student_id", "school_year"),
)

assignments = read_model(
    "assignments", metadata, *key("result_id"),
    *required(student_id=Text, school_id=Text, school_year=Text, subject_code=Text, subject_name=Text,
              title=Text, date=Date, points=Integer, out_of=Integer),
    *optional(weight=Integer, group_average=Integer, comment=Text),
    Index("assignments_student_year_idx", "student_id", "school_year"),
)

homework = read_model(
    "homework", metadata, *key("homework_id", "student_id"),
    *required(school_id=Text, subject_code=Text, subject_name=Text, kind=Text, title=Text),
    *optional(description=Text), *required(assigned_on=Date, due_on=Date),
)

ministry_results = read_model(
    "ministry_results", metadata, *key("result_id"),
    Column("student_id", Text, nullable=False, index=True),
    *required(school_id=Text, school_year=Text, exam_code=Text, subject_name=Text, grade=Text, mark=Integer,
              passed=Boolean, visible_from=Date),
)

school_settings = read_model(
    "school_settings", metadata, *key("school_id"),
    *required(show_group_averages=Boolean, show_assignment_results=Boolean),
)

links, access_log = link_tables(metadata)
