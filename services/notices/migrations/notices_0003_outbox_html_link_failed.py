"""The outbox keeps each mail's HTML part and the screen it leads to, and sets aside a mail that
can never go (``failed_at``) instead of trying it again.

Revision ID: notices_0003
"""
import sqlalchemy as sa
from alembic import op

revision = "notices_0003"
down_revision = "notices_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("outbox", sa.Column("html", sa.Text))
    op.add_column("outbox", sa.Column("link", sa.Text))
    op.add_column("outbox", sa.Column("failed_at", sa.DateTime(timezone=True)))
    op.drop_index("outbox_due_idx", "outbox")
    op.create_index("outbox_due_idx", "outbox", ["next_try_at"],
                    postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"))


def downgrade():
    op.drop_index("outbox_due_idx", "outbox")
    op.create_index("outbox_due_idx", "outbox", ["next_try_at"], postgresql_where=sa.text("sent_at IS NULL"))
    for column in ("failed_at", "link", "html"):
        op.drop_column("outbox", column)
