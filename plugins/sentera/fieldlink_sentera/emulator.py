"""An emulator of Sentera FieldAgent for tests and the demo.

It enforces what the reference says Sentera does: the legacy sign-in at
``/v1/sessions`` with ``platform_id`` "API" and ``version_id`` "1.0.0", session
tokens that last 3 months and travel as ``Authorization: Bearer <token>``, and one
GraphQL endpoint that answers HTTP 200 with an ``errors`` array when a query is
malformed, names an unknown field or carries a token it does not accept. It serves
the ``organizations`` and ``fields`` queries, paged by ``pagination: {page,
page_size}`` from page 1. The error texts are the emulator's own: Sentera's are not
documented.
"""

from __future__ import annotations

import json
import random
import secrets
import string
import time
from collections.abc import Mapping
from typing import Any

import attrs
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fieldlink.sandbox import DEFAULT_ACCOUNT, BaseEmulator, canary, json_response

from ._emulated_graphql import GraphQLError, Operation, Schema, bind, parse

#: Three months, as the reference gives the lifetime of a legacy session token.
TOKEN_LIFETIME = 90 * 24 * 3600
#: The emulator's own limit: Sentera documents none.
MAX_PAGE_SIZE = 100
SANDBOX_EMAIL = "grower@example.com"
#: The organisation the sandbox grower connects, with ``size`` fields.
SANDBOX_ORGANIZATION = "Sandbox Agronomy"
#: A second organisation of the same grower, so that the owner argument matters.
OTHER_ORGANIZATION = "Sandbox Research Plots"
OTHER_ORGANIZATION_FIELDS = 3

_PAGE_FIELDS: dict[str, str | None] = {
    "total_count": None,
    "page": None,
    "page_size": None,
}
SCHEMA = Schema(
    types={
        "OrganizationPage": {**_PAGE_FIELDS, "results": "Organization"},
        "Organization": {"sentera_id": None, "name": None},
        "FieldPage": {**_PAGE_FIELDS, "results": "Field"},
        "Field": {
            "sentera_id": None,
            "name": None,
            "latitude": None,
            "longitude": None,
        },
    },
    queries={
        "organizations": ("OrganizationPage", frozenset({"pagination"})),
        "fields": ("FieldPage", frozenset({"pagination", "owner"})),
    },
)


@attrs.define
class _Session:
    account: str
    expires_at: float
    #: The emulator's issue stamp: a later revocation ends the session.
    issued: int


class SenteraEmulator(BaseEmulator):
    provider = "sentera"
    session_path = "/v1/sessions"
    graphql_path = "/graphql"
    authorization_scheme = "Bearer"
    token_lifetime = TOKEN_LIFETIME

    def __init__(self, *, size: int = 5, seed: int = 0) -> None:
        self.email = SANDBOX_EMAIL
        self.password = canary("password")
        self.sessions: dict[str, _Session] = {}
        #: How many sign-ins succeeded: the plugin signs in only when connecting.
        self.sign_ins = 0
        #: How many more GraphQL calls answer 429, and the Retry-After they carry.
        self.throttle_remaining = 0
        self.retry_after = 0
        super().__init__(size=size, seed=seed)

    def seed(self, size: int, seed: int) -> list[dict[str, Any]]:
        rng = random.Random(seed)

        def organization(name: str, count: int) -> dict[str, Any]:
            fields = [
                {
                    "sentera_id": _sentera_id(rng),
                    "name": f"{name} field {number}",
                    # Around the US corn belt, where Sentera's growers are.
                    "latitude": round(rng.uniform(40.0, 46.0), 6),
                    "longitude": round(rng.uniform(-97.0, -89.0), 6),
                }
                for number in range(1, count + 1)
            ]
            return {"sentera_id": _sentera_id(rng), "name": name, "fields": fields}

        return [
            organization(SANDBOX_ORGANIZATION, size),
            organization(OTHER_ORGANIZATION, min(size, OTHER_ORGANIZATION_FIELDS)),
        ]

    def routes(self) -> list[Rule]:
        return [
            Rule(self.session_path, endpoint="sign_in", methods=["POST"]),
            Rule(self.graphql_path, endpoint="graphql", methods=["GET", "POST"]),
        ]

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {
            "session_url": base_url + self.session_path,
            "graphql_url": base_url + self.graphql_path,
        }

    def login_fields(self) -> dict[str, str]:
        return {
            "username": self.email,
            "password": self.password,
            "organizationName": SANDBOX_ORGANIZATION,
        }

    def organization(self, name: str) -> dict[str, Any]:
        return next(org for org in self.data if org["name"] == name)

    # Controls for tests

    def expire_tokens(self) -> None:
        """Every session token issued so far reaches the end of its 3 months."""
        with self.lock:
            for session in self.sessions.values():
                session.expires_at = 0

    def throttle(self, times: int = 1, retry_after: int = 0) -> None:
        """The next ``times`` GraphQL calls answer 429."""
        with self.lock:
            self.throttle_remaining = times
            self.retry_after = retry_after

    # Sign-in

    def sign_in(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        session = body.get("session") if isinstance(body, dict) else None
        if not isinstance(session, dict):
            return json_response({"errors": ["session is missing"]}, 422)
        for name, value in (("platform_id", "API"), ("version_id", "1.0.0")):
            if session.get(name) != value:
                return json_response({"errors": [f"{name} must be {value}"]}, 422)

        email, password = (
            str(session.get("email", "")),
            str(session.get("password", "")),
        )
        with self.lock:
            if email != self.email or not secrets.compare_digest(
                password.encode(), self.password.encode()
            ):
                return json_response({"errors": ["Invalid email or password"]}, 401)
            token = canary("sentera-auth-token")
            self.sessions[token] = _Session(
                DEFAULT_ACCOUNT, time.time() + self.token_lifetime, self.issue_stamp()
            )
            self.sign_ins += 1
        return json_response({"auth_token": token})

    def account(self, request: Request) -> str | None:
        """The account whose unexpired, unrevoked token the request carries."""
        header = request.headers.get("Authorization", "")
        prefix = f"{self.authorization_scheme} " if self.authorization_scheme else ""
        token = header.removeprefix(prefix)
        if not header.startswith(prefix) or not token:
            return None
        with self.lock:
            session = self.sessions.get(token)
            if (
                session is None
                or session.expires_at < time.time()
                or self.is_revoked(session.account, session.issued)
            ):
                return None
            return session.account

    # GraphQL

    def graphql(self, request: Request) -> Response:
        with self.lock:
            if self.throttle_remaining > 0:
                self.throttle_remaining -= 1
                return json_response(
                    {"errors": [{"message": "Too many requests"}]},
                    429,
                    {"Retry-After": str(self.retry_after)},
                )
        try:
            document, variables, operation_name = _graphql_request(request)
            operation = parse(document, operation_name)
            SCHEMA.check(operation)
            arguments = {
                field.key: bind(operation, variables, field)
                for field in operation.selections
            }
        except GraphQLError as error:
            return _errors(str(error))

        # GraphQL answers an unusable token inside a 200, as it does any error.
        if self.account(request) is None:
            return _errors("Unauthorized", code="UNAUTHENTICATED")
        return self._execute(operation, arguments)

    def _execute(
        self, operation: Operation, arguments: Mapping[str, dict[str, Any]]
    ) -> Response:
        data: dict[str, Any] = {}
        errors = []
        for field in operation.selections:
            type_name = SCHEMA.queries[field.name][0]
            try:
                value = getattr(self, f"_query_{field.name}")(**arguments[field.key])
            except GraphQLError as error:
                # An error in one field leaves the others answered, as GraphQL does.
                data[field.key] = None
                errors.append({"message": str(error), "path": [field.key]})
                continue
            data[field.key] = SCHEMA.shape(value, type_name, field.selections)
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = errors
        return json_response(body)

    def _query_organizations(self, pagination: Any = None) -> dict[str, Any]:
        return _page(self.data, pagination)

    def _query_fields(
        self, pagination: Any = None, owner: Any = None
    ) -> dict[str, Any]:
        # Without an owner, the grower's own organisation (the reference's default).
        if owner is None:
            organization = self.data[0]
        else:
            organization = next(
                (o for o in self.data if o["sentera_id"] == owner), None
            )
        if organization is None:
            raise GraphQLError("Organization not found")
        return _page(organization["fields"], pagination)


def _graphql_request(request: Request) -> tuple[str, dict[str, Any], str | None]:
    """The query, variables and operation name of a GraphQL POST or GET."""
    if request.method == "GET":
        raw: Any = request.args.to_dict()
        try:
            raw["variables"] = json.loads(raw.get("variables") or "{}")
        except ValueError:
            raise GraphQLError("Variables are invalid JSON.") from None
    elif request.mimetype != "application/json":
        raise GraphQLError("Content-Type must be application/json.")
    else:
        raw = request.get_json(silent=True)
    if not isinstance(raw, dict) or not isinstance(raw.get("query"), str):
        raise GraphQLError("No query string was present.")
    variables = raw.get("variables") or {}
    if not isinstance(variables, dict):
        raise GraphQLError("Variables must be an object.")
    return raw["query"], variables, raw.get("operationName")


def _page(items: list[dict[str, Any]], pagination: Any) -> dict[str, Any]:
    if not isinstance(pagination, dict) or set(pagination) != {"page", "page_size"}:
        raise GraphQLError("pagination must be an object with page and page_size")
    page, page_size = pagination["page"], pagination["page_size"]
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise GraphQLError("pagination.page must be an integer from 1")
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise GraphQLError(
            f"pagination.page_size must be an integer from 1 to {MAX_PAGE_SIZE}"
        )
    start = (page - 1) * page_size
    return {
        "total_count": len(items),
        "page": page,
        "page_size": page_size,
        "results": items[start : start + page_size],
    }


def _errors(message: str, code: str | None = None) -> Response:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code}
    return json_response({"errors": [error], "data": None})


def _sentera_id(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(8))
