"""No secret shows in a repr, a str, an error or a masked payload.

This goes beyond the canary sweep of log records and output: it looks at every model
that holds a secret, as a traceback, a debugger or a careless log call would show it.
(Errors are swept by the exception sweep of every test; here they are provoked.)
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from fieldlink import ProviderContext
from fieldlink._crypto import SECRET_KEY_ENV, Keyring, generate_key
from fieldlink._store import Store
from fieldlink.errors import OAuthError, StoreError
from fieldlink.http import HttpClient, make_session
from fieldlink.sandbox import CANARY, canary
from fieldlink.testing import CALLBACK_URI, SandboxedProvider

from .support import JOHN_DEERE, USER, consent


def provider_context(deere: SandboxedProvider) -> ProviderContext:
    """What the John Deere plugin's hooks are given, built from public parts."""
    fieldlink = deere.fieldlink
    info = fieldlink.provider(JOHN_DEERE).info
    environment = info.environments[0]
    return ProviderContext(
        provider=info,
        environment=environment,
        endpoints=deere.endpoints,
        settings={},
        app=fieldlink.store.get_app(JOHN_DEERE, environment),
        http=HttpClient(make_session(), JOHN_DEERE),
    )


def assert_hidden(thing: Any, secrets: list[str]) -> None:
    for shown in (repr(thing), str(thing)):
        assert CANARY not in shown, f"a secret shows in {type(thing).__name__}: {shown}"
        for secret in secrets:
            assert secret not in shown, f"a secret shows in {type(thing).__name__}"


def test_models_holding_secrets_never_show_them(deere: SandboxedProvider) -> None:
    fieldlink = deere.fieldlink
    plugin = fieldlink.provider(JOHN_DEERE).plugin
    context = provider_context(deere)
    credential = fieldlink.refresh(USER, JOHN_DEERE)
    payload = credential.payload
    grant = plugin.refresh_credentials(context=context, credential=credential)
    tokens = plugin.token_request(
        context,
        payload["clientKey"],
        payload["clientSecret"],
        "refresh_token",
        {"refresh_token": payload["refreshToken"]},
        requested=credential.scopes,
    )
    apps = fieldlink.apps()
    start = fieldlink.start_auth("grower-2", JOHN_DEERE, redirect_uri=CALLBACK_URI)
    session = fieldlink.store.consume_session(start.state, JOHN_DEERE)

    # Each of them does hold secrets, or the checks below would prove nothing.
    assert CANARY in credential.access_token and CANARY in payload["refreshToken"]
    assert CANARY in grant.access_token and CANARY in tokens.access_token
    assert all(CANARY in app.fields["clientSecret"] for app in apps)
    secrets = [
        start.state,
        session.code_verifier,
        *os.environ[SECRET_KEY_ENV].split(","),
    ]

    for thing in [
        credential,
        grant,
        tokens,
        *apps,
        start,
        session,
        context,
        fieldlink,
        fieldlink.store,
        fieldlink.store.keyring,
        *fieldlink.events(USER, JOHN_DEERE),
    ]:
        assert_hidden(thing, secrets)


def test_masked_payload_shows_no_secret(deere: SandboxedProvider) -> None:
    credential = deere.fieldlink.credential(USER, JOHN_DEERE)

    masked = deere.fieldlink.masked_payload(credential)

    assert masked["clientKey"] == credential.payload["clientKey"]
    assert masked.keys() == credential.payload.keys()
    assert CANARY not in repr(masked)


def test_error_description_quoting_the_refresh_token_is_scrubbed(
    deere: SandboxedProvider,
) -> None:
    fieldlink = deere.fieldlink
    payload = fieldlink.credential(USER, JOHN_DEERE).payload
    quoted = (
        f"refresh token {payload['refreshToken']} of {payload['clientSecret']} is bad"
    )
    deere.emulator.fail_next_token_request(
        400, {"error": "invalid_request", "error_description": quoted}
    )

    with pytest.raises(OAuthError) as info:
        fieldlink.refresh(USER, JOHN_DEERE)

    assert "refresh token *** of *** is bad" in str(info.value)
    assert all(
        CANARY not in event.message for event in fieldlink.events(USER, JOHN_DEERE)
    )


def test_error_description_quoting_the_code_is_scrubbed(
    deere: SandboxedProvider,
) -> None:
    params = consent(deere.fieldlink)
    deere.emulator.fail_next_token_request(
        400,
        {
            "error": "invalid_grant",
            "error_description": f"code {params['code']} expired",
        },
    )

    with pytest.raises(OAuthError) as info:
        deere.fieldlink.complete_auth(JOHN_DEERE, params)

    assert params["code"] not in str(info.value) + repr(info.value)
    assert "code *** expired" in str(info.value)


@pytest.mark.parametrize(
    "scheme",
    ["postgresql+psycopg", "nosuchdatabase"],
    ids=["unreachable-server", "unknown-dialect"],
)
def test_database_password_stays_out_of_store_errors(scheme: str) -> None:
    password = canary("database-password")

    with pytest.raises(StoreError) as info:
        Store(
            f"{scheme}://fieldlink:{password}@127.0.0.1:1/fieldlink",
            Keyring([generate_key()]),
        )

    assert password not in str(info.value) + repr(info.value)
