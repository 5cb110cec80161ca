"""The host's entry point: :class:`Fieldlink`."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ._alerts import (
    WEBHOOK_SECRET_ENV,
    WEBHOOK_URL_ENV,
    Delivery,
    WebhookAlerts,
    plugin_from_settings,
)
from ._context import ProviderContext
from ._crypto import Keyring, key_file, keyring_from_env, keyring_from_file
from ._paths import DATA_DIR_ENV, data_dir
from ._plugins import LoadedProvider, PluginFailure, PluginRegistry
from ._schemas import CredentialSchema
from ._store import DATABASE_URL_ENV, LockedCredential, Store
from .errors import (
    AuthFlowError,
    AuthorizationDenied,
    ConfigurationError,
    CredentialInvalid,
    CredentialNotFound,
    CredentialRevoked,
    DecryptionError,
    FieldlinkError,
    FileFormatError,
    InvalidUserIdError,
    PermissionDenied,
    PluginError,
    ProviderError,
    ProviderUnavailable,
    UnknownProviderError,
    UnknownResourceKindError,
)
from .http import DEFAULT_TIMEOUT, HttpClient, is_http_url, iter_pages, make_session
from .models import (
    AppRegistration,
    AuthRequest,
    AuthSession,
    Credential,
    CredentialStatus,
    Event,
    Form,
    Grant,
    Page,
    ProviderInfo,
    Redirect,
    Resource,
    _redacted_url,
)

if TYPE_CHECKING:
    from .sandbox import SandboxClient

logger = logging.getLogger(__name__)

SANDBOX_URL_ENV = "FIELDLINK_SANDBOX_URL"
#: The default store in the data directory, and the one used against a sandbox
#: instead, with its own key, so that sandbox credentials never reach a real provider.
STORE_FILE = "fieldlink.db"
SANDBOX_STORE_FILE = "sandbox.db"
SANDBOX_KEY_FILE = "sandbox.key"
#: A TOML file of per-provider settings, read when the host passes none in code.
SETTINGS_FILE_ENV = "FIELDLINK_SETTINGS"
#: Where endpoint overrides not read from the settings file came from, for errors.
ENDPOINTS_IN_CODE = "given in code, by Fieldlink(endpoints=...) or override_endpoints"
#: How long a consent flow may take, from start to callback.
AUTH_SESSION_LIFETIME = timedelta(minutes=10)
#: An access token this close to expiry is refreshed before it is handed out.
DEFAULT_REFRESH_MARGIN = timedelta(minutes=5)
#: How long a process trusts its in-memory copy of a credential before reading the
#: store again (another process may have deleted it or marked it invalid).
DEFAULT_CACHE_SECONDS = 10.0
#: The refresh worker's look-ahead: what expires this soon is refreshed now.
DEFAULT_DUE_WINDOW = timedelta(minutes=15)
#: After a passing failure, the worker leaves a credential alone this long.
RETRY_DELAY = timedelta(minutes=5)
#: How long events are kept, as Leaf keeps its credential events.
DEFAULT_EVENT_RETENTION = timedelta(days=30)
#: The longest user id the store keeps (its user_id column).
USER_ID_MAX_LENGTH = 255
#: Unicode categories of characters that do not show: control and format
#: characters (a zero-width space), line and paragraph separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
#: What to do when no credential is stored, by what was asked of it.
_CONNECT_FIRST = "connect the user first"
_SEE_LIST = (
    "`fieldlink credentials list` (Fieldlink.credentials()) shows the stored ones"
)


@attrs.frozen
class AuthStart:
    """Where a connection begins: a URL to send the user to, or a form to show."""

    provider: str
    state: str = attrs.field(repr=False)
    expires_at: datetime
    url: str | None = attrs.field(default=None, repr=_redacted_url)
    form: Form | None = None

    @property
    def kind(self) -> str:
        return "redirect" if self.url is not None else "form"


@attrs.frozen
class Connection:
    """A completed connection: the stored credential, and a further step if any."""

    credential: Credential
    next_step_url: str | None = None


@attrs.frozen
class Deletion:
    """What deleting a credential did at the provider.

    ``revoked`` is True when the provider confirmed, None when it offers no
    revocation (or the credential was already invalid), False when it failed.
    """

    revoked: bool | None
    error: str | None = None


@attrs.frozen
class RefreshReport:
    """One credential the refresh worker took care of."""

    credential_id: str
    user_id: str
    provider: str
    #: The credential as the refresh left it; None when it could not be read.
    credential: Credential | None = None
    #: Why the refresh failed, with no secret in it; None when it succeeded.
    error: str | None = None
    #: True when the provider refused the credential for good.
    invalid: bool = False
    #: True when the provider was unavailable for now (``ProviderUnavailable``: a
    #: timeout, HTTP 5xx or 429); a later pass tries again.
    passing: bool = False


@attrs.frozen
class _Outcome:
    credential: Credential
    previous: CredentialStatus
    failure: FieldlinkError | None = None
    rotated: bool = False
    refreshed: bool = False


@attrs.define
class _Cached:
    credential: Credential
    usable_until: float
    checked_until: float


def _settings_file(
    path: str | None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Endpoints and settings from a TOML file: a table per provider id, whose
    ``endpoints`` table overrides URLs and whose other keys are settings::

        [trimble]
        application_name = "acme-agronomy"

        [john-deere.endpoints]
        token_url = "https://proxy.example/token"

    Endpoints are returned as written: they are checked against each provider's
    names when first applied.
    """
    if not path:
        return {}, {}
    from ._files import read_toml

    try:
        document = read_toml(Path(path))
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the settings file {path} named by {SETTINGS_FILE_ENV}: "
            f"{error.strerror}"
        ) from None
    except FileFormatError as error:
        raise ConfigurationError(
            f"{error} (the settings file named by {SETTINGS_FILE_ENV})"
        ) from None
    endpoints: dict[str, Any] = {}
    settings: dict[str, dict[str, Any]] = {}
    for provider, table in document.items():
        if not isinstance(table, dict):
            raise ConfigurationError(
                f"{path}: {provider!r} must be a table of settings, like [{provider}]"
            )
        table = dict(table)
        if "endpoints" in table:
            endpoints[provider] = table.pop("endpoints")
        settings[provider] = table
    return endpoints, settings


def check_user_id(user_id: str) -> str:
    """``user_id`` itself when a credential can be stored under it; otherwise
    InvalidUserIdError, saying why.

    Ids are compared exactly, so one with stray whitespace or a control character
    would be another user who merely looks like the intended one.
    """
    if not isinstance(user_id, str):
        problem = f"must be a string, not {type(user_id).__name__}"
    elif not user_id:
        problem = "is empty"
    elif user_id != user_id.strip():
        problem = "starts or ends with whitespace"
    elif any(unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in user_id):
        problem = "holds a control character or another that does not show"
    elif len(user_id) > USER_ID_MAX_LENGTH:
        problem = f"is longer than {USER_ID_MAX_LENGTH} characters"
    else:
        return user_id
    shown = repr(user_id) if len(repr(user_id)) <= 80 else repr(user_id)[:76] + "..."
    raise InvalidUserIdError(
        f"the user id {shown} {problem}; pass your application's id for the user "
        "exactly, without surrounding spaces"
    )


def _default_database_url(*, sandbox: bool) -> str:
    return f"sqlite:///{data_dir() / (SANDBOX_STORE_FILE if sandbox else STORE_FILE)}"


def _database_origin(database_url: str | None) -> str:
    if database_url:
        return "Fieldlink(database_url=...)"
    if os.environ.get(DATABASE_URL_ENV):
        return DATABASE_URL_ENV
    if os.environ.get(DATA_DIR_ENV):
        return DATA_DIR_ENV
    return f"the default data directory (set {DATA_DIR_ENV} to move it)"


def _wrap_plugin_errors(provider: str, hook: str):  # type: ignore[no-untyped-def]
    """Let fieldlink errors through; report anything else as the plugin's fault."""

    def decorate(call):  # type: ignore[no-untyped-def]
        @functools.wraps(call)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except FieldlinkError:
                raise
            except Exception as exc:
                raise PluginError(
                    f"the {provider} plugin failed in {hook}: {type(exc).__name__}",
                    provider=provider,
                ) from exc

        return wrapper

    return decorate


class Fieldlink:
    """Connect users to providers, store their credentials, and keep them usable.

    ``database_url`` defaults to ``FIELDLINK_DATABASE_URL``, else an SQLite file in
    the user's data directory: ``sandbox.db`` with a key of its own rather than
    ``fieldlink.db`` when there is a ``sandbox_url``, so that sandbox credentials
    never mix with real ones. ``secret_key`` (one Fernet key, or several with the
    encrypting one first) defaults to ``FIELDLINK_SECRET_KEY``, else, for the default
    SQLite file only, a key file beside it. ``endpoints`` overrides provider URLs
    (``{"john-deere": {"token_url": ...}}``), for one environment only when given
    under its name (``{"agvance": {"PRODUCTION": {...}}}``), each name one of the
    provider's endpoints and each URL absolute, as checked when first used;
    ``sandbox_url`` points every provider at a running ``fieldlink sandbox``.
    ``settings`` holds per-provider options (``{"john-deere": {"pkce": True}}``).
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        secret_key: str | list[str] | None = None,
        endpoints: Mapping[str, Mapping[str, str | Mapping[str, str]]] | None = None,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        sandbox_url: str | None = None,
        refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        event_retention: timedelta = DEFAULT_EVENT_RETENTION,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        alert_options: Mapping[str, Any] | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        registry: PluginRegistry | None = None,
    ) -> None:
        self._database_url = database_url or os.environ.get(DATABASE_URL_ENV)
        #: Where the database URL came from, as errors about the database name it.
        self.database_origin = _database_origin(database_url)
        self._secret_key = secret_key
        settings_path = None
        if endpoints is None and settings is None:
            # Blank is unset: no file, every default, as when the variable is absent.
            settings_path = (os.environ.get(SETTINGS_FILE_ENV) or "").strip() or None
            endpoints, settings = _settings_file(settings_path)
        # Checked when first applied, for they name each provider's endpoints.
        self._endpoint_overrides = dict(endpoints or {})
        self._endpoints_origin = (
            f"in the settings file {settings_path}"
            if settings_path
            else ENDPOINTS_IN_CODE
        )
        self._added_endpoints: dict[str, dict[str, Any]] = {}
        self._settings = {k: dict(v) for k, v in (settings or {}).items()}
        self._settings_path = settings_path
        # Errors name the file a setting came from; those not listed came from code.
        self._setting_files: dict[str, dict[str, str]] = {}
        if settings_path:
            self._setting_files = {
                provider: dict.fromkeys(table, settings_path)
                for provider, table in self._settings.items()
            }
        # Blank is unset, as for FIELDLINK_SETTINGS: no sandbox.
        sandbox = (sandbox_url or os.environ.get(SANDBOX_URL_ENV) or "").strip()
        self._sandbox_url = sandbox or None
        self._sandbox: SandboxClient | None = None
        if self._sandbox_url:
            # Emulators, and Werkzeug with them, only load for sandbox use.
            from .sandbox import SandboxClient

            self._sandbox = SandboxClient(self._sandbox_url)
        self.refresh_margin = refresh_margin
        self.cache_seconds = cache_seconds
        self.event_retention = event_retention
        self.timeout = timeout
        self._webhook = (
            webhook_url or os.environ.get(WEBHOOK_URL_ENV),
            webhook_secret or os.environ.get(WEBHOOK_SECRET_ENV),
            dict(alert_options or {}),
        )
        # Errors about the webhook name where the host set it: code or environment.
        self._webhook_origins = {
            "url_origin": (
                "Fieldlink(webhook_url=...)" if webhook_url else WEBHOOK_URL_ENV
            ),
            "secret_origin": (
                "Fieldlink(webhook_secret=...)"
                if webhook_secret
                else WEBHOOK_SECRET_ENV
            ),
        }
        self._alerts: WebhookAlerts | None = None
        self._alerts_ready = False
        self._registry = registry
        self._store: Store | None = None
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._setup_lock = threading.RLock()
        self._local = threading.local()
        self._sandbox_cache: dict[str, dict[str, str]] = {}
        self._sandbox_settings: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"Fieldlink(store={self._store!r})"

    # Setup

    @property
    def registry(self) -> PluginRegistry:
        if self._registry is None or not self._alerts_ready:
            # Threads that arrive together must share one registry.
            with self._setup_lock:
                if self._registry is None:
                    registry = PluginRegistry()
                    registry.load_entry_points()
                    self._registry = registry
                if not self._alerts_ready:
                    url, secret, options = self._webhook
                    self._alerts = plugin_from_settings(
                        self.store, url, secret, **self._webhook_origins, **options
                    )
                    if self._alerts is not None:
                        self._registry.add_plugin(
                            self._alerts, name="fieldlink:webhook-alerts"
                        )
                    self._warn_of_unknown_providers(self._registry)
                    self._alerts_ready = True
        return self._registry

    def _warn_of_unknown_providers(self, registry: PluginRegistry) -> None:
        """Say once when settings or endpoints name a provider that no plugin
        provides: a misspelt table would otherwise be ignored."""
        where = (
            f"the settings file {self._settings_path} ({SETTINGS_FILE_ENV})"
            if self._settings_path
            else "Fieldlink(settings=..., endpoints=...)"
        )
        named = {*self._settings, *self._endpoint_overrides, *self._added_endpoints}
        problem = registry.unknown_providers_problem(named, where)
        if problem:
            logger.warning("%s", problem)

    def deliver_alerts(self) -> Delivery:
        """Post the status alerts that are due; nothing when no webhook is configured."""
        self.registry  # noqa: B018 - the alerts plugin is set up with the registry
        return self._alerts.deliver_due() if self._alerts else Delivery()

    @property
    def store(self) -> Store:
        if self._store is None:
            # One engine per instance, however many threads ask at once.
            with self._setup_lock:
                if self._store is None:
                    url = self._database_url or _default_database_url(
                        sandbox=self.in_sandbox
                    )
                    self._store = Store(
                        url,
                        self._keyring(default_store=self._database_url is None),
                        origin=self.database_origin,
                    )
        return self._store

    def _keyring(self, *, default_store: bool) -> Keyring:
        if self._secret_key:
            keys = (
                [self._secret_key]
                if isinstance(self._secret_key, str)
                else self._secret_key
            )
            return Keyring(keys, source="the secret_key given to Fieldlink")
        from_env = keyring_from_env()
        if from_env is not None:
            return from_env
        if not default_store:
            raise ConfigurationError(
                f"{self.database_origin} names a database but FIELDLINK_SECRET_KEY is "
                "not set; "
                "every process sharing a database needs the same key "
                "(make one with `fieldlink keys generate`)"
            )
        return keyring_from_file(self.key_file)

    @property
    def key_file(self) -> Path:
        """The key file of the default store; against a sandbox, its store's own.

        Two stores never share one: rotating a key file's keys re-encrypts one store.
        """
        return data_dir() / SANDBOX_KEY_FILE if self.in_sandbox else key_file()

    def close(self) -> None:
        """Wait for the alerts being delivered in the background, then let the
        store go."""
        if self._alerts is not None:
            self._alerts.wait()
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Fieldlink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Providers

    def providers(self) -> Mapping[str, ProviderInfo]:
        return self.registry.describe()

    def plugin_failures(self) -> list[PluginFailure]:
        return list(self.registry.failures)

    def provider(self, provider: str) -> LoadedProvider:
        return self.registry.provider(provider)

    def validate(self, provider: str, payload: Any) -> None:
        """Raise CredentialValidationError unless ``payload`` fits the provider's schema."""
        self.registry.provider(provider).schema.validate(payload)

    def override_endpoints(
        self, provider: str, endpoints: Mapping[str, str | Mapping[str, str]]
    ) -> None:
        """Send ``provider``'s calls to other URLs (an emulator, a proxy); URLs under
        an environment's name apply to that environment alone. They apply over those
        given before, and are checked when first used."""
        table = _endpoint_table(provider, endpoints, ENDPOINTS_IN_CODE)
        self._added_endpoints.setdefault(provider, {}).update(table)

    def _endpoints(self, loaded: LoadedProvider, environment: str) -> dict[str, str]:
        """The provider's URLs for ``environment``, with every override applied in
        turn (the sandbox's, the host's, those added later), each checked first."""
        info = loaded.info
        layers = [
            (self._endpoint_overrides.get(info.id), self._endpoints_origin),
            (self._added_endpoints.get(info.id), ENDPOINTS_IN_CODE),
        ]
        if self._sandbox_url:
            source = f"from the {info.id} emulator of the sandbox"
            layers.insert(0, (self._sandbox_endpoints(info.id), source))
        endpoints = dict(info.endpoints[environment])
        for overrides, source in layers:
            if overrides is not None:
                checked = _checked_endpoints(info, overrides, source)
                _apply_endpoints(endpoints, checked, environment)
        return endpoints

    def _sandbox_endpoints(self, provider: str) -> dict[str, str]:
        if provider not in self._sandbox_cache:
            from .sandbox import sandbox_endpoints

            self._sandbox_cache[provider] = sandbox_endpoints(
                self.registry, provider, self._sandbox_url or ""
            )
        return self._sandbox_cache[provider]

    def override_settings(self, provider: str, settings: Mapping[str, Any]) -> None:
        """Change ``provider``'s settings from now on (those given as ``settings=``)."""
        self._settings.setdefault(provider, {}).update(settings)
        for name in settings:
            self._setting_files.get(provider, {}).pop(name, None)

    def _provider_settings(self, provider: str) -> dict[str, Any]:
        settings = self._settings.get(provider, {})
        if not self._sandbox_url:
            return settings
        if provider not in self._sandbox_settings:
            from .sandbox import sandbox_settings

            self._sandbox_settings[provider] = sandbox_settings(self.registry, provider)
        # What the emulator needs (an application name...) yields to the host's own.
        return {**self._sandbox_settings[provider], **settings}

    def _app(
        self, provider: str, environment: str, connection: Any
    ) -> AppRegistration | None:
        # Against the sandbox, its emulators' own registration: the host's real one
        # would not open them, and need not be touched.
        if self._sandbox is not None:
            return AppRegistration(
                provider, environment, self._sandbox.app_fields(provider)
            )
        return self.store.get_app(provider, environment, connection=connection)

    @property
    def _unreachable_hint(self) -> str:
        return "" if self._sandbox is None else self._sandbox.unreachable_hint

    @property
    def in_sandbox(self) -> bool:
        """Whether provider calls go to a running ``fieldlink sandbox``."""
        return self._sandbox is not None

    def sandbox_login(self, provider: str) -> dict[str, str]:
        """What the sandbox grower types into ``provider``'s form, when fieldlink
        talks to a running ``fieldlink sandbox``."""
        if self._sandbox is None:
            raise ConfigurationError(
                "no sandbox is set: start `fieldlink sandbox` and set "
                f"{SANDBOX_URL_ENV} to the URL it prints"
            )
        return self._sandbox.login_fields(provider)

    def _http(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = make_session()
        return session

    def _context(
        self,
        provider: str,
        environment: str | None,
        *,
        credential_id: str | None = None,
        connection: Any = None,
    ) -> ProviderContext:
        loaded = self.registry.provider(provider)
        environment = loaded.environment(environment)
        http = HttpClient(
            self._http(),
            provider,
            timeout=self.timeout,
            on_response=self._call_recorder(credential_id),
            unreachable_hint=self._unreachable_hint,
        )
        return ProviderContext(
            provider=loaded.info,
            environment=environment,
            endpoints=self._endpoints(loaded, environment),
            settings=self._provider_settings(provider),
            setting_files=self._setting_files.get(provider, {}),
            app=self._app(provider, environment, connection),
            http=http,
        )

    def _call_recorder(self, credential_id: str | None):  # type: ignore[no-untyped-def]
        if credential_id is None:
            return None

        def record(method: str, url: str, status: int) -> None:
            pending = getattr(self._local, "pending_calls", None)
            if pending is not None:
                # Under the refresh lock, events are written in the lock's transaction.
                pending.append((method, url, status))
            else:
                self.store.add_event(
                    credential_id,
                    "provider_call",
                    status_code=status,
                    message=f"{method} {url}",
                )

        return record

    def _call(self, provider: str, hook: str, **kwargs: Any) -> Any:
        return _wrap_plugin_errors(provider, hook)(self.registry.call)(
            provider, hook, **kwargs
        )

    # App registrations

    def register_app(
        self,
        provider: str,
        fields: Mapping[str, Any],
        *,
        environment: str | None = None,
    ) -> AppRegistration:
        """Store the host's client id and secrets at ``provider`` for ``environment``."""
        loaded = self.registry.provider(provider)
        environment = loaded.environment(environment)
        issues = loaded.schema.app_subset_issues(fields)
        if issues:
            from .errors import CredentialValidationError

            raise CredentialValidationError(
                provider, issues, schema=str(loaded.schema.path)
            )
        return self.store.put_app(
            provider, environment, fields, loaded.schema.secret_fields
        )

    def apps(
        self, *, unreadable: list[DecryptionError] | None = None
    ) -> list[AppRegistration]:
        """Every app registration. With ``unreadable``, one whose secrets cannot be
        decrypted is left out and its error, which names it, added there."""
        return self.store.list_apps(unreadable=unreadable)

    def delete_app(self, provider: str, environment: str) -> bool:
        # A mistyped name is named, rather than taken for a registration never made.
        self.registry.provider(provider).environment(environment)
        return self.store.delete_app(provider, environment)

    # Connecting users

    def start_auth(
        self,
        user_id: str,
        provider: str,
        *,
        redirect_uri: str = "",
        environment: str | None = None,
        scopes: tuple[str, ...] = (),
    ) -> AuthStart:
        """Begin connecting ``user_id``: a URL to send them to, or a form to show them."""
        from authlib.common.security import generate_token
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        check_user_id(user_id)
        context = self._context(provider, environment)
        state = generate_token(43)
        verifier = generate_token(64)
        request = AuthRequest(
            user_id=user_id,
            state=state,
            redirect_uri=redirect_uri,
            code_challenge=create_s256_code_challenge(verifier),
            scopes=scopes,
        )
        answer = self._call(provider, "start_auth", context=context, request=request)
        if isinstance(answer, Redirect) and not redirect_uri:
            raise ConfigurationError(
                f"{provider} sends users back to a redirect_uri; pass one to start_auth",
                provider=provider,
            )
        expires_at = datetime.now(UTC) + AUTH_SESSION_LIFETIME
        session = AuthSession(
            user_id=user_id,
            provider=provider,
            environment=context.environment,
            redirect_uri=redirect_uri,
            code_verifier=verifier,
            scopes=scopes,
            expires_at=expires_at,
        )
        self.store.create_session(state, session)
        if isinstance(answer, Redirect):
            return AuthStart(provider, state, expires_at, url=answer.url)
        if isinstance(answer, Form):
            return AuthStart(provider, state, expires_at, form=answer)
        raise PluginError(
            f"the {provider} plugin's start_auth returned neither a Redirect nor a Form",
            provider=provider,
        )

    def complete_auth(self, provider: str, params: Mapping[str, str]) -> Connection:
        """Finish a connection with the callback's parameters (or the form's fields).

        ``params`` must carry the ``state`` from :meth:`start_auth`.
        """
        self.registry.provider(provider)
        # A refusal is a refusal whatever else the callback carries (RFC 6749 4.1.2.1).
        if params.get("error"):
            if params.get("state"):
                # The refusal is what the caller needs to hear about, not the state.
                with contextlib.suppress(AuthFlowError):
                    self.store.consume_session(params["state"], provider)
            error = str(params["error"])
            description = str(params.get("error_description") or "")[:200]
            # RFC 6749 4.1.2.1: access_denied is the answer of a user who said no.
            refusal = (
                f"the user refused the connection at {provider}'s consent page"
                if error == "access_denied"
                else f"{provider} did not authorise the connection"
            )
            raise AuthorizationDenied(
                f"{refusal}: {error}" + (f" ({description})" if description else ""),
                provider=provider,
                error=error,
            )
        state = params.get("state")
        if not state:
            raise AuthFlowError(
                f"the {provider} callback carries no state; pass every callback parameter",
                provider=provider,
            )
        session = self.store.consume_session(state, provider)
        context = self._context(provider, session.environment)
        fields = {key: value for key, value in params.items() if key != "state"}
        result = self._call(
            provider, "complete_auth", context=context, session=session, params=fields
        )
        credential = self._register(
            session.user_id, context, result.grant, verify=False
        )
        return Connection(credential, result.next_step_url)

    def register(
        self,
        user_id: str,
        provider: str,
        payload: Mapping[str, Any],
        *,
        verify: bool = True,
    ) -> Credential:
        """Store a credential body (the one Leaf documents) for ``user_id``.

        With ``verify``, a credential that carries no access token is refreshed at
        once, so a dead refresh token shows up now rather than at first use. The
        credential is stored before that refresh, because a provider may rotate the
        refresh token on first use: when the refresh raises ``ProviderUnavailable``,
        the credential stays stored and is refreshed again when next used; when it
        raises ``CredentialInvalid``, it stays stored, marked invalid.
        """
        check_user_id(user_id)
        loaded = self.registry.provider(provider)
        loaded.schema.validate(payload)
        environment = payload.get("clientEnvironment")
        if environment not in loaded.info.environments:
            environment = None
        context = self._context(provider, environment)
        return self._register(user_id, context, Grant(payload), verify=verify)

    def _register(
        self, user_id: str, context: ProviderContext, grant: Grant, *, verify: bool
    ) -> Credential:
        provider = context.provider.id
        schema = self.registry.provider(provider).schema
        checked = self._call(
            provider, "register_credentials", context=context, payload=grant.payload
        )
        # The plugin's answer is checked like any payload: a bad one is never stored.
        self._check_plugin_payload(provider, checked.payload)
        stored = attrs.evolve(
            checked,
            access_token=checked.access_token or grant.access_token,
            expires_at=checked.expires_at or grant.expires_at,
            scopes=checked.scopes or grant.scopes,
        )
        credential, replaced = self.store.save_credential(
            user_id, provider, context.environment, stored, schema.secret_fields
        )
        self.store.add_event(
            credential.id, "created", message="replaced" if replaced else ""
        )
        self._cache.pop((user_id, provider), None)
        if verify and not self._usable(credential):
            credential = self._refresh(credential, force=True)
        return credential

    def _check_plugin_payload(self, provider: str, payload: Mapping[str, Any]) -> None:
        issues = self.registry.provider(provider).schema.issues(payload)
        if issues:
            raise ProviderError(
                f"{provider} produced a credential that breaks its schema at "
                f"{issues[0].path}: {issues[0].message}; nothing was stored",
                provider=provider,
            )

    # Stored credentials

    def credential(self, user_id: str, provider: str) -> Credential:
        return self._stored(user_id, provider, missing=_SEE_LIST, earlier_ids=True)

    def _stored(
        self,
        user_id: str,
        provider: str,
        *,
        missing: str = _CONNECT_FIRST,
        earlier_ids: bool = False,
    ) -> Credential:
        """The user's credential; ``missing`` says what to do when there is none.

        With ``earlier_ids``, an id :func:`check_user_id` refuses still finds a
        credential stored under it before ids were checked, so that it can be
        shown and deleted.
        """
        refused: InvalidUserIdError | None = None
        try:
            check_user_id(user_id)
        except InvalidUserIdError as error:
            if not earlier_ids:
                raise
            refused = error
        try:
            self.registry.provider(provider)
        except UnknownProviderError:
            # A credential whose plugin has since gone can still be read and deleted;
            # a mistyped provider is named as such, not as a user who never connected.
            try:
                return self.store.get_credential(user_id, provider)
            except CredentialNotFound:
                pass
            raise
        try:
            return self.store.get_credential(user_id, provider)
        except CredentialNotFound:
            if refused is not None:
                raise refused from None
            raise CredentialNotFound(
                f"no {provider} credential is stored for user {user_id!r}; {missing}",
                provider=provider,
            ) from None

    def credentials(
        self,
        user_id: str | None = None,
        provider: str | None = None,
        *,
        unreadable: list[DecryptionError] | None = None,
    ) -> list[Credential]:
        """The stored credentials, of one user or provider if named. With
        ``unreadable``, one whose secrets cannot be decrypted is left out and its
        error, which names it, added there; without, that error is raised."""
        if user_id is not None:
            check_user_id(user_id)
        if provider is not None:
            self.registry.provider(provider)
        return self.store.list_credentials(user_id, provider, unreadable=unreadable)

    def delete(self, user_id: str, provider: str, *, revoke: bool = True) -> Deletion:
        """Delete the credential; first revoke it at the provider where it can be.

        The local copy goes even when revocation fails, and when its secrets cannot
        be decrypted (deleting needs none); the answer says what happened.
        """
        try:
            credential = self._stored(
                user_id, provider, missing=_SEE_LIST, earlier_ids=True
            )
        except DecryptionError:
            return self._delete_unreadable(user_id, provider, revoke=revoke)
        deletion = Deletion(revoked=None)
        if revoke and credential.status is CredentialStatus.ACTIVE:
            deletion = self._revoke(credential)
        self.store.delete_credential(credential.id)
        self._cache.pop((user_id, provider), None)
        return deletion

    def _delete_unreadable(
        self, user_id: str, provider: str, *, revoke: bool
    ) -> Deletion:
        self.store.delete_credential(self.store.credential_id(user_id, provider))
        self._cache.pop((user_id, provider), None)
        if not revoke:
            return Deletion(revoked=None)
        failure = (
            f"its secrets cannot be decrypted with the configured keys, so {provider} "
            "was not asked to revoke it; revoke the grant in the user's account there"
        )
        logger.info("revoking the %s credential skipped: %s", provider, failure)
        return Deletion(revoked=False, error=failure)

    def _revoke(self, credential: Credential) -> Deletion:
        # Logged at INFO: the Deletion returned carries the failure to the caller,
        # who says it (the CLI prints it once, as a warning).
        provider = credential.provider
        if provider not in self.registry.providers:
            failure = (
                f"the {provider} plugin is not loaded, so {provider} was not asked to "
                "revoke it; revoke the grant in the user's account there"
            )
            logger.info("revoking the %s credential skipped: %s", provider, failure)
            return Deletion(revoked=False, error=failure)
        try:
            revoked = self._call(
                provider,
                "revoke_credentials",
                context=self._context(provider, credential.environment),
                credential=credential,
            )
        except FieldlinkError as error:
            logger.info("revoking the %s credential failed: %s", provider, error)
            return Deletion(revoked=False, error=str(error))
        return Deletion(revoked=revoked)

    def events(self, user_id: str, provider: str, *, limit: int = 50) -> list[Event]:
        try:
            credential_id = self._stored(
                user_id, provider, missing=_SEE_LIST, earlier_ids=True
            ).id
        except DecryptionError:
            # The log holds no secret: it is shown even when the credential's are lost.
            credential_id = self.store.credential_id(user_id, provider)
        return self.store.list_events(credential_id, limit=limit)

    def masked_payload(self, credential: Credential) -> dict[str, Any]:
        """The credential's payload with every secret masked, for display.

        Without the provider's plugin nothing says which fields are secret, so
        every value is masked.
        """
        loaded = self.registry.providers.get(credential.provider)
        if loaded is None:
            return {key: "********" for key in credential.payload}
        return loaded.schema.mask(credential.payload)

    # Tokens

    def access_token(self, user_id: str, provider: str) -> str:
        """A usable access token, refreshed first if it is about to expire."""
        if not self.registry.provider(provider).info.issues_access_tokens:
            raise ConfigurationError(
                f"{provider} signs each request instead of issuing access tokens; "
                "send requests through Fieldlink.api()",
                provider=provider,
            )
        credential = self.usable_credential(user_id, provider)
        if credential.access_token is None:
            raise PluginError(
                f"the {provider} plugin stored no access token", provider=provider
            )
        return credential.access_token

    def usable_credential(self, user_id: str, provider: str) -> Credential:
        """The user's credential with an access token that is not about to expire."""
        key = (user_id, provider)
        cached = self._cache.get(key)
        moment = time.time()
        if (
            cached is not None
            and moment < cached.usable_until
            and moment < cached.checked_until
        ):
            return cached.credential

        credential = self._stored(user_id, provider)
        if not self._usable(credential):
            credential = self._refresh(credential, force=False)
        self._remember(credential)
        return credential

    def refresh(self, user_id: str, provider: str) -> Credential:
        """Refresh now, whatever the token's expiry."""
        credential = self._refresh(self._stored(user_id, provider), force=True)
        self._remember(credential)
        return credential

    def _usable(self, credential: Credential) -> bool:
        if credential.status is CredentialStatus.INVALID:
            raise CredentialInvalid(
                f"the {credential.provider} credential of user {credential.user_id!r} is "
                f"invalid ({credential.status_reason}); the user must connect again",
                provider=credential.provider,
                reason=credential.status_reason or "",
            )
        if not self.registry.provider(credential.provider).info.issues_access_tokens:
            return True
        if credential.access_token is None:
            return False
        if credential.expires_at is None:
            return True
        return credential.expires_at - self.refresh_margin > datetime.now(UTC)

    def _remember(self, credential: Credential) -> None:
        moment = time.time()
        usable_until = (
            float("inf")
            if credential.expires_at is None
            else (credential.expires_at - self.refresh_margin).timestamp()
        )
        self._cache[(credential.user_id, credential.provider)] = _Cached(
            credential, usable_until, moment + self.cache_seconds
        )

    def _thread_lock(self, credential_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(credential_id, threading.Lock())

    def _refresh(self, credential: Credential, *, force: bool) -> Credential:
        # Threads of this process queue here, so one of them takes the store's lock.
        with self._thread_lock(credential.id):
            return self._refresh_locked(credential, force=force)

    def _refresh_locked(self, credential: Credential, *, force: bool) -> Credential:
        context = self._context(
            credential.provider, credential.environment, credential_id=credential.id
        )
        with self.store.locked(credential.id) as locked:
            outcome = self._refresh_under_lock(locked, context, force=force)
        return self._announce(outcome)

    def _refresh_under_lock(
        self, locked: LockedCredential, context: ProviderContext, *, force: bool
    ) -> _Outcome:
        """Refresh the credential ``locked`` holds; every write joins the lock's
        transaction, so the new tokens and their events commit together."""
        current = locked.credential
        # Another thread or process may have refreshed while this one waited; and an
        # invalid credential is not offered to the provider again.
        if self._usable(current) and not force:
            return _Outcome(current, current.status)
        schema = self.registry.provider(current.provider).schema
        current = _with_app_secrets(current, context, schema)
        failure: FieldlinkError | None = None
        rotated = False
        self._local.pending_calls = []
        try:
            grant = self._call(
                current.provider,
                "refresh_credentials",
                context=context,
                credential=current,
            )
            if grant is None:
                raise PluginError(
                    f"the {current.provider} plugin cannot refresh credentials: it "
                    "implements no refresh_credentials hook",
                    provider=current.provider,
                )
            self._check_plugin_payload(current.provider, grant.payload)
        except CredentialRevoked as exc:
            failure = exc
            locked.add_event("refresh_failed", status_code=exc.status, message=str(exc))
            _record_invalid(locked, exc)
        except FieldlinkError as exc:
            failure = exc
            locked.add_event(
                "refresh_failed",
                status_code=getattr(exc, "status", None),
                message=str(exc),
            )
        else:
            # The rotated refresh token is committed before anyone sees the new
            # access token.
            locked.save(grant, schema.secret_fields)
            rotated = grant.payload != current.payload
            locked.add_event("refreshed", details={"rotated": rotated})
        finally:
            calls, self._local.pending_calls = self._local.pending_calls, None
        for method, url, status in calls:
            locked.add_event(
                "provider_call", status_code=status, message=f"{method} {url}"
            )
        return _Outcome(
            locked.credential, current.status, failure, rotated, refreshed=True
        )

    def _announce(self, outcome: _Outcome) -> Credential:
        """Tell observers what a refresh did, once its transaction has committed."""
        updated = outcome.credential
        if outcome.failure is not None:
            if updated.status is not outcome.previous:
                self._announce_status(updated, outcome.previous)
            raise outcome.failure
        if outcome.refreshed:
            self.registry.broadcast(
                "credential_refreshed", credential=updated, rotated=outcome.rotated
            )
        return updated

    def refresh_due(
        self,
        *,
        within: timedelta = DEFAULT_DUE_WINDOW,
        stop: threading.Event | None = None,
    ) -> Iterator[RefreshReport]:
        """Refresh, one at a time, every credential that is due; yield what happened.

        Due means expiring within ``within`` (or the refresh margin, if longer), or
        holding a refresh token its provider retires when left unused that long.
        Several workers, threads or machines, may run this at once: each claims
        credentials the others do not hold (``FOR UPDATE SKIP LOCKED`` on
        PostgreSQL). A refresh that fails, whatever the error (a passing one, a
        secret that cannot be decrypted, a bug in a plugin), is reported, recorded in
        the credential's event log and keeps every worker away from that credential
        for ``RETRY_DELAY``; the pass goes on with the others. Each credential is
        refreshed at most once a call, even when its new token expires within
        ``within`` again. Ends when nothing is due or ``stop`` is set; an error of
        the store itself, not of one credential, is raised.
        """
        tokened = {
            pid: loaded.info
            for pid, loaded in self.registry.providers.items()
            if loaded.info.issues_access_tokens
        }
        # Tokens shorter-lived than the window are due again as soon as refreshed:
        # without this bound the worker would refresh them over and over, never ending.
        began = datetime.now(UTC)
        while stop is None or not stop.is_set():
            moment = datetime.now(UTC)
            idle_limits = {
                pid: moment - timedelta(seconds=info.refresh_token_lifetime) + within
                for pid, info in tokened.items()
                if info.refresh_token_lifetime
            }
            with self.store.claim_due(
                expiring_before=moment + max(within, self.refresh_margin),
                providers=tokened,
                idle_limits=idle_limits,
                refreshed_before=began,
            ) as locked:
                if locked is None:
                    return
                broken: RefreshReport | None = None
                try:
                    outcome = self._refresh_claimed(locked, moment)
                except Exception as error:
                    broken = self._record_broken_refresh(locked, error, moment)
            yield self._due_report(outcome) if broken is None else broken

    def _refresh_claimed(self, locked: LockedCredential, moment: datetime) -> _Outcome:
        # A savepoint: a refresh that breaks off leaves none of its writes, and the
        # claim's transaction can still record why.
        with locked.connection.begin_nested():
            context = self._context(
                locked.provider,
                locked.credential.environment,
                credential_id=locked.id,
                connection=locked.connection,
            )
            outcome = self._refresh_under_lock(locked, context, force=True)
        if (
            outcome.failure is not None
            and outcome.credential.status is CredentialStatus.ACTIVE
        ):
            locked.defer(moment + RETRY_DELAY)
        return outcome

    def _record_broken_refresh(
        self, locked: LockedCredential, error: Exception, moment: datetime
    ) -> RefreshReport:
        """A refresh that raised rather than failing as refreshes do (a secret that
        cannot be decrypted, a plugin's or fieldlink's own bug): the worker reports
        it and leaves the credential alone for a while, as after any failure."""
        report = _failure_report(locked.id, locked.user_id, locked.provider, error)
        locked.add_event(
            "refresh_failed",
            status_code=getattr(error, "status", None),
            message=report.error or "",
        )
        locked.defer(moment + RETRY_DELAY)
        return report

    def _due_report(self, outcome: _Outcome) -> RefreshReport:
        """Tell observers what the worker's refresh did, and report it."""
        try:
            credential = self._announce(outcome)
        except FieldlinkError as error:
            failed = outcome.credential
            return _failure_report(
                failed.id, failed.user_id, failed.provider, error, failed
            )
        self._remember(credential)
        return RefreshReport(
            credential.id, credential.user_id, credential.provider, credential
        )

    def prune_events(self) -> int:
        """Delete events older than the retention period; return how many went."""
        return self.store.prune_events(datetime.now(UTC) - self.event_retention)

    def _mark_invalid(self, credential: Credential, error: CredentialRevoked) -> None:
        """The provider refused the credential for good outside a refresh."""
        with self.store.locked(credential.id) as locked:
            previous = locked.credential.status
            if previous is CredentialStatus.INVALID:
                return
            _record_invalid(locked, error)
            updated = locked.credential
        self._announce_status(updated, previous)

    def _announce_status(self, updated: Credential, previous: CredentialStatus) -> None:
        self._cache.pop((updated.user_id, updated.provider), None)
        self.registry.broadcast(
            "credential_status_changed",
            credential=updated,
            previous=previous,
            reason=updated.status_reason or "",
        )

    # Reading data

    def api(self, user_id: str, provider: str) -> HttpClient:
        """An HTTP client whose requests carry the user's credential for ``provider``."""
        credential = self._stored(user_id, provider)
        context = self._context(
            provider, credential.environment, credential_id=credential.id
        )

        def authorize(request: Any) -> Any:
            usable = self.usable_credential(user_id, provider)
            return self._call(
                provider,
                "authorize_request",
                context=context,
                credential=usable,
                request=request,
            )

        return HttpClient(
            self._http(),
            provider,
            auth=authorize,
            timeout=self.timeout,
            on_response=context.http.on_response,
            unreachable_hint=self._unreachable_hint,
        )

    def list_resources(
        self,
        user_id: str,
        provider: str,
        kind: str,
        *,
        parent: str | None = None,
        cursor: str | None = None,
    ) -> Page:
        """One page of the user's ``kind`` resources at ``provider``."""
        loaded = self.registry.provider(provider)
        if kind not in loaded.info.resource_kinds:
            kinds = ", ".join(loaded.info.resource_kinds)
            raise UnknownResourceKindError(
                f"{provider} lists no {kind!r}; use one of {kinds}",
                provider=provider,
            )
        credential = self.usable_credential(user_id, provider)
        try:
            try:
                return self._list_page(credential, kind, parent, cursor)
            except ProviderError as error:
                # A token refused before its time (revoked, or expired early at the
                # provider): one refresh settles whether the credential still works.
                if error.status != 401 or not loaded.info.issues_access_tokens:
                    raise
                credential = self._refresh(credential, force=True)
                self._remember(credential)
                return self._list_page(credential, kind, parent, cursor)
        except CredentialRevoked as error:
            self._mark_invalid(credential, error)
            raise
        except PermissionDenied as error:
            self.store.add_event(
                credential.id,
                "permission_denied",
                status_code=error.status,
                message=str(error),
            )
            self.registry.broadcast(
                "credential_permission_denied", credential=credential, reason=str(error)
            )
            raise

    def _list_page(
        self, credential: Credential, kind: str, parent: str | None, cursor: str | None
    ) -> Page:
        provider = credential.provider
        context = self._context(
            provider, credential.environment, credential_id=credential.id
        )
        return self._call(
            provider,
            "list_resources",
            context=context,
            credential=credential,
            api=self.api(credential.user_id, provider),
            kind=kind,
            parent=parent,
            cursor=cursor,
        )

    def iter_resources(
        self, user_id: str, provider: str, kind: str, *, parent: str | None = None
    ) -> Iterator[Resource]:
        """Every ``kind`` resource, page after page; for a kind listed per parent and
        no ``parent`` given, the resources under every parent."""
        info = self.registry.provider(provider).info
        parent_kind = info.resource_parents.get(kind)
        if parent_kind is not None and parent is None:
            for owner in self.iter_resources(user_id, provider, parent_kind):
                yield from self.iter_resources(user_id, provider, kind, parent=owner.id)
            return
        pages = iter_pages(
            lambda cursor: self.list_resources(
                user_id, provider, kind, parent=parent, cursor=cursor
            ),
            provider=provider,
        )
        for page in pages:
            yield from page.items


def _failure_report(
    credential_id: str,
    user_id: str,
    provider: str,
    error: Exception,
    credential: Credential | None = None,
) -> RefreshReport:
    """The report of a failed refresh; an error nobody raised on purpose (a bug, in
    a plugin or in fieldlink) also has its traceback logged."""
    if isinstance(error, FieldlinkError):
        reason = str(error)
    else:
        # Its message may quote anything, a secret included: the log has it all.
        reason = f"unexpected {type(error).__name__}; the traceback is in the log"
    if not isinstance(error, FieldlinkError) or (
        isinstance(error, PluginError) and error.__cause__ is not None
    ):
        logger.error(
            "refreshing the %s credential of user %r failed: %s",
            provider,
            user_id,
            reason,
            exc_info=error,
        )
    return RefreshReport(
        credential_id,
        user_id,
        provider,
        credential,
        error=reason,
        invalid=isinstance(error, CredentialRevoked),
        passing=isinstance(error, ProviderUnavailable),
    )


def _record_invalid(locked: Any, error: CredentialRevoked) -> None:
    """Mark the locked credential invalid, with the reason, in its event log."""
    previous = locked.credential.status
    locked.set_status(CredentialStatus.INVALID, str(error))
    locked.add_event(
        "status_changed",
        message=f"{previous.value} -> invalid",
        details={"reason": error.error},
    )


def _endpoint_table(provider: str, overrides: Any, source: str) -> Mapping[str, Any]:
    """``overrides`` when they are a table; otherwise the error that says so."""
    if isinstance(overrides, Mapping):
        return overrides
    raise ConfigurationError(
        f"the {provider} endpoints {source} must be a table of endpoint names to "
        f"URLs, such as {{'token_url': 'https://proxy.example/token'}}, not a "
        f"{type(overrides).__name__}",
        provider=provider,
    )


def _checked_endpoints(
    info: ProviderInfo, overrides: Any, source: str
) -> Mapping[str, Any]:
    """``overrides`` when each name is one of the provider's endpoints, or one of
    its environments holding a table of them, and each URL absolute; otherwise the
    ConfigurationError that names the first that is not, and ``source``."""
    table = _endpoint_table(info.id, overrides, source)
    for name, value in table.items():
        if name not in info.environments:
            _check_endpoint(info, name, value, source)
            continue
        scoped = _endpoint_table(info.id, value, f"for {name} {source}")
        for scoped_name, url in scoped.items():
            _check_endpoint(info, scoped_name, url, source, environment=name)
    return table


def _check_endpoint(
    info: ProviderInfo,
    name: str,
    url: Any,
    source: str,
    *,
    environment: str | None = None,
) -> None:
    scope = f" for {environment}" if environment else ""
    if name not in info.endpoint_names:
        valid = ", ".join(info.endpoint_names) or "none"
        if environment is None:
            valid += (
                f"; or an environment ({', '.join(info.environments)}) holding a "
                "table of them"
            )
        raise ConfigurationError(
            f"{info.id} has no endpoint named {name!r}{scope} ({source}); its "
            f"endpoints are {valid}",
            provider=info.id,
        )
    if not is_http_url(url):
        raise ConfigurationError(
            f"the {info.id} endpoint {name!r}{scope} ({source}) must be an absolute "
            "http or https URL with a host, such as https://proxy.example/token",
            provider=info.id,
        )


def _apply_endpoints(
    endpoints: dict[str, str], overrides: Mapping[str, Any], environment: str
) -> None:
    """Plain names apply to every environment; a mapping under an environment's
    name (``{"PRODUCTION": {...}}``) to that environment alone, and wins."""
    endpoints.update({k: v for k, v in overrides.items() if isinstance(v, str)})
    scoped = overrides.get(environment)
    if isinstance(scoped, Mapping):
        endpoints.update(scoped)


def _with_app_secrets(
    credential: Credential, context: ProviderContext, schema: CredentialSchema
) -> Credential:
    """The credential with the app's current secrets, when it was made with this app.

    Leaf's bodies carry the app's client secret inside every credential: without
    this, a secret the host rotated at the provider would never reach the
    credentials made before, and their refreshes would fail for good.
    """
    if context.app is None:
        return credential
    app = context.app.fields
    # The app's public fields (its client id) tell which app made the credential.
    identity = schema.app_fields - schema.secret_fields
    if not identity or any(credential.payload.get(f) != app.get(f) for f in identity):
        return credential
    secrets = {f: app[f] for f in schema.app_fields & schema.secret_fields if f in app}
    payload = {**credential.payload, **secrets}
    if payload == credential.payload:
        return credential
    return attrs.evolve(credential, payload=payload)
