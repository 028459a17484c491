"""Attendance's read models, its agenda, the documents parents attach, links and access log.

Revision ID: attendance_0003
"""
from servicekit.migrations import baseline
from services.attendance import tables

revision = "attendance_0003"
down_revision = None
branch_labels = ("attendance",)
upgrade, downgrade = baseline(tables.metadata)
