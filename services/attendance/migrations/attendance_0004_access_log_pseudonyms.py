"""The access log outlives closed accounts: their reads kept under a pseudonym, then expired.

Revision ID: attendance_0004
"""
from servicekit.migrations import pseudonymous_access_log

revision = "attendance_0004"
down_revision = "attendance_0003"
branch_labels = None
depends_on = None
upgrade, downgrade = pseudonymous_access_log()
