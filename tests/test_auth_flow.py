"""Connecting a user: the state, refusals, the redirect_uri, PKCE and John Deere's
organisation step, over HTTP against John Deere's emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import sqlalchemy as sa

from fieldlink import Fieldlink
from fieldlink._client import AUTH_SESSION_LIFETIME
from fieldlink._store import state_hash
from fieldlink._tables import auth_sessions
from fieldlink.errors import (
    AuthorizationDenied,
    AuthStateError,
    OAuthError,
    ProviderError,
)
from fieldlink.sandbox import drive_consent
from fieldlink.testing import CALLBACK_URI, SandboxedProvider

from .support import JOHN_DEERE, USER, consent


@pytest.fixture
def deere(sandbox: Callable[..., SandboxedProvider]) -> SandboxedProvider:
    """John Deere's emulator, nobody connected yet."""
    return sandbox(JOHN_DEERE)


def rewrite_session(fieldlink: Fieldlink, state: str, **values: Any) -> None:
    """Change the stored auth session of ``state``, as time or an attacker would."""
    with fieldlink.store.engine.begin() as connection:
        changed = connection.execute(
            sa.update(auth_sessions)
            .where(auth_sessions.c.state_hash == state_hash(state))
            .values(**values)
        )
    assert changed.rowcount == 1


# state


def test_state_is_single_use(deere: SandboxedProvider) -> None:
    fieldlink = deere.fieldlink
    params = consent(fieldlink)
    fieldlink.complete_auth(JOHN_DEERE, params)

    with pytest.raises(AuthStateError, match="already used"):
        fieldlink.complete_auth(JOHN_DEERE, params)


def test_state_expires_after_ten_minutes(deere: SandboxedProvider) -> None:
    fieldlink = deere.fieldlink
    before = datetime.now(UTC)
    start = fieldlink.start_auth(USER, JOHN_DEERE, redirect_uri=CALLBACK_URI)
    after = datetime.now(UTC)
    assert (
        before + timedelta(minutes=10)
        <= start.expires_at
        <= after + timedelta(minutes=10)
    )
    params = dict(parse_qsl(urlsplit(drive_consent(start.url)).query))

    # Ten minutes and a second pass: the session's deadline moves into the past.
    rewrite_session(
        fieldlink,
        start.state,
        expires_at=start.expires_at - AUTH_SESSION_LIFETIME - timedelta(seconds=1),
    )

    with pytest.raises(AuthStateError, match="expired"):
        fieldlink.complete_auth(JOHN_DEERE, params)
    with pytest.raises(AuthStateError):
        fieldlink.complete_auth(JOHN_DEERE, params)


def test_tampered_state_is_refused(deere: SandboxedProvider) -> None:
    fieldlink = deere.fieldlink
    params = consent(fieldlink)
    state = params["state"]
    tampered = state[:-1] + ("A" if state[-1] != "A" else "B")

    with pytest.raises(AuthStateError, match="unknown state"):
        fieldlink.complete_auth(JOHN_DEERE, {**params, "state": tampered})

    # The genuine callback still completes: a forgery burns nothing.
    connection = fieldlink.complete_auth(JOHN_DEERE, params)
    assert connection.credential.user_id == USER


# refusals


def test_access_denied_is_a_refusal_even_with_a_code(deere: SandboxedProvider) -> None:
    fieldlink = deere.fieldlink
    allowed = consent(fieldlink, "grower-2")
    denied = consent(fieldlink, decision="deny")
    assert denied["error"] == "access_denied"

    # A callback carrying both: the code (a live one) must not be exchanged.
    with pytest.raises(AuthorizationDenied) as info:
        fieldlink.complete_auth(JOHN_DEERE, {**denied, "code": allowed["code"]})

    assert info.value.error == "access_denied"
    assert fieldlink.credentials(USER) == []
    # The refused flow is over; the code it carried is still unspent.
    with pytest.raises(AuthStateError):
        fieldlink.complete_auth(
            JOHN_DEERE, {"state": denied["state"], "code": allowed["code"]}
        )
    assert fieldlink.complete_auth(JOHN_DEERE, allowed).credential.user_id == "grower-2"


# redirect_uri


def test_the_same_redirect_uri_reaches_the_token_exchange(
    deere: SandboxedProvider,
) -> None:
    fieldlink = deere.fieldlink
    redirect_uri = "http://127.0.0.1:9/connect/done?tenant=north+farm"
    params = consent(fieldlink, redirect_uri=redirect_uri)
    assert params["tenant"] == "north farm"

    connection = fieldlink.complete_auth(JOHN_DEERE, params)

    assert connection.credential.access_token is not None
    assert parse_qs(urlsplit(connection.next_step_url).query)["redirect_uri"] == [
        redirect_uri
    ]


def test_another_redirect_uri_at_the_token_exchange_is_refused(
    deere: SandboxedProvider,
) -> None:
    # Proves the emulator checks it, so the test above means something.
    fieldlink = deere.fieldlink
    start = fieldlink.start_auth(USER, JOHN_DEERE, redirect_uri=CALLBACK_URI)
    params = dict(parse_qsl(urlsplit(drive_consent(start.url)).query))
    rewrite_session(fieldlink, start.state, redirect_uri="http://127.0.0.1:9/elsewhere")

    with pytest.raises(OAuthError, match="redirect_uri") as info:
        fieldlink.complete_auth(JOHN_DEERE, params)

    assert info.value.error == "invalid_grant"
    assert fieldlink.credentials(USER) == []


# PKCE


@pytest.fixture
def pkce_deere(
    fieldlink_home: Any, sandbox_for: Callable[[Fieldlink], SandboxedProvider]
) -> Iterator[SandboxedProvider]:
    with Fieldlink(
        f"sqlite:///{fieldlink_home / 'pkce.db'}", settings={JOHN_DEERE: {"pkce": True}}
    ) as fieldlink:
        yield sandbox_for(fieldlink)


def test_pkce_s256_when_turned_on(pkce_deere: SandboxedProvider) -> None:
    fieldlink = pkce_deere.fieldlink
    start = fieldlink.start_auth(USER, JOHN_DEERE, redirect_uri=CALLBACK_URI)
    query = dict(parse_qsl(urlsplit(start.url).query))
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256, unpadded

    params = dict(parse_qsl(urlsplit(drive_consent(start.url)).query))
    connection = fieldlink.complete_auth(JOHN_DEERE, params)

    assert connection.credential.payload["refreshToken"].startswith("CANARY-")


def test_pkce_with_a_wrong_verifier_is_refused(pkce_deere: SandboxedProvider) -> None:
    # Proves the emulator verifies the challenge, so the test above means something.
    fieldlink = pkce_deere.fieldlink
    start = fieldlink.start_auth(USER, JOHN_DEERE, redirect_uri=CALLBACK_URI)
    params = dict(parse_qsl(urlsplit(drive_consent(start.url)).query))
    forged = fieldlink.store.keyring.encrypt(
        "a-verifier-the-challenge-was-not-made-from"
    )
    rewrite_session(fieldlink, start.state, code_verifier=forged)

    with pytest.raises(OAuthError, match="PKCE") as info:
        fieldlink.complete_auth(JOHN_DEERE, params)

    assert info.value.error == "invalid_grant"


def test_pkce_is_off_by_default(deere: SandboxedProvider) -> None:
    start = deere.fieldlink.start_auth(USER, JOHN_DEERE, redirect_uri=CALLBACK_URI)

    assert "code_challenge" not in dict(parse_qsl(urlsplit(start.url).query))


# John Deere's organisation connections


def test_john_deere_asks_for_organisation_connections(deere: SandboxedProvider) -> None:
    fieldlink = deere.fieldlink
    connection = fieldlink.complete_auth(JOHN_DEERE, consent(fieldlink))

    next_step = urlsplit(connection.next_step_url)
    assert next_step.netloc == urlsplit(deere.running.url).netloc
    assert next_step.path.endswith("/select-organizations")
    assert parse_qs(next_step.query)["redirect_uri"] == [CALLBACK_URI]

    def refused_organisations() -> list[str]:
        refused = []
        for organisation in fieldlink.iter_resources(USER, JOHN_DEERE, "organizations"):
            try:
                fieldlink.list_resources(
                    USER, JOHN_DEERE, "farms", parent=organisation.id
                )
            except ProviderError as error:
                assert error.status == 403
                refused.append(organisation.id)
        return refused

    assert refused_organisations()
    back = drive_consent(connection.next_step_url)
    assert back.startswith(CALLBACK_URI)
    assert refused_organisations() == []
