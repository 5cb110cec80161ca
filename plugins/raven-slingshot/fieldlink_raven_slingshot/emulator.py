"""An emulator of the Raven Slingshot API for tests and the demo.

It enforces the server checks of Slingshot's security overview page: the four
``X-SS-*`` headers, a known API key, a signature made by the same rule as the plugin
(:mod:`fieldlink_raven_slingshot.signing`, the shared secret read as
``shared_secret_encoding`` says), a timestamp at most 120 seconds old, a usable access
key, and 30 calls per 60 seconds per API key. Every refusal is a 401.

What Slingshot's documentation leaves open, the emulator decides, and says so here:

- a refusal's body is ``{"Message": ...}`` naming the failed check, or empty when
  ``detailed_errors`` is off (Slingshot details it only "sometimes");
- ``GET /accesskey`` still answers, with the summary, for an inactive or expired key,
  which every other route refuses; a revoked key is refused everywhere;
- the rate limit counts every call that carries the right API key, refused or
  not, and a 429 carries ``Retry-After``;
- pages hold at most ``max_page_size`` items;
- the item list of a SlingshotIndex is ``Items``, and items carry a ``date``;
- responses are XML unless the request accepts JSON.
"""

from __future__ import annotations

import collections
import hmac
import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import attrs
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.sandbox import DEFAULT_ACCOUNT, BaseEmulator, canary, json_response

from ._responses import MAX_REQUEST_AGE, PROVIDER_ID
from .signing import (
    ACCESS_KEY_HEADER,
    API_KEY_HEADER,
    BASE64,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    secret_key,
    signature,
    string_to_sign,
)

#: Slingshot's rate limit: this many calls per window of seconds.
RATE_LIMIT_CALLS = 30
RATE_LIMIT_WINDOW = 60.0
_HEADERS = (API_KEY_HEADER, ACCESS_KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
#: The newest job data file is dated shortly before this, whatever the seed.
_SEEDED_FROM = datetime(2026, 6, 1, 12, tzinfo=UTC)


@attrs.define
class AccessKey:
    """A grower's access key as the Slingshot Portal keeps it."""

    account: str
    id: int
    expires_at: datetime
    #: The emulator's issue stamp: a later revocation of the account ends the key.
    issued: int
    active: bool = True


class RavenSlingshotEmulator(BaseEmulator):
    provider = PROVIDER_ID
    #: The page size when ``pagesize`` is absent, and the largest served.
    default_page_size = 20
    max_page_size = 100

    def __init__(
        self,
        *,
        size: int = 5,
        seed: int = 0,
        shared_secret_encoding: str = BASE64,
        rate_limit_calls: int = RATE_LIMIT_CALLS,
        rate_limit_window: float = RATE_LIMIT_WINDOW,
    ) -> None:
        self.api_key = canary("apikey")
        # "sharedsecret" makes the canary 36 characters of the URL-safe base64
        # alphabet, so it reads as base64 as well as UTF-8.
        self.shared_secret = canary("sharedsecret")
        self.key_bytes = secret_key(self.shared_secret, shared_secret_encoding)
        self.access_keys: dict[str, AccessKey] = {}
        self.rate_limit_calls = rate_limit_calls
        self.rate_limit_window = rate_limit_window
        self.calls: collections.deque[float] = collections.deque()
        #: Whether a 401 says which check failed.
        self.detailed_errors = True
        super().__init__(size=size, seed=seed)
        self.grower_key = self.add_access_key(DEFAULT_ACCOUNT)

    def seed(self, size: int, seed: int) -> dict[str, list[dict[str, Any]]]:
        rng = random.Random(seed)
        computers = [
            {
                "id": number,
                "name": f"Field computer {index}",
                "subtype": "FieldComputer",
            }
            for index, number in enumerate(
                sorted(rng.sample(range(100, 100_000), size)), 1
            )
        ]
        jobs = []
        moment = _SEEDED_FROM
        for index, number in enumerate(rng.sample(range(100_000, 1_000_000), size), 1):
            # Job data comes newest first.
            moment -= timedelta(hours=rng.randint(1, 48))
            jobs.append(
                {
                    "id": number,
                    "name": f"Job {index}",
                    "subtype": "AsApplied",
                    "date": moment.isoformat(),
                }
            )
        return {"fieldcomputers": computers, "jobdata": jobs}

    def routes(self) -> list[Rule]:
        return [
            Rule("/accesskey", endpoint="access_key_summary", methods=["GET"]),
            Rule(
                "/<any(fieldcomputers, jobdata):kind>",
                endpoint="index",
                methods=["GET"],
            ),
        ]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {"api_base": base_url}

    def app_fields(self) -> dict[str, str]:
        return {"apiKey": self.api_key, "sharedSecret": self.shared_secret}

    def login_fields(self) -> dict[str, str]:
        with self.lock:
            key = self.access_keys[self.grower_key]
            if self.is_revoked(key.account, key.issued):
                # To connect again, the grower creates a new key in the Portal.
                self.grower_key = self.add_access_key(key.account)
            return {"accessKey": self.grower_key}

    # Controls for tests

    def add_access_key(self, account: str) -> str:
        """A new access key for ``account``, as a grower creates one in the Portal."""
        key = canary("accesskey")
        with self.lock:
            self.access_keys[key] = AccessKey(
                account,
                id=1000 + len(self.access_keys),
                expires_at=datetime.now(UTC) + timedelta(days=365),
                issued=self.issue_stamp(),
            )
        return key

    def deactivate(self, account: str = DEFAULT_ACCOUNT) -> None:
        """The grower clears the active flag of their access keys."""
        with self.lock:
            for key in self.access_keys.values():
                if key.account == account:
                    key.active = False

    def expire(self, account: str = DEFAULT_ACCOUNT) -> None:
        """The grower's access keys reach their expiration date."""
        with self.lock:
            for key in self.access_keys.values():
                if key.account == account:
                    key.expires_at = datetime.now(UTC) - timedelta(minutes=1)

    # API

    def access_key_summary(self, request: Request) -> Response:
        key = self._authenticate(request, summary=True)
        if isinstance(key, Response):
            return key
        summary = {
            "AccessKey": request.headers[ACCESS_KEY_HEADER],
            "ID": key.id,
            "FriendlyName": f"{key.account} key",
            "Description": "Created in the sandbox Slingshot Portal",
            "IsActive": key.active,
            "Contact": f"{key.account}@example.com",
            "ExpirationDateTime": key.expires_at.isoformat(timespec="seconds"),
        }
        return self._answer(request, summary, root="accesskey")

    def index(self, request: Request, kind: str) -> Response:
        refused = self._authenticate(request)
        if isinstance(refused, Response):
            return refused
        try:
            page = int(request.args.get("page", 0))
            size = int(request.args.get("pagesize", self.default_page_size))
        except ValueError:
            page = size = -1
        if page < 0 or size < 1:
            message = "page must be 0 or more and pagesize 1 or more"
            return self._answer(request, {"Message": message}, 400)

        size = min(size, self.max_page_size)
        items = self.data[kind]
        pages = math.ceil(len(items) / size)
        base = f"{request.host_url.rstrip('/')}{request.script_root}/{kind}"
        body = {
            "TotalCount": len(items),
            "PageSize": size,
            "IsPreviousPage": page > 0,
            "IsNextPage": page + 1 < pages,
            "PageIndex": page,
            "TotalPages": pages,
            "Items": [
                {**item, "uri": f"{base}/{item['id']}"}
                for item in items[page * size : (page + 1) * size]
            ],
        }
        return self._answer(request, body, root="slingshotindex")

    def _authenticate(
        self, request: Request, *, summary: bool = False
    ) -> AccessKey | Response:
        """The access key of a request that passes Slingshot's checks, or a refusal.

        ``summary`` lets an inactive or expired key through, for ``/accesskey``.
        """
        headers = request.headers
        missing = [name for name in _HEADERS if not headers.get(name)]
        if missing:
            return self._refuse(request, f"Missing header {missing[0]}")
        if not hmac.compare_digest(headers[API_KEY_HEADER], self.api_key):
            return self._refuse(request, "Invalid API Key")
        throttled = self._throttle(request)
        if throttled is not None:
            return throttled
        timestamp = headers[TIMESTAMP_HEADER]
        if not timestamp.isdigit():
            return self._refuse(request, "Invalid timestamp")

        # The signed URL is the path the client addressed: the mount point included.
        message = string_to_sign(
            request.method,
            urlsplit(f"//{request.host}").hostname or "",
            request.script_root + request.path,
            timestamp,
            headers[API_KEY_HEADER],
            headers[ACCESS_KEY_HEADER],
        )
        expected = signature(message, self.key_bytes)
        if not hmac.compare_digest(expected, headers[SIGNATURE_HEADER]):
            return self._refuse(request, "Invalid Signature")
        if time.time() - int(timestamp) > MAX_REQUEST_AGE:
            return self._refuse(request, "Request timestamp is too old")

        with self.lock:
            key = self.access_keys.get(headers[ACCESS_KEY_HEADER])
            if key is None or self.is_revoked(key.account, key.issued):
                return self._refuse(request, "Invalid Access Key")
            if not summary and not key.active:
                return self._refuse(request, "Access Key is inactive")
            if not summary and key.expires_at <= datetime.now(UTC):
                return self._refuse(request, "Access Key has expired")
        return key

    def _throttle(self, request: Request) -> Response | None:
        moment = time.time()
        with self.lock:
            while self.calls and self.calls[0] <= moment - self.rate_limit_window:
                self.calls.popleft()
            if len(self.calls) >= self.rate_limit_calls:
                wait = math.ceil(self.calls[0] + self.rate_limit_window - moment)
                return self._answer(
                    request,
                    {"Message": "Rate limit exceeded"},
                    429,
                    {"Retry-After": str(max(wait, 1))},
                )
            self.calls.append(moment)
        return None

    def _refuse(self, request: Request, reason: str) -> Response:
        if not self.detailed_errors:
            return self._answer(request, None, 401)
        return self._answer(request, {"Message": reason}, 401)

    def _answer(
        self,
        request: Request,
        body: dict[str, Any] | None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        root: str = "error",
    ) -> Response:
        if body is None:
            return Response(status=status, headers=headers)
        if "application/json" in request.headers.get("Accept", ""):
            return json_response(body, status, headers)
        return Response(
            _xml(root, body),
            status=status,
            headers=headers,
            content_type="application/xml",
        )


def _xml(root: str, body: dict[str, Any]) -> bytes:
    """``body`` as Slingshot's XML: the same members, in lower-case tags."""
    document = ElementTree.Element(root)
    for name, value in body.items():
        element = ElementTree.SubElement(document, name.lower())
        if isinstance(value, list):
            for item in value:
                entry = ElementTree.SubElement(element, "item")
                for key, member in item.items():
                    ElementTree.SubElement(entry, key.lower()).text = str(member)
        else:
            element.text = str(value).lower() if isinstance(value, bool) else str(value)
    return ElementTree.tostring(document, encoding="utf-8")
