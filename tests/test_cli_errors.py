"""What `fieldlink` says, and how it exits, when something is named or typed wrong.

Every failure is a one-line message that names the culprit and the fix, never a
traceback: ``run`` lets an uncaught exception fail the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from fieldlink import Fieldlink
from fieldlink._crypto import generate_key
from fieldlink.cli import cli
from fieldlink.errors import CredentialRevoked
from fieldlink.http import make_session
from fieldlink.sandbox import drive_consent, mount, serve
from fieldlink.testing import CALLBACK_URI, assert_no_canary

USER = "grower-1"
MISTYPED = "john-deer"


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert_no_canary(result.output, "CLI output")
    return result


@pytest.fixture
def mounted(fieldlink, monkeypatch):
    """John Deere's emulator as `fieldlink sandbox` serves it, and a host using it."""
    emulator = fieldlink.registry.call(
        "john-deere", "sandbox_emulator", settings={"size": 4}
    )
    with serve(mount({"john-deere": emulator})) as running:
        monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
        monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)
        with Fieldlink(fieldlink.store.url, sandbox_url=running.url) as host:
            yield host


@pytest.fixture
def connected(mounted):
    start = mounted.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)
    callback = drive_consent(start.url)
    connection = mounted.complete_auth(
        "john-deere", dict(parse_qsl(urlsplit(callback).query))
    )
    drive_consent(connection.next_step_url)
    return mounted


def fieldlink_process(*args: str, **options) -> subprocess.Popen[str]:
    """`fieldlink ARGS` in a process of its own, as a shell would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "fieldlink.cli", *args],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        **options,
    )


# Wrong usage: exit status 2, with the valid choices


@pytest.mark.parametrize(
    "args",
    [
        ("validate", MISTYPED, "-"),
        ("connect", MISTYPED, "--user", USER, "--port", "0", "--no-browser"),
        ("apps", "add", MISTYPED),
        ("apps", "delete", MISTYPED, "STAGE"),
        ("credentials", "show", USER, MISTYPED),
        ("credentials", "events", USER, MISTYPED),
        ("credentials", "delete", USER, MISTYPED),
        ("refresh", MISTYPED, "--user", USER),
        ("resources", MISTYPED, "--user", USER),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_an_unknown_provider_is_wrong_usage(fieldlink_home, args):
    result = run(*args, input="{}")

    assert result.exit_code == 2
    assert f"no provider {MISTYPED!r} is loaded; use one of" in result.output
    assert "john-deere" in result.output
    assert "connect the user first" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        (
            "connect",
            "john-deere",
            "--user",
            USER,
            "--environment",
            "DEV",
            "--port",
            "0",
        ),
        ("apps", "add", "john-deere", "--environment", "DEV"),
        ("apps", "delete", "john-deere", "DEV"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_an_unknown_environment_is_wrong_usage(fieldlink_home, args):
    result = run(*args)

    assert result.exit_code == 2
    assert "john-deere has no environment 'DEV'; use one of STAGE, PRODUCTION" in (
        result.output
    )
    # Checked before any secret is asked for.
    assert "clientSecret" not in result.output


def test_an_unknown_kind_is_wrong_usage(fieldlink_home):
    result = run("resources", "john-deere", "--user", USER, "--kind", "paddocks")

    assert result.exit_code == 2
    assert "use one of organizations, farms, fields" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("connect", "john-deere", "--user", USER, "--port", "-1"),
        ("connect", "john-deere", "--user", USER, "--timeout", "0"),
        ("sandbox", "--port", "99999"),
        ("sandbox", "--size", "-1"),
        ("demo", "--size", "-1"),
        ("refresh", "--due", "--workers", "0"),
        ("refresh", "--due", "--within", "-1"),
        ("credentials", "events", USER, "john-deere", "--limit", "0"),
        ("resources", "john-deere", "--user", USER, "--kind", ""),
    ],
    ids=lambda args: " ".join(args),
)
def test_a_value_out_of_range_is_wrong_usage(fieldlink_home, args):
    result = run(*args)

    assert result.exit_code == 2
    assert re.search(r"Invalid value for '--\w+'", result.output)


def test_new_provider_states_the_rule_for_ids(tmp_path):
    result = run("new-provider", "1acme", "--directory", str(tmp_path / "plugin"))

    assert result.exit_code == 2
    assert "must start with a lower-case letter" in result.output
    assert not (tmp_path / "plugin").exists()


def test_a_mistyped_plugins_variable_is_named(fieldlink_home, monkeypatch):
    monkeypatch.setenv("FIELDLINK_PLUGINS", MISTYPED)

    listed = run("providers")
    connecting = run("connect", "john-deere", "--user", USER, "--port", "0")

    assert listed.exit_code == 0
    assert f"Warning: FIELDLINK_PLUGINS names {MISTYPED!r}" in listed.stderr
    assert connecting.exit_code == 2
    assert f"FIELDLINK_PLUGINS names {MISTYPED!r}" in connecting.output
    assert "john-deere, " in connecting.output  # among the installed plugins


# Connecting and deleting


def test_a_refused_consent_exits_4(mounted):
    process = fieldlink_process(
        "connect", "john-deere", "--user", USER, "--port", "0", "--no-browser"
    )
    try:
        url = next(
            match.group(1)
            for line in process.stderr
            if (match := re.match(r"\s+(http\S+)", line))
        )
        callback = drive_consent(url, "deny")
        assert make_session().get(callback, timeout=10).status_code == 200
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == 4, stderr
    assert "did not authorise the connection: access_denied" in stderr
    assert mounted.credentials() == []


def test_deleting_without_revocation_says_so(sandbox, fieldlink, monkeypatch):
    sandbox("climate-field-view").connect(USER)
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)

    result = run("credentials", "delete", USER, "climate-field-view", "--yes")

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"deleted the climate-field-view credential of {USER}",
        "climate-field-view offers no revocation; deleted here only",
    ]


def test_deleting_an_invalid_credential_says_it_was_not_revoked(
    sandbox, fieldlink, monkeypatch
):
    deere = sandbox("john-deere")
    deere.connect(USER)
    deere.emulator.revoke()
    with pytest.raises(CredentialRevoked):
        fieldlink.refresh(USER, "john-deere")
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)

    result = run("credentials", "delete", USER, "john-deere", "--yes")

    assert result.exit_code == 0
    assert "john-deere was not asked to revoke it, as it was invalid already" in (
        result.stdout
    )


# Keys


def test_keys_generate_never_overwrites_a_key_file(tmp_path):
    existing = tmp_path / "secret.key"
    existing.write_text("CANARY-the-only-key\n")

    result = run("keys", "generate", str(existing))

    assert result.exit_code == 1
    assert f"Error: {existing} exists already" in result.output
    assert "name a new file" in result.output
    assert existing.read_text() == "CANARY-the-only-key\n"


def test_keys_generate_names_a_missing_folder(tmp_path):
    result = run("keys", "generate", str(tmp_path / "keys" / "new.key"))

    assert result.exit_code == 1
    assert f"the folder {tmp_path / 'keys'} does not exist; create it first" in (
        result.output
    )


def test_rotating_with_the_wrong_keys_is_a_clean_error(fieldlink, monkeypatch):
    fieldlink.register_app(
        "john-deere",
        {"clientKey": "app", "clientSecret": "CANARY-app-secret"},
        environment="STAGE",
    )
    monkeypatch.setenv("FIELDLINK_SECRET_KEY", f"{generate_key()},{generate_key()}")
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)

    result = run("keys", "rotate")

    assert result.exit_code == 1
    assert "Error: a stored secret cannot be decrypted with any configured key" in (
        result.output
    )


# Output


def test_a_reader_that_stops_reading_ends_the_listing_quietly(connected):
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head` does once it has its lines
    process = fieldlink_process(
        "resources", "john-deere", "--user", USER, "--kind", "fields", stdout=write_end
    )
    os.close(write_end)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert "Error" not in stderr
    assert "BrokenPipe" not in stderr
