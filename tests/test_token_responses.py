"""Token responses a provider may really send, during a code exchange and a refresh.

Each one is served by John Deere's emulator (``fail_next_token_request``) in place of
its real answer. Whatever the answer, a malformed response never corrupts a stored
credential: after a failure the user's credential is exactly what it was, except that
``invalid_grant`` on a refresh marks it invalid.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from fieldlink import Credential, CredentialStatus
from fieldlink.errors import (
    CredentialRevoked,
    OAuthError,
    ProviderError,
    ProviderUnavailable,
)
from fieldlink.http import make_session
from fieldlink.sandbox import canary
from fieldlink.testing import SandboxedProvider

from .support import JOHN_DEERE, USER, Observer, consent

HTML_PAGE = "<html><body><h1>Bad gateway</h1></body></html>"


def issue_access_token(deere: SandboxedProvider) -> str:
    """A new access token the emulator knows, asked for as any OAuth client would.

    John Deere's flow lists organisations with the token right after the exchange, so
    a canned exchange answer must carry a token the emulator accepts.
    """
    credential = deere.fieldlink.credential(USER, JOHN_DEERE)
    app = deere.emulator.app_fields()
    response = make_session(retries=0).post(
        deere.endpoints["token_url"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": credential.payload["refreshToken"],
        },
        auth=(app["clientKey"], app["clientSecret"]),
        timeout=5,
    )
    response.raise_for_status()
    return response.json()["access_token"]


@attrs.define
class Phase:
    """Where a canned token response is served: a code exchange or a refresh.

    The exchange reconnects USER, so both phases have a stored credential to spoil.
    """

    name: str
    deere: SandboxedProvider

    @property
    def asked_scopes(self) -> tuple[str, ...]:
        # The exchange asks for John Deere's defaults; a refresh, for those granted.
        return self.deere.fieldlink.provider(JOHN_DEERE).plugin.oauth.scopes

    def stored(self) -> Credential:
        return self.deere.fieldlink.credential(USER, JOHN_DEERE)

    def body(self, **members: Any) -> dict[str, Any]:
        """A good token response with ``members`` changed (None leaves a member out)."""
        body = {
            "access_token": issue_access_token(self.deere),
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": canary("refresh"),
            "scope": " ".join(self.asked_scopes),
        }
        body.update(members)
        return {key: value for key, value in body.items() if value is not None}

    def run(
        self, status: int, body: Any, content_type: str = "application/json"
    ) -> Credential:
        """Serve ``body`` as the next token response; return the credential stored."""
        fieldlink, emulator = self.deere.fieldlink, self.deere.emulator
        params = consent(fieldlink) if self.name == "exchange" else {}
        emulator.fail_next_token_request(status, body, content_type)
        try:
            if self.name == "exchange":
                return fieldlink.complete_auth(JOHN_DEERE, params).credential
            return fieldlink.refresh(USER, JOHN_DEERE)
        finally:
            assert not emulator.token_faults, "the canned answer was never asked for"

    def fails(
        self,
        expected: type[Exception],
        status: int,
        body: Any,
        content_type: str = "application/json",
    ) -> Any:
        """Run, expect ``expected``; the stored credential must be untouched."""
        before = self.stored()
        with pytest.raises(expected) as info:
            self.run(status, body, content_type)
        assert self.stored() == before
        return info.value


@pytest.fixture(params=["exchange", "refresh"])
def phase(request: pytest.FixtureRequest, deere: SandboxedProvider) -> Phase:
    return Phase(request.param, deere)


@pytest.fixture
def exchanging(deere: SandboxedProvider) -> Phase:
    return Phase("exchange", deere)


@pytest.fixture
def refreshing(deere: SandboxedProvider) -> Phase:
    return Phase("refresh", deere)


# expires_in


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [(None, "default"), ("3600", 3600), (0, "default")],
    ids=["missing", "numeric-string", "zero"],
)
def test_expires_in(phase: Phase, expires_in: Any, lifetime: Any) -> None:
    if lifetime == "default":
        lifetime = phase.deere.fieldlink.provider(
            JOHN_DEERE
        ).plugin.oauth.default_expires_in
    body = phase.body(expires_in=expires_in)

    before = datetime.now(UTC)
    credential = phase.run(200, body)
    after = datetime.now(UTC)

    assert credential.access_token == body["access_token"]
    assert before + timedelta(seconds=lifetime) <= credential.expires_at
    assert credential.expires_at <= after + timedelta(seconds=lifetime)
    assert phase.stored() == credential


# token_type


@pytest.mark.parametrize("token_type", ["bearer", "BEARER"])
def test_bearer_in_any_case_is_accepted(phase: Phase, token_type: str) -> None:
    body = phase.body(token_type=token_type)

    credential = phase.run(200, body)

    assert credential.access_token == body["access_token"]
    assert credential.payload["refreshToken"] == body["refresh_token"]
    assert credential.status is CredentialStatus.ACTIVE


def test_mac_token_is_refused(phase: Phase) -> None:
    error = phase.fails(ProviderError, 200, phase.body(token_type="mac"))

    assert not isinstance(error, OAuthError)
    assert not error.retryable
    assert "'mac'" in str(error)


# error members


def test_invalid_grant_with_status_200_on_refresh_revokes(
    refreshing: Phase, observer: Observer
) -> None:
    fieldlink = refreshing.deere.fieldlink
    before = refreshing.stored()

    with pytest.raises(CredentialRevoked) as info:
        refreshing.run(200, {"error": "invalid_grant"})

    assert info.value.error == "invalid_grant"
    after = refreshing.stored()
    assert after.status is CredentialStatus.INVALID
    assert "invalid_grant" in after.status_reason
    # Only the status changed: the secrets and the expiry stay as they were.
    unchanged = ("payload", "access_token", "expires_at", "scopes")
    assert [getattr(after, name) for name in unchanged] == [
        getattr(before, name) for name in unchanged
    ]
    kinds = [event.kind for event in fieldlink.events(USER, JOHN_DEERE)]
    assert {"refresh_failed", "status_changed"} <= set(kinds)
    [(credential, previous, reason)] = observer.status_changes
    assert (credential.status, previous) == (
        CredentialStatus.INVALID,
        CredentialStatus.ACTIVE,
    )
    assert "invalid_grant" in reason


def test_invalid_grant_with_status_200_on_exchange_stores_nothing(
    exchanging: Phase, observer: Observer
) -> None:
    error = exchanging.fails(OAuthError, 200, {"error": "invalid_grant"})

    assert error.error == "invalid_grant"
    assert exchanging.stored().status is CredentialStatus.ACTIVE
    assert observer.status_changes == []


def test_other_error_with_status_200_is_an_oauth_error(
    phase: Phase, observer: Observer
) -> None:
    error = phase.fails(OAuthError, 200, {"error": "invalid_request"})

    assert not isinstance(error, CredentialRevoked)
    assert (error.error, error.status) == ("invalid_request", 200)
    assert observer.status_changes == []


# bodies that are not JSON


def test_html_page_with_status_200_is_a_provider_error(phase: Phase) -> None:
    error = phase.fails(ProviderError, 200, HTML_PAGE, "text/html")

    assert not error.retryable
    assert "text/html" in str(error)


def test_html_page_with_status_502_is_retryable(phase: Phase) -> None:
    error = phase.fails(ProviderUnavailable, 502, HTML_PAGE, "text/html")

    assert error.retryable
    assert error.status == 502


# refresh tokens and scopes


def test_refresh_without_refresh_token_keeps_the_old_one(refreshing: Phase) -> None:
    before = refreshing.stored()
    body = refreshing.body(refresh_token=None)

    credential = refreshing.run(200, body)

    assert credential.payload == before.payload
    assert credential.access_token == body["access_token"] != before.access_token


def test_exchange_without_refresh_token_says_how_to_get_one(exchanging: Phase) -> None:
    error = exchanging.fails(ProviderError, 200, exchanging.body(refresh_token=None))

    assert "offline_access" in str(error)


def test_other_scope_than_asked_is_stored_as_granted(phase: Phase) -> None:
    granted = phase.asked_scopes[:2]

    credential = phase.run(200, phase.body(scope=" ".join(granted)))

    assert credential.scopes == granted != phase.asked_scopes


def test_missing_scope_means_the_scopes_asked_for(phase: Phase) -> None:
    credential = phase.run(200, phase.body(scope=None))

    assert credential.scopes == phase.asked_scopes


# passing failures of a refresh


@pytest.mark.parametrize("status", [500, 503, 429])
def test_refresh_failing_for_now_leaves_the_credential_active(
    refreshing: Phase, observer: Observer, status: int
) -> None:
    error = refreshing.fails(
        ProviderUnavailable, status, {"error": "temporarily_unavailable"}
    )

    assert error.status == status
    assert refreshing.stored().status is CredentialStatus.ACTIVE
    events = refreshing.deere.fieldlink.events(USER, JOHN_DEERE)
    [failed] = [event for event in events if event.kind == "refresh_failed"]
    assert failed.status_code == status
    assert observer.status_changes == []


def test_refresh_timing_out_leaves_the_credential_active(
    refreshing: Phase,
    observer: Observer,
    silent_url: str,
) -> None:
    fieldlink = refreshing.deere.fieldlink
    # The timeout is real; only its length is cut from the default 30 s.
    fieldlink.timeout = 0.3
    fieldlink.override_endpoints(JOHN_DEERE, {"token_url": silent_url})
    before = refreshing.stored()

    with pytest.raises(ProviderUnavailable) as info:
        fieldlink.refresh(USER, JOHN_DEERE)

    assert "in time" in str(info.value)
    assert refreshing.stored() == before
    assert fieldlink.events(USER, JOHN_DEERE)[0].kind == "refresh_failed"
    assert observer.status_changes == []
