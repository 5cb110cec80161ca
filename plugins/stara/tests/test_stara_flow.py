"""Stara end to end, over HTTP against the emulator."""

from datetime import UTC, datetime, timedelta

import pytest

from fieldlink.errors import (
    AuthorizationDenied,
    ConfigurationError,
    CredentialInvalid,
    CredentialRevoked,
    CredentialValidationError,
    ProviderError,
)
from fieldlink.testing import CALLBACK_URI
from fieldlink_stara import PROVIDER_ID

USER = "grower-1"
TOKENS = ("accessToken", "accessTokenClient", "refreshToken")


@pytest.fixture
def stara(sandbox):
    stara = sandbox(PROVIDER_ID, size=5)
    stara.connect(USER)
    return stara


def _payload(fieldlink, user=USER):
    return dict(fieldlink.credential(user, PROVIDER_ID).payload)


def _fields(fieldlink, user=USER):
    return list(fieldlink.iter_resources(user, PROVIDER_ID, "fields"))


def _assert_invalid(fieldlink):
    with pytest.raises(CredentialInvalid):
        fieldlink.access_token(USER, PROVIDER_ID)
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_the_form_asks_for_a_login_and_a_secret_password(fieldlink):
    start = fieldlink.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)

    assert start.kind == "form"
    assert [(f.name, f.secret) for f in start.form.fields] == [
        ("login", False),
        ("password", True),
    ]


def test_connect_stores_leafs_body_and_lists_every_field_across_pages(sandbox):
    stara = sandbox(PROVIDER_ID, size=250)
    connection = stara.connect(USER)
    fieldlink = stara.fieldlink
    credential = connection.credential

    # Leaf's body: the apiKey and the three tokens; the password is not kept.
    assert set(credential.payload) == {"apiKey", *TOKENS}
    assert credential.access_token == credential.payload["accessToken"]
    assert stara.emulator.logins == 1
    pages = [fieldlink.list_resources(USER, PROVIDER_ID, "fields")]
    while pages[-1].next_cursor is not None:
        pages.append(
            fieldlink.list_resources(
                USER, PROVIDER_ID, "fields", cursor=pages[-1].next_cursor
            )
        )
    assert [len(page.items) for page in pages] == [100, 100, 50]

    fields = _fields(fieldlink)
    assert [field.id for field in fields] == [f["id"] for f in stara.emulator.data]
    assert fields[0].name == "Talhão 1"
    assert fields[0].data["areaHa"] > 0


def test_page_size_is_a_setting(sandbox):
    stara = sandbox(PROVIDER_ID, size=20)
    stara.fieldlink.override_settings(PROVIDER_ID, {"page_size": 7})
    stara.connect(USER)

    first = stara.fieldlink.list_resources(USER, PROVIDER_ID, "fields")

    assert len(first.items) == 7
    assert len(_fields(stara.fieldlink)) == 20


def test_no_fields_is_an_empty_listing(sandbox):
    stara = sandbox(PROVIDER_ID, size=0)
    stara.connect(USER)

    page = stara.fieldlink.list_resources(USER, PROVIDER_ID, "fields")

    assert page.items == ()
    assert page.next_cursor is None


def test_a_wrong_password_stores_nothing(sandbox):
    stara = sandbox(PROVIDER_ID)
    form = {**stara.emulator.login_fields(), "password": "not-the-password"}

    with pytest.raises(AuthorizationDenied) as info:
        stara.connect(USER, form=form)

    assert info.value.error == "invalid_login"
    assert "not-the-password" not in str(info.value)
    assert stara.fieldlink.credentials(USER) == []


def test_an_empty_login_is_named_before_stara_is_asked(sandbox):
    stara = sandbox(PROVIDER_ID)

    with pytest.raises(CredentialValidationError) as info:
        stara.connect(USER, form={**stara.emulator.login_fields(), "login": "  "})

    assert info.value.path == "$.login"
    assert stara.emulator.logins == 0


def test_refresh_asks_token_again_with_the_api_key(stara):
    fieldlink = stara.fieldlink
    before = _payload(fieldlink)

    credential = fieldlink.refresh(USER, PROVIDER_ID)

    after = credential.payload
    assert after["apiKey"] == before["apiKey"]
    assert all(after[name] != before[name] for name in TOKENS)
    assert credential.access_token == after["accessToken"]
    # The password was never needed again.
    assert stara.emulator.logins == 1
    assert stara.emulator.token_requests == 2
    assert len(_fields(fieldlink)) == 5


def test_token_lifetime_is_a_setting(sandbox):
    stara = sandbox(PROVIDER_ID)
    stara.fieldlink.override_settings(PROVIDER_ID, {"token_lifetime": 600})

    credential = stara.connect(USER).credential

    left = credential.expires_at - datetime.now(UTC)
    assert timedelta(minutes=9) < left <= timedelta(minutes=10)


def test_revoked_access_turns_the_credential_invalid(stara):
    stara.emulator.revoke()

    with pytest.raises(CredentialRevoked) as info:
        stara.fieldlink.refresh(USER, PROVIDER_ID)

    assert info.value.status == 401
    _assert_invalid(stara.fieldlink)


def test_an_expired_api_key_turns_it_invalid_until_the_grower_connects_again(stara):
    fieldlink = stara.fieldlink
    stara.emulator.expire_api_keys()

    with pytest.raises(CredentialRevoked):
        fieldlink.refresh(USER, PROVIDER_ID)
    _assert_invalid(fieldlink)

    # Connecting again logs in for a new apiKey.
    stara.connect(USER)
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "active"
    assert len(_fields(fieldlink)) == 5


def test_a_refused_token_on_a_list_is_renewed_and_the_listing_goes_on(stara):
    fieldlink = stara.fieldlink
    stara.emulator.expire_access_tokens()

    # The 401 sets off one refresh: new tokens from the apiKey cure it.
    assert len(_fields(fieldlink)) == 5
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "active"


def test_leafs_body_registers_and_gets_fresh_tokens(stara):
    fieldlink = stara.fieldlink
    body = _payload(fieldlink)

    credential = fieldlink.register("grower-2", PROVIDER_ID, body)

    # Tokens of unknown age are replaced before use; the apiKey is kept.
    assert credential.payload["apiKey"] == body["apiKey"]
    assert credential.access_token not in (None, body["accessToken"])
    assert len(_fields(fieldlink, "grower-2")) == 5


def test_a_body_with_a_dead_api_key_is_refused_on_register(stara):
    fieldlink = stara.fieldlink
    body = _payload(fieldlink)
    stara.emulator.expire_api_keys()

    with pytest.raises(CredentialRevoked):
        fieldlink.register("grower-2", PROVIDER_ID, body)

    assert fieldlink.credential("grower-2", PROVIDER_ID).status.value == "invalid"


def test_a_configured_refresh_endpoint_spends_the_refresh_token(stara):
    fieldlink = stara.fieldlink
    refresh_url = stara.endpoints["token_url"] + "/refresh"
    fieldlink.override_endpoints(PROVIDER_ID, {"refresh_url": refresh_url})
    before = _payload(fieldlink)

    after = fieldlink.refresh(USER, PROVIDER_ID).payload

    assert after["refreshToken"] != before["refreshToken"]
    assert stara.emulator.token_requests == 1
    assert len(_fields(fieldlink)) == 5


def test_a_refused_refresh_token_falls_back_to_the_api_key(stara):
    fieldlink = stara.fieldlink
    refresh_url = stara.endpoints["token_url"] + "/refresh"
    fieldlink.override_endpoints(PROVIDER_ID, {"refresh_url": refresh_url})
    # Another client spends the stored refresh token first.
    stara.emulator.refresh_tokens.pop(_payload(fieldlink)["refreshToken"])

    fieldlink.refresh(USER, PROVIDER_ID)

    assert stara.emulator.token_requests == 2
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "active"


def test_a_wrong_fields_url_names_the_endpoint_to_set(stara):
    fields_url = stara.endpoints["fields_url"]
    stara.fieldlink.override_endpoints(PROVIDER_ID, {"fields_url": fields_url + "x"})

    with pytest.raises(ProviderError, match="fields_url") as info:
        stara.fieldlink.list_resources(USER, PROVIDER_ID, "fields")

    assert info.value.status == 404


def test_headers_are_a_setting_and_checked(stara):
    fieldlink = stara.fieldlink
    # Sending the client token under another name: the emulator refuses the call.
    fieldlink.override_settings(
        PROVIDER_ID,
        {
            "api_headers": {
                "Authorization": "Bearer {accessToken}",
                "X-Client": "{accessTokenClient}",
            }
        },
    )
    with pytest.raises(ProviderError) as info:
        fieldlink.list_resources(USER, PROVIDER_ID, "fields")
    assert info.value.status == 401

    fieldlink.override_settings(
        PROVIDER_ID, {"api_headers": {"X-Secret": "{password}"}}
    )
    with pytest.raises(ConfigurationError, match="api_headers"):
        fieldlink.list_resources(USER, PROVIDER_ID, "fields")
