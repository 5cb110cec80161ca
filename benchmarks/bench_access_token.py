"""How many times a second one thread gets an access token that needs no refresh.

Hosts call `Fieldlink.access_token` before every provider request, so the common
case, a token that is not about to expire, must cost next to nothing. The baseline
is one read of the credential from the store: what each call would cost without
the in-process cache.
"""

from __future__ import annotations

import os
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from _report import Summary, per_second, report

from fieldlink import Fieldlink
from fieldlink._client import DEFAULT_CACHE_SECONDS
from fieldlink._crypto import generate_key
from fieldlink.sandbox import drive_consent, serve

PROVIDER = "john-deere"
USER = "grower-1"
#: Never requested: the emulator only has to name it in its redirect.
CALLBACK_URI = "http://127.0.0.1:9/callback"
REPEATS = 9
GOAL = 20_000

FIGURE = "Fieldlink.access_token"
BASELINE = "baseline: store.get_credential"


def isolate(home: Path) -> None:
    """Keep fieldlink's files and key in ``home``; ignore the caller's settings."""
    for name in [name for name in os.environ if name.startswith("FIELDLINK_")]:
        del os.environ[name]
    os.environ["FIELDLINK_DATA_DIR"] = str(home / "data")
    os.environ["FIELDLINK_CACHE_DIR"] = str(home / "cache")
    os.environ["FIELDLINK_SECRET_KEY"] = generate_key()


def connect(fieldlink: Fieldlink, emulator: Any, base_url: str) -> None:
    """Connect USER through the emulator's consent page, as a browser would."""
    fieldlink.override_endpoints(PROVIDER, emulator.endpoints(base_url))
    for environment in fieldlink.provider(PROVIDER).info.environments:
        fieldlink.register_app(PROVIDER, emulator.app_fields(), environment=environment)
    start = fieldlink.start_auth(USER, PROVIDER, redirect_uri=CALLBACK_URI)
    callback = drive_consent(start.url or "")
    params = dict(parse_qsl(urlsplit(callback).query))
    connection = fieldlink.complete_auth(PROVIDER, params)
    if connection.next_step_url:
        drive_consent(connection.next_step_url)


def measure(calls: dict[str, Callable[[], object]]) -> dict[str, Summary]:
    """Calls a second of each, in samples of at least 0.2 s, interleaved."""
    loops = {label: timeit.Timer(call).autorange()[0] for label, call in calls.items()}
    rates: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(REPEATS):
        for label, call in calls.items():
            rates[label].append(loops[label] / timeit.timeit(call, number=loops[label]))
    return {label: Summary.of(samples) for label, samples in rates.items()}


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        isolate(Path(home))
        database = Path(home) / "data" / "fieldlink.db"
        with Fieldlink(f"sqlite:///{database}") as fieldlink:
            store = fieldlink.store
            emulator = fieldlink.registry.call(
                PROVIDER, "sandbox_emulator", settings={}
            )
            with serve(emulator) as running:
                connect(fieldlink, emulator, running.url)
                refreshes = emulator.refresh_requests
                summaries = measure(
                    {
                        FIGURE: lambda: fieldlink.access_token(USER, PROVIDER),
                        BASELINE: lambda: store.get_credential(USER, PROVIDER),
                    }
                )
                refreshes = emulator.refresh_requests - refreshes

    ours, theirs = summaries[FIGURE], summaries[BASELINE]
    ratio = ours.median / theirs.median
    met = ours.median >= GOAL
    report(
        "Access token when no refresh is due, calls a second in one thread",
        [
            f"One {PROVIDER} credential, connected against its emulator, in an SQLite "
            "file.",
            f"{REPEATS} samples of each, interleaved. Refreshes during the run: "
            f"{refreshes}.",
            "A call reads the store again once its in-process copy is "
            f"{DEFAULT_CACHE_SECONDS:g} s old.",
        ],
        [(FIGURE, ours), (BASELINE, theirs)],
        per_second,
        [
            (FIGURE, per_second(ours.median), f"at least {GOAL:,}/s", met),
            ("access_token / baseline", f"{ratio:,.0f}", None, True),
        ],
    )


if __name__ == "__main__":
    main()
