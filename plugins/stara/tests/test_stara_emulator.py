"""The emulator enforces its rules on its own, and the paging rails hold."""

import pytest

from fieldlink.errors import ProviderError
from fieldlink.http import make_session
from fieldlink.paging import NumberedPages
from fieldlink_stara import PROVIDER_ID
from fieldlink_stara.emulator import StaraEmulator


@pytest.fixture
def stara(sandbox):
    stara = sandbox(PROVIDER_ID, size=5)
    stara.connect("grower-1")
    return stara


@pytest.fixture
def http():
    with make_session(retries=0) as session:
        yield session


def _headers(stara):
    payload = stara.fieldlink.credential("grower-1", PROVIDER_ID).payload
    return {
        "Authorization": f"Bearer {payload['accessToken']}",
        "accessTokenClient": payload["accessTokenClient"],
    }


def test_the_login_takes_json_only(stara, http):
    response = http.post(
        stara.endpoints["auth_url"], data=stara.emulator.login_fields(), timeout=10
    )

    assert response.status_code == 400
    assert stara.emulator.logins == 1


def test_both_tokens_are_needed(stara, http):
    headers = _headers(stara)
    del headers["accessTokenClient"]

    response = http.get(stara.endpoints["fields_url"], headers=headers, timeout=10)

    assert response.status_code == 401
    assert response.json() == {"message": "invalid or expired token"}


@pytest.mark.parametrize(
    ("size", "status"), [("0", 400), ("101", 400), ("x", 400), ("2", 200)]
)
def test_size_must_be_from_1_to_100(stara, http, size, status):
    response = http.get(
        stara.endpoints["fields_url"],
        params={"page": 0, "size": size},
        headers=_headers(stara),
        timeout=10,
    )

    assert response.status_code == status
    if status == 200:
        assert len(response.json()) == 2
        assert response.headers["X-Total-Count"] == "5"


def test_seeded_fields_are_reproducible():
    first = StaraEmulator(size=4, seed=3)
    again = StaraEmulator(size=4, seed=3)
    other = StaraEmulator(size=4, seed=4)

    assert first.data == again.data
    assert first.data != other.data
    assert len({field["id"] for field in first.data}) == 4


def test_a_page_that_repeats_the_one_before_raises():
    paging = NumberedPages(PROVIDER_ID, page_size=2)
    cursor = paging.next_cursor(None, ["a", "b"], None)

    with pytest.raises(ProviderError, match="page_param"):
        paging.next_cursor(cursor, ["a", "b"], None)


@pytest.mark.parametrize(
    ("ids", "total", "expected"),
    [
        (["a", "b"], None, "1:a"),  # a full page: there may be more
        (["a"], None, None),  # a short page ends the listing
        (["a", "b"], 2, None),  # the total is reached
        (["a", "b", "c"], None, None),  # paging ignored: the whole list at once
        ([], 9, None),  # nothing more, whatever the total says
    ],
)
def test_when_a_listing_ends(ids, total, expected):
    assert (
        NumberedPages(PROVIDER_ID, page_size=2).next_cursor(None, ids, total)
        == expected
    )
