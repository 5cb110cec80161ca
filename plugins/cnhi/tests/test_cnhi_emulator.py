"""The emulator enforces CNH's rules on its own, whatever a client sends."""

import pytest

from fieldlink.http import make_session
from fieldlink.testing import CALLBACK_URI
from fieldlink_cnhi import PROVIDER_ID, plugin

USER = "grower-1"


@pytest.fixture
def cnh(sandbox):
    cnh = sandbox(PROVIDER_ID, size=3)
    cnh.connect(USER)
    return cnh


@pytest.fixture
def http():
    with make_session(retries=0) as session:
        yield session


def _refresh_token(cnh):
    return cnh.fieldlink.credential(USER, PROVIDER_ID).payload["refreshToken"]


def _companies(cnh, http, environment="STAGE", **headers):
    return http.get(
        cnh.endpoints[environment]["api_base"] + "/companies",
        headers=headers,
        timeout=10,
    )


def _authorize(cnh, http, environment="STAGE", **params):
    query = {
        "client_id": cnh.emulator.app_fields(environment)["clientId"],
        "redirect_uri": CALLBACK_URI,
        "response_type": "code",
        "scope": "offline_access",
        **params,
    }
    return http.get(
        cnh.endpoints[environment]["authorize_url"], params=query, timeout=10
    )


def test_the_client_must_be_in_the_body_not_in_basic(cnh, http):
    app = cnh.emulator.app_fields()
    grant = {"grant_type": "refresh_token", "refresh_token": _refresh_token(cnh)}
    url = cnh.endpoints["STAGE"]["token_url"]

    basic_only = http.post(
        url, data=grant, auth=(app["clientId"], app["clientSecret"]), timeout=10
    )
    as_json = http.post(
        url,
        json={
            **grant,
            "client_id": app["clientId"],
            "client_secret": app["clientSecret"],
        },
        timeout=10,
    )

    assert basic_only.status_code == 401
    assert basic_only.json()["error"] == "invalid_client"
    # Auth0 takes the body as JSON as well as a form.
    assert as_json.status_code == 200
    assert {"access_token", "id_token", "expires_in"} <= set(as_json.json())


@pytest.mark.parametrize(
    "params",
    [
        {"connection": "STG-ADFS-CONN"},
        {"audience": "https://stg.api.cnhind.com"},
        # PRODUCTION's audience at the STAGE tenant.
        {"audience": "https://ag.api.cnhind.com", "connection": "STG-ADFS-CONN"},
    ],
)
def test_authorize_needs_this_tenants_audience_and_connection(cnh, http, params):
    assert _authorize(cnh, http, **params).status_code == 400


def test_what_one_environment_issued_the_other_refuses(cnh, http):
    stage_token = cnh.fieldlink.access_token(USER, PROVIDER_ID)
    production = cnh.emulator.app_fields("PRODUCTION")

    refresh = http.post(
        cnh.endpoints["PRODUCTION"]["token_url"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": _refresh_token(cnh),
            "client_id": production["clientId"],
            "client_secret": production["clientSecret"],
        },
        timeout=10,
    )
    listing = _companies(
        cnh,
        http,
        "PRODUCTION",
        Authorization=f"Bearer {stage_token}",
        **{"Ocp-Apim-Subscription-Key": production["subscriptionKey"]},
    )

    assert refresh.status_code == 403
    assert refresh.json()["error"] == "invalid_grant"
    assert listing.status_code == 401


@pytest.mark.parametrize(
    ("key", "message"),
    [(None, "missing subscription key"), ("not-the-key", "invalid subscription key")],
)
def test_api_calls_need_the_subscription_key(cnh, http, key, message):
    headers = {
        "Authorization": "Bearer " + cnh.fieldlink.access_token(USER, PROVIDER_ID)
    }
    if key is not None:
        headers["Ocp-Apim-Subscription-Key"] = key

    response = _companies(cnh, http, **headers)

    assert response.status_code == 401
    assert message in response.json()["message"]


def test_json_api_pages_hold_at_most_the_page_size(sandbox, http):
    cnh = sandbox(PROVIDER_ID, size=4, page_size=3)
    cnh.connect(USER)
    headers = {
        "Authorization": "Bearer " + cnh.fieldlink.access_token(USER, PROVIDER_ID),
        "Ocp-Apim-Subscription-Key": cnh.emulator.app_fields()["subscriptionKey"],
    }

    first = http.get(
        cnh.endpoints["STAGE"]["api_base"] + "/companies",
        params={"page[size]": 100},
        headers=headers,
        timeout=10,
    ).json()
    last = http.get(first["links"]["next"], headers=headers, timeout=10).json()

    assert len(first["data"]) == 3
    assert first["data"][0]["type"] == "companies"
    assert len(last["data"]) == 1
    assert "next" not in last["links"]
    assert last["meta"] == {"totalCount": 4}


def test_seeded_data_is_reproducible_and_per_environment():
    def emulator(seed):
        return plugin.sandbox_emulator({"size": 4, "seed": seed})

    first, again, other = emulator(3), emulator(3), emulator(4)

    assert first.tenant("STAGE").data == again.tenant("STAGE").data
    assert first.tenant("STAGE").data != other.tenant("STAGE").data
    stage, production = first.tenant("STAGE").data, first.tenant("PRODUCTION").data
    assert {c["id"] for c in stage}.isdisjoint(c["id"] for c in production)
    assert len(stage) == 4
    assert [len(farm["fields"]) for farm in stage[0]["farms"]] == [4, 4, 4]


def test_each_environment_has_its_own_app():
    emulator = plugin.sandbox_emulator({})
    stage, production = emulator.app_fields("STAGE"), emulator.app_fields("PRODUCTION")

    assert emulator.app_fields() == stage
    assert all(stage[name] != production[name] for name in stage)
