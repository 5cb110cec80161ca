"""Fixtures shared by the core's tests.

Every test here also runs under an exception sweep: each fieldlink error built during
the test, caught or not, must show no emulator secret in its ``str`` or ``repr``, nor
in the exceptions a traceback would print with it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldlink import Fieldlink
from fieldlink.errors import FieldlinkError
from fieldlink.sandbox import RunningEmulator, serve
from fieldlink.testing import SandboxedProvider, assert_no_canary

from .support import JOHN_DEERE, USER, Database, Observer, open_database, shown_chain


@pytest.fixture(autouse=True)
def _exception_sweep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    built: list[FieldlinkError] = []
    initialise = FieldlinkError.__init__

    # A spy, not a mock: each error is built exactly as before, and remembered.
    def remember(self: FieldlinkError, *args: Any, **kwargs: Any) -> None:
        initialise(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(FieldlinkError, "__init__", remember)
    yield
    for error in built:
        for shown in shown_chain(error):
            name = type(shown).__name__
            assert_no_canary(str(shown), f"str() of a {name}")
            assert_no_canary(repr(shown), f"repr() of a {name}")


@pytest.fixture
def deere(sandbox: Callable[..., SandboxedProvider]) -> SandboxedProvider:
    """John Deere's emulator, with USER connected and their organisations approved."""
    provider = sandbox(JOHN_DEERE)
    provider.connect(USER)
    return provider


@pytest.fixture
def sandbox_for() -> Iterator[Callable[[Fieldlink], SandboxedProvider]]:
    """Like ``sandbox``, for a Fieldlink the test built itself (settings, database)."""
    running: list[RunningEmulator] = []

    def start(fieldlink: Fieldlink) -> SandboxedProvider:
        emulator = fieldlink.registry.call(JOHN_DEERE, "sandbox_emulator", settings={})
        server = serve(emulator)
        running.append(server)
        fieldlink.override_endpoints(JOHN_DEERE, emulator.endpoints(server.url))
        for environment in fieldlink.provider(JOHN_DEERE).info.environments:
            fieldlink.register_app(
                JOHN_DEERE, emulator.app_fields(), environment=environment
            )
        return SandboxedProvider(JOHN_DEERE, emulator, server, fieldlink)

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def observer(fieldlink: Fieldlink) -> Observer:
    recorder = Observer()
    fieldlink.registry.add_plugin(recorder, name="test-observer")
    return recorder


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback URL whose server accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/token"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from open_database(request.param, tmp_path)


@pytest.fixture
def postgresql(tmp_path: Path) -> Iterator[Database]:
    yield from open_database("postgresql", tmp_path)
