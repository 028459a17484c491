"""Billing's read models, links and access log.

Revision ID: billing_0001
"""
from servicekit.migrations import baseline
from services.billing import tables

revision = "billing_0001"
down_revision = None
branch_labels = ("billing",)
upgrade, downgrade = baseline(tables.metadata)
