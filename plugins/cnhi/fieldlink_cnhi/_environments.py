"""CNH's two environments.

CNH runs STAGE and PRODUCTION on different identity tenants and API hosts, with
separate clients and subscription keys (reference: providers.md section 3). A host
overrides one environment's URLs with ``Fieldlink(endpoints={"cnhi": {"STAGE":
{...}}})``: the staging identity host, for one, is spelt two ways in CNH's samples,
and only STAGE should follow the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldlink import ProviderContext

STAGE = "STAGE"
PRODUCTION = "PRODUCTION"
#: STAGE first: Leaf's default for FieldOps, and a credential sent to the wrong
#: environment by default then reaches test accounts, never growers' data.
ENVIRONMENTS = (STAGE, PRODUCTION)

#: Auth0 tenants. The staging host is [UNCONFIRMED]: one sample spells it
#: stg-identity.cnhind.com.
IDENTITY_HOSTS = {
    STAGE: "https://stg.identity.cnhind.com",
    PRODUCTION: "https://identity.cnhind.com",
}
#: Auth0 ``connection`` per environment; staging's is [UNCONFIRMED].
CONNECTIONS = {STAGE: "STG-ADFS-CONN", PRODUCTION: "PROD-ADFS-CONN"}


def endpoints(environment: str, *, api_base: str, audience: str) -> dict[str, str]:
    """One environment's URLs: its identity tenant, and the API with its audience."""
    identity = IDENTITY_HOSTS[environment]
    return {
        "authorize_url": f"{identity}/authorize",
        "token_url": f"{identity}/oauth/token",
        "revoke_url": f"{identity}/oauth/revoke",
        "api_base": api_base,
        "audience": audience,
    }


def connection(context: ProviderContext) -> str:
    """The Auth0 connection to name: the ``connection`` setting, one name or one
    per environment, else CNH's published default."""
    chosen = context.setting("connection", {})
    if isinstance(chosen, str) and chosen:
        return chosen
    if isinstance(chosen, Mapping) and all(
        name in ENVIRONMENTS and isinstance(value, str) and value
        for name, value in chosen.items()
    ):
        return chosen.get(context.environment, CONNECTIONS[context.environment])
    raise context.invalid_setting(
        "connection",
        f"a connection name, or a mapping of {' and '.join(ENVIRONMENTS)} to one",
    )
