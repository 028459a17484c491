"""Grades' read models, links and access log.

Revision ID: grades_0001
"""
from servicekit.migrations import baseline
from services.grades import tables

revision = "grades_0001"
down_revision = None
branch_labels = ("grades",)
upgrade, downgrade = baseline(tables.metadata)
