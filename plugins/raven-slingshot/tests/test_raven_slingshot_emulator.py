"""The emulator enforces Slingshot's checks on its own, whatever a client sends."""

import base64
import time

import pytest

from fieldlink.http import make_session
from fieldlink.sandbox import serve
from fieldlink_raven_slingshot.emulator import RavenSlingshotEmulator
from fieldlink_raven_slingshot.signing import signed_headers


class Client:
    """Signed requests to a served emulator, with whatever a test wants wrong."""

    def __init__(self, emulator, url, session):
        self.emulator = emulator
        self.url = url
        self.session = session

    def get(self, path, *, params=None, accept="application/json", **signing):
        url = self.url + path
        options = {
            "api_key": self.emulator.api_key,
            "access_key": self.emulator.grower_key,
            "shared_secret": self.emulator.shared_secret,
            "timestamp": int(time.time()),
            **signing,
        }
        headers = {**signed_headers("GET", url, **options), "Accept": accept}
        return self.session.get(url, params=params, headers=headers, timeout=10)


@pytest.fixture
def client():
    emulator = RavenSlingshotEmulator(size=12, seed=3)
    with serve(emulator) as running, make_session(retries=0) as session:
        yield Client(emulator, running.url, session)


def test_a_signed_request_is_answered(client):
    response = client.get("/fieldcomputers")

    assert response.status_code == 200
    assert response.json()["TotalCount"] == 12


def test_unsigned_requests_are_refused(client):
    response = client.session.get(
        client.url + "/fieldcomputers",
        headers={"Accept": "application/json"},
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json() == {"Message": "Missing header X-SS-APIKey"}


@pytest.mark.parametrize(
    ("signing", "message"),
    [
        ({"api_key": "another-api-key"}, "Invalid API Key"),
        ({"shared_secret": base64.b64encode(b"other").decode()}, "Invalid Signature"),
        ({"access_key": "another-access-key"}, "Invalid Access Key"),
        ({"timestamp": int(time.time()) - 3600}, "Request timestamp is too old"),
    ],
    ids=["api-key", "secret", "access-key", "stale"],
)
def test_each_failed_check_is_a_401(client, signing, message):
    response = client.get("/jobdata", **signing)

    assert response.status_code == 401
    assert response.json() == {"Message": message}


def test_a_tampered_signature_is_refused(client):
    url = client.url + "/jobdata"
    headers = signed_headers(
        "GET",
        client.url + "/fieldcomputers",
        api_key=client.emulator.api_key,
        access_key=client.emulator.grower_key,
        shared_secret=client.emulator.shared_secret,
        timestamp=int(time.time()),
    )

    headers["Accept"] = "application/json"

    response = client.session.get(url, headers=headers, timeout=10)

    # A signature is good for the one path it was made for.
    assert response.status_code == 401
    assert response.json() == {"Message": "Invalid Signature"}


def test_a_timestamp_is_good_for_120_seconds(client):
    assert client.get("/jobdata", timestamp=int(time.time()) - 100).status_code == 200
    assert client.get("/jobdata", timestamp=int(time.time()) - 125).status_code == 401


def test_refusals_can_come_without_a_reason(client):
    client.emulator.detailed_errors = False

    response = client.get("/jobdata", access_key="another-access-key")

    assert response.status_code == 401
    assert response.content == b""


def test_the_key_summary_shows_an_inactive_key_that_lists_nothing(client):
    client.emulator.deactivate()

    summary = client.get("/accesskey")
    listing = client.get("/fieldcomputers")

    assert summary.status_code == 200
    assert summary.json()["IsActive"] is False
    assert set(summary.json()) == {
        "AccessKey",
        "ID",
        "FriendlyName",
        "Description",
        "IsActive",
        "Contact",
        "ExpirationDateTime",
    }
    assert listing.status_code == 401
    assert listing.json() == {"Message": "Access Key is inactive"}


def test_a_revoked_key_is_refused_everywhere(client):
    client.emulator.revoke()

    assert client.get("/accesskey").status_code == 401
    assert client.get("/jobdata").status_code == 401


def test_rate_limit_answers_429_with_retry_after(client):
    client.emulator.rate_limit_calls = 3

    statuses = [client.get("/jobdata").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    refused = client.get("/jobdata")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_pages_follow_the_slingshot_index_envelope(client):
    first = client.get("/jobdata", params={"page": 0, "pagesize": 5}).json()
    last = client.get("/jobdata", params={"page": 2, "pagesize": 5}).json()

    assert {k: v for k, v in first.items() if k != "Items"} == {
        "TotalCount": 12,
        "PageSize": 5,
        "IsPreviousPage": False,
        "IsNextPage": True,
        "PageIndex": 0,
        "TotalPages": 3,
    }
    assert (last["IsPreviousPage"], last["IsNextPage"], len(last["Items"])) == (
        True,
        False,
        2,
    )
    assert set(first["Items"][0]) == {"id", "name", "uri", "subtype", "date"}


def test_the_query_string_is_not_signed(client):
    # signed_headers signs the path only; the emulator must agree.
    response = client.get("/fieldcomputers", params={"page": 1, "pagesize": 10})

    assert response.status_code == 200
    assert response.json()["PageIndex"] == 1


@pytest.mark.parametrize("params", [{"page": -1}, {"pagesize": 0}, {"page": "x"}])
def test_bad_paging_parameters_are_refused(client, params):
    assert client.get("/jobdata", params=params).status_code == 400


def test_page_size_is_capped(client):
    client.emulator.max_page_size = 4

    body = client.get("/jobdata", params={"pagesize": 100}).json()

    assert (body["PageSize"], len(body["Items"]), body["TotalPages"]) == (4, 4, 3)


def test_xml_unless_json_is_accepted(client):
    response = client.get("/fieldcomputers", accept="application/xml")

    assert response.headers["Content-Type"].startswith("application/xml")
    assert response.text.startswith("<slingshotindex><totalcount>12</totalcount>")


def test_seeded_data_is_reproducible():
    assert RavenSlingshotEmulator(size=6, seed=1).data == (
        RavenSlingshotEmulator(size=6, seed=1).data
    )
    assert RavenSlingshotEmulator(size=6, seed=1).data != (
        RavenSlingshotEmulator(size=6, seed=2).data
    )
    assert len(RavenSlingshotEmulator(size=6).data["jobdata"]) == 6


def test_the_shared_secret_reads_both_ways():
    # Every secret the emulator issues is a canary, and its secret must also be
    # valid base64, the plugin's default reading.
    emulator = RavenSlingshotEmulator()

    assert emulator.shared_secret.startswith("CANARY-")
    assert len(emulator.key_bytes) == 27
    assert RavenSlingshotEmulator(shared_secret_encoding="utf-8").key_bytes.startswith(
        b"CANARY-"
    )
