"""What a host hears when it names something wrong: the culprit, and how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fieldlink import Fieldlink
from fieldlink._crypto import Keyring, generate_key
from fieldlink._plugins import PluginRegistry
from fieldlink.errors import (
    ConfigurationError,
    DecryptionError,
    UnknownEnvironmentError,
    UnknownProviderError,
    UnknownResourceKindError,
)
from fieldlink.http import HttpClient, make_session

from .support import JOHN_DEERE, USER

MISTYPED = "john-deer"

# Every method that takes a provider, called with a mistyped one.
CALLS: dict[str, Callable[[Fieldlink], Any]] = {
    "credential": lambda host: host.credential(USER, MISTYPED),
    "credentials": lambda host: host.credentials(USER, MISTYPED),
    "refresh": lambda host: host.refresh(USER, MISTYPED),
    "delete": lambda host: host.delete(USER, MISTYPED),
    "events": lambda host: host.events(USER, MISTYPED),
    "access_token": lambda host: host.access_token(USER, MISTYPED),
    "usable_credential": lambda host: host.usable_credential(USER, MISTYPED),
    "api": lambda host: host.api(USER, MISTYPED),
    "list_resources": lambda host: host.list_resources(USER, MISTYPED, "fields"),
    "start_auth": lambda host: host.start_auth(USER, MISTYPED),
    "complete_auth": lambda host: host.complete_auth(MISTYPED, {"state": "s"}),
    "register_app": lambda host: host.register_app(MISTYPED, {}),
    "delete_app": lambda host: host.delete_app(MISTYPED, "STAGE"),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_mistyped_provider_is_named_as_unknown(deere, call):
    with pytest.raises(UnknownProviderError) as raised:
        call(deere.fieldlink)

    message = str(raised.value)
    assert f"no provider {MISTYPED!r} is loaded; use one of" in message
    assert JOHN_DEERE in message
    assert "connect the user first" not in message


def test_an_unknown_environment_lists_the_provider_s(fieldlink):
    with pytest.raises(UnknownEnvironmentError, match="use one of STAGE, PRODUCTION"):
        fieldlink.start_auth(USER, JOHN_DEERE, redirect_uri="", environment="DEV")
    with pytest.raises(UnknownEnvironmentError, match="no environment 'DEV'"):
        fieldlink.delete_app(JOHN_DEERE, "DEV")


def test_an_unknown_resource_kind_lists_the_provider_s(deere):
    with pytest.raises(UnknownResourceKindError) as raised:
        deere.fieldlink.list_resources(USER, JOHN_DEERE, "paddocks")

    assert "lists no 'paddocks'; use one of organizations, farms, fields" in str(
        raised.value
    )


def test_a_plugins_variable_naming_no_plugin_is_blamed(monkeypatch):
    monkeypatch.setenv("FIELDLINK_PLUGINS", MISTYPED)
    registry = PluginRegistry()
    registry.load_entry_points()

    with pytest.raises(UnknownProviderError) as raised:
        registry.provider(JOHN_DEERE)

    message = str(raised.value)
    assert "is loaded, nor any other" in message
    assert f"FIELDLINK_PLUGINS names {MISTYPED!r}, which no installed plugin" in message
    assert "it is installed but left out by FIELDLINK_PLUGINS" in message
    assert registry.not_installed == [MISTYPED]


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:8700/john-deere/platform?token=CANARY-token",
        "localhost/platform",
        "http://",
        "http://127.0.0.1:port/platform",
    ],
)
def test_an_unusable_url_is_a_configuration_error(url):
    http = HttpClient(make_session(), JOHN_DEERE)

    with pytest.raises(ConfigurationError) as raised:
        http.get(url)

    message = str(raised.value)
    assert "needs http:// or https://" in message
    assert url.split("?")[0] in message


def test_an_endpoint_without_scheme_is_not_blamed_on_the_plugin(deere):
    deere.fieldlink.override_endpoints(
        JOHN_DEERE, {"api_base": "127.0.0.1:8700/john-deere/platform"}
    )

    with pytest.raises(ConfigurationError) as raised:
        deere.fieldlink.list_resources(USER, JOHN_DEERE, "organizations")

    assert "at 127.0.0.1:8700/john-deere/platform" in str(raised.value)
    assert "plugin failed" not in str(raised.value)


def test_a_sandbox_url_without_scheme_is_refused_up_front(fieldlink_home):
    with pytest.raises(ConfigurationError) as raised:
        Fieldlink(sandbox_url="127.0.0.1:8700")

    assert "must be like http://127.0.0.1:8700" in str(raised.value)


def test_rotating_with_keys_that_cannot_decrypt_says_so():
    written = Keyring([generate_key()]).encrypt("CANARY-secret")

    with pytest.raises(DecryptionError, match="keep the key it was written with"):
        Keyring([generate_key(), generate_key()]).rotate(written)
