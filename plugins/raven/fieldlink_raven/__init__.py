"""fieldlink provider plugin for Raven's OAuth 2.0 platform (grower, farm and field
data; Raven Slingshot, with its signed requests, is another plugin).

Leaf documents the credential (a client id and secret, and the grower's refresh
token) and nothing else: Raven publishes neither its endpoints nor its scopes,
client authentication, token rules or list format. So this plugin ships no
endpoints, refuses to start until the host sets them, keeps every other choice a
setting with a safe default, and says so in ``ProviderInfo.notes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fieldlink import hookimpl
from fieldlink.errors import ConfigurationError, ProviderError
from fieldlink.models import AuthKind, Grant, Page, ProviderInfo
from fieldlink.oauth2 import CLIENT_SECRET_BASIC, OAuth2Provider, OAuth2Settings
from fieldlink.paging import read_resources

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fieldlink import ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import AuthRequest, Credential, Redirect

__version__ = "0.1.0"

PROVIDER_ID = "raven"
#: What a host must set: Raven gives its endpoints to partners only. The list URLs
#: of farms and fields hold ``{parent}``, replaced by the grower's or the farm's id.
REQUIRED_ENDPOINTS = (
    "authorize_url",
    "token_url",
    "growers_url",
    "farms_url",
    "fields_url",
)
#: Items asked for per page; Raven's limit is not published.
PAGE_SIZE = 100
_PARENTS = {"farms": "growers", "fields": "farms"}


class Raven(OAuth2Provider):
    info = ProviderInfo(
        id=PROVIDER_ID,
        name="Raven",
        version=__version__,
        auth_kind=AuthKind.OAUTH2,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("growers", "farms", "fields"),
        resource_parents=_PARENTS,
        # Leaf uses no clientEnvironment for Raven: one environment, and no URL that
        # could be taken for Raven's own.
        endpoints={"PRODUCTION": {}},
        extra_endpoints=REQUIRED_ENDPOINTS,
        documentation_url="https://docs.withleaf.io/providers/raven",
        min_core_version="0.1.0",
        settings=("page_size",),
        rotates_refresh_tokens=None,
        notes=(
            "Raven does not publish its OAuth endpoints, so none ship with this "
            "plugin: ask Raven for them and set endpoints={'raven': {...}} with "
            "authorize_url, token_url, growers_url, farms_url and fields_url (the last "
            "two holding {parent}). Until then connecting or registering raises "
            "ConfigurationError.",
            "Client authentication at the token endpoint is not published: HTTP Basic "
            "(RFC 6749's recommendation) unless "
            "settings={'raven': {'client_auth': 'client_secret_post'}}.",
            "Scopes are not published: none are asked for unless "
            "settings={'raven': {'scopes': [...]}}; the scopes granted are recorded.",
            "Whether refresh tokens rotate is not published: every refresh_token "
            "returned is stored, the old one kept when none is returned.",
            "Token lifetimes are not published: expires_in when Raven sends it, else "
            "one hour (settings default_expires_in). PKCE is off unless "
            "settings={'raven': {'pkce': True}}.",
            "The list format is a GUESS modelled on Raven Slingshot's index: page "
            "(from 0) and pagesize query parameters, an object with Items and "
            "IsNextPage; any other shape raises ProviderError instead of being half "
            "read. Page size: settings={'raven': {'page_size': N}}.",
            "Raven's error bodies are not published: a list refused with HTTP 401 "
            "leaves the credential active; a refresh refused with invalid_grant marks "
            "it invalid.",
            "No revocation endpoint is known: deleting a credential forgets it "
            "locally, unless endpoints={'raven': {'revoke_url': URL}} names an "
            "RFC 7009 endpoint.",
        ),
    )
    oauth = OAuth2Settings(
        client_id_field="clientId",
        client_secret_field="clientSecret",
        client_auth=CLIENT_SECRET_BASIC,
        missing_refresh_token_hint="check the scopes with Raven",
    )

    @hookimpl
    def start_auth(self, context: ProviderContext, request: AuthRequest) -> Redirect:
        # Fail before the grower is sent away, not after the consent.
        _check_endpoints(context)
        return super().start_auth(context, request)

    @hookimpl
    def register_credentials(
        self, context: ProviderContext, payload: Mapping[str, Any]
    ) -> Grant:
        # A credential stored without endpoints could be neither refreshed nor read.
        _check_endpoints(context)
        return Grant(payload)

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
        _check_endpoints(context)
        url = context.endpoint(f"{kind}_url")
        if kind in _PARENTS:
            if parent is None:
                raise ConfigurationError(
                    f"{PROVIDER_ID} lists {kind} under one of its {_PARENTS[kind]}; "
                    f"pass its id as parent=",
                    provider=PROVIDER_ID,
                )
            url = url.replace("{parent}", quote(parent, safe=""))
        page = int(cursor or 0)
        params = {
            "page": page,
            "pagesize": context.setting_int("page_size", PAGE_SIZE, minimum=1),
        }
        response = api.get(url, params=params, headers={"Accept": "application/json"})

        if response.status_code == 404:
            raise ProviderError(
                f"{PROVIDER_ID} has no {kind} list at the configured {kind}_url "
                f"(HTTP 404); check it against Raven's documentation",
                provider=PROVIDER_ID,
                status=404,
            )
        body = api.json(response, what=f"the {kind} list")
        items, more = _read_index(body, kind, page)
        resources = read_resources(
            items, kind, provider=PROVIDER_ID, brand="Raven", parent=parent
        )
        return Page(resources, str(page + 1) if more else None)

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import RavenEmulator

        return RavenEmulator(
            size=settings.get("size", 5),
            seed=settings.get("seed", 0),
            client_auth=settings.get("client_auth", CLIENT_SECRET_BASIC),
        )


def _check_endpoints(context: ProviderContext) -> None:
    """Raise ConfigurationError, naming what to set, unless every endpoint is set."""
    missing = [name for name in REQUIRED_ENDPOINTS if not context.endpoints.get(name)]
    if missing:
        wanted = ", ".join(f"{name!r}: URL" for name in missing)
        raise ConfigurationError(
            f"Raven does not publish its endpoints, so fieldlink ships none; ask "
            f"Raven for them and set endpoints={{{PROVIDER_ID!r}: {{{wanted}}}}}",
            provider=PROVIDER_ID,
        )
    for kind in _PARENTS:
        if "{parent}" not in context.endpoints[f"{kind}_url"]:
            raise ConfigurationError(
                f"the {kind}_url of {PROVIDER_ID} must hold {{parent}}, where "
                f"fieldlink puts the id of one of the {_PARENTS[kind]}",
                provider=PROVIDER_ID,
            )


def _read_index(body: Any, kind: str, page: int) -> tuple[list[Any], bool]:
    """One page's items and whether another follows, from the guessed envelope."""
    items = body.get("Items") if isinstance(body, dict) else None
    more = body.get("IsNextPage") if isinstance(body, dict) else None
    if not isinstance(items, list) or not isinstance(more, bool):
        raise ProviderError(
            f"{PROVIDER_ID} answered the {kind} list without the Items array and "
            f"IsNextPage flag fieldlink reads; Raven's list format is not public and "
            f"fieldlink's is a guess, see the provider's notes",
            provider=PROVIDER_ID,
        )
    # A server that ignores ``page`` would serve the first page for ever.
    if body.get("PageIndex", page) != page:
        raise ProviderError(
            f"{PROVIDER_ID} answered page {page} of the {kind} list with page "
            f"{body['PageIndex']}; stopping rather than reading pages again",
            provider=PROVIDER_ID,
        )
    return items, more


plugin = Raven()
