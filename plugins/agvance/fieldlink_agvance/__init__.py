"""fieldlink provider plugin for Agvance (SSI).

The host's API key with an Agvance user's username, password and API database ID is
signed in for a session id (providers.md section 10); the session id is the access
token, and a session that ends is renewed by signing in again, so the password is
kept, encrypted like every secret. The grower types the username, password and
database ID into a form; the API key is the host's app registration. There are two
environments, STAGE (Leaf's default) and PRODUCTION.

Every URL, the session header, the session lifetime and the paging are
unpublished: URLs have no default and must be given by the host, the rest are
settings whose defaults fail safe, and ``ProviderInfo.notes`` says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fieldlink import hookimpl
from fieldlink.errors import ConfigurationError, PermissionDenied, ProviderError
from fieldlink.forms import FormProvider
from fieldlink.models import AuthKind, Form, FormField, Grant, Page, ProviderInfo
from fieldlink.paging import read_resources

from ._options import ENDPOINTS, PROVIDER_ID, SETTINGS, Options, endpoint
from ._session import sign_in

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from fieldlink import ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import Credential

__all__ = ["PROVIDER_ID", "SIGN_IN_FORM", "Agvance", "__version__", "plugin"]

__version__ = "0.1.0"

#: The parent of each per-parent kind, in the singular, for messages.
_PARENT_NAMES = {"farms": "grower", "fields": "farm"}
#: What the grower types; the API key comes from the host's app registration.
SIGN_IN_FORM = Form(
    (
        FormField("databaseId", "Agvance API database ID"),
        FormField("username", "Agvance username"),
        FormField("password", "Agvance password", secret=True),
    )
)


class Agvance(FormProvider):
    info = ProviderInfo(
        id=PROVIDER_ID,
        name="Agvance (SSI)",
        version=__version__,
        auth_kind=AuthKind.PASSWORD,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("growers", "farms", "fields"),
        resource_parents={"farms": "growers", "fields": "farms"},
        # No URL is public: each environment waits for the host's endpoints.
        endpoints={"STAGE": {}, "PRODUCTION": {}},
        extra_endpoints=tuple(ENDPOINTS),
        documentation_url="https://docs.withleaf.io/providers/agvance",
        min_core_version="0.1.0",
        settings=SETTINGS,
        # A session is renewed with the password: there is no refresh token.
        rotates_refresh_tokens=False,
        notes=(
            "Agvance publishes no API reference: beyond Leaf's body, everything "
            "below is unconfirmed.",
            "No URL is public: set login_url, growers_url, farms_url and fields_url "
            "with endpoints={'agvance': {...}}, or per environment with "
            "endpoints={'agvance': {'STAGE': {...}, 'PRODUCTION': {...}}}; until "
            "then every call raises ConfigurationError.",
            "Sign-in is a guess: POST login_url with JSON apiKey, databaseId, "
            "username and password, answered by {'sessionId': ...}. HTTP 401 or 403 "
            "refuses the user for good and marks the credential invalid (settings "
            "revoking_statuses).",
            "The password is kept, encrypted, since a session that ends is renewed "
            "by signing in again; Leaf keeps it too. A changed password means "
            "deleting the credential and connecting again.",
            "Session lifetime is not published: sessions are renewed after 20 "
            "minutes (settings session_lifetime, in seconds).",
            "The session header is not published: API calls send 'apiKey' and "
            "'sessionId' headers (settings api_headers, templates naming {apiKey}, "
            "{databaseId}, {username} or {sessionId}).",
            "An API call refused with HTTP 401 leaves the credential active (the "
            "session may have ended early): Fieldlink.refresh() signs in again and "
            "marks the credential invalid only if the sign-in is refused. HTTP 403 "
            "raises PermissionDenied.",
            "Lists are a GUESS after Agvance's GetCustomerList: GET growers_url, "
            "farms_url and fields_url, the last two with {parent} replaced by the "
            "grower or farm id; page (from 0) and size (100), a JSON array of "
            "objects with an id per page, X-Total-Count when sent, else a short page "
            "ends the listing (settings page_param, size_param, first_page, "
            "page_size).",
            "No sign-out is published: deleting a credential forgets it locally.",
        ),
    )

    form = SIGN_IN_FORM

    # Connecting

    def exchange(self, context: ProviderContext, values: Mapping[str, str]) -> Grant:
        # Leaf's body: the host's API key, what the user typed, the environment.
        payload = {
            "apiKey": context.app_fields()["apiKey"],
            **values,
            "clientEnvironment": context.environment,
        }
        return sign_in(context, Options.of(context), payload)

    @hookimpl
    def register_credentials(self, payload: Mapping[str, Any]) -> Grant:
        # Signing in is the only check: the core does it at once when verifying a
        # registered body (a refresh), else at first use.
        return Grant(payload)

    # Keeping the session alive

    @hookimpl
    def refresh_credentials(
        self, context: ProviderContext, credential: Credential
    ) -> Grant:
        return sign_in(context, Options.of(context), credential.payload)

    @hookimpl
    def authorize_request(
        self,
        context: ProviderContext,
        credential: Credential,
        request: requests.PreparedRequest,
    ) -> requests.PreparedRequest:
        headers = Options.of(context).headers(
            credential.payload, credential.access_token or ""
        )
        request.headers.update(headers)
        return request

    # Reading data

    @hookimpl
    def list_resources(
        self,
        context: ProviderContext,
        api: HttpClient,
        kind: str,
        parent: str | None,
        cursor: str | None,
    ) -> Page:
        paging = Options.of(context).paging
        name = f"{kind}_url"
        response = api.get(
            _list_url(context, name, kind, parent),
            params=paging.params(cursor),
            headers={"Accept": "application/json"},
        )
        _check_refusal(response, kind, name)

        body = api.json(response, what=f"the {kind} list")
        items = read_resources(
            body,
            kind,
            provider=PROVIDER_ID,
            brand="Agvance",
            parent=parent,
            status=response.status_code,
        )
        return paging.page(cursor, items, response.headers)

    # Sandbox

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import AgvanceEmulator

        return AgvanceEmulator(
            size=settings.get("size", 5), seed=settings.get("seed", 0)
        )


def _list_url(
    context: ProviderContext, name: str, kind: str, parent: str | None
) -> str:
    """The list URL of ``kind``, with the parent's id in its ``{parent}`` slot."""
    url = endpoint(context, name)
    owner = _PARENT_NAMES.get(kind)
    if owner is None:
        return url
    if parent is None:
        raise ConfigurationError(
            f"{PROVIDER_ID} lists {kind} per {owner}: pass parent=<{owner} id>, or "
            f"use iter_resources to list those of every {owner}",
            provider=PROVIDER_ID,
        )
    if "{parent}" not in url:
        # Without the slot every parent would list the same items.
        raise ConfigurationError(
            f"the {PROVIDER_ID} endpoint {name!r} must hold {{parent}} where the "
            f"{owner} id goes; fix endpoints={{{PROVIDER_ID!r}: {{{name!r}: URL}}}}",
            provider=PROVIDER_ID,
        )
    return url.replace("{parent}", quote(parent, safe=""))


def _check_refusal(response: requests.Response, kind: str, name: str) -> None:
    """Turn Agvance's refusals of a list into errors that say what to do."""
    status = response.status_code
    if status == 401:
        # A session that ended early and a wrong header look alike: neither proves
        # the credential dead, which only a refused sign-in does.
        raise ProviderError(
            f"{PROVIDER_ID} refused the session on the {kind} list (HTTP 401); the "
            "credential stays active: Fieldlink.refresh() signs in again and marks "
            "it invalid if Agvance refuses the sign-in; if this persists, check "
            "settings api_headers",
            provider=PROVIDER_ID,
            status=status,
        )
    if status == 403:
        raise PermissionDenied(
            f"{PROVIDER_ID} refused the {kind} list (HTTP 403): the Agvance user may "
            f"lack the Hub / API Security right to read {kind}",
            provider=PROVIDER_ID,
            status=status,
        )
    if status == 404:
        raise ProviderError(
            f"{PROVIDER_ID} has no {kind} list at the configured {name} (HTTP 404); "
            f"check endpoints={{{PROVIDER_ID!r}: {{{name!r}: URL}}}}",
            provider=PROVIDER_ID,
            status=status,
        )


plugin = Agvance()
