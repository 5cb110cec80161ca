"""What a host hears when it names something wrong: the culprit, and how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fieldlink import Fieldlink
from fieldlink._crypto import Keyring, generate_key
from fieldlink._plugins import PluginRegistry
from fieldlink.errors import (
    AuthorizationDenied,
    ConfigurationError,
    DecryptionError,
    InvalidUserIdError,
    StoreError,
    UnknownEnvironmentError,
    UnknownProviderError,
    UnknownResourceKindError,
)
from fieldlink.http import HttpClient, make_session

from . import support
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


# Every method that takes a user id, called with a given one.
USER_CALLS: dict[str, Callable[[Fieldlink, Any], Any]] = {
    "start_auth": lambda host, user: host.start_auth(user, JOHN_DEERE),
    "register": lambda host, user: host.register(user, JOHN_DEERE, {}),
    "credential": lambda host, user: host.credential(user, JOHN_DEERE),
    "credentials": lambda host, user: host.credentials(user),
    "refresh": lambda host, user: host.refresh(user, JOHN_DEERE),
    "delete": lambda host, user: host.delete(user, JOHN_DEERE),
    "events": lambda host, user: host.events(user, JOHN_DEERE),
    "access_token": lambda host, user: host.access_token(user, JOHN_DEERE),
    "usable_credential": lambda host, user: host.usable_credential(user, JOHN_DEERE),
    "api": lambda host, user: host.api(user, JOHN_DEERE),
    "list_resources": lambda host, user: host.list_resources(
        user, JOHN_DEERE, "fields"
    ),
    "iter_resources": lambda host, user: list(
        host.iter_resources(user, JOHN_DEERE, "fields")
    ),
}
BAD_USER_IDS = {
    **support.BAD_USER_IDS,
    "too long": ("u" * 256, "is longer than 255 characters"),
    "not a string": (42, "must be a string, not int"),
}


@pytest.mark.parametrize(
    ("user_id", "problem"), BAD_USER_IDS.values(), ids=BAD_USER_IDS.keys()
)
@pytest.mark.parametrize("call", USER_CALLS.values(), ids=USER_CALLS.keys())
def test_a_malformed_user_id_is_refused_everywhere(deere, call, user_id, problem):
    with pytest.raises(InvalidUserIdError) as raised:
        call(deere.fieldlink, user_id)

    message = str(raised.value)
    assert problem in message
    assert "pass your application's id for the user exactly" in message
    assert isinstance(raised.value, ValueError)


def test_a_user_id_is_taken_exactly_as_given(deere):
    """Inner spaces and any language are fine: only what would hide a second user
    who looks like the first is refused."""
    for user_id in ("Jane Smith", "grower-ü-42", "u" * 255):
        deere.connect(user_id)

    assert {c.user_id for c in deere.fieldlink.credentials()} == {
        USER,
        "Jane Smith",
        "grower-ü-42",
        "u" * 255,
    }


def test_a_database_error_names_the_argument_it_came_from(fieldlink_home):
    with pytest.raises(StoreError) as raised:
        Fieldlink("nosuchdatabase://fieldlink@127.0.0.1/fieldlink").credentials()

    assert "cannot use the database URL from Fieldlink(database_url=...)" in str(
        raised.value
    )


def test_a_refusal_at_the_consent_page_is_the_user_s(deere):
    params = deere.callback_params("grower-2", decision="deny")

    with pytest.raises(AuthorizationDenied) as raised:
        deere.fieldlink.complete_auth(JOHN_DEERE, params)

    assert str(raised.value) == (
        "the user refused the connection at john-deere's consent page: access_denied"
    )
    assert raised.value.error == "access_denied"


def test_another_authorisation_error_is_the_provider_s(deere):
    start = deere.fieldlink.start_auth("grower-2", JOHN_DEERE, redirect_uri="x")

    with pytest.raises(AuthorizationDenied) as raised:
        deere.fieldlink.complete_auth(
            JOHN_DEERE, {"state": start.state, "error": "invalid_scope"}
        )

    assert str(raised.value) == (
        "john-deere did not authorise the connection: invalid_scope"
    )


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

    assert "the john-deere endpoint 'api_base'" in str(raised.value)
    assert "must be an absolute http or https URL" in str(raised.value)
    assert "plugin failed" not in str(raised.value)


def test_a_sandbox_url_without_scheme_is_refused_up_front(fieldlink_home):
    with pytest.raises(ConfigurationError) as raised:
        Fieldlink(sandbox_url="127.0.0.1:8700")

    assert "must be like http://127.0.0.1:8700" in str(raised.value)


def test_rotating_with_keys_that_cannot_decrypt_says_so():
    written = Keyring([generate_key()]).encrypt("CANARY-secret")

    with pytest.raises(DecryptionError, match="keep the key it was written with"):
        Keyring([generate_key(), generate_key()]).rotate(written, "a test secret")
