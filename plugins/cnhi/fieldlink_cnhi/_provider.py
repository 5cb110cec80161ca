"""The provider class both CNH plugins are made of.

CNH speaks OAuth 2.0 on Auth0 (reference: providers.md section 3): the generic
provider does the work, configured for client credentials in the token request
body and for the ``Ocp-Apim-Subscription-Key`` header on API calls. This class
adds what differs: two environments with their own hosts, Auth0's ``audience``
and ``connection`` parameters, revocation by JSON, and CNH's lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from fieldlink import hookimpl
from fieldlink.errors import ConfigurationError, OAuthError, ProviderError
from fieldlink.models import Grant, Page, ProviderInfo, Redirect, Resource
from fieldlink.oauth2 import CLIENT_SECRET_POST, OAuth2Provider, OAuth2Settings

from ._environments import STAGE, connection
from ._errors import WrongEnvironment

if TYPE_CHECKING:
    import requests

    from fieldlink import ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import AuthRequest, Credential
    from fieldlink.oauth2 import TokenResponse

    from ._listing import Item, Paging

#: Where each kind is listed below the API base; hosts may override them with the
#: ``paths`` setting. FieldOps' are [3rd-party]; AFS Connect's are [UNCONFIRMED].
PATHS = {
    "companies": "/companies",
    "farms": "/companies/{companyId}/farms",
    "fields": "/companies/{companyId}/farms/{farmId}/fields",
}
RESOURCE_KINDS = tuple(PATHS)
#: The host settings the provider class reads; its paging reads others.
SETTINGS = ("connection", "paths")
#: Farms are listed per company and fields per farm. A farm's id is
#: ``<companyId>/<farmId>``, which is what the URL of its fields needs.
RESOURCE_PARENTS = {"farms": "companies", "fields": "farms"}
PARENT_NOUNS = {"farms": "company", "fields": "farm"}
#: The credential's secrets, kept out of every message.
SECRET_FIELDS = ("clientSecret", "subscriptionKey", "refreshToken")

OAUTH = OAuth2Settings(
    client_id_field="clientId",
    client_secret_field="clientSecret",
    refresh_token_field="refreshToken",
    environment_field="clientEnvironment",
    # Auth0 reads the client from the body; CNH's samples never send Basic.
    client_auth=CLIENT_SECRET_POST,
    scopes=("offline_access",),
    # Lifetimes are [UNCONFIRMED]: when expires_in is missing, refresh early.
    default_expires_in=3600,
    api_headers={
        "Ocp-Apim-Subscription-Key": "{subscriptionKey}",
        "Accept": "application/json",
    },
    missing_refresh_token_hint="the scope must include offline_access",
)


class CNHProvider(OAuth2Provider):
    """A CNH API: AFS Connect or FieldOps, told apart by ``info`` and ``paging``."""

    def __init__(self, info: ProviderInfo, paging: Paging) -> None:
        self.info = info
        self.oauth = OAUTH
        self.paging = paging

    # Connecting

    @hookimpl
    def start_auth(self, context: ProviderContext, request: AuthRequest) -> Redirect:
        redirect = super().start_auth(context, request)
        # Auth0 needs the API's audience, and the login connection of the tenant.
        extra = {
            "audience": context.endpoint("audience"),
            "connection": connection(context),
        }
        return Redirect(f"{redirect.url}&{urlencode(extra)}")

    @hookimpl
    def register_credentials(
        self, context: ProviderContext, payload: Mapping[str, Any]
    ) -> Grant:
        # Leaf lets a FieldOps body leave clientEnvironment out (meaning STAGE):
        # the stored body says which environment it was registered in.
        return Grant({**payload, "clientEnvironment": context.environment})

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
        """The generic token request, at this environment's tenant; a client the
        tenant does not know is a credential of the other environment."""
        try:
            return super().token_request(
                context, client_id, client_secret, grant_type, form, requested=requested
            )
        except OAuthError as error:
            # Auth0 answers 403 invalid_grant for a dead refresh token (the generic
            # reader makes that CredentialRevoked) and RFC 6749's invalid_client
            # for a client the tenant has never issued.
            if error.error != "invalid_client":
                raise
            raise _unknown_client(context, client_id, grant_type, error) from None

    @hookimpl
    def revoke_credentials(
        self, context: ProviderContext, credential: Credential
    ) -> bool | None:
        """Revoke the refresh token: CNH takes JSON ``client_id``, ``client_secret``
        and ``token`` at ``/oauth/revoke`` [3rd-party]."""
        url = context.endpoints.get("revoke_url")
        if not url:
            return None
        payload = credential.payload
        body = {
            "client_id": payload["clientId"],
            "client_secret": payload["clientSecret"],
            "token": payload["refreshToken"],
        }
        response = context.http.post(
            url, json=body, headers={"Accept": "application/json"}
        )
        if response.status_code != 200:
            raise ProviderError(
                f"{self.info.id} refused to revoke the credential "
                f"(HTTP {response.status_code})",
                provider=self.info.id,
                status=response.status_code,
            )
        return True

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
        url = context.endpoint("api_base") + self._path(context, kind, parent)
        url, query = self.paging.request(context, url, cursor)

        response = api.get(url, params=query)
        self._check(context, credential, response, kind, parent)
        body = api.json(response, what=f"the {kind} list")
        items, next_cursor = self.paging.read(context, body, response.url, cursor)
        return Page([_resource(kind, item, parent) for item in items], next_cursor)

    def _path(self, context: ProviderContext, kind: str, parent: str | None) -> str:
        template = {**PATHS, **context.setting_texts("paths", {}, keys=PATHS)}[kind]
        if kind == "companies":
            return template
        if kind == "farms":
            ids = {"companyId": parent or ""}
        else:
            company_id, _, farm_id = (parent or "").rpartition("/")
            ids = {"companyId": company_id, "farmId": farm_id}
        if not all(ids.values()):
            wanted = "a company's id" if kind == "farms" else "a farm's id as listed"
            raise ConfigurationError(
                f"{self.info.id} lists {kind} per {PARENT_NOUNS[kind]}: "
                f"pass {wanted} as parent",
                provider=self.info.id,
            )
        return template.format(**{key: quote(v, safe="") for key, v in ids.items()})

    def _check(
        self,
        context: ProviderContext,
        credential: Credential,
        response: requests.Response,
        kind: str,
        parent: str | None,
    ) -> None:
        """Turn CNH's refusals into fieldlink's errors; 429 and 5xx were already."""
        status = response.status_code
        if status < 400:
            return
        detail = _detail(response, credential)
        shown = f"HTTP {status}" + (f": {detail}" if detail else "")
        environment = context.environment
        # Azure API Management checks the subscription key before anything else.
        if status == 401 and "subscription key" in detail.lower():
            raise WrongEnvironment(
                f"{self.info.id} refused the credential's subscriptionKey in "
                f"{environment} ({shown}). CNH issues keys per environment and per "
                f"API: a key of the other environment, or of the other CNH API, is "
                f"refused here. Register the credential again with the "
                f"{self.info.name} key of {environment}.",
                error="invalid_subscription_key",
                provider=self.info.id,
                status=status,
            )
        if status == 401:
            raise ProviderError(
                f"{self.info.id} refused the access token for the {kind} list "
                f"({shown}); if it persists, check that the audience endpoint of "
                f"{environment} is the one of {self.info.name} and connect the "
                "grower again",
                provider=self.info.id,
                status=status,
            )
        if status in (403, 404):
            refusal = "may not read" if status == 403 else "cannot find"
            where = f" of {PARENT_NOUNS[kind]} {parent}" if parent else ""
            raise ProviderError(
                f"{self.info.id}: the grower {refusal} the {kind}{where} ({shown})",
                provider=self.info.id,
                status=status,
            )

    # Sandbox

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import CNHEmulator

        return CNHEmulator(
            provider=self.info.id,
            audiences={
                env: urls["audience"] for env, urls in self.info.endpoints.items()
            },
            paging=self.paging.name,
            # Served below the same path as on CNH's host (FieldOps: /v1).
            api_path=urlsplit(self.info.endpoints[STAGE]["api_base"]).path,
            size=settings.get("size", 5),
            seed=settings.get("seed", 0),
            rotation=settings.get("rotation", "none"),
            page_size=settings.get("page_size"),
        )


def _unknown_client(
    context: ProviderContext, client_id: str, grant_type: str, error: OAuthError
) -> WrongEnvironment:
    provider, environment = context.provider.id, context.environment
    if grant_type == "authorization_code":
        fix = (
            f"the app registered for {environment} is not one of {environment}: "
            f"register {environment}'s client, subscription key and secret"
        )
    else:
        fix = (
            "the credential's clientEnvironment is wrong, or its clientSecret was "
            "changed; register it again with the environment it was issued in"
        )
    return WrongEnvironment(
        f"{provider}'s {environment} identity server does not know client "
        f"{client_id!r}. CNH issues separate clients per environment, so {fix}.",
        error=error.error,
        provider=provider,
        status=error.status,
    )


def _detail(response: requests.Response, credential: Credential) -> str:
    """What CNH said, in a few words: a JSON:API error or an API gateway message,
    with anything the credential holds taken out."""
    try:
        body = response.json()
    except ValueError:
        return ""
    text: Any = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            text = errors[0].get("detail") or errors[0].get("title")
        else:
            text = body.get("message")
    if not isinstance(text, str):
        return ""
    secrets = [credential.payload.get(name) for name in SECRET_FIELDS]
    for secret in (credential.access_token, *secrets):
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "***")
    return text[:200]


def _resource(kind: str, item: Item, parent: str | None) -> Resource:
    own_id = str(item.get("id"))
    name = item.get("name")
    return Resource(
        kind=kind,
        id=f"{parent}/{own_id}" if kind == "farms" else own_id,
        name=name if isinstance(name, str) else None,
        parent_id=parent if kind in RESOURCE_PARENTS else None,
        data=item,
    )
