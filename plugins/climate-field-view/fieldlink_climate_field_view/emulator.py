"""An emulator of Climate FieldView for tests and the demo.

It enforces what the reference says Climate enforces: ``page=oidcauthn`` on the login
page, Basic client authentication at the token endpoint, refresh tokens that rotate
with an hour's grace, a partner API key in ``X-Api-Key`` on every platform call, and
paging by ``X-Limit`` and ``X-Next-Token`` with 206, 200, 304 and 409 answers. Tests
can make it expire next-tokens, throttle calls, or end the rotation grace at once.
"""

from __future__ import annotations

import random
import secrets
import uuid
from types import MappingProxyType
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.sandbox import OAuthEmulator, canary, json_response

MIN_LIMIT, MAX_LIMIT = 1, 100
#: A refresh token is valid 30 days from issue.
REFRESH_LIFETIME = 30 * 24 * 3600


class ClimateFieldViewEmulator(OAuthEmulator):
    provider = "climate-field-view"
    authorize_path = "/static/app-login/index.html"
    token_path = "/api/oauth/token"
    client_auth = "client_secret_basic"
    rotation = "rotate"
    rotation_grace = 3600.0
    access_lifetime = 14400
    refresh_lifetime = REFRESH_LIFETIME
    required_authorize_params = MappingProxyType({"page": "oidcauthn"})

    def __init__(self, *, size: int = 5, seed: int = 0) -> None:
        self.api_key = canary("api-key")
        #: Next-tokens issued, mapped to the offset they continue from.
        self.next_tokens: dict[str, int] = {}
        self.expired_next_tokens: set[str] = set()
        #: How many more API calls answer 429, and the Retry-After they carry.
        self.throttle_remaining = 0
        self.retry_after = 0
        super().__init__(size=size, seed=seed)

    def seed(self, size: int, seed: int) -> list[dict[str, Any]]:
        rng = random.Random(seed)

        def uid() -> str:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))

        return [
            {"id": uid(), "name": f"Field {number}", "boundaryId": uid()}
            for number in range(1, size + 1)
        ]

    def routes(self) -> list[Rule]:
        return [Rule("/v4/fields", endpoint="fields", methods=["GET"])]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {**super().endpoints(base_url), "api_base": base_url}

    def app_fields(self) -> dict[str, str]:
        return {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "apiKey": self.api_key,
        }

    def token_extras(self, account: str) -> dict[str, Any]:
        # The official sample greets the grower with these two members.
        return {"user": {"firstname": "Sandbox", "lastname": "Grower"}}

    # Controls for tests

    def expire_next_tokens(self) -> None:
        """Every next-token issued so far expires: presenting one answers 409."""
        with self.lock:
            self.expired_next_tokens.update(self.next_tokens)
            self.next_tokens.clear()

    def throttle(self, times: int = 1, retry_after: int = 0) -> None:
        """The next ``times`` API calls answer 429, as when a usage plan runs out."""
        with self.lock:
            self.throttle_remaining = times
            self.retry_after = retry_after

    # API

    def _answer(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        # Climate tags every response with an id for its support desk.
        tagged = {"X-Http-Request-Id": str(uuid.uuid4()), **(headers or {})}
        if body is None:
            return Response(status=status, headers=tagged)
        return json_response(body, status, tagged)

    def _guard(self, request: Request) -> Response | None:
        if self.bearer_account(request) is None:
            return self._answer({"message": "Unauthorized"}, 401)
        presented = request.headers.get("X-Api-Key", "")
        if not secrets.compare_digest(presented.encode(), self.api_key.encode()):
            return self._answer({"message": "Forbidden"}, 403)
        with self.lock:
            if self.throttle_remaining > 0:
                self.throttle_remaining -= 1
                return self._answer(
                    {"message": "Too Many Requests"},
                    429,
                    {"Retry-After": str(self.retry_after)},
                )
        return None

    def fields(self, request: Request) -> Response:
        refused = self._guard(request)
        if refused:
            return refused
        limit = _limit(request.headers.get("X-Limit"))
        if limit is None:
            message = f"X-Limit must be an integer from {MIN_LIMIT} to {MAX_LIMIT}"
            return self._answer({"message": message}, 400)

        token = request.headers.get("X-Next-Token")
        with self.lock:
            if token in self.expired_next_tokens:
                return self._answer({"message": "X-Next-Token has expired"}, 409)
            if token is not None and token not in self.next_tokens:
                return self._answer({"message": "X-Next-Token is not valid"}, 400)
            offset = 0 if token is None else self.next_tokens[token]
            results = self.data[offset : offset + limit]
            if not results:
                return self._answer(None, 304)
            if offset + limit >= len(self.data):
                return self._answer({"results": results})
            next_token = secrets.token_urlsafe(16)
            self.next_tokens[next_token] = offset + limit
        return self._answer({"results": results}, 206, {"X-Next-Token": next_token})


def _limit(header: str | None) -> int | None:
    """The page size a request asks for: 100 when absent, None when out of range."""
    if header is None:
        return MAX_LIMIT
    if not header.strip().isdigit():
        return None
    limit = int(header)
    return limit if MIN_LIMIT <= limit <= MAX_LIMIT else None
