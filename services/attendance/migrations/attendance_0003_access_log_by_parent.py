"""The access log by parent, as servicekit.children declares it (export and forgetting).

Revision ID: attendance_0003
"""
from alembic import op

revision = "attendance_0003"
down_revision = "attendance_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("access_log_parent_idx", "access_log", ["parent_id"])


def downgrade():
    op.drop_index("access_log_parent_idx", "access_log")
