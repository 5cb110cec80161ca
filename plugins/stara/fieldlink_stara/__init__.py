"""fieldlink provider plugin for Stara Telemetria.

Stara has no OAuth redirect (providers.md section 8): a Stara login and password
give an apiKey at ``/autenticacao``, and the apiKey gives an access token, a client
token and a refresh token at ``/token``. The login is typed into a form; fieldlink
stores Leaf's body (the apiKey and the three tokens) and never the password.
Stara's data is fields only, with no grower or farm above them.

Which header carries which token, the refresh endpoint, the lifetimes, the list
endpoint and its paging are not published: each is a setting or an endpoint whose
default fails safe, and ``ProviderInfo.notes`` says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldlink import hookimpl
from fieldlink.errors import PermissionDenied, ProviderError
from fieldlink.forms import FormProvider
from fieldlink.models import AuthKind, Form, FormField, Grant, Page, ProviderInfo
from fieldlink.paging import read_resources

from ._options import PROVIDER_ID, SETTINGS, Options
from ._tokens import issue_tokens, log_in, renew_tokens

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from fieldlink import ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import Credential

__all__ = ["LOGIN_FORM", "PROVIDER_ID", "Stara", "__version__", "plugin"]

__version__ = "0.1.0"

_BASE = "https://v2apitelemetria.telemetriastara.com.br"
_ENDPOINTS = {
    "auth_url": f"{_BASE}/autenticacao",
    "token_url": f"{_BASE}/token",
    # A guess, to confirm with Stara: the fields list on the host of the token steps.
    "fields_url": f"{_BASE}/fields",
}
#: What the grower (or the host, for an integrator's login) types.
LOGIN_FORM = Form(
    (
        FormField("login", "Stara login"),
        FormField("password", "Stara password", secret=True),
    )
)


class Stara(FormProvider):
    info = ProviderInfo(
        id=PROVIDER_ID,
        name="Stara Telemetria",
        version=__version__,
        auth_kind=AuthKind.PASSWORD,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("fields",),
        # Leaf takes no clientEnvironment for Stara: one environment.
        endpoints={"PRODUCTION": _ENDPOINTS},
        # Unpublished: used only when the host names one.
        extra_endpoints=("refresh_url",),
        documentation_url="https://docs.withleaf.io/providers/stara",
        min_core_version="0.1.0",
        settings=SETTINGS,
        rotates_refresh_tokens=None,
        notes=(
            "Stara publishes no API reference: the login and token steps are those "
            "of Leaf's tutorial; everything below is unconfirmed.",
            "The form asks for a Stara login and password (Leaf Link takes them as "
            "the integrator's user/pwd); the password is used once and never stored.",
            "Which header carries which token is not published: resource calls send "
            "'Authorization: Bearer <accessToken>' and 'accessTokenClient: "
            "<accessTokenClient>', never the apiKey. Change it with "
            "settings={'stara': {'api_headers': {NAME: TEMPLATE}}}, templates naming "
            "{apiKey}, {accessToken}, {accessTokenClient} or {refreshToken}.",
            "Token lifetimes are not published: tokens are renewed after an hour "
            "(settings token_lifetime, in seconds).",
            "No refresh endpoint is published: new tokens come from POST /token with "
            "the apiKey. endpoints={'stara': {'refresh_url': URL}} sends JSON "
            "{'refreshToken': ...} there first, and still asks /token with the apiKey "
            "if that is refused.",
            "Error bodies are not published: HTTP 401 or 403 from /token refuses the "
            "apiKey and marks the credential invalid (settings revoking_statuses); "
            "the grower connects again, as Leaf says of expired Stara tokens.",
            "A resource call refused with HTTP 401 leaves the credential active (an "
            "expired token and a wrong header look alike): Fieldlink.refresh() gets "
            "new tokens, and marks the credential invalid only if the apiKey is "
            "refused. HTTP 403 raises PermissionDenied.",
            "The fields list is a GUESS to confirm with Stara: GET fields_url with "
            "page (from 0) and size (100), a JSON array of objects with an id per "
            "page, X-Total-Count when sent, else a short page ends the listing. "
            "Change it with endpoints={'stara': {'fields_url': URL}} and settings "
            "page_param, size_param, first_page and page_size.",
            "Tokens in a registered body are of unknown age: fresh ones are asked for "
            "before first use.",
            "No revocation is published: deleting a credential forgets it locally.",
        ),
    )

    form = LOGIN_FORM

    # Connecting

    def exchange(self, context: ProviderContext, values: Mapping[str, str]) -> Grant:
        options = Options.of(context)
        api_key = log_in(context, options, values["login"], values["password"])
        tokens = issue_tokens(context, options, api_key)
        return _grant({"apiKey": api_key, **tokens}, options)

    @hookimpl
    def register_credentials(self, payload: Mapping[str, Any]) -> Grant:
        # The body's tokens are of unknown age: none is taken as the access token,
        # so the core asks for fresh ones (with the apiKey) before they are used.
        return Grant(payload)

    # Keeping tokens alive

    @hookimpl
    def refresh_credentials(
        self, context: ProviderContext, credential: Credential
    ) -> Grant:
        options = Options.of(context)
        payload = dict(credential.payload)
        tokens = None
        if "refresh_url" in context.endpoints:
            tokens = renew_tokens(context, options, payload["refreshToken"])
        if tokens is None:
            tokens = issue_tokens(context, options, payload["apiKey"])
        payload.update(tokens)
        return _grant(payload, options)

    @hookimpl
    def authorize_request(
        self,
        context: ProviderContext,
        credential: Credential,
        request: requests.PreparedRequest,
    ) -> requests.PreparedRequest:
        request.headers.update(Options.of(context).headers(credential.payload))
        return request

    # Reading data

    @hookimpl
    def list_resources(
        self,
        context: ProviderContext,
        api: HttpClient,
        kind: str,
        cursor: str | None,
    ) -> Page:
        paging = Options.of(context).paging
        endpoint = f"{kind}_url"
        response = api.get(
            context.endpoint(endpoint),
            params=paging.params(cursor),
            headers={"Accept": "application/json"},
        )
        _check_refusal(response, kind, endpoint)

        body = api.json(response, what=f"the {kind} list")
        items = read_resources(
            body, kind, provider=PROVIDER_ID, brand="Stara", status=response.status_code
        )
        return paging.page(cursor, items, response.headers)

    # Sandbox

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import StaraEmulator

        return StaraEmulator(size=settings.get("size", 5), seed=settings.get("seed", 0))


def _grant(payload: Mapping[str, Any], options: Options) -> Grant:
    return Grant(
        payload, payload["accessToken"], datetime.now(UTC) + options.token_lifetime
    )


def _check_refusal(response: requests.Response, kind: str, endpoint: str) -> None:
    """Turn Stara's refusals of a list into errors that say what to do."""
    status = response.status_code
    if status == 401:
        # An expired token and a wrong header look alike: neither proves the
        # credential dead, which only a refused apiKey does.
        raise ProviderError(
            f"{PROVIDER_ID} refused the tokens on the {kind} list (HTTP 401); the "
            "credential stays active: Fieldlink.refresh() asks for new tokens and "
            "marks it invalid if Stara refuses the apiKey; if this persists, check "
            "settings api_headers",
            provider=PROVIDER_ID,
            status=status,
        )
    if status == 403:
        raise PermissionDenied(
            f"{PROVIDER_ID} refused the {kind} list (HTTP 403): this Stara login may "
            f"not read {kind}",
            provider=PROVIDER_ID,
            status=status,
        )
    if status == 404:
        raise ProviderError(
            f"{PROVIDER_ID} has no {kind} list at the configured {endpoint} (HTTP "
            f"404); that endpoint is a guess: set the right one with "
            f"endpoints={{{PROVIDER_ID!r}: {{{endpoint!r}: URL}}}}",
            provider=PROVIDER_ID,
            status=status,
        )


plugin = Stara()
