"""The emulator enforces Climate's rules on its own, whatever a client sends."""

import pytest

from fieldlink.http import make_session
from fieldlink_climate_field_view import PROVIDER_ID


@pytest.fixture
def climate(sandbox):
    climate = sandbox(PROVIDER_ID, size=5)
    climate.connect("grower-1")
    return climate


@pytest.fixture
def http():
    with make_session(retries=0) as session:
        yield session


def _get_fields(climate, http, **headers):
    return http.get(
        f"{climate.endpoints['api_base']}/v4/fields", headers=headers, timeout=10
    )


def _bearer(climate):
    return "Bearer " + climate.fieldlink.access_token("grower-1", PROVIDER_ID)


@pytest.mark.parametrize("api_key", [None, "partner-examplefarms-not-the-key"])
def test_missing_or_wrong_api_key_is_forbidden(climate, http, api_key):
    headers = {"Authorization": _bearer(climate)}
    if api_key is not None:
        headers["X-Api-Key"] = api_key

    response = _get_fields(climate, http, **headers)

    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_a_bearer_token_is_required(climate, http):
    response = _get_fields(climate, http, **{"X-Api-Key": climate.emulator.api_key})

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("limit", "status"), [("0", 400), ("101", 400), ("x", 400), ("1", 206)]
)
def test_x_limit_must_be_from_1_to_100(climate, http, limit, status):
    headers = {
        "Authorization": _bearer(climate),
        "X-Api-Key": climate.emulator.api_key,
        "X-Limit": limit,
    }

    response = _get_fields(climate, http, **headers)

    assert response.status_code == status
    if status == 206:
        assert len(response.json()["results"]) == 1
        assert response.headers["X-Next-Token"]


def test_throttled_call_says_when_to_retry(climate, http):
    climate.emulator.throttle(times=1, retry_after=7)
    headers = {"Authorization": _bearer(climate), "X-Api-Key": climate.emulator.api_key}

    response = _get_fields(climate, http, **headers)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"message": "Too Many Requests"}


def test_login_page_needs_page_oidcauthn(climate, http):
    response = http.get(
        climate.endpoints["authorize_url"],
        params={
            "client_id": climate.emulator.client_id,
            "redirect_uri": "http://127.0.0.1:9/callback",
            "response_type": "code",
        },
        timeout=10,
    )

    assert response.status_code == 400


def test_seeded_fields_are_reproducible():
    from fieldlink_climate_field_view.emulator import ClimateFieldViewEmulator

    first = ClimateFieldViewEmulator(size=4, seed=3)
    again = ClimateFieldViewEmulator(size=4, seed=3)
    other = ClimateFieldViewEmulator(size=4, seed=4)

    assert first.data == again.data
    assert first.data != other.data
    assert [field["name"] for field in first.data] == [
        f"Field {n}" for n in range(1, 5)
    ]
