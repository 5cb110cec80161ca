"""The credential store: migrations, encryption at rest, keys, events and deletion.

Each test that can runs on SQLite (a real file) and on PostgreSQL. PostgreSQL's URL
comes from FIELDLINK_TEST_POSTGRESQL_URL: unset, those cases skip; set but unreachable,
they fail. Every PostgreSQL case works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldlink import Credential, Fieldlink
from fieldlink._crypto import SECRET_KEY_ENV, Keyring, generate_key
from fieldlink._paths import data_dir
from fieldlink._store import HEAD_REVISION, Store
from fieldlink._tables import metadata
from fieldlink.errors import (
    ConfigurationError,
    CredentialNotFound,
    CredentialRevoked,
    DecryptionError,
)
from fieldlink.sandbox import CANARY, canary
from fieldlink.testing import CALLBACK_URI, SandboxedProvider

from .support import JOHN_DEERE, USER, Database


def john_deere_payload() -> dict[str, str]:
    return {
        "clientKey": "john-deere-sandbox-client",
        "clientSecret": canary("client-secret"),
        "refreshToken": canary("refresh"),
        "clientEnvironment": "STAGE",
    }


def register(fieldlink: Fieldlink, user_id: str = USER) -> Credential:
    # No refresh: these tests are about the store, not the provider.
    return fieldlink.register(user_id, JOHN_DEERE, john_deere_payload(), verify=False)


# Schema


def test_migrations_create_the_schema_on_a_fresh_database(database: Database) -> None:
    if database.is_sqlite:
        assert not database.path.exists()

    store = database.store(generate_key())

    inspector = sa.inspect(store.engine)
    assert set(inspector.get_table_names()) == {*metadata.tables, "alembic_version"}
    for name, table in metadata.tables.items():
        assert {column["name"] for column in inspector.get_columns(name)} == set(
            table.columns.keys()
        )
    with store.engine.connect() as connection:
        revision = connection.execute(
            sa.text("SELECT version_num FROM alembic_version")
        )
        assert revision.scalar_one() == HEAD_REVISION


def test_opening_a_migrated_database_keeps_its_data(database: Database) -> None:
    key = generate_key()
    credential = register(database.fieldlink(key))

    again = database.fieldlink(key)

    assert again.credential(USER, JOHN_DEERE) == credential


# Encryption at rest


def sqlite_values(path: Path) -> Iterator[tuple[str, str, str]]:
    """(table, column, value) of every cell of an SQLite file, read with sqlite3."""
    connection = sqlite3.connect(path)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [description[0] for description in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    yield table, column, str(value)
    finally:
        connection.close()


def database_values(engine: sa.Engine) -> Iterator[tuple[str, str, str]]:
    """(table, column, value) of every cell of every table the engine sees."""
    with engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            for row in connection.execute(
                sa.text(f'SELECT * FROM "{table}"')
            ).mappings():
                for column, value in row.items():
                    yield table, column, str(value)


def test_secrets_are_encrypted_at_rest(
    database: Database, sandbox_for: Callable[[Fieldlink], SandboxedProvider]
) -> None:
    fieldlink = database.fieldlink(generate_key())
    deere = sandbox_for(fieldlink)

    # Everything that writes: connecting, refreshing, reading, a revocation, a
    # connection left half-way.
    deere.connect(USER)
    fieldlink.refresh(USER, JOHN_DEERE)
    assert list(fieldlink.iter_resources(USER, JOHN_DEERE, "fields"))
    deere.connect("grower-2")
    deere.emulator.fail_next_token_request(200, {"error": "invalid_grant"})
    with pytest.raises(CredentialRevoked):
        fieldlink.refresh("grower-2", JOHN_DEERE)
    pending = fieldlink.start_auth("grower-3", JOHN_DEERE, redirect_uri=CALLBACK_URI)

    # The scan below means something only if the store holds emulator secrets.
    credential = fieldlink.credential(USER, JOHN_DEERE)
    held = [credential.access_token, *credential.payload.values()]
    assert sum(CANARY in value for value in held) == 3

    values = list(database_values(fieldlink.store.engine))
    if database.is_sqlite:
        fieldlink.close()
        values += sqlite_values(database.path)
        # Nor in the files' bytes (the write-ahead log included).
        for file in database.directory.glob(f"{database.path.name}*"):
            assert CANARY.encode() not in file.read_bytes(), file.name
    written = {"credentials", "app_registrations", "auth_sessions", "events"}
    assert {table for table, _, _ in values} >= written
    for table, column, value in values:
        assert CANARY not in value, (
            f"a secret is stored in plain text in {table}.{column}"
        )
        assert pending.state not in value, (
            f"a state is stored in plain text in {table}.{column}"
        )


# Keys


@pytest.mark.parametrize("given_as", ["a string", "a list", "the environment"])
def test_several_keys_allow_rotation(
    database: Database, monkeypatch: pytest.MonkeyPatch, given_as: str
) -> None:
    old_key, new_key = generate_key(), generate_key()
    written = register(database.fieldlink(old_key))

    keys: str | list[str] | None = {
        "a string": f"{new_key},{old_key}",
        "a list": [new_key, old_key],
        "the environment": None,
    }[given_as]
    monkeypatch.setenv(SECRET_KEY_ENV, f"{new_key},{old_key}")
    rotated = database.fieldlink(keys)

    assert rotated.credential(USER, JOHN_DEERE) == written
    # What is written now is under the new key, which alone reads it back.
    again = register(rotated, "grower-2")
    assert database.fieldlink(new_key).credential("grower-2", JOHN_DEERE) == again
    with pytest.raises(DecryptionError):
        database.fieldlink(old_key).credential("grower-2", JOHN_DEERE)


def test_wrong_key_raises_decryption_error(database: Database) -> None:
    right_key, wrong_key = generate_key(), generate_key()
    written = register(database.fieldlink(right_key))

    with pytest.raises(DecryptionError) as info:
        database.fieldlink(wrong_key).credential(USER, JOHN_DEERE)

    shown = str(info.value) + repr(info.value)
    assert SECRET_KEY_ENV in shown  # says which setting to fix
    payload = written.payload
    for secret in [
        right_key,
        wrong_key,
        payload["clientSecret"],
        payload["refreshToken"],
    ]:
        assert secret not in shown


def test_generated_key_file_is_private(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a database URL and a key, the default store makes its own key file.
    monkeypatch.delenv(SECRET_KEY_ENV)
    with Fieldlink() as fieldlink:
        written = register(fieldlink)
    key_file = data_dir() / "secret.key"

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with Fieldlink() as fieldlink:
        assert fieldlink.credential(USER, JOHN_DEERE) == written


@pytest.mark.parametrize(
    "mode", [0o640, 0o604], ids=["group-readable", "world-readable"]
)
def test_readable_key_file_is_refused(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV)
    with Fieldlink() as fieldlink:
        register(fieldlink)
    key_file = data_dir() / "secret.key"
    key_file.chmod(mode)

    with Fieldlink() as fieldlink, pytest.raises(ConfigurationError) as info:
        fieldlink.credential(USER, JOHN_DEERE)

    assert str(key_file) in str(info.value)
    assert f"chmod 600 {key_file}" in str(info.value)
    assert key_file.read_text().strip() not in str(info.value)


# Events and deletion


def test_events_are_listed_newest_first(database: Database) -> None:
    fieldlink = database.fieldlink(generate_key())
    credential = register(fieldlink)
    for kind in ["first", "second", "third"]:
        fieldlink.store.add_event(credential.id, kind, message=kind)

    events = fieldlink.events(USER, JOHN_DEERE)

    assert [event.kind for event in events] == ["third", "second", "first", "created"]
    assert [event.id for event in events] == sorted(
        (event.id for event in events), reverse=True
    )
    moments = [event.created_at for event in events]
    assert moments == sorted(moments, reverse=True)
    assert [event.kind for event in fieldlink.events(USER, JOHN_DEERE, limit=2)] == [
        "third",
        "second",
    ]


def test_deleting_a_credential_removes_it_and_its_events(database: Database) -> None:
    fieldlink = database.fieldlink(generate_key())
    gone = register(fieldlink)
    kept = register(fieldlink, "grower-2")

    fieldlink.delete(USER, JOHN_DEERE, revoke=False)

    with pytest.raises(CredentialNotFound):
        fieldlink.credential(USER, JOHN_DEERE)
    assert fieldlink.store.list_events(gone.id) == []
    assert fieldlink.credentials() == [kept]
    assert [event.kind for event in fieldlink.events("grower-2", JOHN_DEERE)] == [
        "created"
    ]


# Reprs


@pytest.mark.postgresql
def test_store_repr_hides_the_database_password(postgresql: Database) -> None:
    password = canary("database-password")
    url = sa.make_url(postgresql.url()).set(password=password)

    # The test server trusts every connection, so any password opens it.
    store = Store(url.render_as_string(hide_password=False), Keyring([generate_key()]))
    try:
        assert password not in repr(store)
        assert password not in repr(Fieldlink(store.url, secret_key=generate_key()))
    finally:
        store.close()
