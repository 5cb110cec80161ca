"""An emulator of CNH's identity servers and APIs, for tests and the demo.

Both environments are served by one emulator, each under its own path prefix
(``/stage`` and ``/production``), each a :class:`CNHTenant` with its own client,
subscription key, tokens and data: what one environment issued, the other refuses.
A tenant enforces what the reference says CNH enforces (providers.md section 3):

- Auth0's authorize request with ``audience``, ``connection`` and, for a refresh
  token, ``scope=offline_access``;
- the client id and secret in the token request body, as a form or as JSON
  (Auth0 takes both); Basic authentication alone is refused;
- ``403 {"error": "invalid_grant"}`` for a dead refresh token, and refresh tokens
  that are kept, rotated or single use (``rotation``), since CNH does not say;
- revocation at ``/oauth/revoke`` with the client and the token in JSON;
- an ``Ocp-Apim-Subscription-Key`` on every API call, answered as Azure API
  Management answers a missing or wrong key (401), and 429 when throttled;
- lists paged as JSON:API ``links.next`` (AFS Connect) or by page number
  (FieldOps), the shapes the plugins assume.
"""

from __future__ import annotations

import math
import random
import secrets
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.sandbox import (
    DEFAULT_ACCOUNT,
    BaseEmulator,
    OAuthEmulator,
    canary,
    json_response,
)

from ._environments import CONNECTIONS, ENVIRONMENTS

#: Farms seeded per company; companies and fields per farm follow ``size``.
FARMS_PER_COMPANY = 3
#: Refresh-token rules the ``rotation`` setting may choose (see OAuthEmulator).
ROTATIONS = ("none", "rotate", "single_use")
#: The most items a page holds when the emulator is not told otherwise.
DEFAULT_PAGE_SIZE = {"links": 25, "numbers": 50}
JSON_API = "application/vnd.api+json"

_MISSING_KEY = (
    "Access denied due to missing subscription key. Make sure to include "
    "subscription key when making requests to an API."
)
_WRONG_KEY = (
    "Access denied due to invalid subscription key. Make sure to provide a valid "
    "key for an active subscription."
)


class CNHTenant(OAuthEmulator):
    """One CNH environment: its Auth0 tenant and its API gateway."""

    authorize_path = "/authorize"
    token_path = "/oauth/token"
    revoke_path = "/oauth/revoke"
    client_auth = "client_secret_post"
    # Auth0 issues a refresh token only for offline_access.
    refresh_scope = "offline_access"

    def __init__(
        self,
        *,
        provider: str,
        environment: str,
        audience: str,
        connection: str,
        paging: str,
        api_path: str,
        size: int,
        seed: int,
        rotation: str,
        page_size: int,
    ) -> None:
        self.provider = provider
        self.environment = environment
        self.required_authorize_params = {
            "audience": audience,
            "connection": connection,
        }
        self.paging = paging
        self.api_root = f"/api{api_path}"
        self.rotation = rotation
        self.page_size = page_size
        self.subscription_key = canary("subscription-key")
        #: How many more API calls answer 429, and the Retry-After they carry.
        self.throttle_remaining = 0
        self.retry_after = 0
        super().__init__(size=size, seed=seed)
        self.client_id = f"{provider}-{environment.lower()}-sandbox-client"

    def seed(self, size: int, seed: int) -> list[dict[str, Any]]:
        # Each environment has its own accounts, hence its own data.
        rng = random.Random(f"{seed}:{self.environment}")

        def uid() -> str:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))

        def field(number: int) -> dict[str, Any]:
            area = round(rng.uniform(2, 150), 1)
            return {"id": uid(), "name": f"Field {number}", "area": area, "unit": "ha"}

        label = self.environment.title()
        return [
            {
                "id": uid(),
                "name": f"{label} Company {company}",
                "farms": [
                    {
                        "id": uid(),
                        "name": f"Farm {farm}",
                        "fields": [field(number) for number in range(1, size + 1)],
                    }
                    for farm in range(1, FARMS_PER_COMPANY + 1)
                ],
            }
            for company in range(1, size + 1)
        ]

    def routes(self) -> list[Rule]:
        root = self.api_root
        return [
            Rule(f"{root}/companies", endpoint="companies", methods=["GET"]),
            Rule(
                f"{root}/companies/<company_id>/farms",
                endpoint="farms",
                methods=["GET"],
            ),
            Rule(
                f"{root}/companies/<company_id>/farms/<farm_id>/fields",
                endpoint="fields",
                methods=["GET"],
            ),
        ]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {**super().endpoints(base_url), "api_base": base_url + self.api_root}

    def app_fields(self) -> dict[str, str]:
        return {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "subscriptionKey": self.subscription_key,
        }

    def token_extras(self, account: str) -> dict[str, Any]:
        # Auth0 answers with an ID token beside the access token.
        return {"id_token": canary(f"{self.provider}-id-token")}

    # Controls for tests

    def throttle(self, times: int = 1, retry_after: int = 0) -> None:
        """The next ``times`` API calls answer 429, as a gateway rate limit does."""
        with self.lock:
            self.throttle_remaining = times
            self.retry_after = retry_after

    def expire_refresh_tokens(self) -> None:
        """Every refresh token issued so far has expired."""
        with self.lock:
            for token in self.refresh_tokens.values():
                token.expires_at = 0

    # Identity: Auth0's ways where they differ from the generic emulator

    def _token_body(self, request: Request) -> dict[str, str] | None:
        if request.mimetype == "application/json":
            data = request.get_json(silent=True)
            return data if isinstance(data, dict) else None
        if request.mimetype == "application/x-www-form-urlencoded":
            return request.form.to_dict()
        return None

    @staticmethod
    def _oauth_error(error: str, description: str, status: int) -> Response:
        # Auth0 answers invalid_grant with 403 (reference), not RFC 6749's 400.
        if error == "invalid_grant":
            status = 403
        return OAuthEmulator._oauth_error(error, description, status)

    # API

    def _guard(self, request: Request) -> Response | None:
        presented = request.headers.get("Ocp-Apim-Subscription-Key")
        if not presented:
            return json_response({"statusCode": 401, "message": _MISSING_KEY}, 401)
        if not secrets.compare_digest(
            presented.encode(), self.subscription_key.encode()
        ):
            return json_response({"statusCode": 401, "message": _WRONG_KEY}, 401)
        with self.lock:
            if self.throttle_remaining > 0:
                self.throttle_remaining -= 1
                message = (
                    f"Rate limit is exceeded. Try again in {self.retry_after} seconds."
                )
                return json_response(
                    {"statusCode": 429, "message": message},
                    429,
                    {"Retry-After": str(self.retry_after)},
                )
        if self.bearer_account(request) is None:
            message = "Unauthorized. Access token is missing or invalid."
            return json_response({"statusCode": 401, "message": message}, 401)
        return None

    def companies(self, request: Request) -> Response:
        return self._guard(request) or self._page(request, "companies", self.data)

    def farms(self, request: Request, company_id: str) -> Response:
        refused = self._guard(request)
        if refused:
            return refused
        company = _find(self.data, company_id)
        if company is None:
            return self._error(404, "Not Found", f"No company {company_id}.")
        return self._page(request, "farms", company["farms"])

    def fields(self, request: Request, company_id: str, farm_id: str) -> Response:
        refused = self._guard(request)
        if refused:
            return refused
        company = _find(self.data, company_id)
        farm = _find(company["farms"], farm_id) if company else None
        if farm is None:
            return self._error(
                404, "Not Found", f"No farm {farm_id} in company {company_id}."
            )
        return self._page(request, "fields", farm["fields"])

    def _page(
        self, request: Request, kind: str, values: list[dict[str, Any]]
    ) -> Response:
        items = [
            {k: v for k, v in value.items() if k not in ("farms", "fields")}
            for value in values
        ]
        if self.paging == "links":
            return self._links_page(request, kind, items)
        return self._numbered_page(request, items)

    def _links_page(
        self, request: Request, kind: str, items: list[dict[str, Any]]
    ) -> Response:
        number = _integer(request.args.get("page[number]", "1"))
        size = _integer(request.args.get("page[size]", str(self.page_size)))
        if number is None or number < 1 or size is None or size < 1:
            return self._error(
                400, "Bad Request", "page[number] and page[size] must be positive."
            )
        size = min(size, self.page_size)
        chunk = items[(number - 1) * size : number * size]
        links = {"self": request.url}
        if number * size < len(items):
            query = urlencode({"page[number]": number + 1, "page[size]": size})
            links["next"] = f"{request.base_url}?{query}"
        body = {
            "data": [
                {
                    "type": kind,
                    "id": item["id"],
                    "attributes": {k: v for k, v in item.items() if k != "id"},
                }
                for item in chunk
            ],
            "links": links,
            "meta": {"totalCount": len(items)},
        }
        return json_response(body, headers={"Content-Type": JSON_API})

    def _numbered_page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        page = _integer(request.args.get("page", "0"))
        size = _integer(request.args.get("pageSize", str(self.page_size)))
        if page is None or page < 0 or size is None or size < 1:
            return self._error(
                400, "Bad Request", "page must be 0 or more, pageSize 1 or more."
            )
        size = min(size, self.page_size)
        body = {
            "items": items[page * size : (page + 1) * size],
            "page": page,
            "pageSize": size,
            "totalPages": math.ceil(len(items) / size),
            "totalCount": len(items),
        }
        return json_response(body)

    def _error(self, status: int, title: str, detail: str) -> Response:
        if self.paging == "links":
            error = {"status": str(status), "title": title, "detail": detail}
            return json_response(
                {"errors": [error]}, status, {"Content-Type": JSON_API}
            )
        return json_response({"statusCode": status, "message": detail}, status)


class CNHEmulator(BaseEmulator):
    """CNH's STAGE and PRODUCTION side by side, under ``/stage`` and ``/production``.

    ``endpoints()`` gives each environment's URLs under its name, the way a host
    overrides one environment's URLs.
    ``app_fields()`` is STAGE's app, the environment connected by default.
    """

    def __init__(
        self,
        *,
        provider: str,
        audiences: Mapping[str, str],
        paging: str,
        api_path: str = "",
        size: int = 5,
        seed: int = 0,
        rotation: str = "none",
        page_size: int | None = None,
    ) -> None:
        if rotation not in ROTATIONS:
            raise ValueError(f"rotation must be one of {ROTATIONS}, not {rotation!r}")
        self.provider = provider
        self.tenants = {
            environment: CNHTenant(
                provider=provider,
                environment=environment,
                audience=audiences[environment],
                connection=CONNECTIONS[environment],
                paging=paging,
                api_path=api_path,
                size=size,
                seed=seed,
                rotation=rotation,
                page_size=page_size or DEFAULT_PAGE_SIZE[paging],
            )
            for environment in ENVIRONMENTS
        }
        super().__init__(size=size, seed=seed)
        self._dispatch = DispatcherMiddleware(
            super().__call__,
            {f"/{env.lower()}": tenant for env, tenant in self.tenants.items()},
        )

    def tenant(self, environment: str) -> CNHTenant:
        return self.tenants[environment]

    def endpoints(self, base_url: str) -> dict[str, Any]:
        """Each environment's URLs under its name, as hosts override them."""
        return {
            environment: tenant.endpoints(f"{base_url}/{environment.lower()}")
            for environment, tenant in self.tenants.items()
        }

    def app_fields(self, environment: str = ENVIRONMENTS[0]) -> dict[str, str]:
        return self.tenants[environment].app_fields()

    def revoke(self, account: str = DEFAULT_ACCOUNT) -> None:
        """The grower withdraws consent in both environments."""
        super().revoke(account)
        for tenant in self.tenants.values():
            tenant.revoke(account)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self._dispatch(environ, start_response)


def _find(values: list[dict[str, Any]], value_id: str) -> dict[str, Any] | None:
    return next((value for value in values if value["id"] == value_id), None)


def _integer(text: str) -> int | None:
    return int(text) if text.strip().lstrip("-").isdigit() else None
