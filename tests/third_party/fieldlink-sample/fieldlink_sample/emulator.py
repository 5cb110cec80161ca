"""An emulator of Sample Soil Lab: signed calls only, sites and their soil samples.

It checks every call's partner id, key id, time and HMAC signature on its own (it
does not borrow the plugin's signing code, so a wrong signature shows), and answers
401 with ``revoked_key`` once the grower has revoked the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import string
import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.sandbox import DEFAULT_ACCOUNT, BaseEmulator, canary, json_response

SITES = 4
PAGE_SIZE = 40
#: How far a signature's time may be from the server's, in seconds.
CLOCK_SKEW = 300


class SampleEmulator(BaseEmulator):
    provider = "sample"

    def __init__(self, *, size: int = 5, seed: int = 0) -> None:
        rng = random.Random(seed)
        alphabet = string.ascii_uppercase + string.digits
        self.partner_id = "sample-sandbox-partner"
        self.access_key = "SSL" + "".join(rng.choice(alphabet) for _ in range(16))
        self.secret_key = canary("secret-key")
        super().__init__(size=size, seed=seed)
        # One key for the emulator's life: once revoked, it stays revoked.
        self.access_key_issued = self.issue_stamp()

    def seed(self, size: int, seed: int) -> dict[str, Any]:
        rng = random.Random(seed)
        sites = [{"id": f"site-{n}", "name": f"Site {n}"} for n in range(1, SITES + 1)]
        samples = {
            site["id"]: [
                {
                    "id": f"{site['id']}-sample-{n}",
                    "name": f"Sample {n}",
                    "ph": round(rng.uniform(5.0, 8.0), 1),
                }
                for n in range(1, size + 1)
            ]
            for site in sites
        }
        return {"sites": sites, "samples": samples}

    def routes(self) -> list[Rule]:
        return [
            Rule("/v1/me", endpoint="me", methods=["GET"]),
            Rule("/v1/sites", endpoint="sites", methods=["GET"]),
            Rule("/v1/sites/<site_id>/samples", endpoint="samples", methods=["GET"]),
        ]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {"api_base": f"{base_url}/v1"}

    def app_fields(self) -> dict[str, str]:
        return {"partnerId": self.partner_id}

    def login_fields(self) -> dict[str, str]:
        return {"accessKey": self.access_key, "secretKey": self.secret_key}

    # API

    def me(self, request: Request) -> Response:
        return self._refusal(request) or json_response({"account": DEFAULT_ACCOUNT})

    def sites(self, request: Request) -> Response:
        return self._refusal(request) or self._page(request, self.data["sites"])

    def samples(self, request: Request, site_id: str) -> Response:
        if site_id not in self.data["samples"]:
            return json_response({"error": "not_found"}, 404)
        return self._refusal(request) or self._page(
            request, self.data["samples"][site_id]
        )

    def _refusal(self, request: Request) -> Response | None:
        if request.headers.get("X-Sample-Partner") != self.partner_id:
            return json_response({"error": "unknown_partner"}, 403)
        if request.headers.get("X-Sample-Key") != self.access_key:
            return json_response({"error": "invalid_key"}, 401)
        timestamp = request.headers.get("X-Sample-Date", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > CLOCK_SKEW:
            return json_response({"error": "stale_signature"}, 401)
        message = f"{request.method}\n{request.script_root}{request.path}\n{timestamp}"
        expected = hmac.new(
            self.secret_key.encode(), message.encode(), hashlib.sha256
        ).hexdigest()
        presented = request.headers.get("X-Sample-Signature", "")
        if not hmac.compare_digest(expected, presented):
            return json_response({"error": "invalid_signature"}, 401)
        if self.is_revoked(DEFAULT_ACCOUNT, self.access_key_issued):
            return json_response({"error": "revoked_key"}, 401)
        return None

    def _page(self, request: Request, values: list[dict[str, Any]]) -> Response:
        number = request.args.get("page", "1")
        if not number.isdigit() or int(number) < 1:
            return json_response({"error": "bad_page"}, 400)
        end = int(number) * PAGE_SIZE
        following = str(int(number) + 1) if end < len(values) else None
        return json_response(
            {"data": values[end - PAGE_SIZE : end], "links": {"next_page": following}}
        )
