"""fieldlink provider plugin for Climate FieldView.

OAuth 2.0 authorization code ("Log In with FieldView") with client authentication by
HTTP Basic; a partner API key in ``X-Api-Key`` on every platform call. Each refresh
returns a new refresh token and retires the one just spent an hour later. Lists
page by headers: ``X-Limit`` sets the page size and ``X-Next-Token`` carries the
position, with the status code saying whether more pages remain.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldlink import hookimpl
from fieldlink.errors import ProviderError
from fieldlink.models import AuthKind, Page, ProviderInfo, Resource
from fieldlink.oauth2 import OAuth2Provider, OAuth2Settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from fieldlink import ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import Credential

__version__ = "0.1.0"

PROVIDER_ID = "climate-field-view"
#: Items asked for per page: X-Limit takes 1 to 100.
PAGE_SIZE = 100
_ENDPOINTS = {
    "authorize_url": "https://climate.com/static/app-login/index.html",
    "token_url": "https://api.climate.com/api/oauth/token",
    "api_base": "https://platform.climate.com",
}


class ClimateFieldView(OAuth2Provider):
    info = ProviderInfo(
        id=PROVIDER_ID,
        name="Climate FieldView",
        version=__version__,
        auth_kind=AuthKind.OAUTH2,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("fields",),
        # Climate documents no sandbox host: one environment, as Leaf has it.
        endpoints={"PRODUCTION": _ENDPOINTS},
        documentation_url="https://dev.fieldview.com/",
        min_core_version="0.1.0",
        # No setting of its own: OAuth2Provider adds those it reads (pkce...).
        settings=(),
        rotates_refresh_tokens=True,
        notes=(
            "Each refresh returns a new refresh token; the one spent stops working an "
            "hour later, so only the stored, latest one can be relied on.",
            "Scopes are provisioned per partner by Climate: only fields:read is asked "
            "for unless settings={'climate-field-view': {'scopes': [...]}}.",
            "PKCE is not documented: off unless "
            "settings={'climate-field-view': {'pkce': True}}.",
            "Whether Climate echoes state is not documented; fieldlink sends it and "
            "needs it back on the callback.",
            "The error for an expired or revoked refresh token is not documented; only "
            "invalid_grant marks the credential invalid, anything else is kept for a "
            "retry.",
            "No revocation endpoint is documented: disconnecting deletes the stored "
            "credential only.",
        ),
    )
    oauth = OAuth2Settings(
        client_id_field="clientId",
        client_secret_field="clientSecret",
        scopes=("fields:read",),
        # Access tokens last 4 hours (Climate's sample docstring).
        default_expires_in=14400,
        # Climate's login page shows its OAuth sign-in only with this parameter.
        authorize_params={"page": "oidcauthn"},
        api_headers={"X-Api-Key": "{apiKey}"},
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
        headers = {"Accept": "application/json", "X-Limit": str(PAGE_SIZE)}
        if cursor is not None:
            headers["X-Next-Token"] = cursor
        response = api.get(f"{context.endpoint('api_base')}/v4/{kind}", headers=headers)

        # Climate pages by status: 206 more to come, 200 the last page, 304 nothing.
        status = response.status_code
        if status == 304:
            return Page(())
        if status == 409:
            raise ProviderError(
                f"{PROVIDER_ID}'s next-token for the {kind} list has expired; start "
                f"the listing again without a cursor{_request_id(response)}",
                provider=PROVIDER_ID,
                status=status,
            )
        if status == 403:
            raise ProviderError(
                f"{PROVIDER_ID} refused the {kind} list with HTTP 403; check the "
                f"apiKey of the app registration and that the grower granted "
                f"{kind}:read{_request_id(response)}",
                provider=PROVIDER_ID,
                status=status,
            )
        body = api.json(response, what=f"the {kind} list")
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise ProviderError(
                f"{PROVIDER_ID} answered the {kind} list without a results array"
                f"{_request_id(response)}",
                provider=PROVIDER_ID,
                status=status,
            )

        items = [_resource(kind, value) for value in results]
        next_token = response.headers.get("X-Next-Token") if status == 206 else None
        return Page(items, next_token or None)

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import ClimateFieldViewEmulator

        return ClimateFieldViewEmulator(
            size=settings.get("size", 5), seed=settings.get("seed", 0)
        )


def _request_id(response: requests.Response) -> str:
    # Climate support traces a call by this id; it is no secret.
    request_id = response.headers.get("X-Http-Request-Id")
    return f" (X-Http-Request-Id {request_id})" if request_id else ""


def _resource(kind: str, value: Mapping[str, Any]) -> Resource:
    return Resource(
        kind=kind, id=str(value.get("id")), name=value.get("name"), data=value
    )


plugin = ClimateFieldView()
