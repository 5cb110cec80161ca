"""Signing in to Agvance for a session id.

The reference (providers.md section 10, from Leaf) says only that the API key with
an Agvance username, password and databaseId is authenticated to obtain a
sessionId. The request is a guess: JSON with those four members, under Leaf's
names, to the host's ``login_url``, answered by ``{"sessionId": ...}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fieldlink.errors import CredentialRevoked, ProviderError
from fieldlink.models import Grant

from ._options import PROVIDER_ID, endpoint

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fieldlink import ProviderContext

    from ._options import Options

#: The payload fields the login sends.
LOGIN_FIELDS = ("apiKey", "databaseId", "username", "password")


def sign_in(
    context: ProviderContext, options: Options, payload: Mapping[str, Any]
) -> Grant:
    """A grant holding a new session id for ``payload``; CredentialRevoked when
    Agvance refuses the user (a changed password, no API access)."""
    response = context.http.post(
        endpoint(context, "login_url"),
        json={name: payload[name] for name in LOGIN_FIELDS},
        headers={"Accept": "application/json"},
    )
    status = response.status_code
    if status in options.revoking_statuses:
        # Access is granted per Agvance user (Hub / API Security), per database.
        raise CredentialRevoked(
            f"{PROVIDER_ID} refused to sign in (HTTP {status}): check the username, "
            "password and databaseId, and that the user has Hub / API Security "
            "access; a changed password means connecting again",
            error="invalid_login",
            provider=PROVIDER_ID,
            status=status,
        )
    body = context.http.json(response, what="the sign-in")
    session_id = body.get("sessionId") if isinstance(body, dict) else None
    if not isinstance(session_id, str) or not session_id:
        raise ProviderError(
            f"{PROVIDER_ID} answered the sign-in without a sessionId; nothing was "
            "stored",
            provider=PROVIDER_ID,
            status=status,
        )
    return Grant(payload, session_id, datetime.now(UTC) + options.session_lifetime)
