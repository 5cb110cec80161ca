"""The host's settings for Stara, read per call and checked.

Every setting covers a point the reference leaves unconfirmed (providers.md
section 8: headers, refresh, lifetimes, the list endpoint and its paging); the
README says why each default is the one that fails safe.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from fieldlink.errors import ConfigurationError

from ._paging import PAGE_SIZE, Paging

if TYPE_CHECKING:
    from fieldlink import ProviderContext

PROVIDER_ID = "stara"

#: Seconds a token set is trusted. Stara publishes no lifetime: one hour renews it
#: long before any plausible expiry, and renewing costs one call with the apiKey.
TOKEN_LIFETIME = 3600
#: Which header carries which token is not published. The access token goes as a
#: bearer token and the client token in a header named after Leaf's field; the
#: apiKey, which can mint new tokens, stays off resource calls unless the host adds
#: ``"{apiKey}"`` here.
API_HEADERS: Mapping[str, str] = {
    "Authorization": "Bearer {accessToken}",
    "accessTokenClient": "{accessTokenClient}",
}
#: HTTP statuses of /token (or of a refresh endpoint) that refuse the key for good.
REVOKING_STATUSES = (401, 403)
#: Payload fields a header template may name.
_TEMPLATE_FIELDS = frozenset(
    {"apiKey", "accessToken", "accessTokenClient", "refreshToken"}
)


@attrs.frozen
class Options:
    """Settings from ``Fieldlink(settings={"stara": {...}})``, defaults applied."""

    token_lifetime: timedelta
    api_headers: Mapping[str, str]
    revoking_statuses: frozenset[int]
    paging: Paging

    @classmethod
    def of(cls, context: ProviderContext) -> Options:
        seconds: Any = context.setting("token_lifetime", TOKEN_LIFETIME)
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or seconds <= 0
        ):
            raise invalid_setting("token_lifetime", "a number of seconds above 0")
        statuses: Any = context.setting("revoking_statuses", REVOKING_STATUSES)
        if not isinstance(statuses, list | tuple | set | frozenset) or not all(
            isinstance(status, int) and 400 <= status < 500 for status in statuses
        ):
            raise invalid_setting("revoking_statuses", "a list of 4xx status codes")
        return cls(
            token_lifetime=timedelta(seconds=seconds),
            api_headers=_headers(context.setting("api_headers", API_HEADERS)),
            revoking_statuses=frozenset(statuses),
            paging=Paging(
                PROVIDER_ID,
                page_param=_text(context, "page_param", "page"),
                size_param=_text(context, "size_param", "size"),
                first_page=_whole(context, "first_page", 0, minimum=0),
                page_size=_whole(context, "page_size", PAGE_SIZE, minimum=1),
            ),
        )

    def headers(self, payload: Mapping[str, Any]) -> dict[str, str]:
        """The headers of a resource call, filled in from the credential."""
        return {
            name: template.format_map(payload)
            for name, template in self.api_headers.items()
        }


def _headers(value: Any) -> Mapping[str, str]:
    expected = f"a mapping of header names to templates of {sorted(_TEMPLATE_FIELDS)}"
    if not isinstance(value, Mapping):
        raise invalid_setting("api_headers", expected)
    for name, template in value.items():
        if not isinstance(name, str) or not isinstance(template, str):
            raise invalid_setting("api_headers", expected)
        # Checked here, so that a typo fails on the first call, never half-way.
        try:
            named = {
                field for _, field, _, _ in string.Formatter().parse(template) if field
            }
        except ValueError:
            raise invalid_setting("api_headers", expected) from None
        if not named <= _TEMPLATE_FIELDS:
            raise invalid_setting("api_headers", expected)
    return dict(value)


def _whole(context: ProviderContext, name: str, default: int, *, minimum: int) -> int:
    value: Any = context.setting(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid_setting(name, f"a whole number of at least {minimum}")
    return value


def _text(context: ProviderContext, name: str, default: str) -> str:
    value: Any = context.setting(name, default)
    if not isinstance(value, str) or not value:
        raise invalid_setting(name, "a non-empty string")
    return value


def invalid_setting(name: str, expected: str) -> ConfigurationError:
    return ConfigurationError(
        f"the {PROVIDER_ID} setting {name!r} must be {expected}; fix "
        f"settings={{{PROVIDER_ID!r}: {{{name!r}: ...}}}} or leave it out for the "
        "default",
        provider=PROVIDER_ID,
    )
