"""An outbox of status alerts waiting for delivery to the host's webhook.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from fieldlink._tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("credential_id", sa.String(36), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime),
        sa.Column("failed_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_alerts_next_attempt_at", "alerts", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_next_attempt_at", "alerts")
    op.drop_table("alerts")
