"""The ``fieldlink`` command line, against the John Deere emulator over HTTP."""

from __future__ import annotations

import codecs
import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from fieldlink import Fieldlink
from fieldlink.cli import cli
from fieldlink.sandbox import drive_consent, mount, serve
from fieldlink.testing import CALLBACK_URI, assert_no_canary

from .support import connect_by_cli

USER = "grower-1"


@pytest.fixture
def mounted(fieldlink, monkeypatch):
    """The John Deere emulator under /john-deere, as `fieldlink sandbox` serves it."""
    emulator = fieldlink.registry.call(
        "john-deere", "sandbox_emulator", settings={"size": 4}
    )
    with serve(mount({"john-deere": emulator})) as running:
        monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
        monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)
        with Fieldlink(fieldlink.store.url, sandbox_url=running.url) as host:
            yield emulator, running, host


@pytest.fixture
def connected(mounted):
    _, _, host = mounted
    start = host.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)
    callback = drive_consent(start.url)
    connection = host.complete_auth(
        "john-deere", dict(parse_qsl(urlsplit(callback).query))
    )
    drive_consent(connection.next_step_url)
    return mounted


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert_no_canary(result.output, "CLI output")
    return result


def test_providers_json_lists_john_deere(fieldlink_home):
    result = run("providers", "--json")

    assert result.exit_code == 0
    listing = json.loads(result.output)
    deere = next(p for p in listing["providers"] if p["id"] == "john-deere")
    assert deere["auth_kind"] == "oauth2"
    assert deere["resource_kinds"] == ["organizations", "farms", "fields"]
    assert listing["failed"] == []


def test_validate_names_the_path_and_never_the_value(fieldlink_home, tmp_path):
    body = tmp_path / "body.json"
    body.write_text(
        json.dumps(
            {
                "clientKey": "k",
                "clientSecret": "CANARY-x",
                "refreshToken": 5,
                "clientEnvironment": "TEST",
            }
        )
    )

    result = run("validate", "john-deere", str(body), "--json")

    assert result.exit_code == 3
    issues = json.loads(result.output)["issues"]
    assert {issue["path"] for issue in issues} == {
        "$.refreshToken",
        "$.clientEnvironment",
    }
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "clientKey": "k",
                "clientSecret": "s",
                "refreshToken": "r",
                "clientEnvironment": "STAGE",
            }
        )
    )
    assert run("validate", "john-deere", str(good)).exit_code == 0


def test_credentials_show_masks_secrets(connected):
    result = run("credentials", "show", USER, "john-deere", "--json")

    assert result.exit_code == 0
    shown = json.loads(result.output)
    assert shown["status"] == "active"
    assert shown["payload"]["clientSecret"] == "********"
    assert shown["payload"]["refreshToken"] == "********"
    assert shown["payload"]["clientEnvironment"] == "STAGE"


def test_resources_refresh_events_and_delete(connected):
    listed = run(
        "resources", "john-deere", "--user", USER, "--kind", "fields", "--json"
    )
    assert listed.exit_code == 0
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(lines) == 3 * 4 and all(line["kind"] == "fields" for line in lines)
    assert "fields: 12" in listed.stderr

    assert run("refresh", "john-deere", "--user", USER).exit_code == 0
    events = json.loads(
        run("credentials", "events", USER, "john-deere", "--json").output
    )
    assert events[0]["kind"] in {"refreshed", "provider_call"}
    assert any(event["kind"] == "refreshed" for event in events)

    assert run("credentials", "delete", USER, "john-deere", "--yes").exit_code == 0
    missing = run("credentials", "show", USER, "john-deere")
    assert missing.exit_code == 1
    assert "no john-deere credential" in missing.output


def test_credential_outlives_its_plugin_and_can_still_be_deleted(
    connected, monkeypatch
):
    monkeypatch.setenv("FIELDLINK_PLUGINS", "climate-field-view")

    shown = run("credentials", "show", USER, "john-deere", "--json")
    assert shown.exit_code == 0
    payload = json.loads(shown.output)["payload"]
    assert set(payload.values()) == {"********"}

    deleted = run("credentials", "delete", USER, "john-deere", "--yes")
    assert deleted.exit_code == 0
    assert "john-deere was not asked to revoke it" in deleted.stderr
    assert run("credentials", "list", "--json").output.strip() == "[]"
    mistyped = run("credentials", "delete", USER, "john-dere", "--yes")
    assert mistyped.exit_code != 0
    assert "no provider 'john-dere' is loaded" in mistyped.output


def test_revoked_credential_exits_4(connected):
    emulator, _, _ = connected
    emulator.revoke()

    result = run("refresh", "john-deere", "--user", USER)

    assert result.exit_code == 4
    assert "invalid_grant" in result.output
    listed = run("credentials", "list", "--json")
    assert json.loads(listed.output)[0]["status"] == "invalid"


def test_apps_add_prompts_for_secrets_without_echo(fieldlink_home):
    result = run(
        "apps",
        "add",
        "john-deere",
        "--environment",
        "PRODUCTION",
        "--field",
        "clientKey=my-app",
        input="CANARY-typed-secret\n",
    )

    assert result.exit_code == 0
    listing = json.loads(run("apps", "list", "--json").output)
    assert listing == [
        {
            "provider": "john-deere",
            "environment": "PRODUCTION",
            "fields": {"clientKey": "my-app", "clientSecret": "********"},
        }
    ]


def test_connect_through_the_local_callback(mounted):
    """`fieldlink connect` as a user runs it: a URL to open, a callback on loopback."""
    done = connect_by_cli("john-deere", USER)

    assert done.returncode == 0, done.stderr
    # The consent page, then the organisations to approve.
    assert len(re.findall(r"^\s+http", done.stderr, re.MULTILINE)) == 2
    assert f"connected {USER} to john-deere" in done.stdout
    assert_no_canary(done.stdout + done.stderr, "connect output")


BODY = {
    "clientKey": "k",
    "clientSecret": "CANARY-body-secret",
    "refreshToken": "r",
    "clientEnvironment": "STAGE",
}


def test_validate_accepts_a_byte_order_mark(fieldlink_home, tmp_path):
    body = tmp_path / "body.json"
    body.write_bytes(codecs.BOM_UTF8 + json.dumps(BODY).encode())

    result = run("validate", "john-deere", str(body))

    assert result.exit_code == 0, result.output
    assert result.output == "valid john-deere credentials\n"


UNREADABLE = {
    "not UTF-8": (
        b'{\n  "clientSecret": "CANARY-\xff"\n}',
        "not UTF-8 text at line 2, column 27; save it as UTF-8",
        (2, 27),
    ),
    "UTF-16": (
        b"\xff\xfe{}",
        "UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8; save it "
        "as UTF-8",
        (1, 1),
    ),
    "malformed": (
        b'{\n  "clientSecret": "CANARY-secret",\n  "refreshToken" "r"\n}',
        "not valid JSON at line 3, column 18: Expecting ':' delimiter",
        (3, 18),
    ),
    "empty": (b"", "not valid JSON at line 1, column 1: Expecting value", (1, 1)),
    "nested beyond Python's recursion limit": (
        b"[" * 100_000 + b"]" * 100_000,
        "JSON that nested too deeply",
        (None, None),
    ),
    "a number beyond Python's digit limit": (
        b'{"refreshToken": ' + b"7" * 5_000 + b"}",
        "JSON that holds a number too long to read",
        (None, None),
    ),
}


@pytest.mark.parametrize(
    ("content", "problem", "position"), UNREADABLE.values(), ids=UNREADABLE.keys()
)
def test_validate_names_where_a_file_breaks_never_its_content(
    fieldlink_home, tmp_path, content, problem, position
):
    body = tmp_path / "body.json"
    body.write_bytes(content)

    shown = run("validate", "john-deere", str(body))
    as_json = run("validate", "john-deere", str(body), "--json")

    assert shown.exit_code == 3
    assert shown.stdout == ""
    assert shown.stderr == f"Error: {body}: {problem}\n"
    assert as_json.exit_code == 3
    line, column = position
    assert json.loads(as_json.stdout) == {
        "valid": False,
        "error": {
            "file": str(body),
            "line": line,
            "column": column,
            "message": f"{body}: {problem}",
        },
        "issues": [],
    }


def test_validate_reads_standard_input_the_same_way(fieldlink_home):
    result = run("validate", "john-deere", "-", input='{"clientKey": }')

    assert result.exit_code == 3
    assert result.stderr == (
        "Error: standard input: not valid JSON at line 1, column 15: Expecting value\n"
    )


def test_validate_reports_an_empty_secret_without_crashing(fieldlink_home, tmp_path):
    body = tmp_path / "body.json"
    body.write_text(
        json.dumps(
            {
                "clientKey": "k",
                "clientSecret": "",
                "refreshToken": "r",
                "clientEnvironment": "STAGE",
            }
        )
    )

    result = run("validate", "john-deere", str(body))

    assert result.exit_code == 3
    assert "$.clientSecret: must not be empty" in result.output


def test_a_settings_file_reaches_the_provider(fieldlink_home, tmp_path, monkeypatch):
    settings = tmp_path / "fieldlink.toml"
    settings.write_text(
        '[john-deere]\nscopes = ["ag1", "offline_access"]\n\n'
        '[john-deere.endpoints]\nauthorize_url = "https://proxy.example/authorize"\n'
    )
    monkeypatch.setenv("FIELDLINK_SETTINGS", str(settings))
    fieldlink = Fieldlink()
    fieldlink.register_app(
        "john-deere", {"clientKey": "app", "clientSecret": "s"}, environment="STAGE"
    )

    start = fieldlink.start_auth("grower-1", "john-deere", redirect_uri=CALLBACK_URI)

    assert start.url.startswith("https://proxy.example/authorize?")
    assert "scope=ag1+offline_access" in start.url
    fieldlink.close()


def test_a_broken_settings_file_is_named(fieldlink_home, tmp_path, monkeypatch):
    settings = tmp_path / "fieldlink.toml"
    settings.write_text("[john-deere\n")
    monkeypatch.setenv("FIELDLINK_SETTINGS", str(settings))

    result = run("credentials", "list")

    assert result.exit_code == 1
    assert f"{settings}: not valid TOML at line 1, column 12" in result.output
    assert "the settings file named by FIELDLINK_SETTINGS" in result.output
    assert len(result.output.splitlines()) == 1


def test_a_settings_file_may_start_with_a_byte_order_mark(
    fieldlink_home, tmp_path, monkeypatch
):
    settings = tmp_path / "fieldlink.toml"
    settings.write_bytes(
        codecs.BOM_UTF8
        + b'[john-deere.endpoints]\nauthorize_url = "https://proxy.example/a"\n'
    )
    monkeypatch.setenv("FIELDLINK_SETTINGS", str(settings))

    with Fieldlink() as fieldlink:
        fieldlink.register_app(
            "john-deere", {"clientKey": "app", "clientSecret": "s"}, environment="STAGE"
        )
        start = fieldlink.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)

    assert start.url.startswith("https://proxy.example/a?")


def test_a_settings_file_that_is_not_utf_8_is_named_without_its_content(
    fieldlink_home, tmp_path, monkeypatch
):
    settings = tmp_path / "fieldlink.toml"
    settings.write_bytes(b'[trimble]\napplication_name = "CANARY-\xe9t\xe9"\n')
    monkeypatch.setenv("FIELDLINK_SETTINGS", str(settings))

    result = run("credentials", "list")

    assert result.exit_code == 1
    assert result.output == (
        f"Error: {settings}: not UTF-8 text at line 2, column 28; save it as UTF-8 "
        "(the settings file named by FIELDLINK_SETTINGS)\n"
    )


def test_a_settings_file_nested_too_deeply_is_named(
    fieldlink_home, tmp_path, monkeypatch
):
    settings = tmp_path / "fieldlink.toml"
    settings.write_bytes(b"[trimble]\nscopes = " + b"[" * 100_000 + b"]" * 100_000)
    monkeypatch.setenv("FIELDLINK_SETTINGS", str(settings))

    result = run("credentials", "list")

    assert result.exit_code == 1
    assert result.output == (
        f"Error: {settings}: TOML that nested too deeply "
        "(the settings file named by FIELDLINK_SETTINGS)\n"
    )


def test_the_sandbox_answers_a_form_flow_and_leaves_real_apps_alone(
    fieldlink, monkeypatch
):
    """Against `fieldlink sandbox`, no app registration is needed and a form flow is
    answered with the sandbox grower's login: nothing to type, nothing printed."""
    fieldlink.register_app(
        "john-deere",
        {"clientKey": "my-real-app", "clientSecret": "real-secret"},
        environment="STAGE",
    )
    emulators = {
        provider: fieldlink.registry.call(provider, "sandbox_emulator", settings={})
        for provider in ("stara", "john-deere")
    }
    with serve(mount(emulators)) as running:
        monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
        monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)

        connected = run("connect", "stara", "--user", USER, "--no-browser")
        listed = run("resources", "stara", "--user", USER, "--kind", "fields")

    assert connected.exit_code == 0, connected.output
    assert "sandbox grower's login" in connected.stderr
    assert listed.exit_code == 0 and "fields: 5" in listed.stderr
    real = fieldlink.store.get_app("john-deere", "STAGE")
    assert real.fields["clientKey"] == "my-real-app"
