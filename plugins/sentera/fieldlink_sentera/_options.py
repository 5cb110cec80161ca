"""The host's settings for Sentera, read once per call and checked.

Each setting covers a point the reference leaves open; the README says why each
default is the one that fails safe.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from fieldlink.errors import ConfigurationError

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
        days: Any = context.setting("token_lifetime_days", TOKEN_LIFETIME_DAYS)
        if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
            raise _invalid("token_lifetime_days", "a number of days, 0 or more")
        pattern = _text(context, "revoking_errors", REVOKING_ERRORS)
        try:
            revoking = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise _invalid("revoking_errors", f"a regular expression ({exc})") from None
        return cls(
            token_lifetime=timedelta(days=days),
            authorization_scheme=_text(
                context, "authorization_scheme", AUTHORIZATION_SCHEME
            ),
            page_size=_whole(context, "page_size", PAGE_SIZE, minimum=1),
            first_page=_whole(context, "first_page", FIRST_PAGE, minimum=0),
            organizations_query=_text(
                context, "organizations_query", ORGANIZATIONS_QUERY
            ),
            fields_query=_text(context, "fields_query", FIELDS_QUERY),
            revoking_errors=revoking,
        )

    def authorization(self, token: str) -> str:
        """The ``Authorization`` header value that carries ``token``."""
        return (
            f"{self.authorization_scheme} {token}"
            if self.authorization_scheme
            else token
        )


def _whole(context: ProviderContext, name: str, default: int, *, minimum: int) -> int:
    value: Any = context.setting(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _invalid(name, f"a whole number of at least {minimum}")
    return value


def _text(context: ProviderContext, name: str, default: str) -> str:
    value: Any = context.setting(name, default)
    if not isinstance(value, str):
        raise _invalid(name, "a string")
    return value


def _invalid(name: str, expected: str) -> ConfigurationError:
    return ConfigurationError(
        f"the {PROVIDER_ID} setting {name!r} must be {expected}; fix "
        f"settings={{{PROVIDER_ID!r}: {{{name!r}: ...}}}} or leave it out for the "
        "default",
        provider=PROVIDER_ID,
    )
