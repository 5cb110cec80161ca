"""The one HTTP layer every outgoing call goes through.

It sets explicit timeouts, retries idempotent calls on 429 and 5xx with back-off
(honouring ``Retry-After`` as seconds or as an HTTP date, RFC 9110 section 10.2.3),
turns passing failures into :class:`~fieldlink.errors.ProviderUnavailable`, and logs
each call at debug level with secrets taken out of the URL. Token requests are POSTs
and are never retried: a rotated refresh token can be spent only once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from ._version import __version__
from .errors import ConfigurationError, ProviderError, ProviderUnavailable
from .models import Page

if TYPE_CHECKING:
    from types import TracebackType

    from urllib3 import BaseHTTPResponse
    from urllib3.connectionpool import ConnectionPool

logger = logging.getLogger(__name__)

#: (connect, read) seconds; no call ever waits without a limit.
DEFAULT_TIMEOUT = (5.0, 30.0)
#: How many times an idempotent call is tried again after a 429 or 5xx.
DEFAULT_RETRIES = 3
#: Seconds between tries grow as BACKOFF_FACTOR * 2 ** n.
BACKOFF_FACTOR = 0.5
#: A Retry-After longer than this is not waited for in-process; the caller gets
#: ProviderUnavailable with ``retry_after`` set instead.
MAX_RETRY_AFTER = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = f"fieldlink/{__version__}"

#: Query parameters whose values never reach a log line.
SECRET_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "client_assertion",
        "client_secret",
        "code",
        "code_verifier",
        "id_token",
        "key",
        "password",
        "refresh_token",
        "secret",
        "signature",
        "state",
        "token",
        "x-amz-signature",
    }
)


class _Retry(Retry):
    """urllib3's retry policy, with ``Retry-After`` read as :func:`retry_after_seconds`
    reads it, and no wait longer than MAX_RETRY_AFTER."""

    def parse_retry_after(self, retry_after: str) -> float:
        # urllib3 raises on a value it cannot read; 0 falls back to the back-off.
        return retry_after_seconds(retry_after) or 0.0

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        delay = None if response is None else self.get_retry_after(response)
        if delay is not None and delay > MAX_RETRY_AFTER:
            # With raise_on_status off, urllib3 hands this response back instead of
            # sleeping; HttpClient turns it into ProviderUnavailable with retry_after.
            reason = ResponseError(f"Retry-After of {delay:.0f} s")
            raise MaxRetryError(_pool, url, reason)  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)


def make_session(retries: int = DEFAULT_RETRIES) -> requests.Session:
    """A requests session with fieldlink's retry policy; the only session factory."""
    session = requests.Session()
    policy = _Retry(
        total=retries,
        backoff_factor=BACKOFF_FACTOR,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=IDEMPOTENT_METHODS,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def redact_url(url: str) -> str:
    """``url`` with credentials in its user info and secret query values masked."""
    parts = urlsplit(url)
    # Host and port as written, even a port that is not a number.
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode(
        [
            (key, "***" if key.lower() in SECRET_PARAMS else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def is_http_url(value: object) -> bool:
    """Whether ``value`` is an absolute http or https URL with a host, one that a
    request can be sent to."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a port that is not a number
        requests.PreparedRequest().prepare_url(value, None)
    except (ValueError, requests.RequestException):
        return False
    host = parts.hostname or ""
    # An empty label ("alerts..example") only fails once the request is sent.
    labels = host.rstrip(".").split(".")
    return parts.scheme in ("http", "https") and bool(host) and all(labels)


def retry_after_seconds(value: str | None) -> float | None:
    """Parse ``Retry-After``: delay-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


#: Called after every response: (method, redacted URL, status code).
ResponseObserver = Callable[[str, str, int], None]


class HttpClient:
    """Sends a provider's requests; ``auth`` (if given) authorises each one."""

    def __init__(
        self,
        session: requests.Session,
        provider: str,
        *,
        auth: Callable[[requests.PreparedRequest], requests.PreparedRequest]
        | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        on_response: ResponseObserver | None = None,
        unreachable_hint: str = "",
    ) -> None:
        self.session = session
        self.provider = provider
        self.auth = auth
        self.timeout = timeout
        self.on_response = on_response
        #: Added to "cannot reach": what to check when nothing answers (a sandbox...).
        self.unreachable_hint = unreachable_hint

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request; raise ProviderUnavailable for a failure that may pass, and
        ConfigurationError for a URL no request can go to."""
        kwargs.setdefault("timeout", self.timeout)
        if self.auth is not None:
            kwargs.setdefault("auth", self.auth)
        try:
            prepared = requests.Request(
                method, url, params=kwargs.get("params")
            ).prepare()
            shown = redact_url(prepared.url or url)
            response = self.session.request(method, url, **kwargs)
        except (
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidURL,
        ):
            raise ConfigurationError(
                f"cannot send {self.provider} a request at {redact_url(url)}: a URL "
                "needs http:// or https://, a host, and a port (if any) that is a "
                "number; correct the endpoint or the sandbox URL it comes from",
                provider=self.provider,
            ) from None
        except requests.Timeout:
            raise ProviderUnavailable(
                f"{self.provider} did not answer {method} {shown} in time",
                provider=self.provider,
            ) from None
        except requests.ConnectionError:
            hint = f"; {self.unreachable_hint}" if self.unreachable_hint else ""
            raise ProviderUnavailable(
                f"cannot reach {self.provider} at {shown}{hint}",
                provider=self.provider,
            ) from None

        logger.debug(
            "%s %s %s -> %s", self.provider, method, shown, response.status_code
        )
        if self.on_response is not None:
            self.on_response(method, shown, response.status_code)
        if response.status_code in RETRY_STATUSES:
            raise ProviderUnavailable(
                f"{self.provider} answered {method} {shown} with HTTP "
                f"{response.status_code}; try again later",
                provider=self.provider,
                status=response.status_code,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def json(self, response: requests.Response, *, what: str) -> Any:
        """The JSON body of a successful response, or a ProviderError naming ``what``."""
        if response.status_code >= 400:
            raise ProviderError(
                f"{self.provider} refused {what} with HTTP {response.status_code}",
                provider=self.provider,
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise ProviderError(
                f"{self.provider} answered {what} with a body that is not JSON ({kind})",
                provider=self.provider,
                status=response.status_code,
            ) from None


def iter_pages(
    fetch: Callable[[str | None], Page], *, provider: str, first: str | None = None
) -> Iterator[Page]:
    """Yield pages from ``fetch(cursor)`` until a page has no next cursor.

    A cursor that comes back a second time would loop for ever; it ends the listing
    with a ProviderError after the pages already read.
    """
    seen: set[str] = set() if first is None else {first}
    cursor = first
    while True:
        page = fetch(cursor)
        yield page
        cursor = page.next_cursor
        if cursor is None:
            return
        if cursor in seen:
            raise ProviderError(
                f"{provider} returned a page cursor it had already returned; "
                "stopping instead of reading the same pages again",
                provider=provider,
            )
        seen.add(cursor)
