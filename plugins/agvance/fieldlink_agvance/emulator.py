"""An emulator of Agvance (SSI) for tests and the demo.

It enforces what the reference says Agvance enforces (providers.md section 10): a
session only for the integration's API key with an Agvance user's username,
password and API database ID, and only for users granted Hub / API Security. The
rest, unpublished, it serves as the plugin guesses: sign-in with a JSON body at
``/api/Authenticate``, the ``apiKey`` and ``sessionId`` headers on every call, and
lists named after GetCustomerList (``GetCustomerList``, ``GetFarmList``,
``GetFieldList``) paged by ``page`` (from 0) and ``size`` (1 to 100) with
``X-Total-Count``.
"""

from __future__ import annotations

import random
import time
from typing import Any

import attrs
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.paging import serve_page
from fieldlink.sandbox import DEFAULT_ACCOUNT, BaseEmulator, canary, json_response

from ._options import PROVIDER_ID
from ._session import LOGIN_FIELDS

#: Longest page the emulator serves.
MAX_PAGE_SIZE = 100
#: The API database the sandbox grower's Agvance customer set up.
DATABASE_ID = "48213"


@attrs.define
class _User:
    username: str
    password: str
    #: Granted "Hub / API Security" in Agvance's Admin Utilities.
    api_access: bool = True


@attrs.define
class _Session:
    account: str
    expires_at: float
    #: The emulator's issue stamp: a later revocation ends the session.
    issued: int


class AgvanceEmulator(BaseEmulator):
    provider = PROVIDER_ID
    #: Seconds a session lives here (Agvance's own lifetime is not published).
    session_lifetime = 1200

    def __init__(self, *, size: int = 5, seed: int = 0) -> None:
        self.api_key = canary("agvance-api-key")
        self.users = {
            DEFAULT_ACCOUNT: _User("jsmith", canary("agvance-password")),
            # A user of the same database whom nobody granted API access.
            "clerk": _User("clerk", canary("agvance-password"), api_access=False),
        }
        self.sessions: dict[str, _Session] = {}
        self.sign_ins = 0
        super().__init__(size=size, seed=seed)

    def seed(self, size: int, seed: int) -> dict[str, Any]:
        rng = random.Random(seed)
        growers: list[dict[str, Any]] = []
        farms: dict[str, list[dict[str, Any]]] = {}
        fields: dict[str, list[dict[str, Any]]] = {}
        for number in range(1, size + 1):
            grower_id = f"C{number:05d}"
            growers.append({"id": grower_id, "name": f"Customer {number}"})
            # One to three farms per grower, one to four fields per farm.
            farms[grower_id] = []
            for farm_number in range(1, 2 + number % 3):
                farm_id = f"{grower_id}-F{farm_number}"
                farms[grower_id].append({"id": farm_id, "name": f"Farm {farm_number}"})
                fields[farm_id] = [
                    {
                        "id": f"{farm_id}-{field_number}",
                        "name": f"Field {field_number}",
                        "acres": round(rng.uniform(10, 640), 1),
                    }
                    for field_number in range(1, 2 + rng.randrange(4))
                ]
        return {"growers": growers, "farms": farms, "fields": fields}

    def routes(self) -> list[Rule]:
        return [
            Rule("/api/Authenticate", endpoint="authenticate", methods=["POST"]),
            Rule("/api/GetCustomerList", endpoint="customer_list", methods=["GET"]),
            Rule("/api/GetFarmList", endpoint="farm_list", methods=["GET"]),
            Rule("/api/GetFieldList", endpoint="field_list", methods=["GET"]),
        ]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {
            "login_url": f"{base_url}/api/Authenticate",
            "growers_url": f"{base_url}/api/GetCustomerList",
            "farms_url": f"{base_url}/api/GetFarmList?customerId={{parent}}",
            "fields_url": f"{base_url}/api/GetFieldList?farmId={{parent}}",
        }

    def app_fields(self) -> dict[str, str]:
        return {"apiKey": self.api_key}

    def login_fields(self, account: str = DEFAULT_ACCOUNT) -> dict[str, str]:
        user = self.users[account]
        return {
            "databaseId": DATABASE_ID,
            "username": user.username,
            "password": user.password,
        }

    # Controls for tests

    def expire_sessions(self) -> None:
        with self.lock:
            for session in self.sessions.values():
                session.expires_at = 0

    def change_password(self, account: str = DEFAULT_ACCOUNT) -> None:
        """The user changes the password in Agvance: the old one stops working."""
        with self.lock:
            self.users[account].password = canary("agvance-password")

    def revoke(self, account: str = DEFAULT_ACCOUNT) -> None:
        """The grower withdraws the host's access: its sessions end, and so does the
        password it holds; a login with the new one (``login_fields``) works."""
        super().revoke(account)
        if account in self.users:
            self.change_password(account)

    # Sign-in

    def authenticate(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not all(
            isinstance(body.get(name), str) and body[name] for name in LOGIN_FIELDS
        ):
            return _error(400, f"send JSON with {', '.join(LOGIN_FIELDS)}")
        with self.lock:
            self.sign_ins += 1
            if body["apiKey"] != self.api_key:
                return _error(401, "invalid API key")
            if body["databaseId"] != DATABASE_ID:
                return _error(401, "unknown API database")
            account = next(
                (n for n, u in self.users.items() if u.username == body["username"]),
                None,
            )
            if account is None or self.users[account].password != body["password"]:
                return _error(401, "invalid username or password")
            if not self.users[account].api_access:
                return _error(403, "user has no Hub / API Security access")
            session_id = canary("agvance-session")
            self.sessions[session_id] = _Session(
                account, time.time() + self.session_lifetime, self.issue_stamp()
            )
            return json_response({"sessionId": session_id})

    # Lists

    def customer_list(self, request: Request) -> Response:
        return self._page(request, self.data["growers"])

    def farm_list(self, request: Request) -> Response:
        customer = request.args.get("customerId", "")
        return self._page(request, self.data["farms"].get(customer, []))

    def field_list(self, request: Request) -> Response:
        farm = request.args.get("farmId", "")
        return self._page(request, self.data["fields"].get(farm, []))

    def _page(self, request: Request, values: list[dict[str, Any]]) -> Response:
        if not self._authorised(request):
            return _error(401, "invalid or expired session")
        try:
            chunk, headers = serve_page(request.args, values, max_size=MAX_PAGE_SIZE)
        except ValueError as error:
            return _error(400, str(error))
        return json_response(chunk, headers=headers)

    def _authorised(self, request: Request) -> bool:
        if request.headers.get("apiKey") != self.api_key:
            return False
        with self.lock:
            session = self.sessions.get(request.headers.get("sessionId", ""))
            return (
                session is not None
                and session.expires_at >= time.time()
                and not self.is_revoked(session.account, session.issued)
            )


def _error(status: int, message: str) -> Response:
    return json_response({"message": message}, status=status)
