"""fieldlink provider plugin for CNH Industrial AFS Connect, the legacy Ag Data API.

OAuth 2.0 authorization code on CNH's Auth0 tenants, with the client id and secret
in the token request body, and an Azure API Management subscription key in
``Ocp-Apim-Subscription-Key`` on every API call. STAGE and PRODUCTION are separate
tenants and API hosts. The lists follow JSON:API. The FieldOps plugin
(``fieldlink-cnhi-field-ops``) is this plugin's provider class with FieldOps'
description and paging.
"""

from __future__ import annotations

from pathlib import Path

from fieldlink.models import AuthKind, ProviderInfo

from ._environments import ENVIRONMENTS, PRODUCTION, STAGE, endpoints
from ._errors import WrongEnvironment
from ._listing import LinkPaging, NumberPaging
from ._provider import RESOURCE_KINDS, RESOURCE_PARENTS, SETTINGS, CNHProvider

__version__ = "0.1.0"

PROVIDER_ID = "cnhi"


def common_notes(provider_id: str) -> tuple[str, ...]:
    """What the reference leaves open about CNH's Auth0 and gateway, said for both
    CNH plugins."""
    return (
        "Refresh-token rotation is not documented: a refresh_token CNH returns is "
        "stored, and the old one is kept when none is returned.",
        "Token lifetimes are not documented: expires_in is used, and 3600 s when "
        "it is missing (setting default_expires_in).",
        "An expired or revoked refresh token is taken to answer Auth0's 403 "
        "invalid_grant, which marks the credential invalid.",
        "The staging identity host is spelt stg.identity.cnhind.com here; one CNH "
        "sample spells it stg-identity.cnhind.com. Override one environment's URLs "
        f"with endpoints={{'{provider_id}': {{'STAGE': {{'token_url': ...}}}}}}; a "
        "plain name overrides both environments.",
        "The Auth0 connection is PROD-ADFS-CONN in PRODUCTION and STG-ADFS-CONN in "
        "STAGE (unconfirmed); change it with "
        f"settings={{'{provider_id}': {{'connection': {{'STAGE': ...}}}}}}.",
        "A client the environment's identity server does not know (invalid_client), "
        "or a subscription key its API gateway refuses, raises WrongEnvironment and "
        "marks the credential invalid: CNH issues clients and keys per environment.",
        "List paths and response shapes are not documented by CNH; change the paths "
        f"with settings={{'{provider_id}': {{'paths': {{'companies': ...}}}}}}.",
    )


INFO = ProviderInfo(
    id=PROVIDER_ID,
    name="CNH Industrial AFS Connect",
    version=__version__,
    auth_kind=AuthKind.OAUTH2,
    credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
    resource_kinds=RESOURCE_KINDS,
    resource_parents=RESOURCE_PARENTS,
    endpoints={
        # The AFS Connect host is also the audience of its tokens.
        STAGE: endpoints(
            STAGE,
            api_base="https://stg.api.cnhind.com",
            audience="https://stg.api.cnhind.com",
        ),
        PRODUCTION: endpoints(
            PRODUCTION,
            api_base="https://ag.api.cnhind.com",
            audience="https://ag.api.cnhind.com",
        ),
    },
    documentation_url=(
        "https://www.developer.cnhindustrial.com/site/global/api_programs/ag_data_apis/"
        "overview/index.gsp"
    ),
    min_core_version="0.1.0",
    settings=(*SETTINGS, *LinkPaging.settings),
    rotates_refresh_tokens=None,
    notes=(
        *common_notes(PROVIDER_ID),
        "AFS Connect is read as JSON:API: items in data, the next page in links.next, "
        "which must stay on the API host.",
        "The staging API host and audience (stg.api.cnhind.com) are unconfirmed.",
    ),
)

plugin = CNHProvider(INFO, LinkPaging())

__all__ = [
    "ENVIRONMENTS",
    "INFO",
    "PRODUCTION",
    "PROVIDER_ID",
    "RESOURCE_KINDS",
    "RESOURCE_PARENTS",
    "SETTINGS",
    "STAGE",
    "CNHProvider",
    "LinkPaging",
    "NumberPaging",
    "WrongEnvironment",
    "__version__",
    "common_notes",
    "endpoints",
    "plugin",
]
