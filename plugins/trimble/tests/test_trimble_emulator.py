"""The emulator enforces Trimble's rules on its own, whatever a client sends."""

import pytest

from fieldlink.http import make_session
from fieldlink.sandbox import drive_consent
from fieldlink.testing import CALLBACK_URI
from fieldlink_trimble import PROVIDER_ID


@pytest.fixture
def http():
    with make_session(retries=0) as session:
        yield session


@pytest.fixture
def trimble(sandbox):
    trimble = sandbox(PROVIDER_ID, size=4, page_size=2)
    trimble.connect("grower-1")
    return trimble


def _bearer(trimble):
    return {
        "Authorization": "Bearer "
        + trimble.fieldlink.access_token("grower-1", PROVIDER_ID)
    }


def _organizations(trimble, http, **kwargs):
    url = f"{trimble.endpoints['api_base']}/config/organizations"
    return http.get(url, timeout=10, **kwargs)


def test_the_scope_must_carry_the_application_name(sandbox, http):
    trimble = sandbox(PROVIDER_ID)
    authorize = trimble.endpoints["authorize_url"]
    params = {
        "client_id": trimble.emulator.client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK_URI,
        "state": "s",
        "scope": "openid",
    }

    assert http.get(authorize, params=params, timeout=10).status_code == 400
    params["scope"] = "openid fieldlink-sandbox"
    assert http.get(authorize, params=params, timeout=10).status_code == 200


def test_client_credentials_in_the_body_are_refused(trimble, http):
    emulator = trimble.emulator
    response = http.post(
        trimble.endpoints["token_url"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": trimble.fieldlink.credential(
                "grower-1", PROVIDER_ID
            ).payload["refreshToken"],
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
        },
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_bearer_token_is_required(trimble, http):
    assert _organizations(trimble, http).status_code == 401


def test_links_unless_turned_off_and_bookmarks_tied_to_their_list(trimble, http):
    first = _organizations(trimble, http, headers=_bearer(trimble)).json()
    assert first["result"][0]["links"][0]["rel"] == "self"
    assert first["bookmark"]["moreResults"] is True

    org_id = first["result"][0]["id"]
    fields_url = f"{trimble.endpoints['api_base']}/resources/{org_id}/fields"
    borrowed = {"bookmark": first["bookmark"]["token"]}
    response = http.get(
        fields_url, headers=_bearer(trimble), params=borrowed, timeout=10
    )
    assert response.status_code == 400


def test_pages_never_exceed_a_thousand_records(sandbox, http):
    trimble = sandbox(PROVIDER_ID, size=1001, page_size=5000)
    trimble.connect("grower-1")

    body = _organizations(trimble, http, headers=_bearer(trimble)).json()

    assert len(body["result"]) == 1000
    assert body["bookmark"]["moreResults"] is True


def test_the_organisations_page_checks_the_client(trimble, http):
    page = trimble.endpoints["org_authorization_url"]
    params = {"clientid": "someone-else", "redirectionUrl": CALLBACK_URI}

    assert http.get(page, params=params, timeout=10).status_code == 400


def test_denying_on_the_organisations_page_opens_nothing(sandbox):
    trimble = sandbox(PROVIDER_ID, size=2)
    connection = trimble.connect("grower-1", decision="allow")
    trimble.emulator.authorized_accounts.clear()

    assert drive_consent(connection.next_step_url, "deny") == CALLBACK_URI
    organizations = trimble.fieldlink.iter_resources(
        "grower-1", PROVIDER_ID, "organizations"
    )
    assert list(organizations) == []


def test_data_is_reproducible_with_a_seed(fieldlink):
    make = fieldlink.registry.call
    one = make(PROVIDER_ID, "sandbox_emulator", settings={"size": 3, "seed": 7})
    two = make(PROVIDER_ID, "sandbox_emulator", settings={"size": 3, "seed": 7})
    other = make(PROVIDER_ID, "sandbox_emulator", settings={"size": 3, "seed": 8})

    assert one.data == two.data
    assert one.data != other.data
