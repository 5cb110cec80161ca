"""The host's settings and endpoints for Agvance, read per call and checked.

Everything about Agvance's API beyond the credential body is unconfirmed
(providers.md section 10: hosts, the login endpoint, the session header, the
session lifetime, the list endpoints). Endpoints have no defaults at all: a host
gets them from SSI and names them, and until then every call raises a
ConfigurationError that says which ones to set. Settings have defaults that fail
safe; the README says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from fieldlink.errors import ConfigurationError
from fieldlink.paging import NUMBERED_PAGES_SETTINGS, NumberedPages

if TYPE_CHECKING:
    from fieldlink import ProviderContext

PROVIDER_ID = "agvance"

#: Every endpoint the plugin calls; list URLs of per-parent kinds hold ``{parent}``.
ENDPOINTS: Mapping[str, str] = {
    "login_url": "POST, signs in for a session id",
    "growers_url": "GET, the customer (grower) list, as GetCustomerList",
    "farms_url": "GET, the farms of the grower {parent}",
    "fields_url": "GET, the fields of the farm {parent}",
}
#: Seconds a session id is trusted. Agvance publishes no lifetime: 20 minutes, a
#: common idle timeout of server sessions; signing in again costs one call.
SESSION_LIFETIME = 1200
#: The session header's name is not published: Leaf's field names are used, the
#: API key beside the session, as Leaf combines them.
API_HEADERS: Mapping[str, str] = {"apiKey": "{apiKey}", "sessionId": "{sessionId}"}
#: Login statuses that refuse the user for good (wrong password, no API access).
REVOKING_STATUSES = (401, 403)
#: What a header template may name; never the password.
_TEMPLATE_FIELDS = frozenset({"apiKey", "databaseId", "username", "sessionId"})

#: The host settings Options.of reads, declared in ProviderInfo.settings.
SETTINGS = (
    "session_lifetime",
    "revoking_statuses",
    "api_headers",
    *NUMBERED_PAGES_SETTINGS,
)


@attrs.frozen
class Options:
    """Settings from ``Fieldlink(settings={"agvance": {...}})``, defaults applied."""

    session_lifetime: timedelta
    api_headers: Mapping[str, str]
    revoking_statuses: frozenset[int]
    paging: NumberedPages

    @classmethod
    def of(cls, context: ProviderContext) -> Options:
        seconds = context.setting_number(
            "session_lifetime", SESSION_LIFETIME, above=0, unit="seconds"
        )
        return cls(
            session_lifetime=timedelta(seconds=seconds),
            revoking_statuses=context.setting_statuses(
                "revoking_statuses", REVOKING_STATUSES
            ),
            api_headers=context.setting_headers(
                "api_headers", API_HEADERS, fields=_TEMPLATE_FIELDS
            ),
            paging=NumberedPages.from_settings(context),
        )

    def headers(self, payload: Mapping[str, Any], session_id: str) -> dict[str, str]:
        """The headers of an API call, filled in from the credential and session."""
        fields = {**payload, "sessionId": session_id}
        return {
            name: template.format_map(fields)
            for name, template in self.api_headers.items()
        }


def endpoint(context: ProviderContext, name: str) -> str:
    """The host's URL for ``name``; none is published, so a missing one says how
    to name them all."""
    url = context.endpoints.get(name)
    if url:
        return url
    wanted = ", ".join(f"{key!r}: URL" for key in ENDPOINTS)
    raise ConfigurationError(
        f"{PROVIDER_ID} has no {name!r} endpoint for {context.environment}: Agvance's "
        f"URLs are not public, ask SSI for them and set them with "
        f"endpoints={{{PROVIDER_ID!r}: {{{wanted}}}}}, or per environment with "
        f"endpoints={{{PROVIDER_ID!r}: {{'STAGE': {{...}}, 'PRODUCTION': {{...}}}}}}",
        provider=PROVIDER_ID,
    )
