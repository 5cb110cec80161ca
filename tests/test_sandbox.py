"""`fieldlink sandbox` as a host uses it: a store apart from the real one, and a
revocation switch that behaves as a real provider's consent does."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from fieldlink import CredentialStatus, Fieldlink
from fieldlink._plugins import PluginRegistry
from fieldlink.cli import cli
from fieldlink.errors import CredentialRevoked
from fieldlink.http import make_session
from fieldlink.sandbox import RunningEmulator, drive_consent, mount, serve
from fieldlink.testing import CALLBACK_URI, assert_no_canary

from .support import connect_by_cli

USER = "user-42"


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert_no_canary(result.output, "CLI output")
    return result


def _providers() -> list[str]:
    registry = PluginRegistry()
    registry.load_entry_points()
    return sorted(registry.providers)


@pytest.fixture
def sandbox_of(fieldlink_home) -> Iterator:
    """``sandbox_of(provider, ...)`` serves those emulators as `fieldlink sandbox`
    does, under /<provider id>, and returns the running server."""
    running: list[RunningEmulator] = []
    registry = PluginRegistry()
    registry.load_entry_points()

    def start(*providers: str) -> RunningEmulator:
        emulators = {
            provider: registry.call(provider, "sandbox_emulator", settings={})
            for provider in providers
        }
        server = serve(mount(emulators))
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


def _connect(host: Fieldlink, provider: str) -> None:
    """Connect USER as the grower would: consent page, or the sandbox's login."""
    start = host.start_auth(USER, provider, redirect_uri=CALLBACK_URI)
    if start.form is not None:
        params = {"state": start.state, **host.sandbox_login(provider)}
    else:
        params = dict(parse_qsl(urlsplit(drive_consent(start.url)).query))
    connection = host.complete_auth(provider, params)
    if connection.next_step_url:
        drive_consent(connection.next_step_url)


def _first_page(host: Fieldlink, provider: str) -> object:
    info = host.provider(provider).info
    kind = next(k for k in info.resource_kinds if k not in info.resource_parents)
    return host.list_resources(USER, provider, kind)


def _revoke(sandbox_url: str, provider: str) -> None:
    """`curl -X POST <sandbox>/<provider>/_sandbox/revoke`, as the README says."""
    with make_session(retries=0) as session:
        response = session.post(f"{sandbox_url}/{provider}/_sandbox/revoke", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"revoked": True}


# A store of its own


def test_sandbox_credentials_live_apart_from_real_ones(sandbox_of, fieldlink_home):
    running = sandbox_of("john-deere")
    with Fieldlink() as real:
        real.register_app(
            "john-deere",
            {"clientKey": "my-real-app", "clientSecret": "real-secret"},
            environment="STAGE",
        )

    with Fieldlink(sandbox_url=running.url) as host:
        _connect(host, "john-deere")
        assert [c.user_id for c in host.credentials()] == [USER]

    data = fieldlink_home / "data"
    assert (data / "sandbox.db").is_file()
    with Fieldlink() as real:
        assert real.credentials() == []
        assert [app.fields["clientKey"] for app in real.apps()] == ["my-real-app"]


def test_without_the_sandbox_its_credential_is_not_found(sandbox_of, monkeypatch):
    """The reported fault: after unsetting FIELDLINK_SANDBOX_URL, the sandbox token
    went to the real provider. Now the real store has no such credential."""
    running = sandbox_of("stara")
    monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
    connected = run("connect", "stara", "--user", USER, "--no-browser")
    listed = run("resources", "stara", "--user", USER, "--kind", "fields")
    monkeypatch.delenv("FIELDLINK_SANDBOX_URL")

    outside = run("resources", "stara", "--user", USER, "--kind", "fields")

    assert connected.exit_code == 0, connected.output
    assert listed.exit_code == 0, listed.output
    assert outside.exit_code == 1
    assert "no stara credential is stored for user 'user-42'; connect the user" in (
        outside.output
    )
    assert run("credentials", "list", "--json").output.strip() == "[]"


def test_a_named_database_is_used_with_the_sandbox_too(
    sandbox_of, fieldlink, monkeypatch
):
    running = sandbox_of("stara")
    monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)

    result = run(
        "--database-url", fieldlink.store.url, "connect", "stara", "--user", USER
    )

    assert result.exit_code == 0, result.output
    assert [c.user_id for c in fieldlink.credentials()] == [USER]


def test_the_sandbox_store_has_a_key_of_its_own(fieldlink_home, monkeypatch):
    """`keys rotate` against the sandbox rotates the sandbox's key alone: the real
    store's key file, and so its secrets, are left as they are."""
    monkeypatch.delenv("FIELDLINK_SECRET_KEY")
    data = fieldlink_home / "data"
    with Fieldlink() as real:
        real.register_app(
            "john-deere",
            {"clientKey": "real", "clientSecret": "CANARY-real"},
            environment="STAGE",
        )
    real_key = (data / "secret.key").read_text()
    monkeypatch.setenv("FIELDLINK_SANDBOX_URL", "http://127.0.0.1:9")
    with Fieldlink() as host:
        host.register_app(
            "john-deere",
            {"clientKey": "play", "clientSecret": "CANARY-play"},
            environment="STAGE",
        )
    sandbox_key = (data / "sandbox.key").read_text()

    rotated = run("keys", "rotate")

    assert rotated.exit_code == 0, rotated.output
    assert (data / "secret.key").read_text() == real_key
    assert (data / "sandbox.key").read_text() != sandbox_key
    with Fieldlink() as host:
        assert host.apps()[0].fields["clientSecret"] == "CANARY-play"
    monkeypatch.delenv("FIELDLINK_SANDBOX_URL")
    with Fieldlink() as real:
        assert real.apps()[0].fields["clientSecret"] == "CANARY-real"


# Revocation


@pytest.mark.parametrize("provider", _providers())
def test_a_revocation_ends_what_was_issued_and_a_new_consent_works(
    sandbox_of, provider
):
    running = sandbox_of(provider)
    with Fieldlink(sandbox_url=running.url) as host:
        _connect(host, provider)
        _first_page(host, provider)

        _revoke(running.url, provider)
        with pytest.raises(CredentialRevoked):
            _first_page(host, provider)
        assert host.credential(USER, provider).status is CredentialStatus.INVALID

        _connect(host, provider)
        assert host.credential(USER, provider).status is CredentialStatus.ACTIVE
        _first_page(host, provider)
        if host.provider(provider).info.issues_access_tokens:
            host.refresh(USER, provider)


@pytest.mark.parametrize("provider", ["trimble", "climate-field-view"])
def test_reconnecting_after_a_revocation_works_from_the_command_line(
    sandbox_of, monkeypatch, provider
):
    running = sandbox_of(provider)
    monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
    first = connect_by_cli(provider, USER)
    assert first.returncode == 0, first.stderr

    _revoke(running.url, provider)
    refused = run("resources", provider, "--user", USER)
    again = connect_by_cli(provider, USER)
    listed = run("resources", provider, "--user", USER)

    assert refused.exit_code == 4
    assert "invalid_grant" in refused.output
    assert again.returncode == 0, again.stderr
    assert f"connected {USER} to {provider}" in again.stdout
    assert listed.exit_code == 0, listed.output
    assert "invalid" not in listed.output


def test_a_blank_sandbox_url_is_no_sandbox(fieldlink_home, monkeypatch):
    monkeypatch.setenv("FIELDLINK_SANDBOX_URL", "  ")
    with Fieldlink() as from_env, Fieldlink(sandbox_url=" ") as given:
        assert not from_env.in_sandbox
        assert not given.in_sandbox
