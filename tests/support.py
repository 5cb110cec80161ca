"""Helpers the core's test modules share."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa

from fieldlink import (
    AuthKind,
    Credential,
    CredentialStatus,
    Fieldlink,
    ProviderContext,
    ProviderInfo,
    hookimpl,
)
from fieldlink._crypto import SECRET_KEY_ENV, Keyring
from fieldlink._store import Store
from fieldlink.http import HttpClient, make_session
from fieldlink.sandbox import canary, drive_consent
from fieldlink.testing import CALLBACK_URI

JOHN_DEERE = "john-deere"
#: The user the ``deere`` fixture connects.
USER = "grower-1"
#: User ids every entry point refuses, each with the reason it gives.
BAD_USER_IDS = {
    "empty": ("", "is empty"),
    "blank": ("   ", "starts or ends with whitespace"),
    "leading space": (" user-42", "starts or ends with whitespace"),
    "trailing space": ("user-42 ", "starts or ends with whitespace"),
    "tab": ("\tuser-42", "starts or ends with whitespace"),
    "newline": ("user-42\n", "starts or ends with whitespace"),
    "nul": ("user\x0042", "holds a control character or another that does not show"),
    "escape": ("user\x1b42", "holds a control character or another that does not show"),
    "delete": ("user\x7f42", "holds a control character or another that does not show"),
    "zero-width space": (
        "user\u200b42",
        "holds a control character or another that does not show",
    ),
}
#: The provider of :func:`provider_context`, which no plugin provides.
TEST_PROVIDER = "test-provider"


def consent(
    fieldlink: Fieldlink,
    user_id: str = USER,
    *,
    decision: str = "allow",
    redirect_uri: str = CALLBACK_URI,
) -> dict[str, str]:
    """Start a John Deere connection and answer its consent page as a browser would.

    Returns the parameters of the callback, ready for ``complete_auth``.
    """
    start = fieldlink.start_auth(user_id, JOHN_DEERE, redirect_uri=redirect_uri)
    callback = drive_consent(start.url, decision)
    return dict(parse_qsl(urlsplit(callback).query))


def provider_context(
    settings: Mapping[str, Any] | None = None,
    *,
    declared: tuple[str, ...] | None = None,
    files: Mapping[str, str] | None = None,
) -> ProviderContext:
    """The context a hook of TEST_PROVIDER gets, with the host's ``settings``; the
    provider reads the settings ``declared``, and ``files`` says which settings came
    from which settings file."""
    info = ProviderInfo(
        id=TEST_PROVIDER,
        name="Test Provider",
        version="0.1.0",
        auth_kind=AuthKind.PASSWORD,
        credential_schema=Path("credentials.json"),
        resource_kinds=("fields",),
        endpoints={"PRODUCTION": {}},
        documentation_url="https://provider.example/docs",
        min_core_version="0.1.0",
        settings=declared,
    )
    return ProviderContext(
        provider=info,
        environment="PRODUCTION",
        endpoints={},
        settings=dict(settings or {}),
        app=None,
        http=HttpClient(make_session(), TEST_PROVIDER),
        setting_files=dict(files or {}),
    )


def shown_chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception a traceback of it would print."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None


class Observer:
    """An observer plugin that records what fieldlink broadcasts."""

    def __init__(self) -> None:
        self.status_changes: list[tuple[Credential, CredentialStatus, str]] = []
        self.refreshes: list[tuple[Credential, bool]] = []

    @hookimpl
    def credential_status_changed(
        self, credential: Credential, previous: CredentialStatus, reason: str
    ) -> None:
        self.status_changes.append((credential, previous, reason))

    @hookimpl
    def credential_refreshed(self, credential: Credential, rotated: bool) -> None:
        self.refreshes.append((credential, rotated))


POSTGRESQL_URL_ENV = "FIELDLINK_TEST_POSTGRESQL_URL"


class Database:
    """A fresh database of one backend; the PostgreSQL schema is made on first use,
    inside the test, so that an unreachable server fails the test."""

    def __init__(self, backend: str, directory: Path) -> None:
        self.backend = backend
        self.directory = directory
        self.schema: str | None = None
        self._url: str | None = None
        self._admin: sa.Engine | None = None
        self._opened: list[Fieldlink | Store] = []

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @property
    def path(self) -> Path:
        return self.directory / "store.db"

    def url(self) -> str:
        if self._url is None:
            self._url = (
                f"sqlite:///{self.path}" if self.is_sqlite else self._create_schema()
            )
        return self._url

    def _create_schema(self) -> str:
        base = os.environ[POSTGRESQL_URL_ENV]
        schema = f"fieldlink_test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        except sa.exc.OperationalError as exc:
            admin.dispose()
            pytest.fail(
                f"{POSTGRESQL_URL_ENV} is set but its server cannot be used: {exc.orig}"
            )
        self.schema, self._admin = schema, admin
        url = sa.make_url(base).update_query_dict(
            {"options": f"-csearch_path={schema}"}
        )
        return url.render_as_string(hide_password=False)

    def fieldlink(self, secret_key: str | list[str] | None) -> Fieldlink:
        instance = Fieldlink(self.url(), secret_key=secret_key)
        self._opened.append(instance)
        return instance

    def store(self, *keys: str) -> Store:
        instance = Store(self.url(), Keyring(list(keys)))
        self._opened.append(instance)
        return instance

    def close(self) -> None:
        for instance in self._opened:
            instance.close()
        if self._admin is not None:
            with self._admin.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self._admin.dispose()


def open_database(backend: str, directory: Path) -> Iterator[Database]:
    if backend == "postgresql" and not os.environ.get(POSTGRESQL_URL_ENV):
        pytest.skip(f"{POSTGRESQL_URL_ENV} is not set")
    opened = Database(backend, directory)
    yield opened
    opened.close()


def connect_by_cli(provider: str, user_id: str) -> subprocess.CompletedProcess[str]:
    """`fieldlink connect` in a process of its own, as a user runs it: each URL it
    prints (the consent page, then any further step) answered as a browser would,
    its callback on loopback."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldlink.cli",
            "connect",
            provider,
            "--user",
            user_id,
            "--port",
            "0",
            "--no-browser",
            "--timeout",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    seen = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            match = re.match(r"\s+(http\S+)", line)
            if match:
                callback = drive_consent(match.group(1))
                answer = make_session(retries=0).get(callback, timeout=10)
                assert answer.status_code == 200, answer.text
        stdout, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    return subprocess.CompletedProcess(
        process.args, process.returncode, stdout, "".join(seen)
    )


def john_deere_payload() -> dict[str, str]:
    """A John Deere credential body whose secrets are canaries."""
    return {
        "clientKey": "john-deere-sandbox-client",
        "clientSecret": canary("client-secret"),
        "refreshToken": canary("refresh"),
        "clientEnvironment": "STAGE",
    }


def register(fieldlink: Fieldlink, user_id: str = USER) -> Credential:
    """Store :func:`john_deere_payload` for ``user_id``, with no refresh: the tests
    that use it are about the store, not the provider."""
    return fieldlink.register(user_id, JOHN_DEERE, john_deere_payload(), verify=False)


def default_store_with_key_file(monkeypatch: pytest.MonkeyPatch) -> Credential:
    """The default store, made with the key file it generates (no
    FIELDLINK_SECRET_KEY), holding one credential; that file is ``key_file()``."""
    monkeypatch.delenv(SECRET_KEY_ENV)
    with Fieldlink() as fieldlink:
        return register(fieldlink)
