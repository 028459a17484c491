"""The access log outlives closed accounts: their reads kept under a pseudonym, then expired.

Revision ID: linking_0002
"""
from servicekit.migrations import pseudonymous_access_log

revision = "linking_0002"
down_revision = "linking_0001"
branch_labels = None
depends_on = None
upgrade, downgrade = pseudonymous_access_log()
