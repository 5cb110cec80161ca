"""CNH FieldOps end to end, over HTTP against the emulator."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from fieldlink import Fieldlink
from fieldlink.errors import CredentialInvalid, CredentialRevoked, ProviderError
from fieldlink.sandbox import CANARY
from fieldlink.testing import CALLBACK_URI, SandboxedProvider
from fieldlink_cnhi import WrongEnvironment
from fieldlink_cnhi_field_ops import PROVIDER_ID

USER = "grower-1"


def _pages(fieldlink, kind, **where):
    pages = [fieldlink.list_resources(USER, PROVIDER_ID, kind, **where)]
    while pages[-1].next_cursor is not None:
        cursor = pages[-1].next_cursor
        pages.append(
            fieldlink.list_resources(USER, PROVIDER_ID, kind, cursor=cursor, **where)
        )
    return pages


@pytest.fixture
def configured(sandbox, fieldlink_home):
    """The emulator, and a Fieldlink with the given FieldOps settings pointed at it."""
    hosts = []

    def start(size, **settings):
        emulated = sandbox(PROVIDER_ID, size=size)
        host = Fieldlink(
            f"sqlite:///{fieldlink_home / f'configured-{len(hosts)}.db'}",
            endpoints={PROVIDER_ID: emulated.endpoints},
            settings={PROVIDER_ID: settings},
        )
        hosts.append(host)
        host.register_app(PROVIDER_ID, emulated.emulator.app_fields())
        connected = SandboxedProvider(
            PROVIDER_ID, emulated.emulator, emulated.running, host
        )
        connected.connect(USER)
        return host

    yield start
    for host in hosts:
        host.close()


def test_connect_lists_every_kind_across_numbered_pages(sandbox):
    # The emulator serves two items a page, though the plugin asks for 100.
    ops = sandbox(PROVIDER_ID, size=3, page_size=2)
    connection = ops.connect(USER)
    fieldlink = ops.fieldlink

    assert connection.credential.payload["clientEnvironment"] == "STAGE"
    pages = _pages(fieldlink, "companies")
    assert [len(page.items) for page in pages] == [2, 1]
    companies = [item for page in pages for item in page.items]
    farm_pages = _pages(fieldlink, "farms", parent=companies[0].id)
    assert [len(page.items) for page in farm_pages] == [2, 1]

    farms = list(fieldlink.iter_resources(USER, PROVIDER_ID, "farms"))
    fields = list(fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))
    assert [c.name for c in companies] == [
        "Stage Company 1",
        "Stage Company 2",
        "Stage Company 3",
    ]
    assert len({farm.id for farm in farms}) == 3 * 3
    assert len({field.id for field in fields}) == 3 * 3 * 3
    assert farms[0].id == f"{companies[0].id}/{farms[0].data['id']}"
    assert fields[0].parent_id == farms[0].id
    assert fields[0].data["area"] > 0


def test_the_page_size_is_a_setting(configured):
    host = configured(3, page_size=1)

    assert [len(page.items) for page in _pages(host, "companies")] == [1, 1, 1]
    assert len(list(host.iter_resources(USER, PROVIDER_ID, "fields"))) == 27


def test_a_page_served_twice_stops_the_listing(configured):
    # The emulator does not know this parameter, so it serves page 0 every time.
    host = configured(3, page_param="pageNumber", page_size=2)
    first = host.list_resources(USER, PROVIDER_ID, "companies")

    with pytest.raises(ProviderError, match="does not read the page parameters"):
        host.list_resources(USER, PROVIDER_ID, "companies", cursor=first.next_cursor)


def test_a_revoked_grower_turns_invalid(sandbox):
    ops = sandbox(PROVIDER_ID)
    ops.connect(USER)
    ops.emulator.revoke()

    with pytest.raises(CredentialRevoked) as info:
        ops.fieldlink.refresh(USER, PROVIDER_ID)
    assert info.value.status == 403
    with pytest.raises(CredentialInvalid):
        ops.fieldlink.access_token(USER, PROVIDER_ID)
    assert ops.fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_a_staging_credential_used_in_production_says_so(sandbox):
    ops = sandbox(PROVIDER_ID)
    ops.connect(USER)
    staging_body = dict(ops.fieldlink.credential(USER, PROVIDER_ID).payload)

    with pytest.raises(WrongEnvironment, match="clientEnvironment is wrong"):
        ops.fieldlink.register(
            "grower-2", PROVIDER_ID, {**staging_body, "clientEnvironment": "PRODUCTION"}
        )
    assert ops.fieldlink.credential("grower-2", PROVIDER_ID).status.value == "invalid"


def test_an_afs_connect_key_is_refused_on_field_ops(sandbox):
    afs = sandbox("cnhi")
    ops = sandbox(PROVIDER_ID)
    afs_key = afs.emulator.app_fields()["subscriptionKey"]
    ops.fieldlink.register_app(
        PROVIDER_ID, {**ops.emulator.app_fields(), "subscriptionKey": afs_key}
    )
    ops.connect(USER)

    with pytest.raises(WrongEnvironment) as info:
        ops.fieldlink.list_resources(USER, PROVIDER_ID, "companies")

    assert "the CNH FieldOps key of STAGE" in str(info.value)
    assert CANARY not in str(info.value)
    assert ops.fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


@pytest.mark.parametrize(
    ("environment", "identity", "connection", "audience"),
    [
        (
            "STAGE",
            "https://stg.identity.cnhind.com",
            "STG-ADFS-CONN",
            "https://api-data.cnh.com/",
        ),
        (
            "PRODUCTION",
            "https://identity.cnhind.com",
            "PROD-ADFS-CONN",
            "https://ag.api.cnhind.com",
        ),
    ],
)
def test_authorize_url_per_environment(
    fieldlink, environment, identity, connection, audience
):
    example = fieldlink.provider(PROVIDER_ID).schema.examples[0]
    app = {
        name: example[name] for name in ("clientId", "clientSecret", "subscriptionKey")
    }
    fieldlink.register_app(PROVIDER_ID, app, environment=environment)

    start = fieldlink.start_auth(
        USER, PROVIDER_ID, redirect_uri=CALLBACK_URI, environment=environment
    )

    assert start.url.startswith(f"{identity}/authorize?")
    query = dict(parse_qsl(urlsplit(start.url).query))
    assert query["audience"] == audience
    assert query["connection"] == connection
    assert query["scope"] == "offline_access"
