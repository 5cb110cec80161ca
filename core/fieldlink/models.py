"""The values that pass between hosts, the core and provider plugins.

All are frozen attrs classes. Fields that hold secrets are left out of ``repr`` and
payloads print their keys only, so a model can be logged or shown in a traceback.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs


def _keys_only(payload: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{key!r}: ..." for key in sorted(payload)) + "}"


def _redacted_url(url: str | None) -> str:
    # An authorisation URL carries the state, a bearer secret until the callback.
    from .http import redact_url

    return repr(None if url is None else redact_url(url))


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    # tuple("read") would be ("r", "e", "a", "d"): one string is never a list.
    if isinstance(value, str):
        raise TypeError(f"expected a list of strings, not the one string {value!r}")
    return tuple(value)


def _optional_strings(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else _strings(value)


def _form_fields(value: Iterable[FormField]) -> tuple[FormField, ...]:
    return tuple(value)


def _resources(value: Iterable[Resource]) -> tuple[Resource, ...]:
    return tuple(value)


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


class AuthKind(enum.StrEnum):
    """How a provider's users connect."""

    #: A redirect to the provider's consent page, then an authorisation code.
    OAUTH2 = "oauth2"
    #: The user types keys the provider issued (for example an access key).
    API_KEY = "api-key"
    #: The user types a login and password that are exchanged for tokens.
    PASSWORD = "password"


class CredentialStatus(enum.StrEnum):
    """Where a stored credential stands."""

    #: Usable: tokens are refreshed as needed.
    ACTIVE = "active"
    #: Refused by the provider for good; the user must connect again.
    INVALID = "invalid"


@attrs.frozen
class ProviderInfo:
    """What a plugin says about its provider (the ``describe_provider`` hook)."""

    id: str
    name: str
    version: str
    auth_kind: AuthKind = attrs.field(converter=AuthKind)
    #: Absolute path of the credential schema file shipped in the plugin.
    credential_schema: Path = attrs.field(converter=Path)
    resource_kinds: tuple[str, ...] = attrs.field(converter=_strings)
    #: ``{environment: {endpoint name: URL}}``; the first environment is the default.
    endpoints: Mapping[str, Mapping[str, str]] = attrs.field(converter=_frozen_mapping)
    documentation_url: str
    #: The oldest fieldlink core this plugin works with, as a version string.
    min_core_version: str
    #: ``{kind: parent kind}`` for resources listed per parent (fields of a farm...).
    resource_parents: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_mapping
    )
    #: True when each refresh returns a new refresh token and may retire the old one;
    #: None when the provider does not say.
    rotates_refresh_tokens: bool | None = None
    #: Seconds a refresh token lives after it is issued when nobody uses it (the
    #: refresh worker renews it in time); None when it does not die unused.
    refresh_token_lifetime: float | None = None
    #: False for providers that sign each request instead of issuing access tokens:
    #: their credentials are used as they are and never refreshed.
    issues_access_tokens: bool = True
    #: Things the reference leaves unconfirmed, said plainly for the host to read.
    notes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: The names of the host settings the plugin reads, so that a host's misspelt or
    #: unknown setting is refused with the valid names; None leaves names unchecked.
    #: ``OAuth2Provider`` adds the names it reads itself.
    settings: tuple[str, ...] | None = attrs.field(
        default=None, converter=_optional_strings
    )
    #: The names of endpoints the plugin reads that ``endpoints`` gives no URL for
    #: (unpublished ones, an optional revocation endpoint): a host may set them, and
    #: an override of any name not here or in ``endpoints`` is refused.
    #: ``OAuth2Provider`` adds the names it reads itself.
    extra_endpoints: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(self.endpoints)

    @property
    def endpoint_names(self) -> tuple[str, ...]:
        """Every endpoint a host may override, in any environment, sorted."""
        named = {name for urls in self.endpoints.values() for name in urls}
        return tuple(sorted(named.union(self.extra_endpoints)))


@attrs.frozen
class FormField:
    """One field a form flow asks the user for."""

    name: str
    label: str
    secret: bool = False
    required: bool = True


@attrs.frozen
class Redirect:
    """``start_auth`` answer: send the user to ``url``."""

    url: str = attrs.field(repr=_redacted_url)


@attrs.frozen
class Form:
    """``start_auth`` answer: ask the user for these fields, then call ``complete_auth``."""

    fields: tuple[FormField, ...] = attrs.field(converter=_form_fields)


@attrs.frozen
class AuthRequest:
    """What ``start_auth`` needs to build the provider's authorisation request."""

    user_id: str
    state: str = attrs.field(repr=False)
    redirect_uri: str
    #: RFC 7636 S256 challenge; a provider that does not take PKCE ignores it.
    code_challenge: str = attrs.field(repr=False)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_strings)


@attrs.frozen
class AuthSession:
    """The server-side half of a flow in progress, found again by its ``state``."""

    user_id: str
    provider: str
    environment: str
    redirect_uri: str
    code_verifier: str = attrs.field(repr=False)
    scopes: tuple[str, ...] = attrs.field(converter=_strings)
    expires_at: datetime


@attrs.frozen
class Grant:
    """Credentials after a token exchange or refresh.

    ``payload`` is the credential body in the provider's schema, with any rotated
    refresh token already written in; it is what gets stored.
    """

    payload: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, repr=_keys_only)
    access_token: str | None = attrs.field(default=None, repr=False)
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_strings)


@attrs.frozen
class AuthResult:
    """``complete_auth`` answer.

    ``next_step_url`` is set when the provider needs the user once more after the
    token exchange (John Deere's organisation connections, for example).
    """

    grant: Grant
    next_step_url: str | None = None


@attrs.frozen
class Credential:
    """A stored credential: one per host user and provider."""

    id: str
    user_id: str
    provider: str
    environment: str
    status: CredentialStatus = attrs.field(converter=CredentialStatus)
    status_reason: str | None
    payload: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, repr=_keys_only)
    access_token: str | None = attrs.field(repr=False)
    expires_at: datetime | None
    scopes: tuple[str, ...] = attrs.field(converter=_strings)
    created_at: datetime
    updated_at: datetime


@attrs.frozen
class AppRegistration:
    """The host's own client id and secrets at a provider, per environment."""

    provider: str
    environment: str
    fields: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, repr=_keys_only)
    created_at: datetime | None = None


@attrs.frozen
class Resource:
    """One item a provider lists: an organisation, a farm, a field..."""

    kind: str
    id: str
    name: str | None = None
    parent_id: str | None = None
    data: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, repr=False
    )


@attrs.frozen
class Page:
    """``list_resources`` answer: some resources and the cursor of the next page."""

    items: tuple[Resource, ...] = attrs.field(converter=_resources)
    next_cursor: str | None = None


@attrs.frozen
class Event:
    """One entry of a credential's event log."""

    id: int
    credential_id: str
    kind: str
    created_at: datetime
    status_code: int | None = None
    message: str = ""
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
