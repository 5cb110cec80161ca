"""An emulator of John Deere Operations Center for tests and the demo.

It enforces what the reference says John Deere enforces: Basic client authentication
at the token endpoint, refresh tokens only with ``offline_access``, the axiom media
type on API calls, ``nextPage`` links for paging, and organisations that answer 403
until the grower approves them on the connections page.
"""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.sandbox import OAuthEmulator, json_response

from . import MEDIA_TYPE

_PREFIX = "/oauth2/aus78tnlaysMraFhC1t7"
DEFAULT_ITEM_LIMIT = 10


class JohnDeereEmulator(OAuthEmulator):
    provider = "john-deere"
    authorize_path = f"{_PREFIX}/v1/authorize"
    token_path = f"{_PREFIX}/v1/token"
    revoke_path = f"{_PREFIX}/v1/revoke"
    client_auth = "client_secret_basic"
    rotation = "none"
    access_lifetime = 43200
    refresh_scope = "offline_access"

    def seed(self, size: int, seed: int) -> dict[str, Any]:
        rng = random.Random(seed)
        organizations = []
        for number in range(1, 4):
            org_id = str(4000 + number)
            farms = [
                {
                    "@type": "Farm",
                    "id": f"{org_id}-farm-{i}",
                    "name": f"Farm {i} of org {number}",
                }
                for i in range(1, max(1, size // 2) + 1)
            ]
            fields = [
                {
                    "@type": "Field",
                    "id": f"{org_id}-field-{i}",
                    "name": f"Field {i}",
                    "area": {
                        "valueAsDouble": round(rng.uniform(5, 200), 1),
                        "unit": "ha",
                    },
                }
                for i in range(1, size + 1)
            ]
            organizations.append(
                {
                    "id": org_id,
                    "name": f"Sandbox Farms {number}",
                    # The first organisation is approved already; the others await the grower.
                    "connected": number == 1,
                    "farms": farms,
                    "fields": fields,
                }
            )
        return {"organizations": organizations}

    def routes(self) -> list[Rule]:
        return [
            Rule("/platform/organizations", endpoint="organizations"),
            Rule(
                "/platform/organizations/<org_id>/<any(farms, fields):kind>",
                endpoint="org_items",
            ),
            Rule(
                "/connections/<client_id>/select-organizations",
                endpoint="select_organizations",
                methods=["GET", "POST"],
            ),
        ]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {**super().endpoints(base_url), "api_base": f"{base_url}/platform"}

    def app_fields(self) -> dict[str, str]:
        return {"clientKey": self.client_id, "clientSecret": self.client_secret}

    def connect_all(self) -> None:
        with self.lock:
            for organization in self.data["organizations"]:
                organization["connected"] = True

    # API

    def _guard(self, request: Request) -> Response | None:
        if self.bearer_account(request) is None:
            return json_response({"message": "Unauthorized"}, 401)
        if MEDIA_TYPE not in request.headers.get("Accept", ""):
            return json_response({"message": f"Accept must be {MEDIA_TYPE}"}, 406)
        return None

    def organizations(self, request: Request) -> Response:
        refused = self._guard(request)
        if refused:
            return refused
        base = request.host_url.rstrip("/") + request.script_root
        values = []
        for organization in self.data["organizations"]:
            rel = "manage_connections" if organization["connected"] else "connections"
            uri = (
                f"{base}/connections/{self.client_id}/connections-dialog?orgId={organization['id']}"
                if organization["connected"]
                else f"{base}/connections/{self.client_id}/select-organizations"
            )
            values.append(
                {
                    "@type": "Organization",
                    "id": organization["id"],
                    "name": organization["name"],
                    "type": "customer",
                    "member": True,
                    "internal": False,
                    "links": [
                        {
                            "rel": "self",
                            "uri": f"{base}/platform/organizations/{organization['id']}",
                        },
                        {"rel": rel, "uri": uri},
                    ],
                }
            )
        return self._page(request, values)

    def org_items(self, request: Request, org_id: str, kind: str) -> Response:
        refused = self._guard(request)
        if refused:
            return refused
        organization = next(
            (o for o in self.data["organizations"] if o["id"] == org_id), None
        )
        if organization is None:
            return json_response({"message": "Not Found"}, 404)
        if not organization["connected"]:
            return json_response(
                {"message": "Forbidden: organization not connected"}, 403
            )
        return self._page(request, organization[kind])

    def _page(self, request: Request, values: list[dict[str, Any]]) -> Response:
        if request.headers.get("x-deere-no-paging") == "true":
            offset, limit = 0, len(values)
        else:
            offset = int(request.args.get("pageOffset", 0))
            limit = int(request.args.get("itemLimit", DEFAULT_ITEM_LIMIT))
        chunk = values[offset : offset + limit]
        links = [{"rel": "self", "uri": request.url}]
        if offset + limit < len(values):
            query = urlencode({"pageOffset": offset + limit, "itemLimit": limit})
            links.append({"rel": "nextPage", "uri": f"{request.base_url}?{query}"})
        body = {"links": links, "total": len(values), "values": chunk}
        return Response(json.dumps(body), content_type=MEDIA_TYPE)

    # The connections page, a second consent after the token exchange

    def select_organizations(self, request: Request, client_id: str) -> Response:
        redirect_uri = request.values.get("redirect_uri", "")
        if client_id != self.client_id or not redirect_uri:
            return Response("unknown client or missing redirect_uri", status=400)
        if request.method == "GET":
            return self.consent_page(request, request.args)
        if request.form.get("decision") == "allow":
            self.connect_all()
        return self._redirect(redirect_uri)
