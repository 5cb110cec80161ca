"""A generic OAuth 2.0 authorization-code provider, configured by data.

A provider that is plain OAuth 2.0 subclasses :class:`OAuth2Provider`, fills in
:class:`OAuth2Settings` and writes ``list_resources``; everything else (the
authorisation URL, the code exchange, refresh, bearer authorisation) is here, on
Authlib's implementation of RFC 6749 and RFC 7636.

Token responses are read defensively (:func:`parse_token_response`): whatever the
provider sends, the answer is a :class:`TokenResponse` or a typed error, never a
half-written credential.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from . import hookimpl
from .errors import (
    AuthFlowError,
    CredentialRevoked,
    OAuthError,
    ProviderError,
)
from .models import (
    AuthRequest,
    AuthResult,
    AuthSession,
    Credential,
    Grant,
    ProviderInfo,
    Redirect,
    _strings,
)

if TYPE_CHECKING:
    import requests

    from ._context import ProviderContext

logger = logging.getLogger(__name__)

CLIENT_SECRET_BASIC = "client_secret_basic"
CLIENT_SECRET_POST = "client_secret_post"

#: OAuth error codes that mean the credential itself is dead (RFC 6749 section 5.2).
REVOKING_ERRORS = frozenset({"invalid_grant"})
#: The settings a host may give every OAuth2Provider: the starred OAuth2Settings.
OAUTH2_SETTINGS = ("client_auth", "default_expires_in", "pkce", "scopes")
#: The endpoints every OAuth2Provider reads; a provider may have no revoke_url.
OAUTH2_ENDPOINTS = ("authorize_url", "token_url", "revoke_url")


@attrs.frozen
class OAuth2Settings:
    """How one provider speaks OAuth 2.0. Hosts may override the starred fields
    per provider through ``settings`` (for example ``{"pkce": True}``), each
    checked: ``pkce`` true or false, ``scopes`` a list of strings or one string of
    them separated by spaces, ``default_expires_in`` a whole number of seconds,
    ``client_auth`` one of the two methods.

    Endpoints come from the provider description: ``authorize_url`` and
    ``token_url`` are required, ``revoke_url`` is optional.
    """

    #: Payload fields holding the client id, client secret and refresh token.
    client_id_field: str = "clientId"
    client_secret_field: str = "clientSecret"
    refresh_token_field: str = "refreshToken"
    #: Payload field that records the environment (John Deere's clientEnvironment).
    environment_field: str | None = None
    #: * How the client authenticates at the token endpoint: CLIENT_SECRET_BASIC
    #: or CLIENT_SECRET_POST.
    client_auth: str = CLIENT_SECRET_BASIC
    #: "form" (RFC 6749) or "json" for token request bodies.
    body_format: str = "form"
    #: * Send an RFC 7636 S256 challenge and the verifier.
    pkce: bool = False
    #: * Scopes asked for when the host names none.
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: * Lifetime assumed when a token response gives no usable ``expires_in``.
    default_expires_in: int = 3600
    #: Extra query parameters of the authorisation URL.
    authorize_params: Mapping[str, str] = attrs.field(factory=dict)
    #: Whether refresh requests repeat ``scope`` and ``redirect_uri``.
    refresh_sends_scope: bool = False
    #: Headers on every API call; ``{field}`` is replaced by that payload field.
    api_headers: Mapping[str, str] = attrs.field(factory=dict)
    #: OAuth error codes of a refresh that mean the credential is dead for good.
    revoking_errors: frozenset[str] = REVOKING_ERRORS
    #: Said when a code exchange returns no refresh token.
    missing_refresh_token_hint: str = "check that the app may ask for offline access"


@attrs.frozen
class TokenResponse:
    """A token endpoint's answer, checked and normalised."""

    access_token: str = attrs.field(repr=False)
    refresh_token: str | None = attrs.field(repr=False)
    expires_at: datetime
    scopes: tuple[str, ...]
    #: Set when the provider granted other scopes than those asked for.
    scope_changed: bool = False


def _scrub(text: str, secrets: tuple[str | None, ...]) -> str:
    # An error description could quote what we sent; never let it carry a secret on.
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:300]


def parse_token_response(
    response: requests.Response,
    *,
    provider: str,
    requested_scopes: tuple[str, ...] = (),
    default_expires_in: int = 3600,
    sent_secrets: tuple[str | None, ...] = (),
    revoking_errors: frozenset[str] = REVOKING_ERRORS,
    now: datetime | None = None,
) -> TokenResponse:
    """Read a token endpoint's response (RFC 6749 sections 5.1 and 5.2).

    - an ``error`` member means failure whatever the status (some providers answer
      200); ``invalid_grant`` raises :class:`CredentialRevoked`;
    - a body that is not a JSON object (an HTML error page) raises ProviderError;
    - ``token_type`` must be Bearer, in any case; a missing one is taken as Bearer;
    - ``expires_in`` may be a number or a numeric string; missing, zero, negative
      or unreadable, the provider's default lifetime applies;
    - a missing ``refresh_token`` is None: the caller keeps the one it has;
    - a missing ``scope`` means the scopes asked for were granted (section 5.1).
    """
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = response.headers.get("Content-Type", "no content type")
        raise ProviderError(
            f"{provider}'s token endpoint answered HTTP {status} with a body that is "
            f"not a JSON object ({kind}); nothing was stored",
            provider=provider,
            status=status,
        )

    error = body.get("error")
    if error is not None or status >= 400:
        code = str(error or "http_error")
        description = _scrub(str(body.get("error_description") or ""), sent_secrets)
        message = f"{provider} refused the token request: {code}"
        if description:
            message += f" ({description})"
        if code == "invalid_client":
            message += (
                f"; check the client id and secret registered with "
                f"`fieldlink apps add {provider}`"
            )
        error_class = CredentialRevoked if code in revoking_errors else OAuthError
        raise error_class(message, error=code, provider=provider, status=status)

    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise ProviderError(
            f"{provider}'s token response has no access_token; nothing was stored",
            provider=provider,
            status=status,
        )
    token_type = body.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise ProviderError(
            f"{provider} issued a token of type {token_type!r}; only Bearer is supported",
            provider=provider,
            status=status,
        )

    expires_in = _seconds(body.get("expires_in"))
    if expires_in is None:
        logger.debug(
            "%s gave no usable expires_in; assuming %s s", provider, default_expires_in
        )
        expires_in = default_expires_in
    now = now or datetime.now(UTC)

    refresh_token = body.get("refresh_token")
    if refresh_token is not None and (
        not isinstance(refresh_token, str) or not refresh_token
    ):
        raise ProviderError(
            f"{provider}'s token response has an unusable refresh_token; nothing was stored",
            provider=provider,
            status=status,
        )

    granted = _scope_list(body.get("scope"))
    scopes = granted if granted is not None else tuple(requested_scopes)
    changed = granted is not None and set(granted) != set(requested_scopes)
    if changed:
        logger.debug(
            "%s granted scopes %s, asked for %s", provider, granted, requested_scopes
        )
    return TokenResponse(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=now + timedelta(seconds=expires_in),
        scopes=scopes,
        scope_changed=changed,
    )


def _seconds(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    else:
        return None
    return seconds if seconds > 0 else None


def _scope_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return tuple(value.replace(",", " ").split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


class OAuth2Provider:
    """Hook implementations for a plain OAuth 2.0 authorization-code provider.

    Subclasses set ``info`` and ``oauth`` and implement ``list_resources``; they
    override a method only where their provider differs.
    """

    info: ProviderInfo
    oauth: OAuth2Settings = OAuth2Settings()

    @hookimpl
    def describe_provider(self) -> ProviderInfo:
        """``info``, with the settings and endpoints this class reads added to
        those declared."""
        info = attrs.evolve(
            self.info,
            extra_endpoints=dict.fromkeys(
                (*self.info.extra_endpoints, *OAUTH2_ENDPOINTS)
            ),
        )
        declared = info.settings
        if declared is None:
            return info
        return attrs.evolve(
            info, settings=tuple(dict.fromkeys((*OAUTH2_SETTINGS, *declared)))
        )

    # Connecting

    def scopes(
        self, context: ProviderContext, asked: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        return tuple(asked or context.setting_words("scopes", self.oauth.scopes))

    def pkce(self, context: ProviderContext) -> bool:
        """Whether to send an RFC 7636 challenge: the host's setting, else the
        provider's."""
        return context.setting_flag("pkce", self.oauth.pkce)

    @hookimpl
    def start_auth(self, context: ProviderContext, request: AuthRequest) -> Redirect:
        from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

        app = context.app_fields()
        extra: dict[str, str] = dict(self.oauth.authorize_params)
        if self.pkce(context):
            extra.update(
                code_challenge=request.code_challenge, code_challenge_method="S256"
            )
        url = prepare_grant_uri(
            context.endpoint("authorize_url"),
            app[self.oauth.client_id_field],
            "code",
            redirect_uri=request.redirect_uri,
            scope=" ".join(self.scopes(context, request.scopes)) or None,
            state=request.state,
            **extra,
        )
        return Redirect(url)

    @hookimpl
    def complete_auth(
        self, context: ProviderContext, session: AuthSession, params: Mapping[str, str]
    ) -> AuthResult:
        code = params.get("code")
        if not code:
            raise AuthFlowError(
                f"the callback from {context.provider.id} carries no code",
                provider=context.provider.id,
            )
        app = dict(context.app_fields())
        form: dict[str, Any] = {"code": code, "redirect_uri": session.redirect_uri}
        if self.pkce(context):
            form["code_verifier"] = session.code_verifier
        tokens = self.token_request(
            context,
            app[self.oauth.client_id_field],
            app[self.oauth.client_secret_field],
            "authorization_code",
            form,
            # The session keeps the host's scopes; the defaults were asked for if none.
            requested=self.scopes(context, session.scopes),
        )
        if tokens.refresh_token is None:
            raise ProviderError(
                f"{context.provider.id} returned no refresh token; "
                f"{self.oauth.missing_refresh_token_hint}",
                provider=context.provider.id,
            )

        payload = app
        payload[self.oauth.refresh_token_field] = tokens.refresh_token
        if self.oauth.environment_field:
            payload[self.oauth.environment_field] = context.environment
        grant = Grant(payload, tokens.access_token, tokens.expires_at, tokens.scopes)
        return AuthResult(grant, self.next_step(context, grant, session))

    def next_step(
        self, context: ProviderContext, grant: Grant, session: AuthSession
    ) -> str | None:
        """A URL the user must visit after the token exchange, if the provider has one."""
        return None

    @hookimpl
    def register_credentials(
        self, context: ProviderContext, payload: Mapping[str, Any]
    ) -> Grant:
        # A refresh token can only be checked by spending it; the core refreshes
        # right after storing, when the host asks it to verify.
        return Grant(payload)

    # Keeping tokens alive

    @hookimpl
    def refresh_credentials(
        self, context: ProviderContext, credential: Credential
    ) -> Grant:
        payload = dict(credential.payload)
        form: dict[str, Any] = {
            "refresh_token": payload[self.oauth.refresh_token_field]
        }
        if self.oauth.refresh_sends_scope and credential.scopes:
            form["scope"] = " ".join(credential.scopes)
        tokens = self.token_request(
            context,
            payload[self.oauth.client_id_field],
            payload[self.oauth.client_secret_field],
            "refresh_token",
            form,
            requested=credential.scopes,
        )
        if tokens.refresh_token is not None:
            payload[self.oauth.refresh_token_field] = tokens.refresh_token
        return Grant(payload, tokens.access_token, tokens.expires_at, tokens.scopes)

    def token_request(
        self,
        context: ProviderContext,
        client_id: str,
        client_secret: str,
        grant_type: str,
        form: Mapping[str, Any],
        *,
        requested: tuple[str, ...],
    ) -> TokenResponse:
        """POST one grant to the token endpoint, with this provider's client auth."""
        url = context.endpoint("token_url")
        headers, data = self.client_request(
            url,
            client_id,
            client_secret,
            {"grant_type": grant_type, **form},
            method=self.client_auth(context),
        )
        response = context.http.post(url, data=data, headers=headers)
        return parse_token_response(
            response,
            provider=context.provider.id,
            requested_scopes=requested,
            default_expires_in=context.setting_int(
                "default_expires_in", self.oauth.default_expires_in, minimum=1
            ),
            sent_secrets=(client_secret, form.get("refresh_token"), form.get("code")),
            # An error at the code exchange refuses a connection, not a credential.
            revoking_errors=(
                self.oauth.revoking_errors
                if grant_type == "refresh_token"
                else frozenset()
            ),
        )

    def client_auth(self, context: ProviderContext) -> str:
        """The client authentication method: the host's setting, else the provider's."""
        return context.setting_choice(
            "client_auth",
            self.oauth.client_auth,
            (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST),
        )

    def client_request(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        fields: Mapping[str, Any],
        *,
        method: str | None = None,
    ) -> tuple[dict[str, str], str]:
        """Headers and body of a request to ``url`` authenticated as the client, in
        this provider's body format and client authentication ``method`` (by default
        the provider's own)."""
        from urllib.parse import urlencode

        from authlib.oauth2.auth import ClientAuth

        method = method or self.oauth.client_auth
        headers = {"Accept": "application/json"}
        if self.oauth.body_format == "json":
            headers["Content-Type"] = "application/json"
            body = dict(fields)
            if method == CLIENT_SECRET_POST:
                # Authlib appends form fields; JSON bodies carry the client themselves.
                body.update(client_id=client_id, client_secret=client_secret)
                return headers, json.dumps(body)
            encoded = json.dumps(body)
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            encoded = urlencode({k: v for k, v in fields.items() if v is not None})
        client_auth = ClientAuth(client_id, client_secret, method)
        _, headers, data = client_auth.prepare("POST", url, headers, encoded)
        return headers, data

    @hookimpl
    def revoke_credentials(
        self, context: ProviderContext, credential: Credential
    ) -> bool | None:
        """Revoke the refresh token (RFC 7009) where the provider has an endpoint."""
        url = context.endpoints.get("revoke_url")
        if not url:
            return None
        payload = credential.payload
        headers, data = self.client_request(
            url,
            payload[self.oauth.client_id_field],
            payload[self.oauth.client_secret_field],
            {
                "token": payload[self.oauth.refresh_token_field],
                "token_type_hint": "refresh_token",
            },
            method=self.client_auth(context),
        )
        response = context.http.post(url, data=data, headers=headers)
        if response.status_code != 200:
            raise ProviderError(
                f"{context.provider.id} refused to revoke the credential "
                f"(HTTP {response.status_code})",
                provider=context.provider.id,
                status=response.status_code,
            )
        return True

    @hookimpl
    def authorize_request(
        self,
        context: ProviderContext,
        credential: Credential,
        request: requests.PreparedRequest,
    ) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {credential.access_token}"
        for name, template in self.oauth.api_headers.items():
            request.headers[name] = template.format_map(credential.payload)
        return request
