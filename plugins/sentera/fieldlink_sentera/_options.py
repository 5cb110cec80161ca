"""The host's settings for Sentera, read once per call and checked.

Each setting covers a point the reference leaves open; the README says why each
default is the one that fails safe.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs

from ._queries import FIELDS_QUERY, ORGANIZATIONS_QUERY

if TYPE_CHECKING:
    from fieldlink import ProviderContext

PROVIDER_ID = "sentera"

#: "Valid for 3 months": counted as the shortest three calendar months
#: (February to April), so no token is used past its end.
TOKEN_LIFETIME_DAYS = 89
#: The GraphQL section of the reference shows ``Authorization: Bearer <token>``.
AUTHORIZATION_SCHEME = "Bearer"
PAGE_SIZE = 100
FIRST_PAGE = 1
#: GraphQL errors (code or message) that mean the session token is refused for good.
REVOKING_ERRORS = (
    r"\bunauthori[sz]ed\b|\bnot authori[sz]ed\b|\bunauthenticated\b"
    r"|\bnot authenticated\b|\b(?:invalid|expired) (?:auth )?token\b"
)

#: The host settings Options.of reads, declared in ProviderInfo.settings.
SETTINGS = (
    "token_lifetime_days",
    "revoking_errors",
    "authorization_scheme",
    "page_size",
    "first_page",
    "organizations_query",
    "fields_query",
)


@attrs.frozen
class Options:
    """Settings from ``Fieldlink(settings={"sentera": {...}})``, defaults applied."""

    token_lifetime: timedelta
    authorization_scheme: str
    page_size: int
    first_page: int
    organizations_query: str
    fields_query: str
    revoking_errors: re.Pattern[str]

    @classmethod
    def of(cls, context: ProviderContext) -> Options:
        days = context.setting_number(
            "token_lifetime_days", TOKEN_LIFETIME_DAYS, minimum=0, unit="days"
        )
        pattern = context.setting_text("revoking_errors", REVOKING_ERRORS, empty=True)
        try:
            revoking = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise context.invalid_setting(
                "revoking_errors", f"a regular expression ({exc})"
            ) from None
        return cls(
            token_lifetime=timedelta(days=days),
            authorization_scheme=context.setting_text(
                "authorization_scheme", AUTHORIZATION_SCHEME, empty=True
            ),
            page_size=context.setting_int("page_size", PAGE_SIZE, minimum=1),
            first_page=context.setting_int("first_page", FIRST_PAGE, minimum=0),
            organizations_query=context.setting_text(
                "organizations_query", ORGANIZATIONS_QUERY, empty=True
            ),
            fields_query=context.setting_text("fields_query", FIELDS_QUERY, empty=True),
            revoking_errors=revoking,
        )

    def authorization(self, token: str) -> str:
        """The ``Authorization`` header value that carries ``token``."""
        return (
            f"{self.authorization_scheme} {token}"
            if self.authorization_scheme
            else token
        )
