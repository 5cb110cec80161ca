"""An emulator of Trimble Agriculture for tests and the demo.

It enforces what Trimble's Ag API docs say Trimble enforces:
``scope=openid <applicationName>`` on the authorisation request, Basic client
authentication at the token endpoint, access tokens of an hour, single-use refresh
tokens that expire after 7 days, RFC 7009 revocation, and no organisation readable
until the grower authorises the app on the emulated trimbleag.com page. Lists answer
``result`` and ``bookmark`` envelopes of at most 1000 records.
"""

from __future__ import annotations

import random
import secrets
import uuid
from types import MappingProxyType
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.sandbox import DEFAULT_ACCOUNT, OAuthEmulator, canary, json_response

from ._provider import DEFAULT_BOOKMARK_PARAM, MAX_PAGE_SIZE

#: The application name of the sandbox app, which the scope must carry.
APPLICATION_NAME = "fieldlink-sandbox"
#: Trimble's auth-code page says 7 days and its client-credentials page 9: the
#: emulator takes the shorter.
REFRESH_LIFETIME = 7 * 24 * 3600
API_PREFIX = "/Trimble-Ag-Software/externalApi/3.0"
ORG_AUTHORIZATION_PATH = "/ThirdPartyAccess/ThirdPartyAuthorizationRedirect"


class TrimbleEmulator(OAuthEmulator):
    """Trimble Identity and the Ag API, with ``size`` organisations of ``size`` fields.

    ``page_size`` (at most 1000, as at Trimble) lets tests page through few records;
    ``bookmark_param`` names the query parameter the bookmark arrives in.
    """

    provider = "trimble"
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    revoke_path = "/oauth/revoke"
    client_auth = "client_secret_basic"
    rotation = "single_use"
    access_lifetime = 3600
    refresh_lifetime = REFRESH_LIFETIME
    required_authorize_params = MappingProxyType(
        {"scope": f"openid {APPLICATION_NAME}"}
    )

    def __init__(
        self,
        *,
        size: int = 5,
        seed: int = 0,
        page_size: int = MAX_PAGE_SIZE,
        bookmark_param: str = DEFAULT_BOOKMARK_PARAM,
    ) -> None:
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.bookmark_param = bookmark_param
        #: Accounts whose grower authorised this app on the organisations page.
        self.authorized_accounts: set[str] = set()
        #: Bookmarks handed out: token -> (path of the list, offset it continues at).
        self.bookmarks: dict[str, tuple[str, int]] = {}
        super().__init__(size=size, seed=seed)

    def seed(self, size: int, seed: int) -> dict[str, Any]:
        rng = random.Random(seed)
        organizations = [
            {
                "id": _uuid(rng),
                "name": f"Sandbox Farms {number}",
                "timezoneName": "UTC",
                "currencyCode": "USD",
                "isMetric": number % 2 == 0,
            }
            for number in range(1, size + 1)
        ]
        index = {org["id"]: number for number, org in enumerate(organizations)}
        return {"organizations": organizations, "index": index}

    def routes(self) -> list[Rule]:
        return [
            Rule(f"{API_PREFIX}/config/organizations", endpoint="organizations"),
            Rule(f"{API_PREFIX}/resources/<org_id>/fields", endpoint="fields"),
            Rule(
                ORG_AUTHORIZATION_PATH,
                endpoint="third_party_authorization",
                methods=["GET", "POST"],
            ),
        ]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {
            **super().endpoints(base_url),
            "api_base": base_url + API_PREFIX,
            "org_authorization_url": base_url + ORG_AUTHORIZATION_PATH,
        }

    def host_settings(self) -> dict[str, Any]:
        return {"application_name": APPLICATION_NAME}

    def token_extras(self, account: str) -> dict[str, Any]:
        # Trimble Identity is OpenID Connect: every token response has an id_token.
        return {"id_token": canary("trimble-id-token")}

    # Controls for tests

    def authorize_organizations(self, account: str = DEFAULT_ACCOUNT) -> None:
        """The grower authorises the app for their organisations on trimbleag.com."""
        with self.lock:
            self.authorized_accounts.add(account)

    def expire_refresh_tokens(self) -> None:
        """Every refresh token issued so far is past its 7 days."""
        with self.lock:
            for token in self.refresh_tokens.values():
                token.expires_at = 0

    # The organisations page on trimbleag.com

    def third_party_authorization(self, request: Request) -> Response:
        if request.values.get("clientid") != self.client_id:
            return Response("unknown clientid", status=400)
        if request.method == "GET":
            return self.consent_page(request, request.args)
        if request.form.get("decision") == "allow":
            self.authorize_organizations(request.form.get("account", DEFAULT_ACCOUNT))
        # Client-credentials apps come without a redirectionUrl and stay here.
        redirect = request.values.get("redirectionUrl")
        if redirect:
            return self._redirect(redirect)
        return Response("Your organizations were saved.", content_type="text/plain")

    # API

    def organizations(self, request: Request) -> Response:
        account = self.bearer_account(request)
        if account is None:
            return _error(401, "Unauthorized")
        # The list holds the organisations authorised for the app: none at first.
        authorized = account in self.authorized_accounts
        return self._page(request, self.data["organizations"] if authorized else [])

    def fields(self, request: Request, org_id: str) -> Response:
        account = self.bearer_account(request)
        if account is None:
            return _error(401, "Unauthorized")
        number = self.data["index"].get(org_id)
        if number is None:
            return _error(404, "Organization not found")
        if account not in self.authorized_accounts:
            return _error(403, "The organization has not authorized this application")
        return self._page(request, self._fields(number))

    def _fields(self, number: int) -> list[dict[str, Any]]:
        # Built on demand from the seed: thousands of organisations stay cheap.
        rng = random.Random(self.seed_value * 1_000_003 + number)
        return [
            {"id": _uuid(rng), "name": f"Field {i}"} for i in range(1, self.size + 1)
        ]

    def _page(self, request: Request, records: list[dict[str, Any]]) -> Response:
        offset = 0
        token = request.args.get(self.bookmark_param)
        if token is not None:
            with self.lock:
                place = self.bookmarks.get(token)
            if place is None or place[0] != request.path:
                return _error(400, "The bookmark is not valid for this list")
            offset = place[1]

        end = offset + self.page_size
        links = request.args.get("includeLinks", "true").lower() != "false"
        body: dict[str, Any] = {
            "result": [_record(request, r, links) for r in records[offset:end]]
        }
        if end < len(records):
            token = secrets.token_urlsafe(16)
            with self.lock:
                self.bookmarks[token] = (request.path, end)
            body["bookmark"] = {"token": token, "moreResults": True}
        return json_response(body)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _record(request: Request, record: dict[str, Any], links: bool) -> dict[str, Any]:
    if not links:
        return record
    self_link = {
        "href": f"{request.base_url}/{record['id']}",
        "rel": "self",
        "method": "GET",
    }
    return {**record, "links": [self_link]}


def _error(status: int, message: str) -> Response:
    return json_response({"status": status, "message": message}, status)
