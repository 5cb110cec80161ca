"""`fieldlink keys rotate`: every secret moves to the new key; readers never stop."""

from __future__ import annotations

import os

from click.testing import CliRunner

from fieldlink import Fieldlink
from fieldlink._crypto import generate_key
from fieldlink.cli import cli
from fieldlink.testing import assert_no_canary


def test_rotation_moves_every_secret_to_the_new_key(sandbox, fieldlink, monkeypatch):
    deere = sandbox("john-deere")
    for user in ("grower-1", "grower-2", "grower-3"):
        deere.connect(user)
    before = {c.user_id: dict(c.payload) for c in fieldlink.credentials()}
    new_key = generate_key()
    both = f"{new_key},{os.environ['FIELDLINK_SECRET_KEY']}"
    monkeypatch.setenv("FIELDLINK_SECRET_KEY", both)
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)

    # A reader with the old key alone keeps working until rotation starts...
    assert fieldlink.credential("grower-1", "john-deere").payload == before["grower-1"]
    result = CliRunner().invoke(cli, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert_no_canary(result.output, "CLI output")
    # 3 credentials, their 3 auth sessions and 2 app registrations (STAGE, PRODUCTION).
    assert "re-encrypted 8 rows" in result.output

    # ...and the new key alone now reads everything.
    with Fieldlink(fieldlink.store.url, secret_key=new_key) as rotated:
        after = {c.user_id: dict(c.payload) for c in rotated.credentials()}
        assert after == before
        assert len(rotated.apps()) == 2

    # Running it again finds nothing left to do: an interrupted run resumes.
    again = CliRunner().invoke(cli, ["keys", "rotate"])
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

    result = CliRunner().invoke(cli, ["keys", "rotate"])

    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 rows" in result.output
    new_key = key_file.read_text()
    assert new_key != old_key and len(new_key.split()) == 1
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    with Fieldlink(secret_key=new_key.strip()) as rotated:
        [app] = rotated.apps()
        assert app.fields["clientSecret"] == "CANARY-app-secret"
