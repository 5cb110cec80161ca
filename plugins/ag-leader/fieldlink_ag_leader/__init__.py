"""fieldlink provider plugin for AgLeader AgFiniti.

OAuth 2.0 authorization code on AgFiniti, with the developer's Consumer Keys as the
client: the Public Key is the client id and the Private Key the client secret, sent
by HTTP Basic (Leaf's AgLeader tutorial). AgFiniti publishes no API reference, so
token lifetimes, rotation, the API's address, its first list and its paging are
guesses, each configurable and stated in ``ProviderInfo.notes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from fieldlink import hookimpl
from fieldlink.errors import ProviderError
from fieldlink.models import AuthKind, Grant, Page, ProviderInfo
from fieldlink.oauth2 import CLIENT_SECRET_BASIC, OAuth2Provider, OAuth2Settings
from fieldlink.paging import read_resources

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from fieldlink import ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import Credential

__version__ = "0.1.0"

PROVIDER_ID = "ag-leader"
#: The authorisation page of Leaf's 2021 AgLeader post, and the scopes it asked for:
#: for an AgFiniti application that still uses that older vocabulary.
LEGACY_AUTHORIZE_URL = "https://www.agfiniti.com/api/oauth2/authorize"
LEGACY_SCOPES = ("openid", "profile", "email", "filedownload")
#: Items asked for per page (Leaf's own maximum; AgFiniti's is not published).
PAGE_SIZE = 100
_ENDPOINTS = {
    "authorize_url": "https://www.agfiniti.com/Account/Authorize",
    "token_url": "https://www.agfiniti.com/api/token",
    # A guess, to confirm with AgLeader: the token endpoint's /api prefix.
    "files_url": "https://www.agfiniti.com/api/files",
}


class AgLeader(OAuth2Provider):
    info = ProviderInfo(
        id=PROVIDER_ID,
        name="AgLeader AgFiniti",
        version=__version__,
        auth_kind=AuthKind.OAUTH2,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("files",),
        # Leaf uses no clientEnvironment for AgLeader: one environment.
        endpoints={"PRODUCTION": _ENDPOINTS},
        documentation_url="https://docs.withleaf.io/providers/agleader",
        min_core_version="0.1.0",
        settings=("page_size",),
        rotates_refresh_tokens=None,
        notes=(
            "AgFiniti publishes no API reference: the authorize and token URLs are "
            "those of Leaf's tutorial; everything below is unconfirmed.",
            "The files list is a GUESS to confirm with AgLeader: GET files_url "
            "(https://www.agfiniti.com/api/files) with page (from 0) and size, a JSON "
            "array per page, the next page named by a Link header with rel=next on "
            "the same host; without that header the listing ends. Change it with "
            "endpoints={'ag-leader': {'files_url': URL}} and "
            "settings={'ag-leader': {'page_size': N}}.",
            "Scopes are 'read readwrite'; add 'fileupload' for prescriptions with "
            "settings={'ag-leader': {'scopes': ['read', 'readwrite', 'fileupload']}}.",
            "Leaf's 2021 post authorised at LEGACY_AUTHORIZE_URL with LEGACY_SCOPES "
            "(both in this package): set them with endpoints= and settings= if your "
            "AgFiniti application needs them.",
            "Whether refresh tokens rotate is not published: every refresh_token "
            "returned is stored, the old one kept when none is returned.",
            "Token lifetimes are not published: expires_in when AgFiniti sends it, "
            "else one hour (settings default_expires_in).",
            "An accessToken in Leaf's legacy body is accepted but not kept, since its "
            "lifetime is unknown; the credential is refreshed before first use.",
            "AgFiniti's error bodies are not published: a list refused with HTTP 401 "
            "leaves the credential active; a refresh refused with invalid_grant marks "
            "it invalid.",
            "No revocation endpoint is published: deleting a credential forgets it "
            "locally, unless endpoints={'ag-leader': {'revoke_url': URL}} names an "
            "RFC 7009 endpoint.",
        ),
    )
    oauth = OAuth2Settings(
        # Leaf's tutorial: the Consumer Keys are the OAuth client, by HTTP Basic.
        client_id_field="publicKey",
        client_secret_field="privateKey",
        client_auth=CLIENT_SECRET_BASIC,
        scopes=("read", "readwrite"),
        missing_refresh_token_hint="ask AgLeader how this application obtains one",
    )

    @hookimpl
    def register_credentials(
        self, context: ProviderContext, payload: Mapping[str, Any]
    ) -> Grant:
        # An access token of unknown age and lifetime is no safe start: drop it and
        # let the first use (or the host's verification) refresh.
        return Grant(
            {name: value for name, value in payload.items() if name != "accessToken"}
        )

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
        endpoint = f"{kind}_url"
        first = context.endpoint(endpoint)
        params = None
        if cursor is None:
            size = context.setting_int("page_size", PAGE_SIZE, minimum=1)
            params = {"page": 0, "size": size}
        # Later pages are the links AgFiniti gave, their query included.
        response = api.get(
            cursor or first, params=params, headers={"Accept": "application/json"}
        )

        if response.status_code == 404:
            raise ProviderError(
                f"{PROVIDER_ID} has no {kind} list at the configured {endpoint} "
                f"(HTTP 404); that endpoint is a guess: set the right one with "
                f"endpoints={{'{PROVIDER_ID}': {{'{endpoint}': URL}}}}",
                provider=PROVIDER_ID,
                status=404,
            )
        body = api.json(response, what=f"the {kind} list")
        items = read_resources(
            body,
            kind,
            provider=PROVIDER_ID,
            brand="AgFiniti",
            status=response.status_code,
        )
        return Page(items, _next_link(response, first))

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import AgLeaderEmulator

        return AgLeaderEmulator(
            size=settings.get("size", 5),
            seed=settings.get("seed", 0),
            rotation=settings.get("rotation", "single_use"),
        )


def _next_link(response: requests.Response, first: str) -> str | None:
    """The RFC 8288 ``rel="next"`` link, if any; only ever on the list's own host."""
    target = response.links.get("next", {}).get("url")
    if not target:
        return None
    target = urljoin(response.url, target)
    if urlsplit(target).netloc != urlsplit(first).netloc:
        # The next request carries the grower's token: never to another host.
        raise ProviderError(
            f"{PROVIDER_ID} linked the next page to another host "
            f"({urlsplit(target).hostname}); stopping",
            provider=PROVIDER_ID,
        )
    return target


plugin = AgLeader()
