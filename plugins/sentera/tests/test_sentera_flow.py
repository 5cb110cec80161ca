"""Sentera end to end, over HTTP against the emulator."""

from datetime import UTC, datetime, timedelta

import pytest

from fieldlink import Fieldlink
from fieldlink.errors import (
    AuthorizationDenied,
    ConfigurationError,
    CredentialInvalid,
    CredentialRevoked,
    CredentialValidationError,
    ProviderError,
    ProviderUnavailable,
)
from fieldlink.testing import SandboxedProvider
from fieldlink_sentera import PROVIDER_ID
from fieldlink_sentera.emulator import OTHER_ORGANIZATION, SANDBOX_ORGANIZATION

USER = "grower-1"
STORED_FIELDS = {"username", "organizationName", "organizationId", "authToken"}


@pytest.fixture
def configured(sandbox, fieldlink_home):
    """``configured(size=..., **settings)``: the emulator, and a Fieldlink on it
    with these settings for sentera."""
    hosts = []

    def start(size=5, **settings):
        served = sandbox(PROVIDER_ID, size=size)
        host = Fieldlink(
            f"sqlite:///{fieldlink_home / f'configured-{len(hosts)}.db'}",
            endpoints={PROVIDER_ID: served.endpoints},
            settings={PROVIDER_ID: settings},
        )
        hosts.append(host)
        return SandboxedProvider(PROVIDER_ID, served.emulator, served.running, host)

    yield start
    for host in hosts:
        host.close()


def _field_ids(emulator, name):
    return [field["sentera_id"] for field in emulator.organization(name)["fields"]]


def test_connect_keeps_the_token_never_the_password(sandbox):
    sentera = sandbox(PROVIDER_ID)
    emulator = sentera.emulator

    credential = sentera.connect(USER).credential

    assert set(credential.payload) == STORED_FIELDS
    assert emulator.password not in credential.payload.values()
    assert credential.payload["organizationName"] == SANDBOX_ORGANIZATION
    organization = emulator.organization(SANDBOX_ORGANIZATION)
    assert credential.payload["organizationId"] == organization["sentera_id"]
    assert credential.access_token == credential.payload["authToken"]
    # Three months, counted short: the shortest three calendar months.
    lifetime = credential.expires_at - datetime.now(UTC)
    assert timedelta(days=88) < lifetime <= timedelta(days=89)
    assert emulator.sign_ins == 1
    assert sentera.fieldlink.masked_payload(credential)["authToken"] == "********"


def test_lists_every_field_of_the_organization_across_pages(sandbox):
    sentera = sandbox(PROVIDER_ID, size=250)
    sentera.connect(USER)
    fieldlink = sentera.fieldlink

    pages = [fieldlink.list_resources(USER, PROVIDER_ID, "fields")]
    while pages[-1].next_cursor is not None:
        cursor = pages[-1].next_cursor
        pages.append(
            fieldlink.list_resources(USER, PROVIDER_ID, "fields", cursor=cursor)
        )

    assert [len(page.items) for page in pages] == [100, 100, 50]
    fields = list(fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))
    expected = _field_ids(sentera.emulator, SANDBOX_ORGANIZATION)
    assert [field.id for field in fields] == expected
    assert not set(expected) & set(_field_ids(sentera.emulator, OTHER_ORGANIZATION))
    first = fields[0]
    assert first.name == f"{SANDBOX_ORGANIZATION} field 1"
    assert set(first.data) == {"sentera_id", "name", "latitude", "longitude"}


def test_an_empty_organization_lists_nothing(sandbox):
    sentera = sandbox(PROVIDER_ID, size=0)
    sentera.connect(USER)

    page = sentera.fieldlink.list_resources(USER, PROVIDER_ID, "fields")

    assert page.items == ()
    assert page.next_cursor is None


def test_leaf_body_registers_and_only_the_token_is_stored(sandbox):
    sentera = sandbox(PROVIDER_ID, size=3)
    fieldlink = sentera.fieldlink
    body = sentera.emulator.login_fields()

    credential = fieldlink.register("grower-2", PROVIDER_ID, body)

    assert set(credential.payload) == STORED_FIELDS
    assert set(fieldlink.credential("grower-2", PROVIDER_ID).payload) == STORED_FIELDS
    assert len(list(fieldlink.iter_resources("grower-2", PROVIDER_ID, "fields"))) == 3


def test_a_stored_payload_registers_again_without_signing_in(sandbox):
    sentera = sandbox(PROVIDER_ID)
    stored = dict(sentera.connect(USER).credential.payload)

    credential = sentera.fieldlink.register("grower-2", PROVIDER_ID, stored)

    assert credential.payload == stored
    assert sentera.emulator.sign_ins == 1


def test_wrong_password_is_refused_and_nothing_is_stored(sandbox):
    sentera = sandbox(PROVIDER_ID)
    wrong = {**sentera.emulator.login_fields(), "password": "not-the-password"}

    with pytest.raises(AuthorizationDenied) as denied:
        sentera.connect(USER, form=wrong)
    with pytest.raises(CredentialRevoked) as refused:
        sentera.fieldlink.register(USER, PROVIDER_ID, wrong)

    assert denied.value.error == refused.value.error == "invalid_login"
    assert refused.value.status == 401
    assert "not-the-password" not in str(denied.value) + str(refused.value)
    assert sentera.fieldlink.credentials(USER) == []


def test_unknown_organization_is_named(sandbox):
    sentera = sandbox(PROVIDER_ID)
    form = {**sentera.emulator.login_fields(), "organizationName": "Nowhere Farms"}

    with pytest.raises(CredentialValidationError) as info:
        sentera.connect(USER, form=form)

    assert info.value.path == "$.organizationName"
    assert SANDBOX_ORGANIZATION in str(info.value)
    assert sentera.fieldlink.credentials(USER) == []


def test_organization_name_ignores_case_and_spaces(sandbox):
    sentera = sandbox(PROVIDER_ID)
    typed = f"  {OTHER_ORGANIZATION.upper()} "
    form = {**sentera.emulator.login_fields(), "organizationName": typed}

    credential = sentera.connect(USER, form=form).credential

    other = sentera.emulator.organization(OTHER_ORGANIZATION)
    assert credential.payload["organizationId"] == other["sentera_id"]
    fields = list(sentera.fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))
    assert [field.id for field in fields] == _field_ids(
        sentera.emulator, OTHER_ORGANIZATION
    )


def test_an_empty_form_field_is_named(sandbox):
    sentera = sandbox(PROVIDER_ID)

    with pytest.raises(CredentialValidationError) as info:
        sentera.connect(USER, form={**sentera.emulator.login_fields(), "password": ""})

    assert info.value.path == "$.password"
    assert sentera.emulator.sign_ins == 0


def _assert_invalid(fieldlink, reason):
    with pytest.raises(CredentialInvalid):
        fieldlink.access_token(USER, PROVIDER_ID)
    credential = fieldlink.credential(USER, PROVIDER_ID)
    assert credential.status.value == "invalid"
    assert reason in credential.status_reason
    assert "connect again" in credential.status_reason


def test_revoked_grower_turns_invalid_when_listing(sandbox):
    sentera = sandbox(PROVIDER_ID)
    sentera.connect(USER)
    sentera.emulator.revoke()

    with pytest.raises(CredentialRevoked) as info:
        sentera.fieldlink.list_resources(USER, PROVIDER_ID, "fields")

    assert info.value.error == "unauthorized"
    _assert_invalid(sentera.fieldlink, "UNAUTHENTICATED")


def test_token_refused_at_refresh_turns_invalid(sandbox):
    sentera = sandbox(PROVIDER_ID)
    sentera.connect(USER)
    sentera.emulator.expire_tokens()

    with pytest.raises(CredentialRevoked):
        sentera.fieldlink.refresh(USER, PROVIDER_ID)

    _assert_invalid(sentera.fieldlink, "no longer accepts the session token")
    assert sentera.emulator.sign_ins == 1


def test_token_past_its_lifetime_turns_invalid(configured):
    sentera = configured(token_lifetime_days=0)
    sentera.connect(USER)

    with pytest.raises(CredentialRevoked) as info:
        list(sentera.fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))

    assert info.value.error == "expired_token"
    _assert_invalid(sentera.fieldlink, "has expired")


def test_refresh_of_a_live_token_keeps_it(sandbox):
    sentera = sandbox(PROVIDER_ID)
    before = sentera.connect(USER).credential

    after = sentera.fieldlink.refresh(USER, PROVIDER_ID)

    assert after.payload == before.payload
    assert after.access_token == before.access_token
    assert after.expires_at == before.expires_at
    assert sentera.emulator.sign_ins == 1
    events = sentera.fieldlink.events(USER, PROVIDER_ID)
    assert any(e.kind == "refreshed" and not e.details["rotated"] for e in events)


def test_a_graphql_error_is_reported_and_the_credential_kept(configured):
    query = """
    query Fields($pagination: PaginationInput!, $owner: ID) {
      fields(pagination: $pagination, owner: $owner) {
        total_count page page_size results { sentera_id acreage }
      }
    }
    """
    sentera = configured(fields_query=query)
    sentera.connect(USER)

    with pytest.raises(ProviderError) as info:
        sentera.fieldlink.list_resources(USER, PROVIDER_ID, "fields")

    assert not isinstance(info.value, CredentialRevoked)
    assert "Field 'acreage' doesn't exist on type 'Field'" in str(info.value)
    assert info.value.status == 200
    assert sentera.fieldlink.credential(USER, PROVIDER_ID).status.value == "active"


def test_a_throttled_listing_is_a_passing_failure(sandbox):
    sentera = sandbox(PROVIDER_ID, size=3)
    sentera.connect(USER)
    sentera.emulator.throttle(times=1, retry_after=7)

    with pytest.raises(ProviderUnavailable) as info:
        sentera.fieldlink.list_resources(USER, PROVIDER_ID, "fields")

    assert info.value.status == 429
    assert info.value.retry_after == 7
    assert sentera.fieldlink.credential(USER, PROVIDER_ID).status.value == "active"
    assert len(list(sentera.fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))) == 3


def test_the_bare_token_setting_matches_a_provider_that_wants_it(configured):
    sentera = configured(authorization_scheme="")
    # Against the Bearer the reference shows, the bare token is refused...
    with pytest.raises(AuthorizationDenied, match="no longer accepts"):
        sentera.connect(USER)
    # ...and taken where the provider expects it bare.
    sentera.emulator.authorization_scheme = ""
    sentera.connect(USER)

    fields = list(sentera.fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))
    assert len(fields) == 5


@pytest.mark.parametrize(
    ("setting", "value"),
    [("page_size", 0), ("first_page", "1"), ("token_lifetime_days", -1)],
)
def test_bad_settings_are_named(configured, setting, value):
    sentera = configured(**{setting: value})

    with pytest.raises(ConfigurationError, match=setting):
        sentera.connect(USER)


def test_delete_forgets_the_token(sandbox):
    sentera = sandbox(PROVIDER_ID)
    sentera.connect(USER)

    deletion = sentera.fieldlink.delete(USER, PROVIDER_ID)

    # Sentera documents no way to end a session: nothing is revoked there.
    assert deletion.revoked is None
    assert sentera.fieldlink.credentials(USER) == []
