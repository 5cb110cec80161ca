"""The first schema: credentials, auth sessions, app registrations and events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from fieldlink._tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("public_payload", sa.Text, nullable=False),
        sa.Column("secret_payload", sa.Text, nullable=False),
        sa.Column("access_token", sa.Text),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("scopes", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("user_id", "provider", name="uq_credentials_user_provider"),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("code_verifier", sa.Text, nullable=False),
        sa.Column("scopes", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime),
    )
    op.create_table(
        "app_registrations",
        sa.Column("provider", sa.String(64), primary_key=True),
        sa.Column("environment", sa.String(32), primary_key=True),
        sa.Column("public_fields", sa.Text, nullable=False),
        sa.Column("secret_fields", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("credential_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("details", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_events_credential_id", "events", ["credential_id"])


def downgrade() -> None:
    op.drop_index("ix_events_credential_id", "events")
    op.drop_table("events")
    op.drop_table("app_registrations")
    op.drop_table("auth_sessions")
    op.drop_table("credentials")
