"""pytest fixtures for testing fieldlink plugins and hosts against the emulators.

Installed as a pytest plugin with the core, so any provider's tests can use:

``fieldlink_home``
    a throwaway data directory, cache and secret key, set in the environment.
``fieldlink``
    a :class:`~fieldlink.Fieldlink` on a fresh SQLite file in ``fieldlink_home``.
``sandbox``
    a function ``sandbox(provider, **settings)`` that serves the provider's
    emulator on loopback, points ``fieldlink`` at it, registers the emulator's app
    and returns a :class:`SandboxedProvider`.
``canary_sweep``
    fails the test when a ``CANARY-`` value (every emulator secret carries one)
    reaches a log record or captured output.

and switch on the conformance suite in one line of a test module::

    TestConformance = conformance_tests("acme")
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest

from ._conformance import ConformanceSuite, conformance_tests
from .sandbox import CANARY, RunningEmulator, drive_consent, serve

__all__ = [
    "CALLBACK_URI",
    "ConformanceSuite",
    "SandboxedProvider",
    "assert_no_canary",
    "conformance_tests",
]

CALLBACK_URI = "http://127.0.0.1:9/callback"


def assert_no_canary(text: str, where: str = "text") -> None:
    """Fail when ``text`` contains a secret issued by an emulator."""
    if CANARY in text:
        start = text.index(CANARY)
        pytest.fail(
            f"a secret leaked into {where}: ...{text[max(0, start - 60) : start]}<secret>"
        )


@attrs.define
class SandboxedProvider:
    """A provider's emulator served on loopback, and the Fieldlink pointed at it."""

    provider: str
    emulator: Any
    running: RunningEmulator
    fieldlink: Any

    @property
    def endpoints(self) -> dict[str, str]:
        return self.emulator.endpoints(self.running.url)

    def connect(
        self,
        user_id: str = "grower-1",
        *,
        decision: str = "allow",
        form: dict[str, str] | None = None,
    ) -> Any:
        """Run the whole connection flow, as a browser would; return the Connection."""
        params = self.callback_params(user_id, decision=decision, form=form)
        connection = self.fieldlink.complete_auth(self.provider, params)
        if connection.next_step_url:
            drive_consent(connection.next_step_url, decision)
        return connection

    def callback_params(
        self,
        user_id: str = "grower-1",
        *,
        decision: str = "allow",
        form: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """Start connecting ``user_id`` and answer as the user would; return what
        ``complete_auth`` takes: the callback's parameters, or the form's fields."""
        start = self.fieldlink.start_auth(
            user_id, self.provider, redirect_uri=CALLBACK_URI
        )
        if start.kind == "form":
            return {"state": start.state, **(form or self.emulator.login_fields())}
        callback = drive_consent(start.url, decision)
        return dict(parse_qsl(urlsplit(callback).query))


@pytest.fixture
def fieldlink_home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from ._crypto import generate_key

    monkeypatch.setenv("FIELDLINK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FIELDLINK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FIELDLINK_SECRET_KEY", generate_key())
    monkeypatch.delenv("FIELDLINK_DATABASE_URL", raising=False)
    monkeypatch.delenv("FIELDLINK_SANDBOX_URL", raising=False)
    monkeypatch.delenv("FIELDLINK_PLUGINS", raising=False)
    return tmp_path


@pytest.fixture
def fieldlink(fieldlink_home: Any) -> Iterator[Any]:
    from ._client import Fieldlink

    instance = Fieldlink(f"sqlite:///{fieldlink_home / 'fieldlink.db'}")
    yield instance
    instance.close()


@pytest.fixture
def sandbox(fieldlink: Any) -> Iterator[Any]:
    running: list[RunningEmulator] = []

    def start(provider: str, **settings: Any) -> SandboxedProvider:
        emulator = fieldlink.registry.call(
            provider, "sandbox_emulator", settings=settings
        )
        server = serve(emulator)
        running.append(server)
        fieldlink.override_endpoints(provider, emulator.endpoints(server.url))
        fieldlink.override_settings(provider, emulator.host_settings())
        for environment in fieldlink.provider(provider).info.environments:
            fieldlink.register_app(
                provider, emulator.app_fields(), environment=environment
            )
        return SandboxedProvider(provider, emulator, server, fieldlink)

    yield start
    for server in running:
        server.stop()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1]) + " " + str(record.exc_info[1])
        self.texts.append(text)


@pytest.fixture
def canary_sweep(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    root = logging.getLogger()
    handler = _Records()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    for text in handler.texts:
        assert_no_canary(text, "a log record")
    captured = capsys.readouterr()
    assert_no_canary(captured.out, "standard output")
    assert_no_canary(captured.err, "standard error")
