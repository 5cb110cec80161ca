"""The Trimble Agriculture provider: Trimble Identity OAuth 2.0 and the Ag API lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fieldlink import hookimpl
from fieldlink.errors import (
    ConfigurationError,
    CredentialRevoked,
    OAuthError,
    ProviderError,
)
from fieldlink.models import AuthKind, Page, ProviderInfo, Resource
from fieldlink.oauth2 import REVOKING_ERRORS, OAuth2Provider, OAuth2Settings

from ._envelope import PROVIDER_ID, member, read_envelope

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fieldlink import Grant, ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import AuthSession, Credential

__version__ = "0.1.0"

#: Trimble answers at most this many records a call (its Ag API "Bookmarks" page).
MAX_PAGE_SIZE = 1000
#: The query parameter carrying a bookmark. Trimble's docs read so far do not name
#: it: a guess, changed with the ``bookmark_param`` setting.
DEFAULT_BOOKMARK_PARAM = "bookmark"

_IDENTITY = "https://id.trimble.com/oauth"
_ENDPOINTS = {
    "authorize_url": f"{_IDENTITY}/authorize",
    "token_url": f"{_IDENTITY}/token",
    "revoke_url": f"{_IDENTITY}/revoke",
    "api_base": "https://cloud.api.trimble.com/Trimble-Ag-Software/externalApi/3.0",
    # The grower approves the app and picks organisations here, after the tokens.
    "org_authorization_url": (
        "https://www.trimbleag.com/ThirdPartyAccess/ThirdPartyAuthorizationRedirect"
    ),
}


class Trimble(OAuth2Provider):
    """Trimble Identity authorization code with Basic client authentication, the
    application name in the scope, single-use refresh tokens, a second consent for
    organisations on trimbleag.com, and lists paged by bookmarks."""

    info = ProviderInfo(
        id=PROVIDER_ID,
        name="Trimble Agriculture",
        version=__version__,
        auth_kind=AuthKind.OAUTH2,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("organizations", "fields"),
        resource_parents={"fields": "organizations"},
        # Leaf's body has no environment and the staging hosts are unconfirmed.
        endpoints={"PRODUCTION": _ENDPOINTS},
        documentation_url="https://developer.trimble.com/docs/ag/auth-code-grant",
        min_core_version="0.1.0",
        settings=(
            "application_name",
            "authorization_redirect_url",
            "revoking_errors",
            "bookmark_param",
        ),
        rotates_refresh_tokens=True,
        notes=(
            "The scope is 'openid <applicationName>' with the application name Trimble "
            "assigned; Leaf's body has no field for it: set "
            "settings={'trimble': {'application_name': ...}}.",
            "Refresh tokens are single use and each refresh's new one is stored; "
            "Trimble gives them 7 days on one page and 9 on another.",
            "The error for a spent or expired refresh token is not documented: only "
            "invalid_grant marks the credential invalid unless "
            "settings={'trimble': {'revoking_errors': [...]}}.",
            "The bookmark query parameter is not documented: 'bookmark' unless "
            "settings={'trimble': {'bookmark_param': ...}}; a bookmark the API ignores "
            "is reported, never read as a further page.",
            "The casing of list responses is not documented: members are matched "
            "ignoring case.",
            "PKCE is not documented: off unless settings={'trimble': {'pkce': True}}.",
            "Only production endpoints are known; a staging Trimble Identity host is "
            "set with endpoints={'trimble': {...}}.",
        ),
    )
    oauth = OAuth2Settings(
        client_id_field="clientId",
        client_secret_field="clientSecret",
        refresh_token_field="refreshToken",
        client_auth="client_secret_basic",
        # Access tokens last an hour (Trimble's auth-code page).
        default_expires_in=3600,
    )

    # Connecting

    def scopes(
        self, context: ProviderContext, asked: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        """The host's scopes if it named any, else ``openid <applicationName>``."""
        named = asked or context.setting_words("scopes", ())
        if named:
            return tuple(named)
        application_name = context.setting_text("application_name", "", empty=True)
        if not application_name:
            raise ConfigurationError(
                f"{PROVIDER_ID} asks for the scope 'openid <applicationName>' with the "
                "application name Trimble assigned to your app; set it with "
                f"settings={{{PROVIDER_ID!r}: {{'application_name': ...}}}}",
                provider=PROVIDER_ID,
            )
        return ("openid", application_name)

    def next_step(
        self, context: ProviderContext, grant: Grant, session: AuthSession
    ) -> str | None:
        # A token opens no organisation until the grower approves the app and picks
        # organisations on trimbleag.com (Trimble's "Organizations authorization").
        back = context.setting_text("authorization_redirect_url", session.redirect_uri)
        query = urlencode(
            {"clientid": grant.payload["clientId"], "redirectionUrl": back}
        )
        return f"{context.endpoint('org_authorization_url')}?{query}"

    # Keeping tokens alive

    @hookimpl
    def refresh_credentials(
        self, context: ProviderContext, credential: Credential
    ) -> Grant:
        try:
            return super().refresh_credentials(context, credential)
        except OAuthError as error:
            # Which code Trimble gives a spent or expired refresh token is not
            # documented; the host decides which codes mean the credential is dead.
            dead = error.error in context.setting_words(
                "revoking_errors", REVOKING_ERRORS
            )
            if dead == isinstance(error, CredentialRevoked):
                raise
            kind = CredentialRevoked if dead else OAuthError
            raise kind(
                error.message,
                error=error.error,
                provider=PROVIDER_ID,
                status=error.status,
            ) from None

    # Reading data

    @hookimpl
    def list_resources(
        self,
        context: ProviderContext,
        credential: Credential,
        api: HttpClient,
        kind: str,
        parent: str | None,
        cursor: str | None,
    ) -> Page:
        base = context.endpoint("api_base")
        if kind == "organizations":
            url = f"{base}/config/organizations"
        elif parent is None:
            raise ConfigurationError(
                f"{PROVIDER_ID} lists fields per organization; "
                "pass parent=<organization id>",
                provider=PROVIDER_ID,
            )
        else:
            url = f"{base}/resources/{quote(parent, safe='')}/fields"

        # HATEOAS links are of no use here; Trimble leaves them out on request.
        params = {"includeLinks": "false"}
        first_id, bookmark = _read_cursor(cursor)
        bookmark_param = context.setting_text("bookmark_param", DEFAULT_BOOKMARK_PARAM)
        if bookmark is not None:
            params[bookmark_param] = bookmark
        response = api.get(url, params=params)
        _check_status(response.status_code, kind, parent)
        envelope = read_envelope(api.json(response, what=f"the {kind} list"), what=kind)

        items = [_resource(kind, record, parent) for record in envelope.records]
        # An API that ignores the bookmark answers the first page again: stop there
        # rather than read the same records for ever.
        if first_id is not None and items and items[0].id == first_id:
            raise ProviderError(
                f"{PROVIDER_ID} answered the first page of the {kind} list again: it "
                f"ignored the bookmark sent as {bookmark_param!r}; set the right query "
                "parameter with "
                f"settings={{{PROVIDER_ID!r}: {{'bookmark_param': ...}}}}",
                provider=PROVIDER_ID,
            )
        if envelope.next_bookmark is None or not items:
            return Page(items)
        return Page(items, _cursor(first_id or items[0].id, envelope.next_bookmark))

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import TrimbleEmulator

        return TrimbleEmulator(
            size=settings.get("size", 5),
            seed=settings.get("seed", 0),
            page_size=settings.get("page_size", MAX_PAGE_SIZE),
            bookmark_param=settings.get("bookmark_param", DEFAULT_BOOKMARK_PARAM),
        )


def _check_status(status: int, kind: str, parent: str | None) -> None:
    """Say what Trimble's refusals mean; other failures are left to ``api.json``."""
    if status == 401:
        # Not marked invalid here: the next refresh tells whether the grant is gone.
        raise ProviderError(
            f"{PROVIDER_ID} did not accept the access token for the {kind} list "
            "(HTTP 401); if the grower withdrew access, the next refresh marks the "
            "credential invalid",
            provider=PROVIDER_ID,
            status=status,
        )
    if status == 403 and parent is not None:
        raise ProviderError(
            f"organization {parent} has not authorised this application; the grower "
            "must authorise it on trimbleag.com (the next_step_url of the connection)",
            provider=PROVIDER_ID,
            status=status,
        )


# The cursor carries the bookmark and the id the listing began with, so that a
# bookmark the API ignores shows up as the first page coming back.


def _cursor(first_id: str, bookmark: str) -> str:
    return json.dumps([first_id, bookmark])


def _read_cursor(cursor: str | None) -> tuple[str | None, str | None]:
    if cursor is None:
        return None, None
    try:
        first_id, bookmark = json.loads(cursor)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"{PROVIDER_ID} cannot continue from this cursor; pass the next_cursor of "
            "the previous page",
            provider=PROVIDER_ID,
        ) from None
    return str(first_id), str(bookmark)


def _resource(kind: str, record: Mapping[str, Any], parent: str | None) -> Resource:
    return Resource(
        kind=kind,
        id=str(member(record, "id")),
        name=member(record, "name"),
        parent_id=parent,
        data={key: value for key, value in record.items() if key.lower() != "links"},
    )
