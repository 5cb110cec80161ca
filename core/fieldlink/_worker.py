"""``fieldlink refresh --due``: refresh workers with progress, a summary and a clean stop."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ._client import Fieldlink

#: Seconds between progress lines.
PROGRESS_EVERY = 2.0


def run_workers(fieldlink: Fieldlink, *, within: int, workers: int) -> int:
    """Run ``workers`` threads of ``Fieldlink.refresh_due`` until nothing is due.

    Returns the exit status: 0 when every refresh succeeded, 1 otherwise.
    """
    stop = threading.Event()
    counts: Counter[str] = Counter()
    guard = threading.Lock()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def work() -> None:
        for report in fieldlink.refresh_due(
            within=timedelta(seconds=within), stop=stop
        ):
            outcome = (
                "invalid"
                if report.invalid
                else "failed"
                if report.error
                else "refreshed"
            )
            with guard:
                counts[outcome] += 1

    pruned = fieldlink.prune_events()
    began = time.perf_counter()
    threads = [
        threading.Thread(target=work, name=f"refresh-{n}") for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(PROGRESS_EVERY / len(threads))
            _progress(counts, began)
    except KeyboardInterrupt:
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        signal.signal(signal.SIGTERM, previous)

    alerts = fieldlink.deliver_alerts()
    elapsed = time.perf_counter() - began
    done = sum(counts.values())
    rate = done / elapsed if elapsed else 0.0
    click.echo(
        f"refreshed {counts['refreshed']}, failed {counts['failed']} (will retry), "
        f"invalid {counts['invalid']} in {elapsed:.1f} s ({rate:.1f}/s)"
        + (", stopped early" if stop.is_set() else "")
        + (f"; pruned {pruned} old events" if pruned else "")
        + (f"; alerts delivered {alerts.delivered}" if alerts.delivered else "")
    )
    return 0 if not counts["failed"] and not counts["invalid"] else 1


def _progress(counts: Any, began: float) -> None:
    click.echo(
        f"... {sum(counts.values())} done in {time.perf_counter() - began:.0f} s",
        err=True,
    )
