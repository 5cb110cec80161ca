"""The HTTP layer: retries, Retry-After, timeouts, paging and redaction.

The servers are tiny Werkzeug apps on loopback that answer with an error status a set
number of times and record when each request came.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from fieldlink.errors import ProviderError, ProviderUnavailable
from fieldlink.http import (
    HttpClient,
    iter_pages,
    make_session,
    redact_url,
    retry_after_seconds,
)
from fieldlink.models import Page, Resource
from fieldlink.sandbox import serve

PROVIDER = "test-provider"
#: A wait the server asked for shows as a gap at least this long between two requests;
#: without Retry-After the first retry goes at once.
ASKED_WAIT_LOWER_BOUND = 0.5


class Busy:
    """Answers the first ``failures`` requests with ``status``, then 200 with JSON.

    ``retry_after`` is the Retry-After header of the failures: a string, or a function
    called at answering time (for HTTP dates).
    """

    def __init__(
        self,
        status: int = 503,
        failures: int = 1,
        retry_after: str | Callable[[], str] | None = None,
    ) -> None:
        self.status = status
        self.failures = failures
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.requests: list[tuple[str, float]] = []

    @property
    def methods(self) -> list[str]:
        return [method for method, _ in self.requests]

    def gaps(self) -> list[float]:
        moments = [moment for _, moment in self.requests]
        return [later - earlier for earlier, later in itertools.pairwise(moments)]

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append((request.method, time.monotonic()))
            count = len(self.requests)
        if count > self.failures:
            response = Response('{"ok": true}', content_type="application/json")
        else:
            headers = {}
            if self.retry_after is not None:
                value = self.retry_after
                headers["Retry-After"] = value() if callable(value) else value
            response = Response("busy", status=self.status, headers=headers)
        return response(environ, start_response)


@pytest.fixture
def busy() -> Iterator[Callable[..., tuple[Busy, str]]]:
    """``busy(**options)`` serves a :class:`Busy` app; returns it and its URL."""
    servers = []

    def start(**options: Any) -> tuple[Busy, str]:
        app = Busy(**options)
        server = serve(app)
        servers.append(server)
        return app, f"{server.url}/resource"

    yield start
    for server in servers:
        server.stop()


def client(retries: int | None = None, **options: Any) -> HttpClient:
    session = make_session() if retries is None else make_session(retries=retries)
    return HttpClient(session, PROVIDER, **options)


def http_date(seconds_ahead: float) -> Callable[[], str]:
    return lambda: formatdate(time.time() + seconds_ahead, usegmt=True)


# retries


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_get_is_retried_then_succeeds(
    busy: Callable[..., tuple[Busy, str]], status: int
) -> None:
    app, url = busy(status=status, failures=1)

    response = client().get(url)

    assert response.status_code == 200
    assert app.methods == ["GET", "GET"]


def test_retries_run_out_into_provider_unavailable(
    busy: Callable[..., tuple[Busy, str]],
) -> None:
    app, url = busy(status=503, failures=10)

    with pytest.raises(ProviderUnavailable) as info:
        client(retries=1).get(url)

    assert info.value.status == 503
    assert info.value.retryable
    assert app.methods == ["GET", "GET"]


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(429, "1"), (503, http_date(2))],
    ids=["seconds", "http-date"],
)
def test_retry_after_is_honoured(
    busy: Callable[..., tuple[Busy, str]], status: int, retry_after: Any
) -> None:
    app, url = busy(status=status, failures=1, retry_after=retry_after)

    response = client().get(url)

    assert response.status_code == 200
    assert app.methods == ["GET", "GET"]
    [gap] = app.gaps()
    assert gap >= ASKED_WAIT_LOWER_BOUND


@pytest.mark.parametrize(
    ("retry_after", "announced"),
    [("3600", 3600), (http_date(86400), 86000)],
    ids=["seconds", "http-date"],
)
def test_long_retry_after_is_left_to_the_caller(
    busy: Callable[..., tuple[Busy, str]], retry_after: Any, announced: float
) -> None:
    app, url = busy(status=503, failures=10, retry_after=retry_after)

    with pytest.raises(ProviderUnavailable) as info:
        client().get(url)

    assert info.value.retry_after >= announced
    assert app.methods == ["GET"]


def test_unreadable_retry_after_falls_back_to_back_off(
    busy: Callable[..., tuple[Busy, str]],
) -> None:
    app, url = busy(status=503, failures=1, retry_after="when the cows come home")

    response = client().get(url)

    assert response.status_code == 200
    assert app.methods == ["GET", "GET"]


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, "1")])
def test_post_is_never_retried(
    busy: Callable[..., tuple[Busy, str]], status: int, retry_after: str | None
) -> None:
    app, url = busy(status=status, failures=1, retry_after=retry_after)

    with pytest.raises(ProviderUnavailable) as info:
        client().post(url, data={"grant_type": "refresh_token"})

    assert info.value.status == status
    assert app.methods == ["POST"]


def test_each_response_is_reported_with_a_redacted_url(
    busy: Callable[..., tuple[Busy, str]],
) -> None:
    _, url = busy(status=503, failures=0)
    seen: list[tuple[str, str, int]] = []

    client(on_response=lambda *call: seen.append(call)).get(f"{url}?code=s3cret&page=2")

    [(method, shown, status)] = seen
    assert (method, status) == ("GET", 200)
    assert shown.endswith("/resource?code=%2A%2A%2A&page=2")


# failures without a response


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_timeout_is_provider_unavailable(silent_url: str, method: str) -> None:
    # No retries: each retried GET would wait for the timeout again.
    with pytest.raises(ProviderUnavailable) as info:
        client(retries=0, timeout=0.2).request(method, silent_url)

    assert info.value.status is None
    assert info.value.provider == PROVIDER
    assert info.value.retryable


def test_unreachable_provider_is_provider_unavailable() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    # Nothing listens on the port any more.

    with pytest.raises(ProviderUnavailable, match="cannot reach"):
        client(retries=0).get(f"http://127.0.0.1:{port}/resource")


# Retry-After parsing


def test_retry_after_seconds_reads_both_forms() -> None:
    assert retry_after_seconds("120") == 120
    assert 100 < retry_after_seconds(formatdate(time.time() + 120, usegmt=True)) <= 120
    assert retry_after_seconds(formatdate(time.time() - 120, usegmt=True)) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# paging


def pages(
    links: dict[str | None, str | None],
) -> tuple[Callable[[str | None], Page], list]:
    """A fetch function over pages keyed by cursor, each pointing at the next."""
    asked: list[str | None] = []

    def fetch(cursor: str | None) -> Page:
        asked.append(cursor)
        return Page([Resource("fields", f"field-on-{cursor}")], links[cursor])

    return fetch, asked


def test_iter_pages_reads_until_no_cursor() -> None:
    fetch, asked = pages({None: "b", "b": "c", "c": None})

    read = list(iter_pages(fetch, provider=PROVIDER))

    assert [page.items[0].id for page in read] == [
        "field-on-None",
        "field-on-b",
        "field-on-c",
    ]
    assert asked == [None, "b", "c"]


@pytest.mark.parametrize(
    ("links", "first", "expected"),
    [
        ({None: "b", "b": "c", "c": "b"}, None, [None, "b", "c"]),
        ({None: "b", "b": "b"}, None, [None, "b"]),
        ({"a": "b", "b": "a"}, "a", ["a", "b"]),
        ({"a": "a"}, "a", ["a"]),
    ],
    ids=["loop", "self", "back-to-first", "first-to-itself"],
)
def test_iter_pages_stops_at_a_repeated_cursor(
    links: dict[str | None, str | None], first: str | None, expected: list[str | None]
) -> None:
    fetch, asked = pages(links)
    read = []

    with pytest.raises(ProviderError, match="already returned"):
        for page in iter_pages(fetch, provider=PROVIDER, first=first):
            read.append(page)

    assert asked == expected
    assert len(read) == len(expected)


# redaction


@pytest.mark.parametrize(
    "name",
    [
        "code",
        "state",
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "code_verifier",
        "api_key",
        "apikey",
        "key",
        "password",
        "secret",
        "signature",
        "Code",
        "ACCESS_TOKEN",
    ],
)
def test_redact_url_masks_secret_parameters(name: str) -> None:
    shown = redact_url(f"https://provider.example/cb?{name}=s3cret-value&itemLimit=10")

    assert "s3cret-value" not in shown
    assert shown == f"https://provider.example/cb?{name}=%2A%2A%2A&itemLimit=10"


def test_redact_url_drops_user_info_and_fragment() -> None:
    shown = redact_url(
        "https://user:pa55word@provider.example:8443/a/b?x=1#access_token=s3cret"
    )

    assert shown == "https://provider.example:8443/a/b?x=1"


def test_redact_url_leaves_a_plain_url_alone() -> None:
    url = "https://provider.example/platform/organizations?itemLimit=100&pageOffset=10"

    assert redact_url(url) == url
