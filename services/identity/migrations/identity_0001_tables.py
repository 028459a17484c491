"""Identity's parents read model and the state of the code flows.

Revision ID: identity_0001
"""
from servicekit.migrations import baseline
from services.identity import tables

revision = "identity_0001"
down_revision = None
branch_labels = ("identity",)
upgrade, downgrade = baseline(tables.metadata)
