"""Raven end to end, over HTTP against the stand-in emulator."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from fieldlink.errors import (
    ConfigurationError,
    CredentialInvalid,
    CredentialRevoked,
    OAuthError,
    ProviderError,
)
from fieldlink.http import make_session
from fieldlink.oauth2 import CLIENT_SECRET_POST
from fieldlink.sandbox import json_response, serve
from fieldlink.testing import CALLBACK_URI
from fieldlink_raven import PROVIDER_ID, REQUIRED_ENDPOINTS
from fieldlink_raven.emulator import RavenEmulator

USER = "grower-1"


def _refresh_token(fieldlink):
    return fieldlink.credential(USER, PROVIDER_ID).payload["refreshToken"]


def _pages(fieldlink, kind, parent=None):
    pages = [fieldlink.list_resources(USER, PROVIDER_ID, kind, parent=parent)]
    while pages[-1].next_cursor is not None:
        cursor = pages[-1].next_cursor
        pages.append(
            fieldlink.list_resources(
                USER, PROVIDER_ID, kind, parent=parent, cursor=cursor
            )
        )
    return [len(page.items) for page in pages]


def test_connect_lists_every_kind_across_pages(sandbox):
    raven = sandbox(PROVIDER_ID, size=3)
    raven.fieldlink.override_settings(PROVIDER_ID, {"page_size": 2})
    connection = raven.connect(USER)
    fieldlink = raven.fieldlink

    assert connection.next_step_url is None
    assert set(connection.credential.payload) == {
        "clientId",
        "clientSecret",
        "refreshToken",
    }
    growers = list(fieldlink.iter_resources(USER, PROVIDER_ID, "growers"))
    farms = list(fieldlink.iter_resources(USER, PROVIDER_ID, "farms"))
    fields = list(fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))
    assert _pages(fieldlink, "growers") == [2, 1]
    assert _pages(fieldlink, "farms", parent=growers[0].id) == [2, 1]
    assert _pages(fieldlink, "fields", parent=farms[0].id) == [2, 1]

    assert [len(growers), len(farms), len(fields)] == [3, 9, 27]
    assert {farm.parent_id for farm in farms} == {grower.id for grower in growers}
    assert {field.parent_id for field in fields} == {farm.id for farm in farms}
    assert fields[0].data["areaAcres"] > 0


def test_the_sandbox_provides_every_endpoint(sandbox):
    raven = sandbox(PROVIDER_ID, size=3)
    raven.connect(USER)

    fields = list(raven.fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))

    assert len(fields) == 3 * 3 * 3


def test_without_endpoints_nothing_starts_and_nothing_is_stored(fieldlink):
    example = fieldlink.provider(PROVIDER_ID).schema.examples[0]
    app = {name: example[name] for name in ("clientId", "clientSecret")}
    fieldlink.register_app(PROVIDER_ID, app)

    with pytest.raises(ConfigurationError, match=r"endpoints=\{'raven'") as info:
        fieldlink.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)
    assert all(repr(name) in str(info.value) for name in REQUIRED_ENDPOINTS)
    with pytest.raises(ConfigurationError, match="token_url"):
        fieldlink.register(USER, PROVIDER_ID, example)
    assert fieldlink.credentials(USER) == []


def test_a_list_url_without_its_parent_placeholder_is_refused(sandbox):
    raven = sandbox(PROVIDER_ID)
    raven.connect(USER)
    raven.fieldlink.override_endpoints(
        PROVIDER_ID, {"fields_url": raven.running.url + "/api/fields"}
    )

    with pytest.raises(ConfigurationError, match=r"fields_url .* \{parent\}"):
        list(raven.fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))


def test_client_authentication_in_the_body_is_a_setting(sandbox):
    raven = sandbox(PROVIDER_ID, client_auth=CLIENT_SECRET_POST)
    raven.fieldlink.override_settings(PROVIDER_ID, {"client_auth": CLIENT_SECRET_POST})

    raven.connect(USER)
    raven.fieldlink.refresh(USER, PROVIDER_ID)

    assert len(list(raven.fieldlink.iter_resources(USER, PROVIDER_ID, "growers"))) == 3


def test_the_default_basic_authentication_is_refused_where_the_body_is_wanted(
    sandbox,
):
    raven = sandbox(PROVIDER_ID, client_auth=CLIENT_SECRET_POST)

    with pytest.raises(OAuthError) as info:
        raven.connect(USER)

    assert info.value.error == "invalid_client"
    assert not isinstance(info.value, CredentialRevoked)
    assert raven.fieldlink.credentials(USER) == []


def test_an_unknown_client_auth_setting_is_named(sandbox):
    raven = sandbox(PROVIDER_ID)
    raven.fieldlink.override_settings(PROVIDER_ID, {"client_auth": "private_key_jwt"})

    with pytest.raises(ConfigurationError, match="client_secret_basic"):
        raven.connect(USER)


def test_no_scope_is_asked_for_by_default(sandbox):
    raven = sandbox(PROVIDER_ID)

    start = raven.fieldlink.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)

    assert "scope" not in dict(parse_qsl(urlsplit(start.url).query))


def test_scopes_set_by_the_host_are_asked_for_and_recorded(sandbox):
    raven = sandbox(PROVIDER_ID)
    scopes = ["growers.read", "fields.read"]
    raven.fieldlink.override_settings(PROVIDER_ID, {"scopes": scopes})

    connection = raven.connect(USER)

    assert connection.credential.scopes == tuple(scopes)


def test_every_returned_refresh_token_is_stored(sandbox):
    raven = sandbox(PROVIDER_ID)
    raven.connect(USER)
    fieldlink = raven.fieldlink
    spent = _refresh_token(fieldlink)

    fieldlink.refresh(USER, PROVIDER_ID)

    assert _refresh_token(fieldlink) != spent
    emulator = raven.emulator
    with make_session(retries=0) as session:
        refused = session.post(
            raven.endpoints["token_url"],
            data={"grant_type": "refresh_token", "refresh_token": spent},
            auth=(emulator.client_id, emulator.client_secret),
            timeout=10,
        )
    assert refused.json()["error"] == "invalid_grant"
    fieldlink.refresh(USER, PROVIDER_ID)


def test_a_withdrawn_consent_turns_the_credential_invalid(sandbox):
    raven = sandbox(PROVIDER_ID)
    raven.connect(USER)
    fieldlink = raven.fieldlink
    raven.emulator.revoke()

    # A 401 alone proves nothing; the refresh it sets off settles it.
    with pytest.raises(CredentialRevoked):
        fieldlink.list_resources(USER, PROVIDER_ID, "growers")
    with pytest.raises(CredentialInvalid):
        fieldlink.list_resources(USER, PROVIDER_ID, "growers")
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_an_expired_refresh_token_turns_the_credential_invalid(sandbox):
    raven = sandbox(PROVIDER_ID)
    raven.connect(USER)
    for token in raven.emulator.refresh_tokens.values():
        token.expires_at = 0

    with pytest.raises(CredentialRevoked):
        raven.fieldlink.refresh(USER, PROVIDER_ID)
    with pytest.raises(CredentialInvalid):
        raven.fieldlink.access_token(USER, PROVIDER_ID)


def test_leaf_body_registers_and_verifies(sandbox):
    raven = sandbox(PROVIDER_ID)
    raven.connect(USER)
    fieldlink = raven.fieldlink
    body = dict(fieldlink.credential(USER, PROVIDER_ID).payload)

    credential = fieldlink.register("grower-2", PROVIDER_ID, body)

    assert credential.access_token is not None
    assert credential.payload["refreshToken"] != body["refreshToken"]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ([{"id": "1"}], "Items array"),
        ({"Items": [{"id": "1"}]}, "Items array"),
        ({"Items": [{"name": "no id"}], "IsNextPage": False}, "without an id"),
        ({"Items": [{"id": "1"}], "IsNextPage": True, "PageIndex": 0}, "page 1"),
    ],
)
def test_an_unexpected_list_answer_is_an_error(sandbox, body, match):
    raven = sandbox(PROVIDER_ID)
    raven.connect(USER)

    # A server answering every request with ``body`` stands in for Raven's list.
    with serve(json_response(body)) as other:
        raven.fieldlink.override_endpoints(PROVIDER_ID, {"growers_url": other.url})
        with pytest.raises(ProviderError, match=match):
            list(raven.fieldlink.iter_resources(USER, PROVIDER_ID, "growers"))


def test_seeded_data_is_reproducible():
    first, again = RavenEmulator(size=2, seed=3), RavenEmulator(size=2, seed=3)
    other = RavenEmulator(size=2, seed=4)

    assert first.data == again.data
    assert first.data != other.data
    assert [len(first.data[kind]) for kind in ("growers", "farms", "fields")] == [
        3,
        9,
        18,
    ]
