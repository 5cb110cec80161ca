"""The emulator enforces its rules on its own, whatever a client sends."""

import pytest

from fieldlink.http import make_session
from fieldlink_agvance import PROVIDER_ID
from fieldlink_agvance.emulator import AgvanceEmulator

USER = "grower-1"


@pytest.fixture
def agvance(sandbox):
    agvance = sandbox(PROVIDER_ID, size=5)
    agvance.connect(USER)
    return agvance


@pytest.fixture
def http():
    with make_session(retries=0) as session:
        yield session


def _headers(agvance):
    credential = agvance.fieldlink.credential(USER, PROVIDER_ID)
    return {"apiKey": agvance.emulator.api_key, "sessionId": credential.access_token}


def _sign_in(agvance, http, **changes):
    body = {"apiKey": agvance.emulator.api_key, **agvance.emulator.login_fields()}
    return http.post(
        agvance.endpoints["login_url"], json={**body, **changes}, timeout=10
    )


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, 200),
        ({"apiKey": "not-the-key"}, 401),
        ({"databaseId": "99999"}, 401),
        ({"username": ""}, 400),
    ],
)
def test_a_session_needs_the_key_the_database_and_the_user(
    agvance, http, changes, status
):
    response = _sign_in(agvance, http, **changes)

    assert response.status_code == status
    if status == 200:
        assert response.json()["sessionId"] in agvance.emulator.sessions


def test_sign_in_takes_json_only(agvance, http):
    body = {"apiKey": agvance.emulator.api_key, **agvance.emulator.login_fields()}

    response = http.post(agvance.endpoints["login_url"], data=body, timeout=10)

    assert response.status_code == 400


@pytest.mark.parametrize("missing", ["apiKey", "sessionId"])
def test_lists_need_the_key_and_the_session(agvance, http, missing):
    headers = _headers(agvance)
    del headers[missing]

    response = http.get(agvance.endpoints["growers_url"], headers=headers, timeout=10)

    assert response.status_code == 401
    assert response.json() == {"message": "invalid or expired session"}


@pytest.mark.parametrize(("size", "status"), [("0", 400), ("101", 400), ("2", 200)])
def test_size_must_be_from_1_to_100(agvance, http, size, status):
    response = http.get(
        agvance.endpoints["growers_url"],
        params={"page": 1, "size": size},
        headers=_headers(agvance),
        timeout=10,
    )

    assert response.status_code == status
    if status == 200:
        assert [grower["id"] for grower in response.json()] == ["C00003", "C00004"]
        assert response.headers["X-Total-Count"] == "5"


def test_seeded_data_is_reproducible():
    first = AgvanceEmulator(size=4, seed=3)
    again = AgvanceEmulator(size=4, seed=3)
    other = AgvanceEmulator(size=4, seed=4)

    assert first.data == again.data
    assert first.data != other.data
    assert len(first.data["growers"]) == 4
    assert all(1 <= len(farms) <= 3 for farms in first.data["farms"].values())
