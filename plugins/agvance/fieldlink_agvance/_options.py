"""The host's settings and endpoints for Agvance, read per call and checked.

Everything about Agvance's API beyond the credential body is unconfirmed
(providers.md section 10: hosts, the login endpoint, the session header, the
session lifetime, the list endpoints). Endpoints have no defaults at all: a host
gets them from SSI and names them, and until then every call raises a
ConfigurationError that says which ones to set. Settings have defaults that fail
safe; the README says why.
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


@attrs.frozen
class Options:
    """Settings from ``Fieldlink(settings={"agvance": {...}})``, defaults applied."""

    session_lifetime: timedelta
    api_headers: Mapping[str, str]
    revoking_statuses: frozenset[int]
    paging: Paging

    @classmethod
    def of(cls, context: ProviderContext) -> Options:
        seconds: Any = context.setting("session_lifetime", SESSION_LIFETIME)
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or seconds <= 0
        ):
            raise invalid_setting("session_lifetime", "a number of seconds above 0")
        statuses: Any = context.setting("revoking_statuses", REVOKING_STATUSES)
        if not isinstance(statuses, list | tuple | set | frozenset) or not all(
            isinstance(status, int) and 400 <= status < 500 for status in statuses
        ):
            raise invalid_setting("revoking_statuses", "a list of 4xx status codes")
        return cls(
            session_lifetime=timedelta(seconds=seconds),
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


def _headers(value: Any) -> Mapping[str, str]:
    expected = f"a mapping of header names to templates of {sorted(_TEMPLATE_FIELDS)}"
    if not isinstance(value, Mapping):
        raise invalid_setting("api_headers", expected)
    for name, template in value.items():
        if not isinstance(name, str) or not isinstance(template, str):
            raise invalid_setting("api_headers", expected)
        # Checked here, so that a typo fails on the first call, never half-way.
        try:
            parsed = string.Formatter().parse(template)
            named = {field for _, field, _, _ in parsed if field}
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
