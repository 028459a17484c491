"""Identity's tables: the verified parents (a read model of its own events) and the short-lived
state of the code flows (codes, tickets, request counts), which is never rebuilt."""
from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Identity, Index, Integer, LargeBinary, MetaData, Table, Text, func,
)

metadata = MetaData()

# Read model: each parent whose school email is proven, fed by ParentVerified, ParentEmailChanged
# and ParentAccountClosed.
parents = Table(
    "parents", metadata,
    Column("parent_id", Text, primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("locale", Text, nullable=False),
    Column("verified_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The one code in force per (flow, email): a new request replaces the row, which cancels the
# previous code. Only the code's salted hash is kept.
verification_codes = Table(
    "verification_codes", metadata,
    Column("flow", Text, primary_key=True),
    Column("email", Text, primary_key=True),
    Column("parent_id", Text),  # the account that claims the email (flow "claim")
    Column("code_hash", LargeBinary, nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("failed_tries", Integer, nullable=False, server_default="0"),
    Column("used", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What a proven code buys: one use of the next step (register, reset, claim), for a few minutes.
tickets = Table(
    "tickets", metadata,
    Column("ticket_hash", LargeBinary, primary_key=True),
    Column("flow", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("parent_id", Text),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used", Boolean, nullable=False, server_default="false"),
)

# One row per request for a code, counted per email (hashed) and per client address.
code_requests = Table(
    "code_requests", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("key", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("code_requests_key_at_idx", "key", "at"),
)
