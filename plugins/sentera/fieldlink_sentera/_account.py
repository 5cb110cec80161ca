"""Signing in to Sentera and finding the grower's organisation.

Leaf's Sentera body is the legacy sign-in (reference, providers.md section 9):
``POST /v1/sessions`` with ``{"session": {"email", "password", "platform_id": "API",
"version_id": "1.0.0"}}`` answers an ``auth_token`` valid for 3 months. The
organisation is named in the body and resolved to its id through the GraphQL
``organizations`` query.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fieldlink.errors import (
    CredentialRevoked,
    CredentialValidationError,
    ProviderError,
    ValidationIssue,
)

from ._graphql import ResultPage, execute, read_page
from ._options import PROVIDER_ID

if TYPE_CHECKING:
    from fieldlink import ProviderContext

    from ._options import Options

#: Fixed members of the legacy sign-in body, as the reference gives them.
_SESSION_CLIENT = {"platform_id": "API", "version_id": "1.0.0"}
#: How many organisation names an "unknown organisation" error lists at most.
_NAMES_SHOWN = 5


def sign_in(context: ProviderContext, username: str, password: str) -> str:
    """Exchange the grower's email and password for a session token."""
    session = {"email": username, "password": password, **_SESSION_CLIENT}
    response = context.http.post(
        context.endpoint("session_url"),
        json={"session": session},
        headers={"Accept": "application/json"},
    )
    # Sentera's refusal is not documented; 401 and 403 are read as a wrong login.
    if response.status_code in (401, 403):
        raise CredentialRevoked(
            f"{PROVIDER_ID} refused the email and password (HTTP "
            f"{response.status_code}); check them and connect again",
            error="invalid_login",
            provider=PROVIDER_ID,
            status=response.status_code,
        )
    body = context.http.json(response, what="the sign-in")
    token = body.get("auth_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ProviderError(
            f"{PROVIDER_ID} answered the sign-in without an auth_token; "
            "nothing was stored",
            provider=PROVIDER_ID,
            status=response.status_code,
        )
    return token


def organization_named(
    context: ProviderContext, options: Options, token: str, name: str
) -> Mapping[str, Any]:
    """The one organisation the token can see whose name is ``name``.

    Names are compared ignoring case and surrounding spaces: Leaf does not say how
    it matches them, and a grower types the name by hand.
    """
    wanted = name.strip().casefold()
    seen: list[str] = []
    found = []
    for organization in _organizations(context, options, token):
        seen.append(str(organization.get("name")))
        if str(organization.get("name", "")).strip().casefold() == wanted:
            found.append(organization)
    if len(found) == 1:
        return found[0]
    if found:
        problem = f"names {len(found)} organizations of this Sentera login; rename one"
    else:
        shown = ", ".join(repr(known) for known in seen[:_NAMES_SHOWN]) or "none"
        problem = f"names no organization of this Sentera login (it has: {shown})"
    raise _organization_issue("$.organizationName", problem)


def organization_with_id(
    context: ProviderContext, options: Options, token: str, sentera_id: str
) -> Mapping[str, Any]:
    """The organisation ``sentera_id``, which the token must be able to see."""
    for organization in _organizations(context, options, token):
        if str(organization["sentera_id"]) == sentera_id:
            return organization
    raise _organization_issue(
        "$.organizationId", "is not an organization this Sentera login can see"
    )


def check_token(context: ProviderContext, options: Options, token: str) -> None:
    """Raise CredentialRevoked unless Sentera still accepts ``token``."""
    _query_organizations(context, options, token, options.first_page, page_size=1)


def _organizations(
    context: ProviderContext, options: Options, token: str
) -> Iterator[Mapping[str, Any]]:
    page: int | None = options.first_page
    while page is not None:
        result = _query_organizations(context, options, token, page, options.page_size)
        for organization in result.results:
            if organization.get("sentera_id") in (None, ""):
                raise ProviderError(
                    f"{PROVIDER_ID} listed an organization without a sentera_id",
                    provider=PROVIDER_ID,
                )
            yield organization
        page = result.next_page


def _query_organizations(
    context: ProviderContext, options: Options, token: str, page: int, page_size: int
) -> ResultPage:
    data = execute(
        context.http,
        context.endpoint("graphql_url"),
        options.organizations_query,
        {"pagination": {"page": page, "page_size": page_size}},
        token=token,
        options=options,
        what="the organizations list",
        headers={"Authorization": options.authorization(token)},
    )
    return read_page(
        data,
        "organizations",
        page=page,
        page_size=page_size,
        first_page=options.first_page,
        what="organizations",
    )


def _organization_issue(path: str, problem: str) -> CredentialValidationError:
    return CredentialValidationError(
        PROVIDER_ID, [ValidationIssue(path, problem, "sentera")]
    )
