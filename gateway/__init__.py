"""The gateway: the parents' only HTTP surface (JSON API under /api/v1, live updates, the web
client). It keeps nothing durable; every answer comes from the services over RPC.

Decision record: docs/decisions/0004-gateway.md.
"""
