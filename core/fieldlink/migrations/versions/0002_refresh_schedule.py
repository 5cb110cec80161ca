"""When each credential was last refreshed, and when a failed refresh may be retried.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from fieldlink._tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("refreshed_at", UTCDateTime))
        batch.add_column(sa.Column("retry_after", UTCDateTime))
        batch.create_index("ix_credentials_status_expires_at", ["status", "expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.drop_index("ix_credentials_status_expires_at")
        batch.drop_column("retry_after")
        batch.drop_column("refreshed_at")
