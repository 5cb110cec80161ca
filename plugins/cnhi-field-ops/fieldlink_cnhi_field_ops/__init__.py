"""fieldlink provider plugin for CNH FieldOps, CNH's current data API.

FieldOps signs in like AFS Connect, on CNH's Auth0 tenants with the client in the
token request body, and needs its own subscription key (AFS Connect keys do not
work) in ``Ocp-Apim-Subscription-Key``. Its data host is ``api-data.cnh.com/v1``.
This plugin is the AFS Connect plugin's provider class with FieldOps' hosts,
audiences and numbered pages.
"""

from __future__ import annotations

from pathlib import Path

from fieldlink.models import AuthKind, ProviderInfo
from fieldlink_cnhi import (
    PRODUCTION,
    RESOURCE_KINDS,
    RESOURCE_PARENTS,
    SETTINGS,
    STAGE,
    CNHProvider,
    NumberPaging,
    common_notes,
    endpoints,
)

__version__ = "0.1.0"

PROVIDER_ID = "cnhi-field-ops"

INFO = ProviderInfo(
    id=PROVIDER_ID,
    name="CNH FieldOps",
    version=__version__,
    auth_kind=AuthKind.OAUTH2,
    credential_schema=Path(__file__).with_name("schemas") / "credentials.json",
    resource_kinds=RESOURCE_KINDS,
    resource_parents=RESOURCE_PARENTS,
    endpoints={
        # The audiences are those of CNH's staging and production FieldOps token
        # pages; the staging API host is [UNCONFIRMED].
        STAGE: endpoints(
            STAGE,
            api_base="https://stg.api-data.cnh.com/v1",
            audience="https://api-data.cnh.com/",
        ),
        PRODUCTION: endpoints(
            PRODUCTION,
            api_base="https://api-data.cnh.com/v1",
            audience="https://ag.api.cnhind.com",
        ),
    },
    documentation_url="https://develop.cnh.com/api-guides/fieldops-api/tokens",
    min_core_version="0.1.0",
    settings=(*SETTINGS, *NumberPaging.settings),
    rotates_refresh_tokens=None,
    notes=(
        *common_notes(PROVIDER_ID),
        "clientEnvironment may be left out, as Leaf's FieldOps page allows (its "
        "provider matrix says it is required): the credential is then STAGE, Leaf's "
        "default, and the stored body says so.",
        "The audience is https://ag.api.cnhind.com in PRODUCTION and "
        "https://api-data.cnh.com/ in STAGE, as CNH's two FieldOps token pages show; "
        "third-party code suggests https://api-data.cnh.com/ and "
        "https://stg.api-data.cnh.com/. Change one with endpoints="
        "{'cnhi-field-ops': {'PRODUCTION': {'audience': ...}}}.",
        "Lists are read as numbered pages (page from 0, pageSize 100, items and "
        "totalPages in the body), which CNH does not document; change them with the "
        "settings page_param, page_size_param, page_size and first_page. A page "
        "served twice stops the listing with an error.",
    ),
)

plugin = CNHProvider(INFO, NumberPaging())

__all__ = ["INFO", "PROVIDER_ID", "__version__", "plugin"]
