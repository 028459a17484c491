"""Notices' read models, the parents' own state, the mail outbox, links and access log.

Revision ID: notices_0003
"""
from servicekit.migrations import baseline
from services.notices import tables

revision = "notices_0003"
down_revision = None
branch_labels = ("notices",)
upgrade, downgrade = baseline(tables.metadata)
