"""The emulator enforces Sentera's rules on its own, whatever a client sends."""

import attrs
import pytest

from fieldlink.http import make_session
from fieldlink.sandbox import serve
from fieldlink_sentera._queries import FIELDS_QUERY, ORGANIZATIONS_QUERY
from fieldlink_sentera.emulator import SANDBOX_ORGANIZATION, SenteraEmulator

PAGINATION = {"page": 1, "page_size": 10}


@attrs.frozen
class Served:
    emulator: SenteraEmulator
    endpoints: dict[str, str]


@pytest.fixture
def sentera():
    # The emulator alone, without a Fieldlink: these tests speak HTTP to it directly.
    emulator = SenteraEmulator(size=12)
    with serve(emulator) as running:
        yield Served(emulator, emulator.endpoints(running.url))


@pytest.fixture
def http():
    with make_session(retries=0) as session:
        yield session


def _sign_in(sentera, http, **changes):
    login = sentera.emulator.login_fields()
    session = {
        "email": login["username"],
        "password": login["password"],
        "platform_id": "API",
        "version_id": "1.0.0",
        **changes,
    }
    return http.post(
        sentera.endpoints["session_url"], json={"session": session}, timeout=10
    )


@pytest.fixture
def bearer(sentera, http):
    return "Bearer " + _sign_in(sentera, http).json()["auth_token"]


def _graphql(sentera, http, query, variables=None, authorization=None, **extra):
    headers = {"Authorization": authorization} if authorization else {}
    body = {"query": query, "variables": variables or {}, **extra}
    response = http.post(
        sentera.endpoints["graphql_url"], json=body, headers=headers, timeout=10
    )
    assert response.status_code == 200
    return response.json()


def _error(answer):
    assert answer.get("data") in (None, {}) or "errors" in answer
    return answer["errors"][0]["message"]


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"password": "wrong"}, 401),
        ({"email": "someone@example.com"}, 401),
        ({"platform_id": "WEB"}, 422),
        ({"version_id": "2.0.0"}, 422),
    ],
)
def test_sign_in_checks_the_login_and_the_legacy_client(sentera, http, changes, status):
    response = _sign_in(sentera, http, **changes)

    assert response.status_code == status
    assert "auth_token" not in response.json()


def test_sign_in_issues_a_token(sentera, http):
    response = _sign_in(sentera, http)

    assert response.status_code == 200
    assert response.json()["auth_token"].startswith("CANARY-")
    assert sentera.emulator.sign_ins == 1


@pytest.mark.parametrize("authorization", [None, "Bearer nonsense", "Token {token}"])
def test_an_unusable_token_is_an_error_inside_a_200(
    sentera, http, bearer, authorization
):
    if authorization:
        authorization = authorization.format(token=bearer.removeprefix("Bearer "))

    answer = _graphql(
        sentera, http, ORGANIZATIONS_QUERY, {"pagination": PAGINATION}, authorization
    )

    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_expired_tokens_are_refused(sentera, http, bearer):
    sentera.emulator.expire_tokens()

    answer = _graphql(
        sentera, http, ORGANIZATIONS_QUERY, {"pagination": PAGINATION}, bearer
    )

    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_fields_are_paged_from_page_1(sentera, http, bearer):
    owner = sentera.emulator.organization(SANDBOX_ORGANIZATION)["sentera_id"]
    variables = {"pagination": {"page": 2, "page_size": 10}, "owner": owner}

    answer = _graphql(sentera, http, FIELDS_QUERY, variables, bearer)

    page = answer["data"]["fields"]
    assert "errors" not in answer
    assert (page["total_count"], page["page"], page["page_size"]) == (12, 2, 10)
    assert [field["name"] for field in page["results"]] == [
        f"{SANDBOX_ORGANIZATION} field 11",
        f"{SANDBOX_ORGANIZATION} field 12",
    ]


def test_answers_follow_the_selection(sentera, http, bearer):
    query = """
    # a comment, an alias and __typename
    { orgs: organizations(pagination: {page: 1, page_size: 1}) {
        total_count results { __typename name } } }
    """

    answer = _graphql(sentera, http, query, authorization=bearer)

    assert answer == {
        "data": {
            "orgs": {
                "total_count": 2,
                "results": [
                    {"__typename": "Organization", "name": SANDBOX_ORGANIZATION}
                ],
            }
        }
    }


def test_get_requests_are_served(sentera, http, bearer):
    response = http.get(
        sentera.endpoints["graphql_url"],
        params={
            "query": ORGANIZATIONS_QUERY,
            "variables": '{"pagination": {"page": 1, "page_size": 5}}',
        },
        headers={"Authorization": bearer},
        timeout=10,
    )

    assert response.json()["data"]["organizations"]["total_count"] == 2


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (
            "{ fields(pagination: {page: 1, page_size: 5}) { results { acreage } } }",
            {},
            "Field 'acreage' doesn't exist on type 'Field'",
        ),
        (
            "{ surveys { total_count } }",
            {},
            "Field 'surveys' doesn't exist on type 'Query'",
        ),
        (
            "mutation { fields(pagination: {page: 1, page_size: 5}) { page } }",
            {},
            "answers queries only",
        ),
        (
            "query Q { fields(pagination: $pagination) { page } }",
            {"pagination": PAGINATION},
            'Variable "$pagination" is not defined',
        ),
        (
            "query Q($pagination: PaginationInput!) { fields(pagination: $pagination) "
            "{ page } }",
            {},
            'Variable "$pagination" of required type "PaginationInput!" was not '
            "provided.",
        ),
        (
            "query Q($owner: ID) { fields(pagination: {page: 1, page_size: 5}) "
            "{ page } }",
            {},
            'Variable "$owner" is never used',
        ),
        ("{ fields { results { name } }", {}, "Syntax Error"),
        (
            "{ fields(pagination: {page: 1, page_size: 500}) { page } }",
            {},
            "page_size must be an integer from 1 to 100",
        ),
        (
            '{ fields(pagination: {page: 1, page_size: 5}, owner: "nope") { page } }',
            {},
            "Organization not found",
        ),
        ("{ ...Everything }", {}, "Fragments are not supported"),
    ],
)
def test_bad_queries_are_errors_inside_a_200(
    sentera, http, bearer, query, variables, message
):
    answer = _graphql(sentera, http, query, variables, bearer)

    assert message in answer["errors"][0]["message"]


def test_the_body_must_be_json(sentera, http, bearer):
    response = http.post(
        sentera.endpoints["graphql_url"],
        data={"query": ORGANIZATIONS_QUERY},
        headers={"Authorization": bearer},
        timeout=10,
    )

    assert "application/json" in response.json()["errors"][0]["message"]


def test_throttled_calls_say_when_to_retry(sentera, http, bearer):
    sentera.emulator.throttle(times=1, retry_after=7)

    response = http.post(
        sentera.endpoints["graphql_url"],
        json={"query": ORGANIZATIONS_QUERY, "variables": {"pagination": PAGINATION}},
        headers={"Authorization": bearer},
        timeout=10,
    )

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_seeded_data_is_reproducible():
    first = SenteraEmulator(size=4, seed=3)
    again = SenteraEmulator(size=4, seed=3)
    other = SenteraEmulator(size=4, seed=4)

    assert first.data == again.data
    assert first.data != other.data
    assert len(first.organization(SANDBOX_ORGANIZATION)["fields"]) == 4
