"""fieldlink provider plugin for Sentera FieldAgent.

Leaf's Sentera credential is the grower's email, password and organisation name:
the legacy sign-in, not Sentera's OAuth 2.0 flow. The plugin signs in once, resolves
the organisation to its id, and stores Sentera's session token in place of the
password, which it never keeps. The token lasts 3 months and cannot be renewed
without the password, so an expired or refused token turns the credential invalid
and the grower connects again. Fields are read through Sentera's GraphQL API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldlink import hookimpl
from fieldlink.errors import ConfigurationError, CredentialRevoked, ProviderError
from fieldlink.forms import FormProvider
from fieldlink.models import (
    AuthKind,
    Form,
    FormField,
    Grant,
    Page,
    ProviderInfo,
    Resource,
)

from ._account import check_token, organization_named, organization_with_id, sign_in
from ._graphql import execute, read_page
from ._options import PROVIDER_ID, SETTINGS, Options

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from fieldlink import ProviderContext
    from fieldlink.http import HttpClient
    from fieldlink.models import Credential

__all__ = ["PROVIDER_ID", "Sentera", "__version__", "plugin"]

__version__ = "0.1.0"

_ENDPOINTS = {
    "session_url": "https://api.sentera.com/v1/sessions",
    "graphql_url": "https://api.sentera.com/graphql",
}
#: What the grower types: Leaf's body, field for field.
SIGN_IN_FORM = Form(
    (
        FormField("username", "Sentera email"),
        FormField("password", "Sentera password", secret=True),
        FormField("organizationName", "Sentera organization name"),
    )
)


class Sentera(FormProvider):
    info = ProviderInfo(
        id=PROVIDER_ID,
        name="Sentera FieldAgent",
        version=__version__,
        auth_kind=AuthKind.PASSWORD,
        credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
        resource_kinds=("fields",),
        # Sentera has one API host and Leaf takes no clientEnvironment for it.
        endpoints={"PRODUCTION": _ENDPOINTS},
        documentation_url="https://api.sentera.com/api/getting_started/introduction.html",
        min_core_version="0.1.0",
        settings=SETTINGS,
        # Session tokens are not refreshed: there is no refresh token to rotate.
        rotates_refresh_tokens=False,
        notes=(
            "Leaf's body is the legacy email/password sign-in; the password is used "
            "once and never stored: fieldlink keeps Sentera's session token instead.",
            "Session tokens last 3 months, counted as 89 days "
            "(settings token_lifetime_days); without a password they cannot be "
            "renewed, so the credential then turns invalid and the grower connects "
            "again.",
            "The legacy page says only that the token goes in the Authorization "
            "header; the GraphQL page shows 'Bearer <token>', which is sent "
            "(settings authorization_scheme='' sends the bare token).",
            "Sign-in refusals are not documented: HTTP 401 and 403 mean a wrong "
            "email or password.",
            "GraphQL input type names and the organizations query are not "
            "documented: settings fields_query and organizations_query replace the "
            "query documents.",
            "Pages are taken to count from 1 (settings first_page) at 100 items "
            "(settings page_size); a listing that ends short of total_count raises "
            "rather than return fewer fields.",
            "Which GraphQL errors mean a dead token is not documented: an "
            "unauthorised or unauthenticated code or message (settings "
            "revoking_errors) marks the credential invalid; other errors do not.",
            "organizationName is matched ignoring case and surrounding spaces; an "
            "unknown or ambiguous name is refused when connecting.",
            "No session revocation is documented: deleting a credential forgets the "
            "token only.",
        ),
    )

    form = SIGN_IN_FORM

    # Connecting

    @hookimpl
    def register_credentials(
        self, context: ProviderContext, payload: Mapping[str, Any]
    ) -> Grant:
        if "password" in payload:
            return self.exchange(context, payload)

        # A payload fieldlink stored (complete_auth's, or one a host registers again):
        # its token must still open its organisation.
        options = Options.of(context)
        token = payload["authToken"]
        organization_with_id(context, options, token, payload["organizationId"])
        return Grant(payload, token)

    def exchange(self, context: ProviderContext, values: Mapping[str, Any]) -> Grant:
        """Sign in with Leaf's body; the grant keeps the token, never the password."""
        options = Options.of(context)
        token = sign_in(context, values["username"], values["password"])
        organization = organization_named(
            context, options, token, values["organizationName"]
        )
        payload = {
            "username": values["username"],
            "organizationName": values["organizationName"],
            "organizationId": str(organization["sentera_id"]),
            "authToken": token,
        }
        return Grant(payload, token, datetime.now(UTC) + options.token_lifetime)

    # Keeping the token

    @hookimpl
    def refresh_credentials(
        self, context: ProviderContext, credential: Credential
    ) -> Grant:
        # A session token cannot be renewed without the password, which is not kept:
        # a refresh can only confirm that the token still works.
        expires_at = credential.expires_at
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise CredentialRevoked(
                f"the {PROVIDER_ID} session token has expired (they last 3 months) and "
                "fieldlink keeps no password to sign in again; the user must connect "
                "again",
                error="expired_token",
                provider=PROVIDER_ID,
            )
        token = _token(credential)
        check_token(context, Options.of(context), token)
        return Grant(credential.payload, token, expires_at)

    @hookimpl
    def authorize_request(
        self,
        context: ProviderContext,
        credential: Credential,
        request: requests.PreparedRequest,
    ) -> requests.PreparedRequest:
        token = _token(credential)
        request.headers["Authorization"] = Options.of(context).authorization(token)
        return request

    # Reading data

    @hookimpl
    def list_resources(
        self,
        context: ProviderContext,
        credential: Credential,
        api: HttpClient,
        kind: str,
        cursor: str | None,
    ) -> Page:
        options = Options.of(context)
        page = options.first_page if cursor is None else _page_number(cursor)
        variables = {
            "pagination": {"page": page, "page_size": options.page_size},
            # The query defaults to the user's own organisation: name the chosen one.
            "owner": credential.payload["organizationId"],
        }
        data = execute(
            api,
            context.endpoint("graphql_url"),
            options.fields_query,
            variables,
            token=_token(credential),
            options=options,
            what=f"the {kind} list",
        )
        result = read_page(
            data,
            kind,
            page=page,
            page_size=options.page_size,
            first_page=options.first_page,
            what=kind,
        )
        items = [_resource(kind, value) for value in result.results]
        return Page(items, None if result.next_page is None else str(result.next_page))

    # Sandbox

    @hookimpl
    def sandbox_emulator(self, settings: Mapping[str, Any]) -> Any:
        from .emulator import SenteraEmulator

        return SenteraEmulator(
            size=settings.get("size", 5), seed=settings.get("seed", 0)
        )


def _page_number(cursor: str) -> int:
    if not cursor.isdigit():
        raise ConfigurationError(
            f"{cursor!r} is not a {PROVIDER_ID} page cursor; pass the next_cursor of "
            "the page before",
            provider=PROVIDER_ID,
        )
    return int(cursor)


def _token(credential: Credential) -> str:
    return credential.access_token or str(credential.payload["authToken"])


def _resource(kind: str, value: Mapping[str, Any]) -> Resource:
    sentera_id = value.get("sentera_id")
    if not isinstance(sentera_id, str | int) or sentera_id == "":
        raise ProviderError(
            f"{PROVIDER_ID} listed one of the {kind} without a sentera_id",
            provider=PROVIDER_ID,
        )
    return Resource(kind=kind, id=str(sentera_id), name=value.get("name"), data=value)


plugin = Sentera()
