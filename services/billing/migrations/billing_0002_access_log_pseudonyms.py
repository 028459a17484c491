"""The access log outlives closed accounts: their reads kept under a pseudonym, then expired.

Revision ID: billing_0002
"""
from servicekit.migrations import pseudonymous_access_log

revision = "billing_0002"
down_revision = "billing_0001"
branch_labels = None
depends_on = None
upgrade, downgrade = pseudonymous_access_log()
