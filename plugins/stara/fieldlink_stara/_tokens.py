"""Stara's two-step token scheme (providers.md section 8, from Leaf's tutorial).

1. ``POST /autenticacao`` with JSON ``{"login", "password"}`` returns an ``apiKey``.
2. ``POST /token`` with JSON ``{"apiKey"}`` returns ``accessToken``,
   ``accessTokenClient`` and ``refreshToken``.

Stara publishes neither its error bodies nor a refresh endpoint: a refusal is read
from the status alone (settings ``revoking_statuses``), and new tokens come from
/token again, with the apiKey, unless the host names a ``refresh_url`` endpoint.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fieldlink.errors import CredentialRevoked, ProviderError

from ._options import PROVIDER_ID

if TYPE_CHECKING:
    import requests

    from fieldlink import ProviderContext

    from ._options import Options

logger = logging.getLogger(__name__)

#: What /token returns, under the names Leaf's credential body keeps.
TOKEN_FIELDS = ("accessToken", "accessTokenClient", "refreshToken")
_JSON = {"Accept": "application/json"}


def log_in(
    context: ProviderContext, options: Options, login: str, password: str
) -> str:
    """Exchange a Stara login and password for the apiKey."""
    response = context.http.post(
        context.endpoint("auth_url"),
        json={"login": login, "password": password},
        headers=_JSON,
    )
    if response.status_code in options.revoking_statuses:
        raise CredentialRevoked(
            f"{PROVIDER_ID} refused the login and password (HTTP "
            f"{response.status_code}); check them and connect again",
            error="invalid_login",
            provider=PROVIDER_ID,
            status=response.status_code,
        )
    body = context.http.json(response, what="the login")
    return _string(body, "apiKey", response, what="the login")


def issue_tokens(
    context: ProviderContext, options: Options, api_key: str
) -> dict[str, str]:
    """A new token set for ``api_key``; CredentialRevoked when Stara refuses the key."""
    response = context.http.post(
        context.endpoint("token_url"), json={"apiKey": api_key}, headers=_JSON
    )
    if response.status_code in options.revoking_statuses:
        # Leaf: the grower must then authenticate again.
        raise CredentialRevoked(
            f"{PROVIDER_ID} refused the apiKey (HTTP {response.status_code}); the "
            "user must connect again with the Stara login and password",
            error="invalid_api_key",
            provider=PROVIDER_ID,
            status=response.status_code,
        )
    body = context.http.json(response, what="the token request")
    return {
        name: _string(body, name, response, what="the token request")
        for name in TOKEN_FIELDS
    }


def renew_tokens(
    context: ProviderContext, options: Options, refresh_token: str
) -> dict[str, str] | None:
    """New tokens from the host's ``refresh_url``; None when it refuses the refresh
    token, so that the caller can still ask /token with the apiKey.

    The endpoint is not published: it gets JSON ``{"refreshToken"}`` and must answer
    an ``accessToken``; a client or refresh token it leaves out is kept.
    """
    response = context.http.post(
        context.endpoint("refresh_url"),
        json={"refreshToken": refresh_token},
        headers=_JSON,
    )
    if response.status_code in options.revoking_statuses:
        logger.debug(
            "%s refused the refresh token (HTTP %s); asking for tokens with the apiKey",
            PROVIDER_ID,
            response.status_code,
        )
        return None
    what = "the token refresh"
    body = context.http.json(response, what=what)
    tokens = {"accessToken": _string(body, "accessToken", response, what=what)}
    for name in ("accessTokenClient", "refreshToken"):
        if isinstance(body, dict) and body.get(name) is not None:
            tokens[name] = _string(body, name, response, what=what)
    return tokens


def _string(body: Any, name: str, response: requests.Response, *, what: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise ProviderError(
            f"{PROVIDER_ID} answered {what} without a usable {name}; nothing was "
            "stored",
            provider=PROVIDER_ID,
            status=response.status_code,
        )
    return value
