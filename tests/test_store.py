"""The credential store: migrations, encryption at rest, keys, events and deletion.

Each test that can runs on SQLite (a real file) and on PostgreSQL. PostgreSQL's URL
comes from FIELDLINK_TEST_POSTGRESQL_URL: unset, those cases skip; set but unreachable,
they fail. Every PostgreSQL case works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import codecs
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldlink import Fieldlink
from fieldlink._crypto import SECRET_KEY_ENV, Keyring, generate_key
from fieldlink._crypto import key_file as default_key_file
from fieldlink._paths import data_dir
from fieldlink._store import HEAD_REVISION, Store
from fieldlink._tables import auth_sessions, metadata
from fieldlink.errors import (
    AuthorizationDenied,
    ConfigurationError,
    CredentialNotFound,
    CredentialRevoked,
    DecryptionError,
)
from fieldlink.sandbox import CANARY, canary
from fieldlink.testing import CALLBACK_URI, SandboxedProvider

from .support import (
    JOHN_DEERE,
    USER,
    Database,
    consent,
    default_store_with_key_file,
    register,
)

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


def test_keys_that_decrypt_nothing_stored_are_refused_before_writing(
    database: Database,
) -> None:
    right_key, wrong_key = generate_key(), generate_key()
    written = register(database.fieldlink(right_key))

    wrong = database.fieldlink(wrong_key)
    for use in [
        lambda: wrong.credentials(),
        lambda: wrong.delete(USER, JOHN_DEERE, revoke=False),
        lambda: register(wrong, "grower-2"),
    ]:
        with pytest.raises(ConfigurationError) as info:
            use()

        shown = str(info.value) + repr(info.value)
        assert "do not decrypt the secrets already in the store" in shown
        assert "the secret_key given to Fieldlink" in shown  # where the keys come from
        assert f"put the key they were written with into {SECRET_KEY_ENV}" in shown
        for secret in [right_key, wrong_key, *written.payload.values()]:
            assert secret not in shown
    # Nothing was written or deleted: the right key reads the store as it was.
    assert database.fieldlink(right_key).credentials() == [written]


def test_a_fresh_store_takes_any_key(database: Database) -> None:
    first = database.fieldlink(generate_key())
    assert first.credentials() == []

    # No secret is stored yet, so no key can be told wrong.
    assert register(database.fieldlink(generate_key())).user_id == USER


def mixed_store(database: Database) -> tuple[str, Fieldlink, Fieldlink]:
    """A store that an old key wrote first, then a process with a newer key also
    wrote: the state an unfinished rotation leaves. Returns a state the newer key
    started, a Fieldlink with the old key alone, and one with both."""
    old_key, new_key = generate_key(), generate_key()
    register(database.fieldlink(old_key))
    both = database.fieldlink([new_key, old_key])
    register(both, "grower-2")
    both.register_app(
        JOHN_DEERE,
        {"clientKey": "app", "clientSecret": canary("app-secret")},
        environment="STAGE",
    )
    state = both.start_auth("grower-3", JOHN_DEERE, redirect_uri=CALLBACK_URI).state
    return state, database.fieldlink(old_key), both


def test_a_secret_that_cannot_be_decrypted_is_named_by_its_row(
    database: Database,
) -> None:
    state, old_only, _ = mixed_store(database)

    for read, named in [
        (
            lambda: old_only.credential("grower-2", JOHN_DEERE),
            "the john-deere credential of user 'grower-2' cannot be decrypted",
        ),
        (
            lambda: old_only.apps(),
            "the app registration of john-deere STAGE cannot be decrypted",
        ),
        (
            lambda: old_only.store.consume_session(state, JOHN_DEERE),
            "an auth session of user 'grower-3' at john-deere cannot be decrypted",
        ),
    ]:
        with pytest.raises(DecryptionError) as info:
            read()

        assert named in str(info.value)
        assert "with the secret_key given to Fieldlink: it was written with" in str(
            info.value
        )
        assert f"put that key into {SECRET_KEY_ENV}" in str(info.value)


def test_listing_leaves_out_what_cannot_be_decrypted_and_names_it(
    database: Database,
) -> None:
    _, old_only, both = mixed_store(database)
    readable = old_only.credential(USER, JOHN_DEERE)

    with pytest.raises(DecryptionError, match="user 'grower-2'"):
        old_only.credentials()
    unreadable: list[DecryptionError] = []
    assert old_only.credentials(unreadable=unreadable) == [readable]
    assert [str(error).split(" cannot")[0] for error in unreadable] == [
        "the john-deere credential of user 'grower-2'"
    ]
    assert "fieldlink credentials delete grower-2 john-deere" in str(unreadable[0])

    apps_unreadable: list[DecryptionError] = []
    assert old_only.apps(unreadable=apps_unreadable) == []
    assert "the app registration of john-deere STAGE" in str(apps_unreadable[0])
    assert len(both.apps()) == 1


def test_a_credential_that_cannot_be_decrypted_can_be_deleted(
    database: Database,
) -> None:
    _, old_only, _ = mixed_store(database)
    kept = old_only.credential(USER, JOHN_DEERE)

    # Its log needs no secret either.
    assert [event.kind for event in old_only.events("grower-2", JOHN_DEERE)] == [
        "created"
    ]
    deletion = old_only.delete("grower-2", JOHN_DEERE)

    assert deletion.revoked is False
    assert deletion.error is not None
    assert "cannot be decrypted with the configured keys, so john-deere was not" in (
        deletion.error
    )
    with pytest.raises(CredentialNotFound):
        old_only.credential("grower-2", JOHN_DEERE)
    assert old_only.credentials() == [kept]


def test_generated_key_file_is_private(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a database URL and a key, the default store makes its own key file.
    written = default_store_with_key_file(monkeypatch)
    key_file = default_key_file()

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with Fieldlink() as fieldlink:
        assert fieldlink.credential(USER, JOHN_DEERE) == written


@pytest.mark.parametrize(
    "mode", [0o640, 0o604], ids=["group-readable", "world-readable"]
)
def test_readable_key_file_is_refused(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    default_store_with_key_file(monkeypatch)
    key_file = default_key_file()
    key_file.chmod(mode)

    with Fieldlink() as fieldlink, pytest.raises(ConfigurationError) as info:
        fieldlink.credential(USER, JOHN_DEERE)

    assert str(key_file) in str(info.value)
    assert f"chmod 600 {key_file}" in str(info.value)
    assert key_file.read_text().strip() not in str(info.value)


def test_a_key_file_of_other_bytes_is_named_not_read(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default_store_with_key_file(monkeypatch)
    key_file = default_key_file()
    key_file.write_bytes(b"\xff\xfeCANARY-\xe9" + key_file.read_bytes())

    with Fieldlink() as fieldlink, pytest.raises(ConfigurationError) as info:
        fieldlink.credential(USER, JOHN_DEERE)

    assert str(info.value) == (
        f"the key file {key_file} holds bytes that are not Fernet keys; restore it "
        "from a backup, or name the keys in FIELDLINK_SECRET_KEY"
    )


def test_a_key_file_with_a_byte_order_mark_is_read(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = default_store_with_key_file(monkeypatch)
    key_file = default_key_file()
    key_file.write_bytes(codecs.BOM_UTF8 + key_file.read_bytes())

    with Fieldlink() as fieldlink:
        assert fieldlink.credential(USER, JOHN_DEERE) == written


def write_key_file(text: str) -> Path:
    """Write the default store's key file, as a host editing it would."""
    key_file = data_dir() / "secret.key"
    key_file.parent.mkdir(mode=0o700, exist_ok=True)
    key_file.touch(mode=0o600)
    key_file.write_text(text)
    return key_file


@pytest.mark.parametrize("separator", [",", "\n", ", ", " ", "\n\n", "\t"], ids=repr)
@pytest.mark.parametrize("given_in", ["the variable", "the key file", "secret_key"])
def test_key_lists_are_read_the_same_everywhere(
    fieldlink_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    separator: str,
    given_in: str,
) -> None:
    old_key, new_key = generate_key(), generate_key()
    with Fieldlink(secret_key=old_key) as old:
        written = register(old)
    listed = f"\n {new_key}{separator}{old_key} \n"

    secret_key = None
    if given_in == "the variable":
        monkeypatch.setenv(SECRET_KEY_ENV, listed)
    else:
        monkeypatch.delenv(SECRET_KEY_ENV)
    if given_in == "the key file":
        write_key_file(listed)
    if given_in == "secret_key":
        secret_key = listed
    with Fieldlink(secret_key=secret_key) as rotated:
        # Both keys decrypt, and the first one encrypts.
        assert rotated.credential(USER, JOHN_DEERE) == written
        again = register(rotated, "grower-2")
    with Fieldlink(secret_key=new_key) as new:
        assert new.credential("grower-2", JOHN_DEERE) == again


@pytest.mark.parametrize(
    "broken",
    [
        canary("not-a-key"),
        pytest.param("truncated", id="truncated"),
        pytest.param("stray", id="a stray character"),
    ],
)
@pytest.mark.parametrize("given_in", ["the variable", "the key file"])
def test_a_malformed_key_is_named_by_its_position(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch, broken: str, given_in: str
) -> None:
    good = generate_key()
    # Fernet's lenient decoding would skip the stray character and read another key.
    broken = {"truncated": good[:-2], "stray": f"{good[:20]}!{good[20:]}"}.get(
        broken, broken
    )
    listed = f"{generate_key()}\n{broken},{good}"
    if given_in == "the variable":
        monkeypatch.setenv(SECRET_KEY_ENV, listed)
        source = SECRET_KEY_ENV
    else:
        monkeypatch.delenv(SECRET_KEY_ENV)
        source = f"the key file {write_key_file(listed)}"

    with Fieldlink() as fieldlink, pytest.raises(ConfigurationError) as info:
        fieldlink.credentials()

    assert str(info.value).startswith(f"key 2 of {source} is not a Fernet key")
    assert broken not in str(info.value) and good not in str(info.value)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The usual umask, under which SQLite makes files that anyone can read."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("usual_umask")
def test_the_default_store_is_readable_by_its_owner_only(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV)

    with Fieldlink() as fieldlink:
        register(fieldlink)
        files = {path.name: path for path in data_dir().iterdir()}
        # While the store is open, its write-ahead log and shared memory exist too.
        assert set(files) >= {"fieldlink.db", "fieldlink.db-wal", "fieldlink.db-shm"}
        modes = {
            name: stat.S_IMODE(path.stat().st_mode) for name, path in files.items()
        }

    assert stat.S_IMODE(data_dir().stat().st_mode) == 0o700
    assert modes == dict.fromkeys(files, 0o600)


def test_auth_sessions_go_once_used_refused_or_expired(
    database: Database, sandbox_for: Callable[[Fieldlink], SandboxedProvider]
) -> None:
    fieldlink = database.fieldlink(generate_key())
    sandbox_for(fieldlink)

    def sessions() -> list[str]:
        with fieldlink.store.engine.connect() as connection:
            return list(
                connection.execute(sa.select(auth_sessions.c.user_id)).scalars()
            )

    fieldlink.complete_auth(JOHN_DEERE, consent(fieldlink, USER))
    assert sessions() == []
    refused = consent(fieldlink, "grower-2", decision="deny")
    with pytest.raises(AuthorizationDenied):
        fieldlink.complete_auth(JOHN_DEERE, refused)
    assert sessions() == []

    fieldlink.start_auth("grower-3", JOHN_DEERE, redirect_uri=CALLBACK_URI)
    with fieldlink.store.engine.begin() as connection:
        connection.execute(
            sa.update(auth_sessions).values(expires_at=datetime.now(UTC))
        )
    # Abandoned half-way: the next connection to start removes it.
    fieldlink.start_auth("grower-4", JOHN_DEERE, redirect_uri=CALLBACK_URI)
    assert sessions() == ["grower-4"]


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
