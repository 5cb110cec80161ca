"""fieldlink provider plugin for John Deere Operations Center.

OAuth 2.0 authorization code on John Deere's Okta server, client authentication by
HTTP Basic, and the ``application/vnd.deere.axiom.v3+json`` media type on every API
call. Since March 2021 a token alone does not open an organisation: the grower also
approves each organisation on John Deere's connections page, which this plugin
returns as a further step of the flow.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from fieldlink import hookimpl
from fieldlink.errors import PermissionDenied, ProviderError
from fieldlink.models import AuthKind, Page, ProviderInfo, Resource
from fieldlink.oauth2 import OAuth2Provider, OAuth2Settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fieldlink import Grant, ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import AuthSession, Credential

__version__ = "0.1.0"

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.deere.axiom.v3+json"
_SIGN_IN = "https://signin.johndeere.com/oauth2/aus78tnlaysMraFhC1t7"
_COMMON = {
    "authorize_url": f"{_SIGN_IN}/v1/authorize",
    "token_url": f"{_SIGN_IN}/v1/token",
    "revoke_url": f"{_SIGN_IN}/v1/revoke",
    "discovery_url": f"{_SIGN_IN}/.well-known/oauth-authorization-server",
}
#: Items asked for per page; John Deere's itemLimit.
PAGE_SIZE = 100


class JohnDeere(OAuth2Provider):
    info = ProviderInfo(
        id="john-deere",
        name="John Deere Operations Center",
        version=__version__,
        auth_kind=AuthKind.OAUTH2,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("organizations", "farms", "fields"),
        resource_parents={"farms": "organizations", "fields": "organizations"},
        endpoints={
            "STAGE": {**_COMMON, "api_base": "https://sandboxapi.deere.com/platform"},
            "PRODUCTION": {**_COMMON, "api_base": "https://api.deere.com/platform"},
        },
        documentation_url="https://developer.deere.com/dev-docs/organizations",
        min_core_version="0.1.0",
        # No setting of its own: OAuth2Provider adds those it reads (pkce...).
        settings=(),
        rotates_refresh_tokens=None,
        notes=(
            "Token lifetimes and refresh-token rotation are not documented: every "
            "refresh_token John Deere returns is stored.",
            "PKCE is not documented: off unless settings={'john-deere': {'pkce': True}}.",
        ),
    )
    oauth = OAuth2Settings(
        client_id_field="clientKey",
        client_secret_field="clientSecret",
        environment_field="clientEnvironment",
        # The official sample's default scopes; offline_access yields the refresh token.
        scopes=(
            "ag1",
            "ag2",
            "ag3",
            "eq1",
            "eq2",
            "org1",
            "org2",
            "files",
            "offline_access",
        ),
        default_expires_in=43200,
        refresh_sends_scope=True,
        api_headers={"Accept": MEDIA_TYPE},
        missing_refresh_token_hint="the scope must include offline_access",
    )

    def next_step(
        self, context: ProviderContext, grant: Grant, session: AuthSession
    ) -> str | None:
        # An organisation with a "connections" link still awaits the grower's approval.
        try:
            response = context.http.get(
                _first_page(context.endpoint("api_base") + "/organizations"),
                headers={
                    "Authorization": f"Bearer {grant.access_token}",
                    "Accept": MEDIA_TYPE,
                },
            )
            body = context.http.json(response, what="the organizations list")
        except ProviderError as error:
            # The tokens are good and must be stored; listing farms of an organisation
            # still awaiting approval will say so then.
            logger.debug(
                "john-deere: cannot look for organizations to approve: %s", error
            )
            return None
        for organization in body.get("values", []):
            uri = _link(organization, "connections")
            if uri:
                separator = "&" if "?" in uri else "?"
                return f"{uri}{separator}{urlencode({'redirect_uri': session.redirect_uri})}"
        return None

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
            url = cursor or _first_page(f"{base}/organizations")
        else:
            url = cursor or _first_page(f"{base}/organizations/{parent}/{kind}")
        # nextPage links are absolute: never send the token to another host.
        if urlsplit(url).netloc != urlsplit(base).netloc:
            raise ProviderError(
                f"john-deere sent a nextPage link to another host ({urlsplit(url).netloc})",
                provider="john-deere",
            )

        response = api.get(url)
        if response.status_code == 403 and kind != "organizations":
            raise PermissionDenied(
                f"organization {parent} is not connected to this application; the grower "
                "must approve it on John Deere's connections page",
                provider="john-deere",
                status=403,
            )
        body = api.json(response, what=f"the {kind} list")
        items = [_resource(kind, value, parent) for value in body.get("values", [])]
        return Page(items, _link(body, "nextPage"))

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import JohnDeereEmulator

        return JohnDeereEmulator(
            size=settings.get("size", 5), seed=settings.get("seed", 0)
        )


def _first_page(url: str) -> str:
    return f"{url}?{urlencode({'itemLimit': PAGE_SIZE})}"


def _link(document: Mapping[str, Any], rel: str) -> str | None:
    for link in document.get("links", []):
        if link.get("rel") == rel:
            return link.get("uri")
    return None


def _resource(kind: str, value: Mapping[str, Any], parent: str | None) -> Resource:
    return Resource(
        kind=kind,
        id=str(value.get("id")),
        name=value.get("name"),
        parent_id=parent,
        data={key: item for key, item in value.items() if key != "links"},
    )


plugin = JohnDeere()
