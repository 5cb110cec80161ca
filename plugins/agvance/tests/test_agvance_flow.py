"""Agvance end to end, over HTTP against the emulator."""

from datetime import UTC, datetime, timedelta

import pytest

from fieldlink import Fieldlink
from fieldlink.errors import (
    AuthorizationDenied,
    ConfigurationError,
    CredentialInvalid,
    CredentialRevoked,
    ProviderError,
)
from fieldlink.sandbox import serve
from fieldlink.testing import CALLBACK_URI
from fieldlink_agvance import PROVIDER_ID
from fieldlink_agvance.emulator import AgvanceEmulator

USER = "grower-1"


@pytest.fixture
def agvance(sandbox):
    agvance = sandbox(PROVIDER_ID, size=5)
    agvance.connect(USER)
    return agvance


def _all(fieldlink, kind, user=USER):
    return list(fieldlink.iter_resources(user, PROVIDER_ID, kind))


def _pages(fieldlink, kind, parent=None):
    pages = [fieldlink.list_resources(USER, PROVIDER_ID, kind, parent=parent)]
    while pages[-1].next_cursor is not None:
        pages.append(
            fieldlink.list_resources(
                USER, PROVIDER_ID, kind, parent=parent, cursor=pages[-1].next_cursor
            )
        )
    return pages


def _leaf_body(agvance, environment="STAGE"):
    return {
        "apiKey": agvance.emulator.api_key,
        **agvance.emulator.login_fields(),
        "clientEnvironment": environment,
    }


def _assert_invalid(fieldlink):
    with pytest.raises(CredentialInvalid):
        fieldlink.access_token(USER, PROVIDER_ID)
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_the_form_asks_the_grower_for_leafs_user_fields(fieldlink):
    start = fieldlink.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)

    assert start.kind == "form"
    assert [(f.name, f.secret) for f in start.form.fields] == [
        ("databaseId", False),
        ("username", False),
        ("password", True),
    ]


def test_connect_lists_growers_farms_and_fields_to_the_end(sandbox):
    agvance = sandbox(PROVIDER_ID, size=7)
    # Two items a page, so that every kind spans several pages.
    agvance.fieldlink.override_settings(PROVIDER_ID, {"page_size": 2})
    credential = agvance.connect(USER).credential
    fieldlink = agvance.fieldlink
    data = agvance.emulator.data

    # The session id is the access token; Leaf's body is what is stored.
    assert credential.access_token in agvance.emulator.sessions
    assert credential.payload == _leaf_body(agvance)
    assert [len(page.items) for page in _pages(fieldlink, "growers")] == [2, 2, 2, 1]
    # Grower 2 has three farms; the fullest farm four fields.
    grower = data["growers"][1]["id"]
    assert [len(page.items) for page in _pages(fieldlink, "farms", grower)] == [2, 1]
    farm = max(data["fields"], key=lambda farm_id: len(data["fields"][farm_id]))
    assert len(_pages(fieldlink, "fields", farm)) == 2

    farms = _all(fieldlink, "farms")
    assert [farm.id for farm in farms] == [
        farm["id"] for grower in data["growers"] for farm in data["farms"][grower["id"]]
    ]
    assert farms[0].parent_id == data["growers"][0]["id"]
    fields = _all(fieldlink, "fields")
    assert [field.id for field in fields] == [
        field["id"] for farm in farms for field in data["fields"][farm.id]
    ]
    assert fields[-1].parent_id == farms[-1].id
    assert fields[0].data["acres"] > 0


def test_growers_come_a_hundred_a_page(sandbox):
    agvance = sandbox(PROVIDER_ID, size=150)
    agvance.connect(USER)

    pages = _pages(agvance.fieldlink, "growers")

    assert [len(page.items) for page in pages] == [100, 50]


def test_the_password_is_kept_encrypted(agvance, fieldlink_home):
    password = agvance.emulator.login_fields()["password"]

    assert (
        agvance.fieldlink.credential(USER, PROVIDER_ID).payload["password"] == password
    )
    assert password.encode() not in (fieldlink_home / "fieldlink.db").read_bytes()


def test_session_lifetime_is_a_setting(sandbox):
    agvance = sandbox(PROVIDER_ID)
    default = agvance.connect(USER).credential.expires_at - datetime.now(UTC)
    agvance.fieldlink.override_settings(PROVIDER_ID, {"session_lifetime": 3600})

    longer = agvance.connect(USER).credential.expires_at - datetime.now(UTC)

    assert timedelta(minutes=19) < default <= timedelta(minutes=20)
    assert timedelta(minutes=59) < longer <= timedelta(minutes=60)


def test_refresh_signs_in_again(agvance):
    fieldlink = agvance.fieldlink
    before = fieldlink.credential(USER, PROVIDER_ID)

    after = fieldlink.refresh(USER, PROVIDER_ID)

    assert after.access_token != before.access_token
    assert after.payload == before.payload
    assert agvance.emulator.sign_ins == 2


def test_a_session_ended_early_is_renewed_and_the_listing_goes_on(agvance):
    fieldlink = agvance.fieldlink
    agvance.emulator.expire_sessions()

    # The 401 sets off one sign-in, and the listing carries on with the new session.
    assert len(_all(fieldlink, "growers")) == 5
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "active"


def test_a_changed_password_turns_the_credential_invalid(agvance):
    agvance.emulator.change_password()

    with pytest.raises(CredentialRevoked) as info:
        agvance.fieldlink.refresh(USER, PROVIDER_ID)

    assert info.value.status == 401
    _assert_invalid(agvance.fieldlink)


def test_a_disabled_user_turns_the_credential_invalid(agvance):
    agvance.emulator.revoke()

    with pytest.raises(CredentialRevoked):
        agvance.fieldlink.refresh(USER, PROVIDER_ID)

    _assert_invalid(agvance.fieldlink)


def test_a_wrong_password_stores_nothing(sandbox):
    agvance = sandbox(PROVIDER_ID)
    form = {**agvance.emulator.login_fields(), "password": "not-the-password"}

    with pytest.raises(AuthorizationDenied) as info:
        agvance.connect(USER, form=form)

    assert info.value.error == "invalid_login"
    assert "not-the-password" not in str(info.value)
    assert agvance.fieldlink.credentials(USER) == []


def test_a_user_without_api_access_is_refused(sandbox):
    agvance = sandbox(PROVIDER_ID)

    with pytest.raises(AuthorizationDenied, match="HTTP 403"):
        agvance.connect(USER, form=agvance.emulator.login_fields("clerk"))

    assert agvance.fieldlink.credentials(USER) == []


def test_leafs_body_registers_in_its_environment(agvance):
    fieldlink = agvance.fieldlink
    body = _leaf_body(agvance, "PRODUCTION")

    credential = fieldlink.register("grower-2", PROVIDER_ID, body)

    # Verifying signed in: the session is the access token.
    assert credential.environment == "PRODUCTION"
    assert credential.access_token in agvance.emulator.sessions
    assert credential.payload == body
    assert len(_all(fieldlink, "growers", "grower-2")) == 5


def test_a_body_without_environment_is_stage(agvance):
    body = _leaf_body(agvance)
    del body["clientEnvironment"]

    credential = agvance.fieldlink.register("grower-2", PROVIDER_ID, body)

    assert credential.environment == "STAGE"


def test_a_refused_body_is_marked_invalid_on_register(agvance):
    body = {**_leaf_body(agvance), "password": "an-old-password"}

    with pytest.raises(CredentialRevoked):
        agvance.fieldlink.register("grower-2", PROVIDER_ID, body)

    assert (
        agvance.fieldlink.credential("grower-2", PROVIDER_ID).status.value == "invalid"
    )


def test_each_environment_can_have_its_own_urls(agvance):
    fieldlink = agvance.fieldlink
    production = AgvanceEmulator(size=2)
    with serve(production) as running:
        fieldlink.override_endpoints(
            PROVIDER_ID, {"PRODUCTION": production.endpoints(running.url)}
        )
        fieldlink.register_app(
            PROVIDER_ID, production.app_fields(), environment="PRODUCTION"
        )
        start = fieldlink.start_auth("grower-2", PROVIDER_ID, environment="PRODUCTION")
        fieldlink.complete_auth(
            PROVIDER_ID, {"state": start.state, **production.login_fields()}
        )

        assert production.sign_ins == 1
        assert len(_all(fieldlink, "growers", "grower-2")) == 2
    # STAGE still goes to the first emulator.
    assert len(_all(fieldlink, "growers")) == 5
    assert agvance.emulator.sign_ins == 1


def test_without_endpoints_the_host_is_told_what_to_set(fieldlink_home):
    database = f"sqlite:///{fieldlink_home / 'unconfigured.db'}"
    with Fieldlink(database) as host:
        host.register_app(PROVIDER_ID, {"apiKey": "a3f9c2e1"})
        start = host.start_auth(USER, PROVIDER_ID)
        form = {"databaseId": "48213", "username": "jsmith", "password": "pw"}

        with pytest.raises(ConfigurationError) as info:
            host.complete_auth(PROVIDER_ID, {"state": start.state, **form})

    message = str(info.value)
    assert "'login_url'" in message and "endpoints=" in message
    for name in ("growers_url", "farms_url", "fields_url"):
        assert name in message
    assert "pw" not in message.split("'")


def test_a_list_url_without_a_parent_slot_is_refused(agvance):
    farms_url = agvance.endpoints["farms_url"].replace("{parent}", "C00001")
    agvance.fieldlink.override_endpoints(PROVIDER_ID, {"farms_url": farms_url})

    with pytest.raises(ConfigurationError, match=r"\{parent\}"):
        agvance.fieldlink.list_resources(USER, PROVIDER_ID, "farms", parent="C00002")


def test_farms_need_a_grower(agvance):
    with pytest.raises(ConfigurationError, match="parent="):
        agvance.fieldlink.list_resources(USER, PROVIDER_ID, "farms")


def test_headers_are_a_setting_and_never_carry_the_password(agvance):
    fieldlink = agvance.fieldlink
    fieldlink.override_settings(
        PROVIDER_ID, {"api_headers": {"X-Session": "{sessionId}"}}
    )
    with pytest.raises(ProviderError) as info:
        fieldlink.list_resources(USER, PROVIDER_ID, "growers")
    assert info.value.status == 401

    fieldlink.override_settings(PROVIDER_ID, {"api_headers": {"X-Pw": "{password}"}})
    with pytest.raises(ConfigurationError, match="api_headers"):
        fieldlink.list_resources(USER, PROVIDER_ID, "growers")
