"""``fieldlink refresh --due``: refresh workers with progress, a summary and a clean stop."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs
import click

from .errors import FieldlinkError

if TYPE_CHECKING:
    from ._client import Fieldlink, RefreshReport

logger = logging.getLogger(__name__)

#: Seconds between progress lines.
PROGRESS_EVERY = 2.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@attrs.define
class _Tally:
    """What the workers did, one report at a time from any of their threads."""

    refreshed: int = 0
    #: One line per credential that failed, or that the provider refused for good.
    failed: list[str] = attrs.Factory(list)
    invalid: list[str] = attrs.Factory(list)
    #: Passing failures, counted per provider with the latest reason.
    unavailable: Counter[str] = attrs.Factory(Counter)
    unavailable_reasons: dict[str, str] = attrs.Factory(dict)
    #: Workers that stopped on an error of the store, not of one credential.
    stopped: list[str] = attrs.Factory(list)
    _lock: threading.Lock = attrs.Factory(threading.Lock)

    @property
    def done(self) -> int:
        return (
            self.refreshed
            + len(self.failed)
            + len(self.invalid)
            + sum(self.unavailable.values())
        )

    @property
    def ok(self) -> bool:
        """Only passing provider outages, if anything, kept a credential back."""
        return not (self.failed or self.invalid or self.stopped)

    def add(self, report: RefreshReport) -> None:
        line = f"user {report.user_id!r} at {report.provider}: {report.error}"
        with self._lock:
            if report.error is None:
                self.refreshed += 1
            elif report.passing:
                self.unavailable[report.provider] += 1
                self.unavailable_reasons[report.provider] = report.error
            elif report.invalid:
                self.invalid.append(line)
            else:
                self.failed.append(line)

    def stop(self, error: Exception) -> None:
        reason = (
            str(error)
            if isinstance(error, FieldlinkError)
            else f"unexpected {type(error).__name__}; the traceback is in the log"
        )
        with self._lock:
            self.stopped.append(reason)

    def lines(self) -> list[str]:
        """Why each credential was not refreshed, one line each, up to
        LISTED_AT_MOST of a kind: one wrong app registration fails them all."""
        return (
            _at_most("failed", sorted(self.failed))
            + _at_most("invalid", sorted(self.invalid))
            + [
                f"unavailable: {provider}, {count} credential"
                f"{'' if count == 1 else 's'} left for a later run: "
                f"{self.unavailable_reasons[provider]}"
                for provider, count in sorted(self.unavailable.items())
            ]
            + [f"worker stopped: {reason}" for reason in self.stopped]
        )


#: How many credentials of one outcome the summary names, one line each.
LISTED_AT_MOST = 20


def _at_most(outcome: str, lines: list[str]) -> list[str]:
    shown = [f"{outcome}: {line}" for line in lines[:LISTED_AT_MOST]]
    if len(lines) > LISTED_AT_MOST:
        shown.append(
            f"{outcome}: {len(lines) - LISTED_AT_MOST} more, not listed; "
            "`fieldlink credentials events USER PROVIDER` says why for each"
        )
    return shown


def run_workers(fieldlink: Fieldlink, *, within: int, workers: int) -> int:
    """Run ``workers`` threads of ``Fieldlink.refresh_due`` until nothing is due.

    Returns the exit status: 0 when every due credential was refreshed or is left
    for a later run by a passing provider outage, 1 when any failed otherwise.
    """
    stop = threading.Event()
    tally = _Tally()

    def work() -> None:
        try:
            for report in fieldlink.refresh_due(
                within=timedelta(seconds=within), stop=stop
            ):
                tally.add(report)
        except Exception as error:
            # The store failed, not one credential: this worker cannot go on.
            logger.error("a refresh worker stopped", exc_info=error)
            tally.stop(error)

    with _log_to_stderr():
        pruned = fieldlink.prune_events()
        # Plugins load here, so that a broken setup is reported once, not per worker.
        fieldlink.providers()
        began = time.perf_counter()
        stopped_early = _run_threads(work, workers, stop, tally, began)
        alerts = fieldlink.deliver_alerts()
    elapsed = time.perf_counter() - began

    if tally.done or tally.stopped:
        rate = tally.done / elapsed if elapsed else 0.0
        summary = (
            f"refreshed {tally.refreshed}, failed {len(tally.failed)}, "
            f"invalid {len(tally.invalid)}, unavailable "
            f"{sum(tally.unavailable.values())} in {elapsed:.1f} s ({rate:.1f}/s)"
        )
    else:
        summary = f"nothing was due within {within} s"
    click.echo(
        summary
        + (", stopped early" if stopped_early else "")
        + (f"; pruned {pruned} old events" if pruned else "")
        + (f"; alerts delivered {alerts.delivered}" if alerts.delivered else "")
    )
    for line in tally.lines():
        click.echo(line)
    return 0 if tally.ok else 1


def _run_threads(
    work: Callable[[], None],
    workers: int,
    stop: threading.Event,
    tally: _Tally,
    began: float,
) -> bool:
    """Run ``work`` in ``workers`` threads, with progress while they run; return
    whether they were stopped early (SIGTERM, Ctrl-C)."""
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [
        threading.Thread(target=work, name=f"refresh-{n}") for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(PROGRESS_EVERY / len(threads))
            # The summary tells how it ended: progress is for a pass still running.
            if any(thread.is_alive() for thread in threads):
                click.echo(
                    f"... {tally.done} done in {time.perf_counter() - began:.0f} s",
                    err=True,
                )
    except KeyboardInterrupt:
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return stop.is_set()


@contextlib.contextmanager
def _log_to_stderr() -> Iterator[None]:
    """fieldlink's warnings and errors (a bug's traceback) go to standard error as
    log lines, unless the process has set up logging of its own."""
    package = logging.getLogger("fieldlink")
    if package.hasHandlers():
        yield
        return
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
