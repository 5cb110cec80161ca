"""The host's settings for Stara, read per call and checked.

Every setting covers a point the reference leaves unconfirmed (providers.md
section 8: headers, refresh, lifetimes, the list endpoint and its paging); the
README says why each default is the one that fails safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from fieldlink.paging import NUMBERED_PAGES_SETTINGS, NumberedPages

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

#: The host settings Options.of reads, declared in ProviderInfo.settings.
SETTINGS = (
    "token_lifetime",
    "revoking_statuses",
    "api_headers",
    *NUMBERED_PAGES_SETTINGS,
)


@attrs.frozen
class Options:
    """Settings from ``Fieldlink(settings={"stara": {...}})``, defaults applied."""

    token_lifetime: timedelta
    api_headers: Mapping[str, str]
    revoking_statuses: frozenset[int]
    paging: NumberedPages

    @classmethod
    def of(cls, context: ProviderContext) -> Options:
        seconds = context.setting_number(
            "token_lifetime", TOKEN_LIFETIME, above=0, unit="seconds"
        )
        return cls(
            token_lifetime=timedelta(seconds=seconds),
            revoking_statuses=context.setting_statuses(
                "revoking_statuses", REVOKING_STATUSES
            ),
            api_headers=context.setting_headers(
                "api_headers", API_HEADERS, fields=_TEMPLATE_FIELDS
            ),
            paging=NumberedPages.from_settings(context),
        )

    def headers(self, payload: Mapping[str, Any]) -> dict[str, str]:
        """The headers of a resource call, filled in from the credential."""
        return {
            name: template.format_map(payload)
            for name, template in self.api_headers.items()
        }
