"""fieldlink provider plugin for Sample Soil Lab, a made-up provider.

Growers type an access key and a secret key into a form; every API call is then
signed with the secret key (HMAC-SHA256 over the method, the path and the time), so
there is no access token and nothing to refresh. The key pair is checked by a
signed call before it is stored. Lists page by number: ``page`` asks for one, and
``links.next_page`` names the following one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fieldlink import hookimpl
from fieldlink.errors import AuthFlowError, CredentialRevoked, ProviderError
from fieldlink.models import (
    AuthKind,
    AuthResult,
    Form,
    FormField,
    Grant,
    Page,
    ProviderInfo,
    Resource,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from fieldlink import ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import Credential

__version__ = "1.0.0"

PROVIDER_ID = "sample"
#: What the API answers with HTTP 401 when it will never take the keys again.
REFUSALS = frozenset({"invalid_key", "invalid_signature", "revoked_key"})


def signature(secret: str, method: str, path: str, timestamp: str) -> str:
    message = f"{method}\n{path}\n{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(
    request: requests.PreparedRequest, payload: Mapping[str, Any]
) -> requests.PreparedRequest:
    """Sign one request with the grower's key pair."""
    timestamp = str(int(time.time()))
    path = urlsplit(request.url or "").path
    request.headers.update(
        {
            "X-Sample-Partner": payload["partnerId"],
            "X-Sample-Key": payload["accessKey"],
            "X-Sample-Date": timestamp,
            "X-Sample-Signature": signature(
                payload["secretKey"], request.method or "GET", path, timestamp
            ),
        }
    )
    return request


class SampleSoilLab:
    info = ProviderInfo(
        id=PROVIDER_ID,
        name="Sample Soil Lab",
        version=__version__,
        auth_kind=AuthKind.API_KEY,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("sites", "samples"),
        resource_parents={"samples": "sites"},
        endpoints={"PRODUCTION": {"api_base": "https://api.samplesoillab.example/v1"}},
        documentation_url="https://developer.samplesoillab.example/",
        min_core_version="0.1.0",
        issues_access_tokens=False,
    )

    @hookimpl
    def describe_provider(self) -> ProviderInfo:
        return self.info

    @hookimpl
    def start_auth(self) -> Form:
        return Form(
            (
                FormField("accessKey", "Access key"),
                FormField("secretKey", "Secret key", secret=True),
            )
        )

    @hookimpl
    def complete_auth(
        self, context: ProviderContext, params: Mapping[str, str]
    ) -> AuthResult:
        if not params.get("accessKey") or not params.get("secretKey"):
            raise AuthFlowError(
                "type both the access key and the secret key", provider=PROVIDER_ID
            )
        payload = {
            "partnerId": context.app_fields()["partnerId"],
            "accessKey": params["accessKey"],
            "secretKey": params["secretKey"],
        }
        # register_credentials, called next by the core, checks the keys.
        return AuthResult(Grant(payload))

    @hookimpl
    def register_credentials(
        self, context: ProviderContext, payload: Mapping[str, Any]
    ) -> Grant:
        response = context.http.get(
            f"{context.endpoint('api_base')}/me",
            auth=lambda request: sign(request, payload),
        )
        _raise_for_refusal(response)
        context.http.json(response, what="the key check")
        return Grant(payload)

    @hookimpl
    def authorize_request(
        self, credential: Credential, request: requests.PreparedRequest
    ) -> requests.PreparedRequest:
        return sign(request, credential.payload)

    @hookimpl
    def list_resources(
        self,
        context: ProviderContext,
        api: HttpClient,
        kind: str,
        parent: str | None,
        cursor: str | None,
    ) -> Page:
        base = context.endpoint("api_base")
        url = f"{base}/sites" if kind == "sites" else f"{base}/sites/{parent}/samples"
        response = api.get(url, params={"page": cursor or "1"})
        _raise_for_refusal(response)
        body = api.json(response, what=f"the {kind} list")
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ProviderError(
                f"{PROVIDER_ID} answered the {kind} list without a data array",
                provider=PROVIDER_ID,
            )
        items = [
            Resource(kind, str(value["id"]), value.get("name"), parent, value)
            for value in body["data"]
        ]
        return Page(items, (body.get("links") or {}).get("next_page"))

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import SampleEmulator

        return SampleEmulator(
            size=settings.get("size", 5), seed=settings.get("seed", 0)
        )


def _raise_for_refusal(response: requests.Response) -> None:
    """A refusal of the keys themselves is for good: the credential is invalid."""
    if response.status_code != 401:
        return
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if error in REFUSALS:
        raise CredentialRevoked(
            f"{PROVIDER_ID} refused the key pair: {error}",
            error=error,
            provider=PROVIDER_ID,
            status=401,
        )


plugin = SampleSoilLab()
