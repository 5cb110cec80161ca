"""A stand-in for Raven's OAuth 2.0 platform, for tests and the demo.

Raven publishes nothing about this platform beyond what Leaf stores, so the emulator
plays the plugin's documented guesses and the strictest plausible rules: its own
URLs (the plugin ships none), client authentication by HTTP Basic or, with the
``client_auth`` setting, in the body, single-use refresh tokens, the scopes asked for
echoed as granted, and growers, farms and fields in a Slingshot-like index envelope
(``page``, ``pagesize``; ``Items``, ``IsNextPage``, ``PageIndex``...).
"""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.sandbox import OAuthEmulator, json_response

GROWERS, FARMS_PER_GROWER = 3, 3
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 25, 100


class RavenEmulator(OAuthEmulator):
    provider = "raven"
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    # Unpublished: the strictest case, which punishes a client that keeps a spent token.
    rotation = "single_use"
    access_lifetime = 3600

    def __init__(
        self, *, size: int = 5, seed: int = 0, client_auth: str = "client_secret_basic"
    ) -> None:
        self.client_auth = client_auth
        super().__init__(size=size, seed=seed)

    def seed(self, size: int, seed: int) -> dict[str, list[dict[str, Any]]]:
        """Three growers of three farms each, with ``size`` fields per farm."""
        rng = random.Random(seed)

        def uid() -> str:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))

        growers = [{"id": uid(), "name": f"Grower {g}"} for g in range(1, GROWERS + 1)]
        farms = [
            {"id": uid(), "name": f"Farm {f} of grower {g}", "growerId": grower["id"]}
            for g, grower in enumerate(growers, 1)
            for f in range(1, FARMS_PER_GROWER + 1)
        ]
        fields = [
            {
                "id": uid(),
                "name": f"Field {n}",
                "farmId": farm["id"],
                "areaAcres": round(rng.uniform(10, 400), 1),
            }
            for farm in farms
            for n in range(1, size + 1)
        ]
        return {"growers": growers, "farms": farms, "fields": fields}

    def routes(self) -> list[Rule]:
        return [
            Rule("/api/growers", endpoint="growers", methods=["GET"]),
            Rule("/api/growers/<grower_id>/farms", endpoint="farms", methods=["GET"]),
            Rule("/api/farms/<farm_id>/fields", endpoint="fields", methods=["GET"]),
        ]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {
            **super().endpoints(base_url),
            "growers_url": f"{base_url}/api/growers",
            "farms_url": f"{base_url}/api/growers/{{parent}}/farms",
            "fields_url": f"{base_url}/api/farms/{{parent}}/fields",
        }

    # API

    def growers(self, request: Request) -> Response:
        return self._index(request, self.data["growers"])

    def farms(self, request: Request, grower_id: str) -> Response:
        return self._index(request, self._children("farms", "growerId", grower_id))

    def fields(self, request: Request, farm_id: str) -> Response:
        return self._index(request, self._children("fields", "farmId", farm_id))

    def _children(
        self, kind: str, key: str, parent: str
    ) -> list[dict[str, Any]] | None:
        parents = "growers" if kind == "farms" else "farms"
        if not any(item["id"] == parent for item in self.data[parents]):
            return None
        return [item for item in self.data[kind] if item[key] == parent]

    def _index(self, request: Request, items: list[dict[str, Any]] | None) -> Response:
        if self.bearer_account(request) is None:
            # RFC 6750 section 3: Raven's own error body is not published.
            return json_response(
                {"error": "invalid_token"},
                401,
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if items is None:
            return json_response({"error": "not_found"}, 404)
        # Numbers that cannot be read fall back to the defaults.
        page = request.args.get("page", 0, type=int)
        size = request.args.get("pagesize", DEFAULT_PAGE_SIZE, type=int)
        if page < 0 or not 1 <= size <= MAX_PAGE_SIZE:
            message = f"page must be 0 or more and pagesize from 1 to {MAX_PAGE_SIZE}"
            return json_response({"error": "invalid_request", "message": message}, 400)

        pages = math.ceil(len(items) / size)
        return json_response(
            {
                "TotalCount": len(items),
                "PageSize": size,
                "PageIndex": page,
                "TotalPages": pages,
                "IsPreviousPage": page > 0,
                "IsNextPage": page + 1 < pages,
                "Items": items[page * size : (page + 1) * size],
            }
        )
