"""An emulator of Stara Telemetria for tests and the demo.

It plays the two token steps of the reference (providers.md section 8) with JSON
bodies only: ``/autenticacao`` gives the account's apiKey for its login and
password, ``/token`` gives a token set for a live apiKey. What Stara does not
publish, it serves as the plugin guesses it: the tokens in ``Authorization:
Bearer`` and ``accessTokenClient``, fields paged by ``page`` (from 0) and ``size``
(1 to 100) with ``X-Total-Count``. ``/token/refresh`` stands in for a refresh
endpoint, used only when a test names it as ``refresh_url``; its refresh tokens are
single use, the strictest case.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

import attrs
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.paging import serve_page
from fieldlink.sandbox import DEFAULT_ACCOUNT, BaseEmulator, canary, json_response

from ._options import PROVIDER_ID

#: Longest page the emulator serves.
MAX_PAGE_SIZE = 100


@attrs.define
class _Tokens:
    account: str
    api_key: str
    client_token: str
    expires_at: float


@attrs.define
class _Account:
    login: str
    password: str
    #: The live apiKey; a login after it expired issues a new one.
    api_key: str | None = None


class StaraEmulator(BaseEmulator):
    provider = PROVIDER_ID
    #: Seconds an access token lives here (Stara's own lifetime is not published).
    token_lifetime = 3600

    def __init__(self, *, size: int = 5, seed: int = 0) -> None:
        self.accounts = {
            DEFAULT_ACCOUNT: _Account(
                "grower@sandbox.stara.example", canary("stara-password")
            )
        }
        #: apiKey -> account, for keys that still work.
        self.api_keys: dict[str, str] = {}
        self.access_tokens: dict[str, _Tokens] = {}
        #: refresh token -> (account, apiKey)
        self.refresh_tokens: dict[str, tuple[str, str]] = {}
        self.logins = 0
        self.token_requests = 0
        super().__init__(size=size, seed=seed)

    def seed(self, size: int, seed: int) -> list[dict[str, Any]]:
        rng = random.Random(seed)
        return [
            {
                "id": f"{number:05d}-{rng.randrange(16**6):06x}",
                "name": f"Talhão {number}",
                "areaHa": round(rng.uniform(5, 400), 1),
            }
            for number in range(1, size + 1)
        ]

    def routes(self) -> list[Rule]:
        return [
            Rule("/autenticacao", endpoint="authenticate", methods=["POST"]),
            Rule("/token", endpoint="token", methods=["POST"]),
            Rule("/token/refresh", endpoint="refresh", methods=["POST"]),
            Rule("/fields", endpoint="fields", methods=["GET"]),
        ]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {
            "auth_url": f"{base_url}/autenticacao",
            "token_url": f"{base_url}/token",
            "fields_url": f"{base_url}/fields",
        }

    def login_fields(self) -> dict[str, str]:
        account = self.accounts[DEFAULT_ACCOUNT]
        return {"login": account.login, "password": account.password}

    # Controls for tests

    def expire_api_keys(self) -> None:
        """Every apiKey stops working; logging in again issues a new one."""
        with self.lock:
            self.api_keys.clear()
            for account in self.accounts.values():
                account.api_key = None

    def expire_access_tokens(self) -> None:
        with self.lock:
            for tokens in self.access_tokens.values():
                tokens.expires_at = 0

    def revoke(self, account: str = DEFAULT_ACCOUNT) -> None:
        """The grower withdraws access: the account's apiKey dies, and with it every
        token issued for it; logging in again issues a new apiKey that works."""
        super().revoke(account)
        with self.lock:
            withdrawn = self.accounts.get(account)
            if withdrawn is not None and withdrawn.api_key is not None:
                self.api_keys.pop(withdrawn.api_key, None)
                withdrawn.api_key = None

    # The token steps

    def authenticate(self, request: Request) -> Response:
        body = _json_body(request, "login", "password")
        if body is None:
            return _error(400, "send JSON with login and password")
        with self.lock:
            self.logins += 1
            name = next(
                (n for n, a in self.accounts.items() if a.login == body["login"]), None
            )
            if name is None or self.accounts[name].password != body["password"]:
                return _error(401, "invalid login or password")
            account = self.accounts[name]
            if account.api_key is None:
                account.api_key = canary("stara-api-key")
                self.api_keys[account.api_key] = name
            return json_response({"apiKey": account.api_key})

    def token(self, request: Request) -> Response:
        body = _json_body(request, "apiKey")
        if body is None:
            return _error(400, "send JSON with apiKey")
        with self.lock:
            self.token_requests += 1
            account = self.api_keys.get(body["apiKey"])
            if account is None:
                return _error(401, "invalid apiKey")
            return self._issue(account, body["apiKey"])

    def refresh(self, request: Request) -> Response:
        body = _json_body(request, "refreshToken")
        if body is None:
            return _error(400, "send JSON with refreshToken")
        with self.lock:
            # Single use: the token presented is spent whatever happens next.
            owner = self.refresh_tokens.pop(body["refreshToken"], None)
            if owner is None or owner[1] not in self.api_keys:
                return _error(401, "invalid refreshToken")
            return self._issue(*owner)

    def _issue(self, account: str, api_key: str) -> Response:
        access, client, refresh = (
            canary("stara-access"),
            canary("stara-client"),
            canary("stara-refresh"),
        )
        self.access_tokens[access] = _Tokens(
            account, api_key, client, time.time() + self.token_lifetime
        )
        self.refresh_tokens[refresh] = (account, api_key)
        return json_response(
            {
                "accessToken": access,
                "accessTokenClient": client,
                "refreshToken": refresh,
            }
        )

    # Resources

    def fields(self, request: Request) -> Response:
        if self._account(request) is None:
            return _error(401, "invalid or expired token")
        try:
            chunk, headers = serve_page(request.args, self.data, max_size=MAX_PAGE_SIZE)
        except ValueError as error:
            return _error(400, str(error))
        return json_response(chunk, headers=headers)

    def _account(self, request: Request) -> str | None:
        """The account both tokens of a request belong to, if they are live."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        with self.lock:
            tokens = self.access_tokens.get(header.removeprefix("Bearer "))
            if (
                tokens is None
                or tokens.expires_at < time.time()
                or tokens.client_token != request.headers.get("accessTokenClient")
                or tokens.api_key not in self.api_keys
            ):
                return None
            return tokens.account


def _json_body(request: Request, *names: str) -> Mapping[str, str] | None:
    """The JSON object of the request if it has every name as a non-empty string."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None
    if not all(isinstance(body.get(name), str) and body[name] for name in names):
        return None
    return body


def _error(status: int, message: str) -> Response:
    return json_response({"message": message}, status=status)
