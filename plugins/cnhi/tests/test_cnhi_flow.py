"""CNH AFS Connect end to end, over HTTP against the emulator."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from fieldlink import Fieldlink
from fieldlink.errors import (
    AuthorizationDenied,
    ConfigurationError,
    CredentialInvalid,
    CredentialRevoked,
    ProviderError,
)
from fieldlink.http import make_session
from fieldlink.sandbox import CANARY, drive_consent
from fieldlink.testing import CALLBACK_URI
from fieldlink_cnhi import PROVIDER_ID, WrongEnvironment

USER = "grower-1"


def _payload(fieldlink, user=USER):
    return dict(fieldlink.credential(user, PROVIDER_ID).payload)


def _connect_production(cnh, user=USER):
    """Register the emulator's PRODUCTION app and connect ``user`` there."""
    fieldlink = cnh.fieldlink
    app = cnh.emulator.app_fields("PRODUCTION")
    fieldlink.register_app(PROVIDER_ID, app, environment="PRODUCTION")
    start = fieldlink.start_auth(
        user, PROVIDER_ID, redirect_uri=CALLBACK_URI, environment="PRODUCTION"
    )
    callback = drive_consent(start.url)
    return fieldlink.complete_auth(
        PROVIDER_ID, dict(parse_qsl(urlsplit(callback).query))
    )


def _spend(cnh, refresh_token, environment="STAGE"):
    """Spend a refresh token at the emulator's token endpoint, as a second client."""
    app = cnh.emulator.app_fields(environment)
    with make_session(retries=0) as session:
        return session.post(
            cnh.endpoints[environment]["token_url"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": app["clientId"],
                "client_secret": app["clientSecret"],
            },
            timeout=10,
        )


def _query(url):
    return dict(parse_qsl(urlsplit(url).query))


def test_connect_lists_every_kind_across_pages(sandbox):
    cnh = sandbox(PROVIDER_ID, size=3, page_size=2)
    connection = cnh.connect(USER)
    fieldlink = cnh.fieldlink

    credential = connection.credential
    assert credential.environment == "STAGE"
    assert credential.payload["clientEnvironment"] == "STAGE"
    assert credential.scopes == ("offline_access",)
    pages = [fieldlink.list_resources(USER, PROVIDER_ID, "companies")]
    while pages[-1].next_cursor is not None:
        cursor = pages[-1].next_cursor
        pages.append(
            fieldlink.list_resources(USER, PROVIDER_ID, "companies", cursor=cursor)
        )
    assert [len(page.items) for page in pages] == [2, 1]

    companies = list(fieldlink.iter_resources(USER, PROVIDER_ID, "companies"))
    farms = list(fieldlink.iter_resources(USER, PROVIDER_ID, "farms"))
    fields = list(fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))
    # Three companies, three farms each, three fields per farm: all of two pages.
    assert [c.name for c in companies] == [
        "Stage Company 1",
        "Stage Company 2",
        "Stage Company 3",
    ]
    assert len({farm.id for farm in farms}) == 3 * 3
    assert len({field.id for field in fields}) == 3 * 3 * 3
    # A farm's id carries its company's, which the URL of its fields needs.
    farm = farms[0]
    assert farm.id == f"{companies[0].id}/{farm.data['id']}"
    assert farm.parent_id == companies[0].id
    assert fields[0].parent_id == farm.id
    assert fields[0].name == "Field 1"
    assert fields[0].data["type"] == "fields"
    assert fields[0].data["area"] > 0


def test_leaf_body_registers_and_verifies(sandbox):
    cnh = sandbox(PROVIDER_ID, size=3)
    cnh.connect(USER)
    fieldlink = cnh.fieldlink

    # The stored payload is exactly Leaf's body; verifying spends its refresh token.
    credential = fieldlink.register("grower-2", PROVIDER_ID, _payload(fieldlink))

    assert credential.access_token is not None
    assert (
        len(list(fieldlink.iter_resources("grower-2", PROVIDER_ID, "companies"))) == 3
    )


def test_refusal_at_the_consent_page(sandbox):
    cnh = sandbox(PROVIDER_ID)

    with pytest.raises(AuthorizationDenied) as info:
        cnh.connect(USER, decision="deny")
    assert info.value.error == "access_denied"
    assert cnh.fieldlink.credentials(USER) == []


def test_a_refresh_token_not_returned_is_kept(sandbox):
    cnh = sandbox(PROVIDER_ID, rotation="none")
    cnh.connect(USER)
    fieldlink = cnh.fieldlink
    before = _payload(fieldlink)

    fieldlink.refresh(USER, PROVIDER_ID)
    fieldlink.refresh(USER, PROVIDER_ID)

    assert _payload(fieldlink) == before
    refreshed = [
        e for e in fieldlink.events(USER, PROVIDER_ID) if e.kind == "refreshed"
    ]
    assert [e.details["rotated"] for e in refreshed] == [False, False]


def test_a_rotated_refresh_token_is_stored(sandbox):
    cnh = sandbox(PROVIDER_ID, rotation="single_use")
    cnh.connect(USER)
    fieldlink = cnh.fieldlink
    old = _payload(fieldlink)["refreshToken"]

    fieldlink.refresh(USER, PROVIDER_ID)

    assert _payload(fieldlink)["refreshToken"] != old
    refused = _spend(cnh, old)
    assert refused.status_code == 403
    assert refused.json()["error"] == "invalid_grant"
    fieldlink.refresh(USER, PROVIDER_ID)
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "active"


@pytest.mark.parametrize("ending", ["expire", "revoke"])
def test_a_dead_refresh_token_turns_the_credential_invalid(sandbox, ending):
    cnh = sandbox(PROVIDER_ID)
    cnh.connect(USER)
    if ending == "expire":
        cnh.emulator.tenant("STAGE").expire_refresh_tokens()
    else:
        cnh.emulator.revoke()

    # Auth0 refuses with 403, not RFC 6749's 400.
    with pytest.raises(CredentialRevoked) as info:
        cnh.fieldlink.refresh(USER, PROVIDER_ID)
    assert (info.value.status, info.value.error) == (403, "invalid_grant")
    with pytest.raises(CredentialInvalid):
        cnh.fieldlink.access_token(USER, PROVIDER_ID)
    assert cnh.fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_delete_revokes_the_refresh_token(sandbox):
    cnh = sandbox(PROVIDER_ID)
    cnh.connect(USER)
    refresh_token = _payload(cnh.fieldlink)["refreshToken"]

    deletion = cnh.fieldlink.delete(USER, PROVIDER_ID)

    stage = cnh.emulator.tenant("STAGE")
    assert deletion.revoked is True
    assert stage.revoked_tokens == 1
    assert stage.refresh_tokens[refresh_token].retired_at is not None
    assert cnh.fieldlink.credentials(USER) == []


def test_production_is_another_tenant_with_its_own_data(sandbox):
    cnh = sandbox(PROVIDER_ID, size=2)
    cnh.connect("stage-grower")

    connection = _connect_production(cnh)

    assert connection.credential.environment == "PRODUCTION"
    assert connection.credential.payload["clientEnvironment"] == "PRODUCTION"
    names = [
        c.name for c in cnh.fieldlink.iter_resources(USER, PROVIDER_ID, "companies")
    ]
    assert names == ["Production Company 1", "Production Company 2"]
    assert cnh.emulator.tenant("PRODUCTION").refreshes == 0


def test_a_staging_credential_used_in_production_says_so(sandbox):
    cnh = sandbox(PROVIDER_ID)
    cnh.connect(USER)
    fieldlink = cnh.fieldlink
    staging_body = _payload(fieldlink)

    with pytest.raises(WrongEnvironment) as info:
        fieldlink.register(
            "grower-2", PROVIDER_ID, {**staging_body, "clientEnvironment": "PRODUCTION"}
        )

    message = str(info.value)
    assert "PRODUCTION identity server does not know client" in message
    assert "clientEnvironment is wrong" in message
    assert CANARY not in message
    assert fieldlink.credential("grower-2", PROVIDER_ID).status.value == "invalid"
    # The staging credential itself was not spent and still works.
    fieldlink.refresh(USER, PROVIDER_ID)


def test_a_subscription_key_of_the_other_environment_says_so(sandbox):
    cnh = sandbox(PROVIDER_ID)
    fieldlink = cnh.fieldlink
    production_key = cnh.emulator.app_fields("PRODUCTION")["subscriptionKey"]
    fieldlink.register_app(
        PROVIDER_ID, {**cnh.emulator.app_fields(), "subscriptionKey": production_key}
    )
    cnh.connect(USER)

    with pytest.raises(WrongEnvironment) as info:
        fieldlink.list_resources(USER, PROVIDER_ID, "companies")

    assert info.value.status == 401
    assert "refused the credential's subscriptionKey in STAGE" in str(info.value)
    assert CANARY not in str(info.value)
    with pytest.raises(CredentialInvalid):
        fieldlink.list_resources(USER, PROVIDER_ID, "companies")


def test_a_passing_rate_limit_is_waited_out(sandbox):
    cnh = sandbox(PROVIDER_ID, size=3)
    cnh.connect(USER)
    cnh.emulator.tenant("STAGE").throttle(times=1)

    companies = list(cnh.fieldlink.iter_resources(USER, PROVIDER_ID, "companies"))

    assert len(companies) == 3
    assert cnh.emulator.tenant("STAGE").throttle_remaining == 0


def test_an_unknown_company_is_named(sandbox):
    cnh = sandbox(PROVIDER_ID)
    cnh.connect(USER)

    with pytest.raises(ProviderError) as info:
        cnh.fieldlink.list_resources(
            USER, PROVIDER_ID, "farms", parent="no-such-company"
        )

    assert info.value.status == 404
    assert "cannot find the farms of company no-such-company" in str(info.value)


def test_fields_need_a_farm_id_as_listed(sandbox):
    cnh = sandbox(PROVIDER_ID)
    cnh.connect(USER)

    with pytest.raises(ConfigurationError, match="a farm's id as listed"):
        cnh.fieldlink.list_resources(USER, PROVIDER_ID, "fields", parent="company-only")


def test_a_next_link_to_another_host_is_not_followed(sandbox):
    cnh = sandbox(PROVIDER_ID)
    cnh.connect(USER)
    elsewhere = "https://elsewhere.example/companies?page%5Bnumber%5D=2"

    with pytest.raises(ProviderError, match="another host"):
        cnh.fieldlink.list_resources(USER, PROVIDER_ID, "companies", cursor=elsewhere)


def _register_example_app(host, environment):
    example = host.provider(PROVIDER_ID).schema.examples[0]
    app = {
        name: example[name] for name in ("clientId", "clientSecret", "subscriptionKey")
    }
    host.register_app(PROVIDER_ID, app, environment=environment)


@pytest.mark.parametrize(
    ("environment", "identity", "connection", "audience"),
    [
        (
            "STAGE",
            "https://stg.identity.cnhind.com",
            "STG-ADFS-CONN",
            "https://stg.api.cnhind.com",
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
    _register_example_app(fieldlink, environment)

    start = fieldlink.start_auth(
        USER, PROVIDER_ID, redirect_uri=CALLBACK_URI, environment=environment
    )

    assert start.url.startswith(f"{identity}/authorize?")
    query = _query(start.url)
    assert query["audience"] == audience
    assert query["connection"] == connection
    assert query["scope"] == "offline_access"
    assert query["response_type"] == "code"
    assert query["state"] == start.state
    assert "code_challenge" not in query


def test_hosts_change_one_environment_only(fieldlink_home):
    database = f"sqlite:///{fieldlink_home / 'configured.db'}"
    other_host = "https://stg-identity.cnhind.com/authorize"
    with Fieldlink(
        database,
        endpoints={PROVIDER_ID: {"STAGE": {"authorize_url": other_host}}},
        settings={PROVIDER_ID: {"connection": {"STAGE": "SANDBOX-CONN"}}},
    ) as host:
        for environment in ("STAGE", "PRODUCTION"):
            _register_example_app(host, environment)
        stage = host.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)
        production = host.start_auth(
            USER, PROVIDER_ID, redirect_uri=CALLBACK_URI, environment="PRODUCTION"
        )

    assert stage.url.startswith(f"{other_host}?")
    assert _query(stage.url)["connection"] == "SANDBOX-CONN"
    assert production.url.startswith("https://identity.cnhind.com/authorize?")
    assert _query(production.url)["connection"] == "PROD-ADFS-CONN"
