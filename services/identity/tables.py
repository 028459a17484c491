"""Identity's tables: the verified parents (a read model of its own events) and the short-lived
state of the code flows (codes, tickets, request counts), which is never rebuilt."""
from sqlalchemy import BigInteger, Boolean, Column, Identity, Index, Integer, LargeBinary, MetaData, Table, Text, func

from servicekit.columns import MOMENT, key, optional, read_model, required

metadata = MetaData()

# Read model: each parent whose school email is proven, fed by ParentVerified, ParentEmailChanged
# and ParentAccountClosed.
parents = read_model(
    "parents", metadata, *key("parent_id"), Column("email", Text, nullable=False, unique=True),
    *required(locale=Text, verified_at=MOMENT),
)

# The one code in force per (flow, email): a new request replaces the row, which cancels the
# previous code. Only the code's salted hash is kept. ``parent_id``: the account that claims the
# email (flow "claim").
verification_codes = Table(
    "verification_codes", metadata, *key("flow", "email"), *optional(parent_id=Text),
    *required(code_hash=LargeBinary, salt=LargeBinary, expires_at=MOMENT),
    Column("failed_tries", Integer, nullable=False, server_default="0"),
    Column("used", Boolean, nullable=False, server_default="false"),
    Column("created_at", MOMENT, nullable=False, server_default=func.now()),
)

# What a proven code buys: one use of the next step (register, reset, claim), for a few minutes.
tickets = Table(
    "tickets", metadata,
    Column("ticket_hash", LargeBinary, primary_key=True),
    *required(flow=Text, email=Text), *optional(parent_id=Text), *required(expires_at=MOMENT),
    Column("used", Boolean, nullable=False, server_default="false"),
)

# One row per request for a code, counted per email (hashed) and per client address.
code_requests = Table(
    "code_requests", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    *required(key=Text),
    Column("at", MOMENT, nullable=False, server_default=func.now()),
    Index("code_requests_key_at_idx", "key", "at"),
)
