"""An emulator of AgLeader AgFiniti for tests and the demo.

What the reference states, it enforces: the Consumer Keys as the OAuth client by HTTP
Basic at ``/api/token``, form-encoded token requests, and the scope vocabulary of
Leaf's tutorial. What the reference leaves open, it answers with the strictest
plausible behaviour or with the plugin's documented guess: refresh tokens are single
use (``rotation`` changes that), and files are listed by ``page`` and ``size`` as a
JSON array with a ``Link: rel="next"`` header.
"""

from __future__ import annotations

import random
import uuid
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.sandbox import OAuthEmulator, json_response

#: The scopes of Leaf's AgLeader tutorial; anything else is refused.
SCOPES = frozenset({"read", "readwrite", "fileupload"})
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100


class AgLeaderEmulator(OAuthEmulator):
    provider = "ag-leader"
    authorize_path = "/Account/Authorize"
    token_path = "/api/token"
    client_auth = "client_secret_basic"
    access_lifetime = 3600

    def __init__(
        self, *, size: int = 5, seed: int = 0, rotation: str = "single_use"
    ) -> None:
        # Rotation is unpublished: "single_use" by default, the case that punishes a
        # client that forgets to store the new refresh token.
        self.rotation = rotation
        super().__init__(size=size, seed=seed)

    def seed(self, size: int, seed: int) -> list[dict[str, Any]]:
        rng = random.Random(seed)
        return [
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "name": f"Harvest {number}.agdata",
                "sizeBytes": rng.randint(10_000, 5_000_000),
            }
            for number in range(1, size + 1)
        ]

    def routes(self) -> list[Rule]:
        return [Rule("/api/files", endpoint="files", methods=["GET"])]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {**super().endpoints(base_url), "files_url": f"{base_url}/api/files"}

    def app_fields(self) -> dict[str, str]:
        return {"publicKey": self.client_id, "privateKey": self.client_secret}

    # Consent

    def authorize(self, request: Request) -> Response:
        params = request.args if request.method == "GET" else request.form
        unknown = set(params.get("scope", "").split()) - SCOPES
        known_client = params.get("client_id") == self.client_id
        if unknown and known_client and params.get("redirect_uri"):
            # RFC 6749 section 4.1.2.1: an unknown scope goes back to the client.
            return self._redirect(
                params["redirect_uri"], error="invalid_scope", state=params.get("state")
            )
        return super().authorize(request)

    # API

    def files(self, request: Request) -> Response:
        if self.bearer_account(request) is None:
            # RFC 6750 section 3: AgFiniti's own error body is not published.
            return json_response(
                {"error": "invalid_token"},
                401,
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        # Numbers that cannot be read fall back to the defaults.
        page = request.args.get("page", 0, type=int)
        size = request.args.get("size", DEFAULT_PAGE_SIZE, type=int)
        if page < 0 or not 1 <= size <= MAX_PAGE_SIZE:
            message = f"page must be 0 or more and size from 1 to {MAX_PAGE_SIZE}"
            return json_response({"error": "invalid_request", "message": message}, 400)

        start = page * size
        headers = {"X-Total-Count": str(len(self.data))}
        if start + size < len(self.data):
            query = urlencode({"page": page + 1, "size": size})
            headers["Link"] = f'<{request.base_url}?{query}>; rel="next"'
        return json_response(self.data[start : start + size], headers=headers)
