"""``fieldlink demo``: every installed provider, end to end, against its emulator."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import click

from ._client import Fieldlink
from ._crypto import generate_key
from ._plugins import PluginRegistry
from .errors import FieldlinkError
from .sandbox import build_emulators, drive_consent, mount, serve

DEMO_USER = "demo-grower"
CALLBACK_URI = "http://127.0.0.1:9/callback"


def run_demo(*, size: int, database_url: str | None) -> int:
    """Run the demo; return the exit status (0 when every provider worked)."""
    with tempfile.TemporaryDirectory(prefix="fieldlink-demo-") as scratch:
        url = database_url or f"sqlite:///{Path(scratch) / 'demo.db'}"
        registry = PluginRegistry()
        registry.load_entry_points()
        emulators = build_emulators(registry, {"size": size})
        if not emulators:
            click.echo(
                "No provider plugin is installed; see `fieldlink providers`.", err=True
            )
            return 1
        with serve(mount(emulators)) as running:
            click.echo(
                f"Emulators of {len(emulators)} providers at {running.url}", err=True
            )
            with Fieldlink(
                url,
                secret_key=generate_key(),
                sandbox_url=running.url,
                registry=registry,
            ) as fieldlink:
                rows = [
                    _run_provider(fieldlink, provider, emulator)
                    for provider, emulator in sorted(emulators.items())
                ]

    click.echo(_render(rows))
    failed = [row for row in rows if row["error"]]
    click.echo(
        f"\n{len(rows) - len(failed)} of {len(rows)} providers connected, listed and refreshed."
    )
    return 1 if failed else 0


def _run_provider(fieldlink: Fieldlink, provider: str, emulator: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"provider": provider, "error": None, "counts": {}}
    began = time.perf_counter()
    try:
        info = fieldlink.provider(provider).info

        start = fieldlink.start_auth(DEMO_USER, provider, redirect_uri=CALLBACK_URI)
        if start.form is not None:
            # Form flows: the grower types what the emulator's sandbox account uses.
            params = {"state": start.state, **emulator.login_fields()}
            row["flow"] = "form"
        else:
            callback = drive_consent(start.url or "")
            params = dict(parse_qsl(urlsplit(callback).query))
            row["flow"] = "consent"
        connection = fieldlink.complete_auth(provider, params)
        if connection.next_step_url:
            drive_consent(connection.next_step_url)
            row["flow"] += " + org approval"

        for kind in info.resource_kinds:
            row["counts"][kind] = sum(
                1 for _ in fieldlink.iter_resources(DEMO_USER, provider, kind)
            )

        before = fieldlink.credential(DEMO_USER, provider).payload
        after = fieldlink.refresh(DEMO_USER, provider).payload
        row["refresh"] = "rotated" if after != before else "kept"
    except FieldlinkError as error:
        row["error"] = str(error)
    row["seconds"] = time.perf_counter() - began
    click.echo(f"  {provider}: {'failed' if row['error'] else 'ok'}", err=True)
    return row


def _render(rows: list[dict[str, Any]]) -> str:
    from .cli import _table

    table = []
    for row in rows:
        counts = ", ".join(f"{kind} {count}" for kind, count in row["counts"].items())
        table.append(
            (
                row["provider"],
                row.get("flow", "-"),
                counts or "-",
                row.get("refresh", "-"),
                f"{row['seconds']:.2f}s",
                row["error"] or "ok",
            )
        )
    return _table(
        table, ("provider", "connect", "resources", "refresh", "time", "result")
    )
