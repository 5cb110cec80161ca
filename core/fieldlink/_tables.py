"""The store's tables. Changing them needs a migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Any
    ) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: Any
    ) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(255), nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("environment", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text),
    # Non-secret payload fields as JSON; secret ones as one Fernet token of JSON.
    sa.Column("public_payload", sa.Text, nullable=False),
    sa.Column("secret_payload", sa.Text, nullable=False),
    sa.Column("access_token", sa.Text),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("scopes", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # When the provider last issued tokens: some expire refresh tokens left unused.
    sa.Column("refreshed_at", UTCDateTime),
    # After a passing failure, the refresh worker leaves the credential alone until then.
    sa.Column("retry_after", UTCDateTime),
    sa.UniqueConstraint("user_id", "provider", name="uq_credentials_user_provider"),
    sa.Index("ix_credentials_status_expires_at", "status", "expires_at"),
)

auth_sessions = sa.Table(
    "auth_sessions",
    metadata,
    # The SHA-256 of the state: the state itself is a bearer secret until used.
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

app_registrations = sa.Table(
    "app_registrations",
    metadata,
    sa.Column("provider", sa.String(64), primary_key=True),
    sa.Column("environment", sa.String(32), primary_key=True),
    sa.Column("public_fields", sa.Text, nullable=False),
    sa.Column("secret_fields", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("credential_id", sa.String(36), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("credential_id", sa.String(36), nullable=False),
    # The exact bytes that are signed and sent; they hold no secret.
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("failed_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
