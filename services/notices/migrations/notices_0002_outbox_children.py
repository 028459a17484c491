"""The outbox remembers which children each mail is about (to drop it when they are unlinked).

Revision ID: notices_0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "notices_0002"
down_revision = "notices_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("outbox", sa.Column("student_ids", ARRAY(sa.Text)))


def downgrade():
    op.drop_column("outbox", "student_ids")
