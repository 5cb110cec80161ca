"""What `fieldlink` says, and how it exits, when something is named or typed wrong.

Every failure is a one-line message that names the culprit and the fix, never a
traceback: ``run`` lets an uncaught exception fail the test.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from fieldlink import Fieldlink
from fieldlink._crypto import generate_key
from fieldlink._tables import credentials as credentials_table
from fieldlink.cli import cli
from fieldlink.errors import CredentialRevoked, ProviderUnavailable
from fieldlink.http import make_session
from fieldlink.sandbox import drive_consent, mount, serve
from fieldlink.testing import CALLBACK_URI, assert_no_canary

from .support import BAD_USER_IDS

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


# Every command that takes a user id.
USER_COMMANDS = {
    "connect": ("connect", "sentera", "--port", "0", "--no-browser", "--user"),
    "resources": ("resources", "john-deere", "--user"),
    "refresh": ("refresh", "john-deere", "--user"),
    "credentials list": ("credentials", "list", "--user"),
}
USER_ARGUMENT_COMMANDS = {
    "credentials show": ("credentials", "show"),
    "credentials events": ("credentials", "events"),
    "credentials delete": ("credentials", "delete", "--yes"),
}


@pytest.mark.parametrize(
    ("user_id", "problem"), BAD_USER_IDS.values(), ids=BAD_USER_IDS.keys()
)
@pytest.mark.parametrize(
    "command",
    [
        *(lambda user, args=args: [*args, user] for args in USER_COMMANDS.values()),
        *(
            lambda user, args=args: [*args[:2], user, "john-deere", *args[2:]]
            for args in USER_ARGUMENT_COMMANDS.values()
        ),
    ],
    ids=[*USER_COMMANDS, *USER_ARGUMENT_COMMANDS],
)
def test_a_malformed_user_id_is_wrong_usage(fieldlink, command, user_id, problem):
    result = run(*command(user_id))

    assert result.exit_code == 2, result.output
    assert f"Error: the user id {user_id!r} {problem}" in result.output
    assert fieldlink.credentials() == []


def test_a_credential_stored_under_a_blank_id_can_still_be_deleted(
    sandbox, fieldlink, monkeypatch
):
    """Ids were not checked before: what was stored then can be shown and deleted,
    but not used."""
    connection = sandbox("sentera").connect(USER)
    with fieldlink.store.engine.begin() as connection_to_store:
        connection_to_store.execute(
            sa.update(credentials_table)
            .where(credentials_table.c.id == connection.credential.id)
            .values(user_id="")
        )
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)

    used = run("resources", "sentera", "--user", "")
    shown = run("credentials", "show", "", "sentera", "--json")
    deleted = run("credentials", "delete", "", "sentera", "--yes")

    assert used.exit_code == 2
    assert "the user id '' is empty" in used.output
    assert shown.exit_code == 0
    assert json.loads(shown.output)["user_id"] == ""
    assert deleted.exit_code == 0, deleted.output
    assert fieldlink.credentials() == []


def test_apps_add_checks_every_field_name_before_asking(fieldlink):
    result = run(
        "apps", "add", "climate-field-view", "--field", "clientKey=cfv", input=""
    )

    assert result.exit_code == 2
    assert "clientId:" not in result.output
    assert (
        "'clientKey' is not an app-level field of climate-field-view; use "
        "apiKey, clientId, clientSecret"
    ) in result.output
    assert fieldlink.apps() == []


def test_apps_add_names_a_field_nobody_typed(fieldlink):
    result = run(
        "apps",
        "add",
        "climate-field-view",
        "--field",
        "clientId=cfv",
        "--field",
        "apiKey=CANARY-key",
        input="",
    )

    assert result.exit_code == 2
    assert "Aborted" not in result.output
    assert (
        "no value for clientSecret: give it as --field clientSecret=VALUE"
    ) in result.output
    assert fieldlink.apps() == []


def test_apps_add_never_shows_a_field_without_its_name(fieldlink):
    result = run("apps", "add", "climate-field-view", "--field", "CANARY-secret")

    assert result.exit_code == 2
    assert "each must be NAME=VALUE, and one has no '='" in result.output


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
    assert (
        "Error: the user refused the connection at john-deere's consent page: "
        "access_denied\n"
    ) in stderr
    assert "did not authorise" not in stderr
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


@pytest.mark.parametrize(
    "args",
    [("show",), ("events",), ("delete", "--yes"), ("delete",)],
    ids=" ".join,
)
def test_a_missing_credential_gets_a_hint_that_fits(fieldlink_home, args):
    result = run("credentials", args[0], USER, "cnhi", *args[1:])

    assert result.exit_code == 1
    assert result.output == (
        f"Error: no cnhi credential is stored for user {USER!r}; `fieldlink "
        "credentials list` (Fieldlink.credentials()) shows the stored ones\n"
    )


def test_using_a_missing_credential_says_to_connect(fieldlink_home):
    result = run("resources", "cnhi", "--user", USER)

    assert result.exit_code == 1
    assert result.output == (
        f"Error: no cnhi credential is stored for user {USER!r}; connect the user "
        "first\n"
    )


# Where a setting came from


def test_a_database_error_names_the_option_it_came_from(fieldlink_home, monkeypatch):
    url = "nosuchdatabase://fieldlink@127.0.0.1/fieldlink"

    given = run("--database-url", url, "credentials", "list")
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", url)
    from_environment = run("credentials", "list")

    assert given.exit_code == 1
    assert "cannot use the database URL from --database-url:" in given.output
    assert "FIELDLINK_DATABASE_URL" not in given.output
    assert from_environment.exit_code == 1
    assert "cannot use the database URL from FIELDLINK_DATABASE_URL:" in (
        from_environment.output
    )


def test_a_database_without_a_key_names_the_option_it_came_from(
    fieldlink_home, monkeypatch
):
    monkeypatch.delenv("FIELDLINK_SECRET_KEY")
    url = f"sqlite:///{fieldlink_home / 'shared.db'}"

    result = run("--database-url", url, "credentials", "list")

    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: --database-url names a database but FIELDLINK_SECRET_KEY is not set"
    )


def test_an_uncreatable_database_file_names_the_option_it_came_from(fieldlink_home):
    blocker = fieldlink_home / "not-a-folder"
    blocker.write_text("")

    result = run(
        "--database-url", f"sqlite:///{blocker / 'x.db'}", "credentials", "list"
    )

    assert result.exit_code == 1
    assert "cannot create the database file" in result.output
    assert result.output.rstrip().endswith("check --database-url")


# The sandbox


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        return listening.getsockname()[1]


def test_a_sandbox_that_is_not_running_is_named(fieldlink_home, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("FIELDLINK_SANDBOX_URL", f"http://127.0.0.1:{port}")

    result = run("connect", "john-deere", "--user", USER, "--port", "0")

    assert result.exit_code == 5
    assert result.output == (
        f"Error: cannot reach john-deere at http://127.0.0.1:{port}/john-deere/"
        f"_sandbox/app; is `fieldlink sandbox` running at http://127.0.0.1:{port}? "
        "Start it, or set FIELDLINK_SANDBOX_URL to the URL it prints\n"
    )


def test_a_sandbox_that_stopped_is_named_at_the_provider_s_urls(fieldlink):
    emulator = fieldlink.registry.call("john-deere", "sandbox_emulator", settings={})
    running = serve(mount({"john-deere": emulator}))
    with Fieldlink(fieldlink.store.url, sandbox_url=running.url) as host:
        start = host.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)
        callback = drive_consent(start.url)
        host.complete_auth("john-deere", dict(parse_qsl(urlsplit(callback).query)))
        running.stop()

        with pytest.raises(ProviderUnavailable) as raised:
            host.refresh(USER, "john-deere")

    assert f"cannot reach john-deere at {running.url}/john-deere/" in str(raised.value)
    assert str(raised.value).endswith(
        f"; is `fieldlink sandbox` running at {running.url}? Start it, or set "
        "FIELDLINK_SANDBOX_URL to the URL it prints"
    )


def test_a_second_sandbox_on_a_busy_port_says_how_to_choose_another(fieldlink_home):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]

        result = run("sandbox", "--port", str(port))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: port {port} on 127.0.0.1 is in use already (another `fieldlink "
        f"sandbox`?); choose a free one with --port, e.g. `fieldlink sandbox --port "
        f"{port + 1}`, and point FIELDLINK_SANDBOX_URL at the URL it prints\n"
    )


# Plugin sources


def test_check_names_a_pyproject_that_is_not_utf_8(tmp_path):
    (tmp_path / "pyproject.toml").write_bytes(b'[project]\nname = "acme\xff"\n')

    result = run("check", str(tmp_path))

    assert result.exit_code == 2
    assert f"{tmp_path / 'pyproject.toml'}: not UTF-8 text at line 2, column 13" in (
        result.output
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
    assert "Error: the configured keys (FIELDLINK_SECRET_KEY) do not decrypt" in (
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
