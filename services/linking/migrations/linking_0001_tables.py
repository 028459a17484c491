"""Linking's read models, link attempts, links and access log.

Revision ID: linking_0001
"""
from servicekit.migrations import baseline
from services.linking import tables

revision = "linking_0001"
down_revision = None
branch_labels = ("linking",)
upgrade, downgrade = baseline(tables.metadata)
