"""Emulators of providers, for offline tests and the demo.

:class:`OAuthEmulator` plays an OAuth 2.0 provider on Werkzeug: a consent page with
Allow and Deny, a token endpoint that enforces the provider's client
authentication, PKCE and refresh-token rotation, and a bearer check for the resource
routes a plugin adds. Every token and secret it issues starts with ``CANARY-``, so a
test can prove that none of them leaks into logs or output.

:func:`serve` runs emulators on loopback in a background thread;
:func:`drive_consent` answers a consent page over HTTP, as a browser would.

Every emulator also answers under ``/_sandbox``: ``GET app`` and ``GET login`` give
what a host needs (the app registration, the sandbox grower's login), and ``POST
revoke`` (``?account=``, the sandbox grower by default) plays the grower withdrawing
consent: what was issued so far stops working, and a later consent works again.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import attrs
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .errors import AuthFlowError

if TYPE_CHECKING:
    from ._plugins import PluginRegistry

CANARY = "CANARY"
#: The one grower every emulator knows.
DEFAULT_ACCOUNT = "grower"
CODE_LIFETIME = 600


def canary(kind: str) -> str:
    """A fresh secret value that tests can recognise anywhere it leaks."""
    return f"{CANARY}-{kind}-{secrets.token_urlsafe(12)}"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json",
    )


@attrs.define
class _Code:
    account: str
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    expires_at: float
    issued: int
    used: bool = False


@attrs.define
class _RefreshToken:
    account: str
    client_id: str
    scope: str
    expires_at: float | None
    #: The emulator's issue stamp: a later revocation of the account ends the token.
    issued: int
    #: When set, the token stops working at this moment (rotation grace, or at once).
    retired_at: float | None = None


@attrs.define
class _AccessToken:
    account: str
    client_id: str
    expires_at: float
    issued: int


@attrs.define
class TokenFault:
    """A canned answer the token endpoint gives once instead of its real one."""

    status: int
    body: str
    content_type: str = "application/json"


class BaseEmulator:
    """What every emulator shares: WSGI dispatch, seeded data and test controls.

    Subclasses seed data in :meth:`seed`, add routes in :meth:`routes` and say in
    :meth:`endpoints` which URL plays which of the provider's endpoints.
    """

    provider = "emulated"

    def __init__(self, *, size: int = 5, seed: int = 0) -> None:
        self.size = size
        self.seed_value = seed
        self.lock = threading.RLock()
        self._stamps = itertools.count(1)
        #: account -> the stamp of its latest revocation
        self._revocations: dict[str, int] = {}
        self.data = self.seed(size, seed)
        self.url_map = Map(
            [
                Rule("/_sandbox/revoke", endpoint="revoke_control", methods=["POST"]),
                Rule("/_sandbox/app", endpoint="app_control", methods=["GET"]),
                Rule("/_sandbox/login", endpoint="login_control", methods=["GET"]),
                *self.base_routes(),
                *self.routes(),
            ]
        )

    # What subclasses provide

    def seed(self, size: int, seed: int) -> Any:
        """Build the data the resource routes serve."""
        return None

    def base_routes(self) -> Iterable[Rule]:
        """Routes of the emulator's authentication scheme."""
        return ()

    def routes(self) -> Iterable[Rule]:
        """Resource routes; each Rule's endpoint names a method taking (request, **args)."""
        return ()

    def endpoints(self, base_url: str) -> dict[str, str]:
        """The provider's endpoint names mapped to this emulator's URLs."""
        return {}

    def app_fields(self) -> dict[str, str]:
        """The app registration a host needs to use this emulator (client id, secret...)."""
        return {}

    def login_fields(self) -> dict[str, str]:
        """What the sandbox grower types into a form flow (keys, login, password)."""
        return {}

    def host_settings(self) -> dict[str, Any]:
        """Provider settings a host needs to use this emulator, as it would pass
        them in ``Fieldlink(settings=...)`` (an application name the provider
        assigned...)."""
        return {}

    # Controls for tests

    def revoke(self, account: str = DEFAULT_ACCOUNT) -> None:
        """The grower withdraws consent: every token, key and session issued to
        ``account`` so far stops working. A later consent (or login) issues new ones
        that work, as at a real provider."""
        with self.lock:
            self._revocations[account] = next(self._stamps)

    # Revocation, for subclasses

    def issue_stamp(self) -> int:
        """A stamp for a token, key or session issued now; keep it with what is
        issued, and ask :meth:`is_revoked` before accepting it."""
        with self.lock:
            return next(self._stamps)

    def is_revoked(self, account: str, issued: int) -> bool:
        """Whether ``account`` withdrew consent after what was stamped ``issued``."""
        return issued < self._revocations.get(account, 0)

    # The sandbox tells a host what it needs: an app registration, and what the
    # grower types into a form. Only ever served on loopback.

    def app_control(self, request: Request) -> Response:
        return json_response(self.app_fields(), headers={"Cache-Control": "no-store"})

    def login_control(self, request: Request) -> Response:
        return json_response(self.login_fields(), headers={"Cache-Control": "no-store"})

    def revoke_control(self, request: Request) -> Response:
        self.revoke(request.args.get("account", DEFAULT_ACCOUNT))
        return json_response({"revoked": True})

    # WSGI

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
            response = getattr(self, endpoint)(request, **args)
        except HTTPException as exc:
            response = exc.get_response(environ)
        return response(environ, start_response)

    # Pages

    def consent_page(self, request: Request, params: Mapping[str, str]) -> Response:
        """A page with Allow and Deny that posts ``params`` back to the same URL."""
        action = request.script_root + request.path
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k != "decision"
        )
        page = (
            "<!doctype html><html><head><title>Sandbox consent</title></head><body>"
            f"<h1>{html.escape(self.provider)} sandbox</h1>"
            f"<p>Allow this application to read the data of {DEFAULT_ACCOUNT}?</p>"
            f'<form method="post" action="{html.escape(action)}">{hidden}'
            f'<input type="hidden" name="account" value="{DEFAULT_ACCOUNT}">'
            '<button name="decision" value="allow">Allow</button>'
            '<button name="decision" value="deny">Deny</button>'
            "</form></body></html>"
        )
        return Response(page, content_type="text/html; charset=utf-8")

    @staticmethod
    def _redirect(uri: str, **params: str | None) -> Response:
        parts = urlsplit(uri)
        query = parse_qsl(parts.query) + [
            (k, v) for k, v in params.items() if v is not None
        ]
        location = urlunsplit(parts._replace(query=urlencode(query)))
        return Response(status=302, headers={"Location": location})


#: What the ``sandbox_emulator`` hook returns.
Emulator = BaseEmulator


class OAuthEmulator(BaseEmulator):
    """A provider's OAuth 2.0 authorisation server and resource server.

    Subclasses set the class attributes to their provider's rules, seed data in
    :meth:`seed` and add resource routes in :meth:`routes`.
    """

    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    #: "client_secret_basic" or "client_secret_post"
    client_auth = "client_secret_basic"
    #: "form" or "json" token request bodies
    body_format = "form"
    #: "optional" (verified when a challenge was sent) or "required"
    pkce = "optional"
    #: "none" (the refresh token stays), "rotate" (old one retires after
    #: ``rotation_grace`` seconds) or "single_use" (old one dies at once)
    rotation = "none"
    rotation_grace = 3600.0
    access_lifetime = 3600
    refresh_lifetime: float | None = None
    #: When set, a refresh token is issued only if the granted scope includes it.
    refresh_scope: str | None = None
    #: Extra authorisation parameters the provider insists on, with their values.
    required_authorize_params: Mapping[str, str] = {}
    #: Where RFC 7009 revocation is served, for providers that offer it.
    revoke_path: str | None = None

    def __init__(self, *, size: int = 5, seed: int = 0) -> None:
        self.client_id = f"{self.provider}-sandbox-client"
        self.client_secret = canary("client-secret")
        self.codes: dict[str, _Code] = {}
        self.refresh_tokens: dict[str, _RefreshToken] = {}
        self.access_tokens: dict[str, _AccessToken] = {}
        self.token_faults: list[TokenFault] = []
        #: How many refresh grants reached the token endpoint, and how many succeeded.
        self.refresh_requests = 0
        self.refreshes = 0
        self.revoked_tokens = 0
        super().__init__(size=size, seed=seed)

    def base_routes(self) -> Iterable[Rule]:
        rules = [
            Rule(self.authorize_path, endpoint="authorize", methods=["GET", "POST"]),
            Rule(self.token_path, endpoint="token", methods=["POST"]),
        ]
        if self.revoke_path:
            rules.append(
                Rule(self.revoke_path, endpoint="revoke_token", methods=["POST"])
            )
        return rules

    def endpoints(self, base_url: str) -> dict[str, str]:
        endpoints = {
            "authorize_url": base_url + self.authorize_path,
            "token_url": base_url + self.token_path,
        }
        if self.revoke_path:
            endpoints["revoke_url"] = base_url + self.revoke_path
        return endpoints

    def app_fields(self) -> dict[str, str]:
        return {"clientId": self.client_id, "clientSecret": self.client_secret}

    def token_extras(self, account: str) -> dict[str, Any]:
        """Members the provider adds to its token responses."""
        return {}

    # Controls for tests

    def fail_next_token_request(
        self,
        status: int,
        body: str | Mapping[str, Any],
        content_type: str = "application/json",
    ) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        with self.lock:
            self.token_faults.append(TokenFault(status, text, content_type))

    def end_rotation_grace(self) -> None:
        """Refresh tokens already rotated out stop working now, not after the grace."""
        moment = time.time()
        with self.lock:
            for token in self.refresh_tokens.values():
                if token.retired_at is not None:
                    token.retired_at = moment

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access_tokens.values():
                token.expires_at = 0

    # Consent

    def authorize(self, request: Request) -> Response:
        params = request.args if request.method == "GET" else request.form
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id != self.client_id or not redirect_uri:
            return Response("unknown client_id or missing redirect_uri", status=400)
        if params.get("response_type") != "code":
            return Response("response_type must be code", status=400)
        for name, value in self.required_authorize_params.items():
            if params.get(name) != value:
                return Response(f"{name} must be {value}", status=400)
        if self.pkce == "required" and not params.get("code_challenge"):
            return self._redirect(
                redirect_uri, error="invalid_request", state=params.get("state")
            )
        if (
            params.get("code_challenge")
            and params.get("code_challenge_method") != "S256"
        ):
            return self._redirect(
                redirect_uri, error="invalid_request", state=params.get("state")
            )

        if request.method == "GET":
            return self.consent_page(request, params)
        if params.get("decision") != "allow":
            return self._redirect(
                redirect_uri, error="access_denied", state=params.get("state")
            )
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = _Code(
                account=params.get("account", DEFAULT_ACCOUNT),
                client_id=client_id,
                redirect_uri=redirect_uri,
                scope=params.get("scope", ""),
                challenge=params.get("code_challenge") or None,
                expires_at=time.time() + CODE_LIFETIME,
                issued=self.issue_stamp(),
            )
        return self._redirect(redirect_uri, code=code, state=params.get("state"))

    # Tokens

    def token(self, request: Request) -> Response:
        with self.lock:
            if self.token_faults:
                fault = self.token_faults.pop(0)
                return Response(
                    fault.body, status=fault.status, content_type=fault.content_type
                )
        body = self._token_body(request)
        if body is None:
            return self._oauth_error(
                "invalid_request", f"the body must be {self.body_format}", 400
            )
        if not self._client_authenticated(request, body):
            return self._oauth_error(
                "invalid_client", "client authentication failed", 401
            )
        grant_type = body.get("grant_type")
        with self.lock:
            if grant_type == "authorization_code":
                return self._exchange_code(body)
            if grant_type == "refresh_token":
                self.refresh_requests += 1
                return self._refresh(body)
        return self._oauth_error("unsupported_grant_type", "", 400)

    def revoke_token(self, request: Request) -> Response:
        """RFC 7009: the token stops working; unknown tokens are no error."""
        body = self._token_body(request)
        if body is None or not self._client_authenticated(request, body):
            return self._oauth_error(
                "invalid_client", "client authentication failed", 401
            )
        presented = body.get("token", "")
        with self.lock:
            if presented in self.refresh_tokens:
                self.refresh_tokens[presented].retired_at = time.time()
            self.access_tokens.pop(presented, None)
            self.revoked_tokens += 1
        return json_response({})

    def _token_body(self, request: Request) -> dict[str, str] | None:
        if self.body_format == "json":
            data = request.get_json(silent=True)
            return data if isinstance(data, dict) else None
        if request.mimetype != "application/x-www-form-urlencoded":
            return None
        return request.form.to_dict()

    def _client_authenticated(self, request: Request, body: Mapping[str, str]) -> bool:
        if self.client_auth == "client_secret_basic":
            auth = request.authorization
            if auth is None or auth.type != "basic" or "client_secret" in body:
                return False
            return (auth.username, auth.password) == (
                self.client_id,
                self.client_secret,
            )
        return (body.get("client_id"), body.get("client_secret")) == (
            self.client_id,
            self.client_secret,
        )

    def _exchange_code(self, body: Mapping[str, str]) -> Response:
        code = self.codes.get(body.get("code", ""))
        if (
            code is None
            or code.used
            or code.expires_at < time.time()
            or self.is_revoked(code.account, code.issued)
        ):
            return self._oauth_error(
                "invalid_grant", "the code is unknown, used, expired or revoked", 400
            )
        code.used = True
        if body.get("redirect_uri") != code.redirect_uri:
            return self._oauth_error(
                "invalid_grant", "redirect_uri does not match", 400
            )
        if code.challenge is not None:
            verifier = body.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != code.challenge:
                return self._oauth_error(
                    "invalid_grant", "PKCE verification failed", 400
                )
        return self._issue(code.account, code.client_id, code.scope)

    def _refresh(self, body: Mapping[str, str]) -> Response:
        presented = body.get("refresh_token", "")
        token = self.refresh_tokens.get(presented)
        moment = time.time()
        if (
            token is None
            or self.is_revoked(token.account, token.issued)
            or (token.expires_at is not None and token.expires_at < moment)
            or (token.retired_at is not None and token.retired_at <= moment)
        ):
            return self._oauth_error(
                "invalid_grant", "the refresh token is invalid", 400
            )
        self.refreshes += 1
        if self.rotation == "none":
            return self._issue(
                token.account, token.client_id, token.scope, refresh_token=presented
            )
        grace = self.rotation_grace if self.rotation == "rotate" else 0.0
        token.retired_at = (
            moment + grace if token.retired_at is None else token.retired_at
        )
        return self._issue(token.account, token.client_id, token.scope)

    def _issue(
        self, account: str, client_id: str, scope: str, refresh_token: str | None = None
    ) -> Response:
        access = canary(f"{self.provider}-access")
        stamp = self.issue_stamp()
        self.access_tokens[access] = _AccessToken(
            account, client_id, time.time() + self.access_lifetime, stamp
        )
        if refresh_token is None and (
            self.refresh_scope is None or self.refresh_scope in scope.split()
        ):
            refresh_token = canary(f"{self.provider}-refresh")
            expires = (
                None
                if self.refresh_lifetime is None
                else time.time() + self.refresh_lifetime
            )
            self.refresh_tokens[refresh_token] = _RefreshToken(
                account, client_id, scope, expires, stamp
            )
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_lifetime,
            "scope": scope,
            **self.token_extras(account),
        }
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return json_response(body, headers={"Cache-Control": "no-store"})

    @staticmethod
    def _oauth_error(error: str, description: str, status: int) -> Response:
        body = {"error": error}
        if description:
            body["error_description"] = description
        return json_response(body, status=status)

    # Resource routes

    def bearer_account(self, request: Request) -> str | None:
        """The account a valid bearer token belongs to, or None."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        with self.lock:
            token = self.access_tokens.get(header[len("Bearer ") :])
            if (
                token is None
                or token.expires_at < time.time()
                or self.is_revoked(token.account, token.issued)
            ):
                return None
            return token.account

    def is_valid_access_token(self, access_token: str) -> bool:
        with self.lock:
            token = self.access_tokens.get(access_token)
            return (
                token is not None
                and token.expires_at >= time.time()
                and not self.is_revoked(token.account, token.issued)
            )


# Serving


class RunningEmulator:
    """An emulator served on loopback; ``url`` is its base."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            # Keep-alive: listing thousands of resources should not open a
            # connection per page.
            protocol_version = "HTTP/1.1"

            # Request lines carry codes and states: keep them out of the output.
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        # Bound here, so that a busy port raises OSError for the caller to explain:
        # Werkzeug's own bind prints its advice and exits the process.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.create_server((host, port), family=family) as listening:
            self.server = make_server(
                host,
                port,
                app,
                threaded=True,
                request_handler=QuietHandler,
                fd=listening.fileno(),
            )
        self.url = f"http://{host}:{self.server.port}"
        # A short poll interval makes stop() quick: tests start and stop many servers.
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve(app: Any, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
    """Serve a WSGI app (an emulator, or :func:`mount`'s result) on ``host``."""
    return RunningEmulator(app, host, port)


def mount(emulators: Mapping[str, Any]) -> Any:
    """One WSGI app serving each emulator under ``/<provider id>``."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    return DispatcherMiddleware(
        NotFound(), {f"/{pid}": app for pid, app in emulators.items()}
    )


def build_emulators(
    registry: PluginRegistry, settings: Mapping[str, Any] | None = None
) -> dict[str, Emulator]:
    """An emulator for every loaded provider that ships one."""
    emulators = {}
    for provider_id in registry.providers:
        emulator = registry.call(
            provider_id, "sandbox_emulator", settings=dict(settings or {})
        )
        if emulator is not None:
            emulators[provider_id] = emulator
    return emulators


def sandbox_endpoints(
    registry: PluginRegistry, provider_id: str, base_url: str
) -> dict[str, str]:
    """The endpoints of ``provider_id`` when its emulator is mounted under ``base_url``."""
    emulator = registry.call(provider_id, "sandbox_emulator", settings={"size": 0})
    if emulator is None:
        return {}
    return emulator.endpoints(f"{base_url.rstrip('/')}/{provider_id}")


class SandboxClient:
    """Asks a running ``fieldlink sandbox`` what each emulator expects of a host:
    its app registration, and the sandbox grower's login for form flows."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            from .errors import ConfigurationError

            raise ConfigurationError(
                f"the sandbox URL {url!r} must be like http://127.0.0.1:8700, as "
                "`fieldlink sandbox` prints it"
            )
        self.url = url.rstrip("/")
        self._apps: dict[str, dict[str, str]] = {}
        #: What to check when nothing answers at the sandbox's URLs.
        self.unreachable_hint = (
            f"is `fieldlink sandbox` running at {self.url}? Start it, or set "
            "FIELDLINK_SANDBOX_URL to the URL it prints"
        )

    def __repr__(self) -> str:
        return f"SandboxClient({self.url!r})"

    def app_fields(self, provider_id: str) -> dict[str, str]:
        if provider_id not in self._apps:
            self._apps[provider_id] = self._get(provider_id, "app")
        return dict(self._apps[provider_id])

    def login_fields(self, provider_id: str) -> dict[str, str]:
        # Asked anew each time: a revocation in the sandbox may change the login.
        return self._get(provider_id, "login")

    def _get(self, provider_id: str, what: str) -> dict[str, str]:
        from .http import HttpClient, make_session

        http = HttpClient(
            make_session(retries=0),
            provider_id,
            unreachable_hint=self.unreachable_hint,
        )
        response = http.get(f"{self.url}/{provider_id}/_sandbox/{what}")
        answer: dict[str, str] = http.json(
            response, what=f"the sandbox's {what} fields"
        )
        return answer


def sandbox_settings(registry: PluginRegistry, provider_id: str) -> dict[str, Any]:
    """The provider settings ``provider_id``'s emulator needs a host to use."""
    emulator = registry.call(provider_id, "sandbox_emulator", settings={"size": 0})
    return {} if emulator is None else emulator.host_settings()


class _FormParser(HTMLParser):
    """Collects the first form of a page: its action, inputs and buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []
        self.buttons: dict[str, tuple[str, str]] = {}
        self._in_form = False

    def handle_starttag(
        self, tag: str, attrs_list: list[tuple[str, str | None]]
    ) -> None:
        attributes = {key: value or "" for key, value in attrs_list}
        if tag == "form" and self.action is None:
            self.action = attributes.get("action", "")
            self._in_form = True
        elif tag == "input" and self._in_form and attributes.get("name"):
            self.fields.append((attributes["name"], attributes.get("value", "")))
        elif tag == "button" and self._in_form and attributes.get("name"):
            self.buttons[attributes.get("value", "")] = (
                attributes["name"],
                attributes.get("value", ""),
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def drive_consent(
    authorize_url: str, decision: str = "allow", *, timeout: float = 10.0
) -> str:
    """Open a consent page and press ``decision`` as a browser would.

    Follows redirects on the provider's side and returns the first URL outside it:
    the host's callback, carrying ``code`` or ``error`` and the ``state``.
    """
    from .http import make_session

    session = make_session(retries=0)
    origin = urlsplit(authorize_url).netloc
    response = session.get(authorize_url, timeout=timeout, allow_redirects=False)
    while True:
        if response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            if urlsplit(target).netloc != origin:
                return target
            response = session.get(target, timeout=timeout, allow_redirects=False)
            continue
        if response.status_code != 200:
            raise AuthFlowError(
                f"the consent page answered HTTP {response.status_code}"
            )
        parser = _FormParser()
        parser.feed(response.text)
        if parser.action is None or decision not in parser.buttons:
            raise AuthFlowError(
                f"the consent page has no form with a {decision!r} button"
            )
        fields = [*parser.fields, parser.buttons[decision]]
        response = session.post(
            urljoin(response.url, parser.action),
            data=fields,
            timeout=timeout,
            allow_redirects=False,
        )
