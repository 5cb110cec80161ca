"""Every hook a fieldlink plugin can implement.

pluggy matches implementations to these specifications by name, argument names
included: an implementation may take fewer arguments than its specification names,
never others. The reference, with an example for each hook, is ``docs/hooks.md``.

Provider hooks are called for one provider at a time: the call reaches that
provider's plugin only, plus plugins that wrap every provider (pluggy wrappers, for
audit or metrics). Observer hooks are broadcast to every plugin.

The arguments keep one meaning across hooks:

``context``
    a :class:`fieldlink.ProviderContext`: the provider's description, the chosen
    environment, its endpoints, the host's settings and app registration, and an
    HTTP client for unauthenticated calls.
``credential``
    a :class:`fieldlink.models.Credential`, secrets included.
``payload``
    a credential body in the provider's schema (the body Leaf documents).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import requests

    from ._context import ProviderContext
    from .http import HttpClient
    from .models import (
        AuthRequest,
        AuthResult,
        AuthSession,
        Credential,
        CredentialStatus,
        Form,
        Grant,
        Page,
        ProviderInfo,
        Redirect,
    )
    from .sandbox import Emulator

PROJECT = "fieldlink"

hookspec = pluggy.HookspecMarker(PROJECT)


# Describing a provider


@hookspec(firstresult=True)
def describe_provider() -> ProviderInfo:
    """Return the :class:`~fieldlink.models.ProviderInfo` of the plugin's provider.

    Called once, when the plugin is loaded. A plugin that implements it is a provider
    plugin; the id it returns must equal its entry point's name.
    """


# Connecting a user


@hookspec(firstresult=True)
def start_auth(context: ProviderContext, request: AuthRequest) -> Redirect | Form:
    """Begin connecting ``request.user_id``.

    Return a :class:`~fieldlink.models.Redirect` to the provider's consent page,
    carrying ``request.state`` and ``request.redirect_uri`` (and
    ``request.code_challenge`` if the provider takes PKCE), or a
    :class:`~fieldlink.models.Form` listing what to ask the user for. The core
    keeps the state, the redirect URI and the PKCE verifier server-side once the
    hook has answered.
    """


@hookspec(firstresult=True)
def complete_auth(
    context: ProviderContext, session: AuthSession, params: Mapping[str, str]
) -> AuthResult:
    """Finish connecting a user and return an :class:`~fieldlink.models.AuthResult`.

    ``params`` are the callback's query parameters, or the submitted form fields.
    The core has already checked the state (single use, unexpired) and turned an
    ``error`` parameter into :class:`~fieldlink.errors.AuthorizationDenied`. The
    returned grant's payload is then registered as if the host had posted it.
    """


@hookspec(firstresult=True)
def register_credentials(context: ProviderContext, payload: Mapping[str, Any]) -> Grant:
    """Check and normalise a payload that already satisfies the provider's schema.

    Return a :class:`~fieldlink.models.Grant` whose payload is what gets stored. Where
    the provider offers a cheap check (a key summary, a login), make it and set the
    grant's access token; raise :class:`~fieldlink.errors.CredentialRevoked` when the
    provider refuses the credential.
    """


# Keeping tokens alive


@hookspec(firstresult=True)
def refresh_credentials(context: ProviderContext, credential: Credential) -> Grant:
    """Obtain a new access token for ``credential`` and return the new grant.

    If the provider returned a new refresh token, write it into the grant's payload;
    if it returned none, keep the old one. The core stores the grant before anyone
    sees the new access token and makes sure only one refresh per credential runs at
    a time. Raise :class:`~fieldlink.errors.CredentialRevoked` for a refusal that
    will not pass (``invalid_grant``) and
    :class:`~fieldlink.errors.ProviderUnavailable` for one that may.
    """


@hookspec(firstresult=True)
def revoke_credentials(context: ProviderContext, credential: Credential) -> bool | None:
    """Revoke ``credential`` at the provider, because the host is deleting it.

    Return True when the provider confirmed, None when it offers no revocation.
    Raise a :class:`~fieldlink.errors.ProviderError` when revocation failed; the
    core deletes the credential locally all the same and reports the failure.
    """


@hookspec(firstresult=True)
def authorize_request(
    context: ProviderContext,
    credential: Credential,
    request: requests.PreparedRequest,
) -> requests.PreparedRequest:
    """Make one outgoing API request carry the credential, and return it.

    Add the bearer token and the provider's extra headers, or sign the request.
    ``credential.access_token`` is fresh when this is called.
    """


# Reading data


@hookspec(firstresult=True)
def list_resources(
    context: ProviderContext,
    credential: Credential,
    api: HttpClient,
    kind: str,
    parent: str | None,
    cursor: str | None,
) -> Page:
    """Return one :class:`~fieldlink.models.Page` of ``kind`` resources.

    ``api`` sends requests authorised for ``credential`` (through
    ``authorize_request``). ``parent`` is the id of the enclosing resource for kinds
    listed in ``ProviderInfo.resource_parents``; ``cursor`` is ``None`` for the first
    page, then the previous page's ``next_cursor``. A ``next_cursor`` of ``None``
    ends the listing.
    """


# Sandbox


@hookspec(firstresult=True)
def sandbox_emulator(settings: Mapping[str, Any]) -> Emulator:
    """Return a :class:`fieldlink.sandbox.Emulator` that stands in for the provider.

    ``settings`` may carry ``size`` (how many resources to seed) and ``seed`` (for
    reproducible data). The emulator is served on loopback for tests and the demo.
    """


# Observers: broadcast to every plugin; return values are ignored.


@hookspec
def credential_status_changed(
    credential: Credential, previous: CredentialStatus, reason: str
) -> None:
    """A credential's status changed, for example to ``invalid`` after ``invalid_grant``."""


@hookspec
def credential_permission_denied(credential: Credential, reason: str) -> None:
    """The provider refused ``credential`` a permission; the credential stays active."""


@hookspec
def credential_refreshed(credential: Credential, rotated: bool) -> None:
    """A credential was refreshed and stored; ``rotated`` tells if the refresh token changed."""
