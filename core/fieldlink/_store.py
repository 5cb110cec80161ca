"""The credential store, on SQLAlchemy: an SQLite file by default, any URL by choice.

Secrets are encrypted before they reach the database. The one operation that needs
care is the refresh: :meth:`Store.locked` holds a lock on one credential (a row lock
on PostgreSQL, the database write lock on SQLite), reads the row again once the lock
is held, and commits what the caller writes in the same transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shlex
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from . import _tables as t
from ._crypto import SECRET_KEY_ENV, Keyring
from ._paths import create_private_file, make_private_dir
from .errors import (
    AuthStateError,
    ConfigurationError,
    CredentialNotFound,
    DecryptionError,
    StoreError,
)
from .models import (
    AppRegistration,
    AuthSession,
    Credential,
    CredentialStatus,
    Event,
    Grant,
)

logger = logging.getLogger(__name__)

DATABASE_URL_ENV = "FIELDLINK_DATABASE_URL"
#: The newest migration; a database at another revision is migrated on open.
HEAD_REVISION = "0003"
#: Seconds a writer waits for SQLite's lock (a refresh holds it during one request).
SQLITE_BUSY_TIMEOUT = 120
#: Connections one process keeps open to a database server, and may add under load.
POOL_SIZE = 4
POOL_OVERFLOW = 4
_MIGRATION_LOCK_ID = 0x6669656C64  # any constant shared by every fieldlink process
_Read = TypeVar("_Read")


def now() -> datetime:
    return datetime.now(UTC)


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _split(
    payload: Mapping[str, Any], secret_fields: Collection[str]
) -> tuple[dict, dict]:
    public = {k: v for k, v in payload.items() if k not in secret_fields}
    secret = {k: v for k, v in payload.items() if k in secret_fields}
    return public, secret


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class Store:
    """Credentials, auth sessions, app registrations and events."""

    def __init__(
        self, url: str, keyring: Keyring, *, origin: str = DATABASE_URL_ENV
    ) -> None:
        self.url = url
        self.keyring = keyring
        #: Where the URL came from, for the errors that ask to correct it.
        self.origin = origin
        try:
            self.engine = sa.create_engine(url, **self._engine_options(url, origin))
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StoreError(
                f"cannot use the database URL from {origin}: {exc}"
            ) from None
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._migrate()
        try:
            self._check_keys()
        except ConfigurationError:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"Store({self._shown_url!r})"

    @staticmethod
    def _engine_options(url: str, origin: str) -> dict[str, Any]:
        if url.startswith("sqlite"):
            _create_sqlite_file(sa.engine.make_url(url), origin)
            return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
        # Each process keeps few connections: many processes share one server, whose
        # connection limit (100 by default on PostgreSQL) must hold them all.
        return {
            "pool_pre_ping": True,
            "pool_size": POOL_SIZE,
            "max_overflow": POOL_OVERFLOW,
        }

    def close(self) -> None:
        self.engine.dispose()

    # Schema

    def _migrate(self) -> None:
        try:
            if self._revision() == HEAD_REVISION:
                return
            with self._exclusive() as connection:
                # Another process may have migrated while this one waited for the lock.
                if self._revision(connection) == HEAD_REVISION:
                    return
                from alembic import command
                from alembic.config import Config

                config = Config()
                config.set_main_option(
                    "script_location", str(Path(__file__).with_name("migrations"))
                )
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except sa.exc.OperationalError as exc:
            raise StoreError(
                f"cannot open the database {self!r}: {exc.orig}; check {self.origin}"
            ) from None

    def _revision(self, connection: sa.Connection | None = None) -> str | None:
        with contextlib.ExitStack() as stack:
            if connection is None:
                connection = stack.enter_context(self.engine.connect())
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).scalar()

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[sa.Connection]:
        """A transaction that excludes every other writer of the store."""
        if self.is_sqlite:
            with self.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
        else:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_ID))
                )
                yield conn

    # Keys

    #: Where a secret of each kind lives, and when it was last written.
    _SAMPLED = (
        (t.credentials, "secret_payload", "updated_at"),
        (t.app_registrations, "secret_fields", "created_at"),
        (t.auth_sessions, "code_verifier", "created_at"),
    )

    def _check_keys(self) -> None:
        """Refuse keys that decrypt nothing this store holds, before they write.

        Keys that read neither the least nor the most recently written secret of
        the first table holding any are not this store's keys: what they wrote
        could never be read by the processes that have the right ones. A single row
        that the right keys cannot read is named when read, and can be deleted.
        """
        sample = self._secret_sample()
        if sample and not any(self.keyring.can_decrypt(token) for token in sample):
            raise ConfigurationError(
                f"the configured keys ({self.keyring.source}) do not decrypt the "
                f"secrets already in the store {self._name}, so nothing is read "
                f"or written; put the key they were written with into "
                f"{SECRET_KEY_ENV}, after the new one and a comma if you are "
                f"rotating keys ({SECRET_KEY_ENV}=NEW,OLD)"
            )

    def _secret_sample(self) -> list[str]:
        with self.engine.connect() as conn:
            for table, column, written in self._SAMPLED:
                query = sa.select(table.c[column]).limit(1)
                ends = (table.c[written].asc(), table.c[written].desc())
                sample = [conn.execute(query.order_by(end)).scalar() for end in ends]
                found = [token for token in sample if token is not None]
                if found:
                    return found
        return []

    @property
    def _shown_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def _name(self) -> str:
        """The store as its owner knows it: a file, or a server's URL."""
        path = self.engine.url.database
        return path if self.is_sqlite and path else self._shown_url

    # App registrations

    def put_app(
        self,
        provider: str,
        environment: str,
        fields: Mapping[str, Any],
        secret_fields: Collection[str],
    ) -> AppRegistration:
        public, secret = _split(fields, secret_fields)
        row = {
            "provider": provider,
            "environment": environment,
            "public_fields": json.dumps(public),
            "secret_fields": self.keyring.encrypt(json.dumps(secret)),
            "created_at": now(),
        }
        with self.engine.begin() as conn:
            conn.execute(
                t.app_registrations.delete().where(
                    t.app_registrations.c.provider == provider,
                    t.app_registrations.c.environment == environment,
                )
            )
            conn.execute(t.app_registrations.insert().values(row))
        return self._app(row)

    def get_app(
        self,
        provider: str,
        environment: str,
        *,
        connection: sa.Connection | None = None,
    ) -> AppRegistration | None:
        """The app registration; on ``connection`` when the caller holds one already,
        so that a process never waits for a second connection while holding a first."""
        with contextlib.ExitStack() as stack:
            conn = connection or stack.enter_context(self.engine.connect())
            row = (
                conn.execute(
                    sa.select(t.app_registrations).where(
                        t.app_registrations.c.provider == provider,
                        t.app_registrations.c.environment == environment,
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else self._app(row)

    def list_apps(
        self, *, unreadable: list[DecryptionError] | None = None
    ) -> list[AppRegistration]:
        """Every app registration. With ``unreadable``, one whose secrets cannot be
        decrypted is left out and its error added there, rather than raised."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.app_registrations).order_by(
                    t.app_registrations.c.provider, t.app_registrations.c.environment
                )
            ).mappings()
            return _readable(rows, self._app, unreadable)

    def delete_app(self, provider: str, environment: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                t.app_registrations.delete().where(
                    t.app_registrations.c.provider == provider,
                    t.app_registrations.c.environment == environment,
                )
            )
        return result.rowcount > 0

    def _app(self, row: Mapping[str, Any] | sa.RowMapping) -> AppRegistration:
        provider, environment = row["provider"], row["environment"]
        secret = self.keyring.decrypt(
            row["secret_fields"],
            _describe(t.app_registrations, row),
            or_else=f"register the app again (`fieldlink apps add {provider} "
            f"--environment {environment}`)",
        )
        fields = json.loads(row["public_fields"])
        fields.update(json.loads(secret))
        return AppRegistration(provider, environment, fields, row["created_at"])

    # Auth sessions

    def create_session(self, state: str, session: AuthSession) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                t.auth_sessions.insert().values(
                    state_hash=state_hash(state),
                    user_id=session.user_id,
                    provider=session.provider,
                    environment=session.environment,
                    redirect_uri=session.redirect_uri,
                    code_verifier=self.keyring.encrypt(session.code_verifier),
                    scopes=" ".join(session.scopes),
                    created_at=now(),
                    expires_at=session.expires_at,
                )
            )
            # Nobody else removes the sessions users abandon half-way.
            self.prune_sessions(connection=conn)

    def prune_sessions(self, *, connection: sa.Connection | None = None) -> int:
        """Delete the auth sessions that can serve no more: expired ones, and used
        ones that earlier versions kept. Their code verifiers are secrets that
        nobody needs. Returns how many went."""
        c = t.auth_sessions.c
        statement = t.auth_sessions.delete().where(
            sa.or_(c.expires_at < now(), c.used_at.is_not(None))
        )
        with contextlib.ExitStack() as stack:
            conn = connection or stack.enter_context(self.engine.begin())
            return conn.execute(statement).rowcount

    def consume_session(self, state: str, provider: str) -> AuthSession:
        """Return the session of ``state`` and delete it: it works once only, and
        its code verifier is kept no longer than the connection needs it."""
        key = state_hash(state)
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    sa.select(t.auth_sessions).where(
                        t.auth_sessions.c.state_hash == key
                    )
                )
                .mappings()
                .first()
            )
            # The state of another provider is left alone: a forgery burns nothing.
            if row is not None and row["provider"] != provider:
                row = None
            deletion = t.auth_sessions.delete().where(
                t.auth_sessions.c.state_hash == key
            )
            if row is not None and conn.execute(deletion).rowcount != 1:
                row = None  # another callback with this state took it first
        # Raised once the deletion has committed, so that a refused session goes too.
        if row is None:
            raise AuthStateError(
                f"unknown state for {provider} (never issued, already used or "
                "expired): start the connection again",
                provider=provider,
            )
        if row["used_at"] is not None:
            raise AuthStateError(
                f"this {provider} authorisation was already used: start the connection again",
                provider=provider,
            )
        if row["expires_at"] < now():
            raise AuthStateError(
                f"this {provider} authorisation expired: start the connection again",
                provider=provider,
            )
        return AuthSession(
            user_id=row["user_id"],
            provider=row["provider"],
            environment=row["environment"],
            redirect_uri=row["redirect_uri"],
            code_verifier=self.keyring.decrypt(
                row["code_verifier"],
                _describe(t.auth_sessions, row),
                or_else="start the connection again",
            ),
            scopes=_scopes(row["scopes"]),
            expires_at=row["expires_at"],
        )

    # Credentials

    def save_credential(
        self,
        user_id: str,
        provider: str,
        environment: str,
        grant: Grant,
        secret_fields: Collection[str],
    ) -> tuple[Credential, bool]:
        """Store the user's credential for ``provider``, replacing any earlier one.

        Returns the credential and whether it replaced one.
        """
        moment = now()
        values = self._grant_values(grant, secret_fields)
        values.update(
            environment=environment,
            status=CredentialStatus.ACTIVE.value,
            status_reason=None,
            updated_at=moment,
            refreshed_at=moment if grant.access_token else None,
            retry_after=None,
        )
        with self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(t.credentials.c.id).where(
                    t.credentials.c.user_id == user_id,
                    t.credentials.c.provider == provider,
                )
            ).scalar()
            if existing is None:
                credential_id = str(uuid.uuid4())
                conn.execute(
                    t.credentials.insert().values(
                        id=credential_id,
                        user_id=user_id,
                        provider=provider,
                        created_at=moment,
                        **values,
                    )
                )
            else:
                credential_id = existing
                conn.execute(
                    t.credentials.update()
                    .where(t.credentials.c.id == existing)
                    .values(values)
                )
            row = (
                conn.execute(
                    sa.select(t.credentials).where(t.credentials.c.id == credential_id)
                )
                .mappings()
                .one()
            )
        return self._credential(row), existing is not None

    def _grant_values(
        self, grant: Grant, secret_fields: Collection[str]
    ) -> dict[str, Any]:
        public, secret = _split(grant.payload, secret_fields)
        return {
            "public_payload": json.dumps(public),
            "secret_payload": self.keyring.encrypt(json.dumps(secret)),
            "access_token": (
                self.keyring.encrypt(grant.access_token) if grant.access_token else None
            ),
            "expires_at": grant.expires_at,
            "scopes": " ".join(grant.scopes),
        }

    def get_credential(self, user_id: str, provider: str) -> Credential:
        return self._credential(self._credential_row(user_id, provider))

    def credential_id(self, user_id: str, provider: str) -> str:
        """The id of the user's credential, read without decrypting anything."""
        return str(self._credential_row(user_id, provider)["id"])

    def _credential_row(self, user_id: str, provider: str) -> sa.RowMapping:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(t.credentials).where(
                        t.credentials.c.user_id == user_id,
                        t.credentials.c.provider == provider,
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise CredentialNotFound(
                f"no {provider} credential for user {user_id!r}; connect the user first",
                provider=provider,
            )
        return row

    def list_credentials(
        self,
        user_id: str | None = None,
        provider: str | None = None,
        *,
        unreadable: list[DecryptionError] | None = None,
    ) -> list[Credential]:
        """The credentials, of one user or provider if named. With ``unreadable``,
        one whose secrets cannot be decrypted is left out and its error added there,
        rather than raised."""
        query = sa.select(t.credentials).order_by(
            t.credentials.c.user_id, t.credentials.c.provider
        )
        if user_id is not None:
            query = query.where(t.credentials.c.user_id == user_id)
        if provider is not None:
            query = query.where(t.credentials.c.provider == provider)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings()
            return _readable(rows, self._credential, unreadable)

    def delete_credential(self, credential_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                t.events.delete().where(t.events.c.credential_id == credential_id)
            )
            conn.execute(
                t.credentials.delete().where(t.credentials.c.id == credential_id)
            )

    def _credential(self, row: sa.RowMapping) -> Credential:
        what = _describe(t.credentials, row)
        way_out = f"delete it{_delete_command(row['user_id'], row['provider'])}"
        payload = json.loads(row["public_payload"])
        payload.update(
            json.loads(
                self.keyring.decrypt(row["secret_payload"], what, or_else=way_out)
            )
        )
        token = row["access_token"]
        if token:
            token = self.keyring.decrypt(token, what, or_else=way_out)
        return Credential(
            id=row["id"],
            user_id=row["user_id"],
            provider=row["provider"],
            environment=row["environment"],
            status=row["status"],
            status_reason=row["status_reason"],
            payload=payload,
            access_token=token or None,
            expires_at=row["expires_at"],
            scopes=_scopes(row["scopes"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    # The refresh lock

    @contextlib.contextmanager
    def locked(self, credential_id: str) -> Iterator[LockedCredential]:
        """Hold the refresh lock of one credential; what is written commits on exit."""
        if self.is_sqlite:
            # SQLite locks the whole database for writing; readers carry on (WAL).
            with self._exclusive() as conn:
                yield LockedCredential(self, conn, credential_id, lock=False)
        else:
            with self.engine.begin() as conn:
                yield LockedCredential(self, conn, credential_id, lock=True)

    @contextlib.contextmanager
    def claim_due(
        self,
        *,
        expiring_before: datetime,
        providers: Collection[str],
        idle_limits: Mapping[str, datetime],
        refreshed_before: datetime | None = None,
    ) -> Iterator[LockedCredential | None]:
        """Lock one credential that needs a refresh, skipping those others hold.

        Due: active, of a provider in ``providers``, not waiting out a failure, and
        either without an access token, expiring before ``expiring_before``, or last
        refreshed before its provider's ``idle_limits`` entry (refresh tokens that
        die unused). With ``refreshed_before``, a credential refreshed since then is
        left alone. Yields None when nothing is due.
        """
        c = t.credentials.c
        moment = now()
        due = [c.access_token.is_(None), c.expires_at <= expiring_before]
        for provider, limit in idle_limits.items():
            last = sa.func.coalesce(c.refreshed_at, c.created_at)
            due.append(sa.and_(c.provider == provider, last <= limit))
        conditions = [
            c.status == CredentialStatus.ACTIVE.value,
            c.provider.in_(list(providers)),
            sa.or_(c.retry_after.is_(None), c.retry_after <= moment),
            sa.or_(*due),
        ]
        if refreshed_before is not None:
            conditions.append(
                sa.or_(c.refreshed_at.is_(None), c.refreshed_at < refreshed_before)
            )
        query = sa.select(c.id).where(*conditions).order_by(c.expires_at).limit(1)
        if self.is_sqlite:
            # One writer at a time: the claim and the refresh share the write lock.
            with self._exclusive() as conn:
                found = conn.execute(query).scalar()
                yield (
                    None
                    if found is None
                    else LockedCredential(self, conn, found, lock=False)
                )
        else:
            # SKIP LOCKED: workers on other machines pass over what this one holds.
            with self.engine.begin() as conn:
                found = conn.execute(query.with_for_update(skip_locked=True)).scalar()
                yield (
                    None
                    if found is None
                    else LockedCredential(self, conn, found, lock=False)
                )

    def prune_events(self, older_than: datetime) -> int:
        """Delete events recorded before ``older_than``; return how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                t.events.delete().where(t.events.c.created_at < older_than)
            )
        return result.rowcount

    # Alerts

    def add_alert(self, credential_id: str, body: str) -> None:
        moment = now()
        with self.engine.begin() as conn:
            conn.execute(
                t.alerts.insert().values(
                    credential_id=credential_id,
                    body=body,
                    next_attempt_at=moment,
                    created_at=moment,
                )
            )

    def claim_alert(
        self, lease: timedelta, due_before: datetime
    ) -> sa.RowMapping | None:
        """Take the oldest alert due before ``due_before``, hidden from others for
        ``lease``.

        The claim is a conditional update rather than a held lock, so that delivery
        (an HTTP call) never holds up writers; a claimer that dies mid-delivery lets
        the lease run out and the alert is tried again.
        """
        c = t.alerts.c
        moment = now()
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    sa.select(t.alerts)
                    .where(
                        c.delivered_at.is_(None),
                        c.failed_at.is_(None),
                        c.next_attempt_at <= due_before,
                    )
                    .order_by(c.id)
                    .limit(1)
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            claimed = conn.execute(
                t.alerts.update()
                .where(c.id == row["id"], c.next_attempt_at == row["next_attempt_at"])
                .values(next_attempt_at=moment + lease, attempts=row["attempts"] + 1)
            )
        if claimed.rowcount != 1:
            return self.claim_alert(lease, due_before)  # another worker took it first
        return row

    def finish_alert(
        self,
        alert_id: int,
        *,
        delivered: bool,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record a delivery attempt: delivered, to be retried at ``retry_at``, or failed."""
        values: dict[str, Any] = {"last_error": error}
        if delivered:
            values["delivered_at"] = now()
        elif retry_at is not None:
            values["next_attempt_at"] = retry_at
        else:
            values["failed_at"] = now()
        with self.engine.begin() as conn:
            conn.execute(
                t.alerts.update().where(t.alerts.c.id == alert_id).values(values)
            )

    # Key rotation

    _ENCRYPTED = (
        (t.credentials, ("secret_payload", "access_token")),
        (t.auth_sessions, ("code_verifier",)),
        (t.app_registrations, ("secret_fields",)),
    )

    def rotate_keys(self, *, batch_size: int = 200) -> Iterator[int]:
        """Re-encrypt every secret under the primary key, a batch at a time.

        Yields the number of rows rewritten per batch. Rows already under the primary
        key are left alone, so an interrupted rotation resumes where it stopped, and a
        row changed meanwhile (a refresh) is not overwritten: its new value was
        written under the primary key anyway. Auth sessions that can serve no more
        are deleted rather than re-encrypted.
        """
        self.prune_sessions()
        for table, columns in self._ENCRYPTED:
            keys = list(table.primary_key.columns)
            last: tuple[Any, ...] | None = None
            while True:
                # Whole rows: an error names the row by its owner, not by its key.
                query = sa.select(table)
                if last is not None:
                    query = query.where(sa.tuple_(*keys) > sa.tuple_(*last))
                rows = self._read_batch(query.order_by(*keys).limit(batch_size))
                if not rows:
                    break
                last = tuple(rows[-1][key.name] for key in keys)
                yield self._rotate_rows(table, keys, columns, rows)

    def _read_batch(self, query: sa.Select[Any]) -> list[sa.RowMapping]:
        with self.engine.connect() as conn:
            return list(conn.execute(query).mappings())

    def _rotate_rows(
        self,
        table: sa.Table,
        keys: list[sa.Column[Any]],
        columns: tuple[str, ...],
        rows: list[sa.RowMapping],
    ) -> int:
        rewritten = 0
        with self.engine.begin() as conn:
            for row in rows:
                what = f"{_describe(table, row)} (table {table.name})"
                old = {name: row[name] for name in columns}
                new = {
                    name: self.keyring.rotate(value, what)
                    for name, value in old.items()
                    if value is not None and not self.keyring.is_primary(value)
                }
                if not new:
                    continue
                unchanged = [table.c[name] == old[name] for name in new]
                match = [key == row[key.name] for key in keys]
                result = conn.execute(
                    table.update().where(*match, *unchanged).values(new)
                )
                rewritten += result.rowcount
        return rewritten

    # Events

    def add_event(
        self,
        credential_id: str,
        kind: str,
        *,
        status_code: int | None = None,
        message: str = "",
        details: Mapping[str, Any] | None = None,
        connection: sa.Connection | None = None,
    ) -> None:
        statement = t.events.insert().values(
            credential_id=credential_id,
            kind=kind,
            status_code=status_code,
            message=message,
            details=json.dumps(dict(details or {})),
            created_at=now(),
        )
        if connection is not None:
            connection.execute(statement)
            return
        with self.engine.begin() as conn:
            conn.execute(statement)

    def list_events(
        self, credential_id: str, *, limit: int = 50, offset: int = 0
    ) -> list[Event]:
        query = (
            sa.select(t.events)
            .where(t.events.c.credential_id == credential_id)
            .order_by(t.events.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            return [
                Event(
                    id=row["id"],
                    credential_id=row["credential_id"],
                    kind=row["kind"],
                    created_at=row["created_at"],
                    status_code=row["status_code"],
                    message=row["message"],
                    details=json.loads(row["details"]),
                )
                for row in conn.execute(query).mappings()
            ]


class LockedCredential:
    """A credential read under its refresh lock, and the writes made under it.

    Its secrets are decrypted when ``credential`` is first read: a row whose secrets
    cannot be decrypted can still be named (``id``, ``user_id``, ``provider``),
    deferred and logged.
    """

    def __init__(
        self, store: Store, conn: sa.Connection, credential_id: str, *, lock: bool
    ):
        self.store = store
        self.connection = conn
        self.id = credential_id
        query = sa.select(t.credentials).where(t.credentials.c.id == credential_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise CredentialNotFound(f"credential {credential_id} was deleted")
        self._use(row)

    def _use(self, row: sa.RowMapping) -> None:
        self._row = row
        self._credential: Credential | None = None
        self.user_id: str = row["user_id"]
        self.provider: str = row["provider"]

    @property
    def credential(self) -> Credential:
        if self._credential is None:
            self._credential = self.store._credential(self._row)
        return self._credential

    def save(self, grant: Grant, secret_fields: Collection[str]) -> Credential:
        values = self.store._grant_values(grant, secret_fields)
        moment = now()
        values.update(updated_at=moment, refreshed_at=moment, retry_after=None)
        self._update(values)
        return self.credential

    def defer(self, until: datetime) -> None:
        """Keep the refresh worker away until ``until`` (after a failure)."""
        self._update({"retry_after": until})

    def set_status(self, status: CredentialStatus, reason: str | None) -> Credential:
        self._update(
            {"status": status.value, "status_reason": reason, "updated_at": now()}
        )
        return self.credential

    def add_event(self, kind: str, **kwargs: Any) -> None:
        self.store.add_event(self.id, kind, connection=self.connection, **kwargs)

    def _update(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(
            t.credentials.update().where(t.credentials.c.id == self.id).values(values)
        )
        row = (
            self.connection.execute(
                sa.select(t.credentials).where(t.credentials.c.id == self.id)
            )
            .mappings()
            .one()
        )
        self._use(row)


def _describe(table: sa.Table, row: Mapping[Any, Any]) -> str:
    """The row of ``table`` named for an error: whose it is, never a secret."""
    if table is t.credentials:
        return f"the {row['provider']} credential of user {row['user_id']!r}"
    if table is t.app_registrations:
        return f"the app registration of {row['provider']} {row['environment']}"
    return f"an auth session of user {row['user_id']!r} at {row['provider']}"


def _delete_command(user_id: str, provider: str) -> str:
    """The command that deletes the credential, where the id can be typed as is."""
    if not user_id.isprintable():
        return ""
    return f" (`fieldlink credentials delete {shlex.quote(user_id)} {provider}`)"


def _readable(
    rows: Iterable[sa.RowMapping],
    read: Callable[[sa.RowMapping], _Read],
    unreadable: list[DecryptionError] | None,
) -> list[_Read]:
    """``read`` of every row; with ``unreadable``, a row whose secrets cannot be
    decrypted is left out and its error added there, rather than raised."""
    found = []
    for row in rows:
        try:
            found.append(read(row))
        except DecryptionError as error:
            if unreadable is None:
                raise
            unreadable.append(error)
    return found


def _create_sqlite_file(url: sa.URL, origin: str) -> None:
    """Create the database file, and its folder if missing, readable by their owner
    only: SQLite would make them readable by all. Its -wal and -shm files take the
    database file's permissions."""
    path = url.database
    if not path or path == ":memory:" or url.query.get("uri"):
        return
    try:
        make_private_dir(Path(path).parent)
        create_private_file(Path(path))
    except OSError as exc:
        raise StoreError(
            f"cannot create the database file {path}: {exc.strerror}; check {origin}"
        ) from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while a refresh holds the write lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
