"""fieldlink provider plugin for Raven Slingshot.

Slingshot has no OAuth and issues no tokens. Raven gives the ISV (the host) an API
key and a shared secret; the grower creates an access key in the Slingshot Portal and
types it into the host's form. Every request then carries the API key, the access
key, a timestamp and an HMAC-SHA1 signature keyed by the shared secret
(:mod:`fieldlink_raven_slingshot.signing`). Lists come in the "SlingshotIndex"
envelope, paged by ``page`` (from 0) and ``pagesize``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldlink import hookimpl
from fieldlink.errors import AuthFlowError, ConfigurationError
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

from ._responses import PROVIDER_ID, check_key_summary, folded, read_index, refusal
from .signing import BASE64, SECRET_ENCODINGS, signed_headers

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from fieldlink import ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import Credential

__all__ = ["PROVIDER_ID", "RavenSlingshot", "__version__", "plugin"]

__version__ = "0.1.0"

#: Items asked for per page (Slingshot's ``pagesize``); no maximum is documented.
PAGE_SIZE = 100
_ENDPOINTS = {"api_base": "https://api.ravenslingshot.com"}
# Slingshot answers in XML or JSON, as Accept asks; only JSON is read here.
_JSON = {"Accept": "application/json"}


class RavenSlingshot:
    """Hook implementations for Raven Slingshot."""

    info = ProviderInfo(
        id=PROVIDER_ID,
        name="Raven Slingshot",
        version=__version__,
        auth_kind=AuthKind.API_KEY,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("fieldcomputers", "jobdata"),
        # Leaf uses no clientEnvironment for Slingshot: one environment.
        endpoints={"PRODUCTION": _ENDPOINTS},
        documentation_url=(
            "https://developer.ravenslingshot.com/documentation/product-guides/"
            "slingshot-api/authentication"
        ),
        min_core_version="0.1.0",
        settings=("page_size", "shared_secret_encoding", "bare_401_invalidates"),
        issues_access_tokens=False,
        notes=(
            "Raven does not confirm how the shared secret becomes the HMAC key: it is "
            "base64-decoded, as working clients do, with no fallback; "
            "settings={'raven-slingshot': {'shared_secret_encoding': 'utf-8'}} signs "
            "with its UTF-8 bytes instead.",
            "Slingshot answers every failed check with 401, only sometimes saying why. "
            "A credential is marked invalid only when the answer blames the access "
            "key alone, or GET /accesskey shows it inactive or expired. A 401 that "
            "blames the timestamp, the signature or the API key, or comes while this "
            "machine's clock is far from the server's Date, keeps it; so does a 401 "
            "without a reason, unless "
            "settings={'raven-slingshot': {'bare_401_invalidates': True}}.",
            "The JSON name of the SlingshotIndex item list is not documented: the "
            "envelope's one list is read, and member names are matched in any case.",
            "The largest pagesize is not documented: 100 is asked for unless "
            "settings={'raven-slingshot': {'page_size': ...}}.",
            "Slingshot allows 30 calls per 60 seconds; a 429 is a passing failure.",
            "Slingshot offers no revocation: deleting a credential forgets it, and the "
            "grower revokes the access key in the Slingshot Portal. A refresh checks "
            "the key again with GET /accesskey.",
        ),
    )

    @hookimpl
    def describe_provider(self) -> ProviderInfo:
        return self.info

    # Connecting

    @hookimpl
    def start_auth(self, context: ProviderContext) -> Form:
        # The API key and shared secret are the host's; fail now, not after the
        # grower has looked up their access key, if they are missing.
        context.app_fields()
        return Form([FormField("accessKey", "Slingshot access key", secret=True)])

    @hookimpl
    def complete_auth(
        self, context: ProviderContext, params: Mapping[str, str]
    ) -> AuthResult:
        access_key = (params.get("accessKey") or "").strip()
        if not access_key:
            raise AuthFlowError(
                f"the {PROVIDER_ID} form came back without accessKey; ask the grower "
                "for the access key they created in the Slingshot Portal",
                provider=PROVIDER_ID,
            )
        app = context.app_fields()
        payload = {
            "apiKey": app["apiKey"],
            "accessKey": access_key,
            "sharedSecret": app["sharedSecret"],
        }
        return AuthResult(Grant(payload))

    @hookimpl
    def register_credentials(
        self, context: ProviderContext, payload: Mapping[str, Any]
    ) -> Grant:
        # Slingshot's own check of a key: nothing it refuses is stored.
        _check_access_key(context, payload)
        return Grant(payload)

    @hookimpl
    def refresh_credentials(
        self, context: ProviderContext, credential: Credential
    ) -> Grant:
        """Slingshot issues no tokens; a refresh the host asks for checks the access
        key again, so a key the grower revoked turns the credential invalid."""
        _check_access_key(context, credential.payload)
        return Grant(credential.payload)

    # Calling the API

    @hookimpl
    def authorize_request(
        self,
        context: ProviderContext,
        credential: Credential,
        request: requests.PreparedRequest,
    ) -> requests.PreparedRequest:
        request.headers.update(
            _signed(
                context, credential.payload, request.method or "", request.url or ""
            )
        )
        return request

    @hookimpl
    def list_resources(
        self, context: ProviderContext, api: HttpClient, kind: str, cursor: str | None
    ) -> Page:
        page = _page_number(cursor)
        size = context.setting_int("page_size", PAGE_SIZE, minimum=1)
        response = api.get(
            f"{context.endpoint('api_base')}/{kind}",
            params={"page": page, "pagesize": size},
            headers=_JSON,
        )
        what = f"the {kind} list"
        items, has_next = read_index(_body(context, api, response, what), what=what)
        # Slingshot's paging: ask for page + 1 while IsNextPage is true.
        return Page(
            [_resource(kind, item) for item in items],
            str(page + 1) if has_next else None,
        )

    # Sandbox

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import RavenSlingshotEmulator

        return RavenSlingshotEmulator(
            size=settings.get("size", 5),
            seed=settings.get("seed", 0),
            shared_secret_encoding=settings.get("shared_secret_encoding", BASE64),
        )


def _signed(
    context: ProviderContext, payload: Mapping[str, Any], method: str, url: str
) -> dict[str, str]:
    """The four X-SS-* headers of one request, signed now."""
    encoding = context.setting_choice(
        "shared_secret_encoding", BASE64, SECRET_ENCODINGS
    )
    try:
        return signed_headers(
            method,
            url,
            api_key=payload["apiKey"],
            access_key=payload["accessKey"],
            shared_secret=payload["sharedSecret"],
            timestamp=_timestamp(),
            encoding=encoding,
        )
    except ValueError as error:
        raise ConfigurationError(
            f"cannot sign {PROVIDER_ID} requests: {error}; choose how the shared "
            f"secret is read with settings={{'{PROVIDER_ID}': "
            "{'shared_secret_encoding': 'base64' or 'utf-8'}}",
            provider=PROVIDER_ID,
        ) from None


def _timestamp() -> int:
    """Now in Unix seconds, for ``X-SS-TimeStamp``."""
    return int(time.time())


def _check_access_key(context: ProviderContext, payload: Mapping[str, Any]) -> None:
    """``GET /accesskey``, signed with ``payload``; raise CredentialRevoked for a key
    that Slingshot refuses or shows inactive or expired."""
    url = f"{context.endpoint('api_base')}/accesskey"
    response = context.http.get(
        url, headers={**_JSON, **_signed(context, payload, "GET", url)}
    )
    check_key_summary(_body(context, context.http, response, "the access key summary"))


def _body(
    context: ProviderContext, http: HttpClient, response: requests.Response, what: str
) -> Any:
    if response.status_code == 401:
        raise refusal(
            response,
            what=what,
            bare_401_invalidates=context.setting_flag("bare_401_invalidates", False),
        )
    return http.json(response, what=what)


def _page_number(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise ConfigurationError(
            f"{cursor!r} is not a {PROVIDER_ID} cursor; pass the next_cursor of the "
            "previous page, or None for the first",
            provider=PROVIDER_ID,
        )
    return int(cursor)


def _resource(kind: str, item: Mapping[str, Any]) -> Resource:
    fields = folded(item)
    name = fields.get("name")
    return Resource(
        kind=kind,
        id=str(fields["id"]),
        name=name if isinstance(name, str) else None,
        data=item,
    )


plugin = RavenSlingshot()
