"""Keys: `fieldlink keys rotate` moves every secret to the new key while readers go
on; keys that do not fit the store are refused before they write; a row no key reads
is named, and can be deleted."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from fieldlink import Fieldlink
from fieldlink._crypto import SECRET_KEY_ENV, Keyring, generate_key
from fieldlink._crypto import key_file as default_key_file
from fieldlink._paths import data_dir
from fieldlink._store import state_hash
from fieldlink._tables import auth_sessions
from fieldlink.cli import cli
from fieldlink.sandbox import canary
from fieldlink.testing import CALLBACK_URI, assert_no_canary

from .support import (
    JOHN_DEERE,
    USER,
    Database,
    default_store_with_key_file,
    register,
)


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert_no_canary(result.output, "CLI output")
    return result


def sessions(fieldlink: Fieldlink) -> list[str]:
    with fieldlink.store.engine.connect() as connection:
        return list(connection.execute(sa.select(auth_sessions.c.user_id)).scalars())


def use_store(monkeypatch: pytest.MonkeyPatch, url: str, *keys: str) -> None:
    """Point the CLI at ``url`` with ``keys``, as a host's environment would."""
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", url)
    monkeypatch.setenv(SECRET_KEY_ENV, ",".join(keys))


# Rotation


def test_rotation_moves_every_secret_to_the_new_key(sandbox, fieldlink, monkeypatch):
    deere = sandbox("john-deere")
    for user in ("grower-1", "grower-2", "grower-3"):
        deere.connect(user)
    fieldlink.start_auth("grower-4", JOHN_DEERE, redirect_uri=CALLBACK_URI)
    before = {c.user_id: dict(c.payload) for c in fieldlink.credentials()}
    new_key = generate_key()
    use_store(monkeypatch, fieldlink.store.url, new_key, os.environ[SECRET_KEY_ENV])

    # A reader with the old key alone keeps working until rotation starts...
    assert fieldlink.credential("grower-1", "john-deere").payload == before["grower-1"]
    result = run("keys", "rotate")
    assert result.exit_code == 0, result.output
    # 3 credentials, 2 app registrations (STAGE, PRODUCTION) and the one auth
    # session still pending: those of the connections made went once used.
    assert "re-encrypted 6 rows" in result.output
    assert sessions(fieldlink) == ["grower-4"]

    # ...and the new key alone now reads everything.
    with Fieldlink(fieldlink.store.url, secret_key=new_key) as rotated:
        after = {c.user_id: dict(c.payload) for c in rotated.credentials()}
        assert after == before
        assert len(rotated.apps()) == 2

    # Running it again finds nothing left to do: an interrupted run resumes.
    again = run("keys", "rotate")
    assert "re-encrypted 0 rows" in again.output


def test_the_default_key_file_rotates_in_place(fieldlink_home, monkeypatch):
    """Without FIELDLINK_SECRET_KEY, the embedded store's key file gets the new key."""
    monkeypatch.delenv("FIELDLINK_SECRET_KEY")
    with Fieldlink() as host:
        host.register_app(
            "john-deere",
            {"clientKey": "app", "clientSecret": "CANARY-app-secret"},
            environment="STAGE",
        )
    key_file = fieldlink_home / "data" / "secret.key"
    old_key = key_file.read_text()

    result = run("keys", "rotate")

    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 rows" in result.output
    new_key = key_file.read_text()
    assert new_key != old_key and len(new_key.split()) == 1
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    with Fieldlink(secret_key=new_key.strip()) as rotated:
        [app] = rotated.apps()
        assert app.fields["clientSecret"] == "CANARY-app-secret"


def left_by_an_earlier_version(fieldlink: Fieldlink, user_id: str, *, used: bool):
    """An auth session as earlier versions kept it once used or expired, under a key
    long gone."""
    moment = datetime.now(UTC)
    with fieldlink.store.engine.begin() as connection:
        connection.execute(
            auth_sessions.insert().values(
                state_hash=state_hash(secrets.token_urlsafe()),
                user_id=user_id,
                provider=JOHN_DEERE,
                environment="STAGE",
                redirect_uri=CALLBACK_URI,
                code_verifier=Keyring([generate_key()]).encrypt("a code verifier"),
                created_at=moment - timedelta(hours=1),
                expires_at=moment + timedelta(minutes=5 if used else -50),
                used_at=moment if used else None,
            )
        )


def test_rotation_deletes_auth_sessions_used_or_expired(
    database: Database, fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key = generate_key()
    fieldlink = database.fieldlink(old_key)
    register(fieldlink)
    left_by_an_earlier_version(fieldlink, "grower-2", used=True)
    left_by_an_earlier_version(fieldlink, "grower-3", used=False)
    use_store(monkeypatch, database.url(), generate_key(), old_key)

    result = run("keys", "rotate")

    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 rows" in result.output
    assert sessions(fieldlink) == []


@pytest.mark.parametrize("row", ["credential", "auth session"])
def test_a_rotation_error_names_the_table_and_the_row(
    database: Database,
    fieldlink_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    row: str,
) -> None:
    old_key, lost_key = generate_key(), generate_key()
    register(database.fieldlink(old_key))
    database.fieldlink(old_key).register_app(
        JOHN_DEERE,
        {"clientKey": "app", "clientSecret": canary("app-secret")},
        environment="STAGE",
    )
    # A process that had a key nobody has any more wrote one row.
    lost = database.fieldlink([lost_key, old_key])
    if row == "credential":
        register(lost, "grower-2")
        named = "the john-deere credential of user 'grower-2' (table credentials)"
    else:
        lost.start_auth("grower-2", JOHN_DEERE, redirect_uri=CALLBACK_URI)
        named = "an auth session of user 'grower-2' at john-deere (table auth_sessions)"
    use_store(monkeypatch, database.url(), generate_key(), old_key)

    result = run("keys", "rotate")

    assert result.exit_code == 1
    # The error comes last, after the progress lines.
    assert result.stderr.splitlines()[-1].startswith(
        f"Error: {named} cannot be decrypted with any key of {SECRET_KEY_ENV}, so"
    )
    assert lost_key not in result.output and old_key not in result.output


def test_a_key_file_left_by_a_failed_rotation_reads_as_the_variable(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default_store_with_key_file(monkeypatch)
    key_file = default_key_file()
    old_key = key_file.read_text().strip()
    with Fieldlink(secret_key=[generate_key(), old_key]) as lost:
        register(lost, "grower-2")

    failed = run("keys", "rotate")

    assert failed.exit_code == 1
    assert "the john-deere credential of user 'grower-2'" in failed.stderr
    new_key, kept = key_file.read_text().split()
    assert kept == old_key

    # FIELDLINK_SECRET_KEY="$(cat secret.key)" lists both keys, one a line.
    monkeypatch.setenv(SECRET_KEY_ENV, key_file.read_text().rstrip("\n"))
    with Fieldlink() as host:
        assert host.credential(USER, JOHN_DEERE).user_id == USER
        register(host, "grower-3")
    with Fieldlink(secret_key=new_key) as new:
        assert new.credential("grower-3", JOHN_DEERE).user_id == "grower-3"

    # Once the row no key reads is deleted, the rotation resumes under the same key.
    monkeypatch.delenv(SECRET_KEY_ENV)
    deleted = run("credentials", "delete", "grower-2", JOHN_DEERE, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert "john-deere did not revoke it: its secrets cannot be decrypted" in (
        deleted.stderr
    )
    resumed = run("keys", "rotate")
    assert resumed.exit_code == 0, resumed.output
    assert key_file.read_text() == f"{new_key}\n"


# Keys that do not fit the store


def test_a_key_that_did_not_write_the_store_is_refused_before_it_writes(
    fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default store and its key file, then one command run with another key."""
    default_store_with_key_file(monkeypatch)
    key_file = default_key_file()
    other_key = generate_key()
    monkeypatch.setenv(SECRET_KEY_ENV, other_key)

    add_app = ["apps", "add", JOHN_DEERE, "--environment", "STAGE"]
    for command in [
        [*add_app, "--field", "clientKey=app", "--field", "clientSecret=app-secret"],
        ("credentials", "list"),
        ("credentials", "delete", USER, JOHN_DEERE, "--yes"),
    ]:
        result = run(*command)

        assert result.exit_code == 1
        assert result.stderr.startswith(
            f"Error: the configured keys ({SECRET_KEY_ENV}) do not decrypt the "
            f"secrets already in the store {data_dir() / 'fieldlink.db'}"
        )
        assert f"put the key they were written with into {SECRET_KEY_ENV}" in (
            result.stderr
        )
        assert other_key not in result.output
        assert key_file.read_text().strip() not in result.output

    # Nothing was written, nothing deleted.
    monkeypatch.delenv(SECRET_KEY_ENV)
    with Fieldlink() as host:
        assert [c.user_id for c in host.credentials()] == [USER]
        assert host.apps() == []

    # The other way round, the error names the key file.
    monkeypatch.setenv("FIELDLINK_DATA_DIR", str(fieldlink_home / "other"))
    with Fieldlink(secret_key=other_key) as host:
        register(host)
    refused = run("credentials", "list")
    assert f"the configured keys (the key file {data_dir() / 'secret.key'})" in (
        refused.stderr
    )


def test_listing_names_a_row_no_key_reads_and_fails(
    database: Database, fieldlink_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key = generate_key()
    register(database.fieldlink(old_key))
    lost = database.fieldlink([generate_key(), old_key])
    register(lost, "grower-2")
    lost.register_app(
        JOHN_DEERE,
        {"clientKey": "app", "clientSecret": canary("app-secret")},
        environment="STAGE",
    )
    use_store(monkeypatch, database.url(), old_key)

    apps = run("apps", "list")
    assert apps.exit_code == 1
    assert apps.stderr.startswith(
        "Error: the app registration of john-deere STAGE cannot be decrypted"
    )
    assert "fieldlink apps add john-deere --environment STAGE" in apps.stderr

    listed = run("credentials", "list")

    assert listed.exit_code == 1
    assert [line.split()[0] for line in listed.stdout.splitlines()[2:]] == [USER]
    assert listed.stderr.startswith(
        "Error: the john-deere credential of user 'grower-2' cannot be decrypted"
    )
    assert "fieldlink credentials delete grower-2 john-deere" in listed.stderr

    deleted = run("credentials", "delete", "grower-2", JOHN_DEERE, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert "deleted the john-deere credential of grower-2" in deleted.stdout
    assert run("credentials", "list").exit_code == 0
