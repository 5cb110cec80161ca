"""The refresh worker: what is due gets refreshed once, the rest is left alone."""

from __future__ import annotations

import itertools
import logging
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from fieldlink import Fieldlink, Grant, hookimpl
from fieldlink._client import RefreshReport
from fieldlink._crypto import generate_key
from fieldlink._tables import credentials
from fieldlink._worker import LISTED_AT_MOST, _Tally, run_workers
from fieldlink.cli import cli
from fieldlink.sandbox import mount, serve
from fieldlink.testing import assert_no_canary

DUE = 12
NOT_DUE = 5
REFRESH_DUE_IN_3_WORKERS = ("refresh", "--due", "--workers", "3")


def _connect_many(deere, count: int) -> list[str]:
    """``count`` users sharing one grower's refresh token (John Deere keeps it)."""
    fieldlink = deere.fieldlink
    deere.connect("template")
    payload = dict(fieldlink.credential("template", "john-deere").payload)
    users = [f"user-{number}" for number in range(count)]
    for user in users:
        fieldlink.register(user, "john-deere", payload)
    return users


def _set_expiry(fieldlink, users: list[str], when: datetime) -> None:
    with fieldlink.store.engine.begin() as connection:
        connection.execute(
            sa.update(credentials)
            .where(credentials.c.user_id.in_(users))
            .values(expires_at=when)
        )


def test_due_credentials_are_refreshed_once(sandbox, fieldlink):
    deere = sandbox("john-deere")
    users = _connect_many(deere, DUE + NOT_DUE)
    due, later = users[:DUE], users[DUE:]
    _set_expiry(fieldlink, due, datetime.now(UTC) + timedelta(minutes=2))
    before = {
        user: fieldlink.credential(user, "john-deere").access_token for user in users
    }
    requests_before = deere.emulator.refresh_requests

    reports = []
    lock = threading.Lock()

    def work() -> None:
        for report in fieldlink.refresh_due(within=timedelta(minutes=10)):
            with lock:
                reports.append(report)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(report.user_id for report in reports) == sorted(due)
    assert all(report.error is None for report in reports)
    assert deere.emulator.refresh_requests - requests_before == DUE
    for user in due:
        assert fieldlink.credential(user, "john-deere").access_token != before[user]
    for user in later:
        assert fieldlink.credential(user, "john-deere").access_token == before[user]


def test_tokens_shorter_than_the_window_are_refreshed_once_a_pass(
    database, sandbox_for, fieldlink_home
):
    """A token that expires within the look-ahead is due again as soon as it is
    refreshed; the pass must still end, having refreshed each credential once."""
    fieldlink = database.fieldlink(os.environ["FIELDLINK_SECRET_KEY"])
    deere = sandbox_for(fieldlink)
    users = _connect_many(deere, 3)
    deere.emulator.access_lifetime = 600
    _set_expiry(fieldlink, users, datetime.now(UTC))
    requests_before = deere.emulator.refresh_requests

    # Bounded, so that a pass that never ends fails the test instead of hanging it.
    passing = fieldlink.refresh_due(within=timedelta(minutes=15))
    reports = list(itertools.islice(passing, 3 * len(users)))

    assert sorted(report.user_id for report in reports) == sorted(users)
    assert all(report.error is None for report in reports)
    assert deere.emulator.refresh_requests - requests_before == len(users)


def test_refresh_tokens_that_die_unused_are_renewed(sandbox, fieldlink):
    """A provider whose refresh tokens live 30 days: one untouched for 29 is due."""
    deere = sandbox("john-deere")
    users = _connect_many(deere, 2)
    loaded = fieldlink.provider("john-deere")
    fieldlink.registry.providers["john-deere"] = attrs.evolve(
        loaded, info=attrs.evolve(loaded.info, refresh_token_lifetime=30 * 86400)
    )
    with fieldlink.store.engine.begin() as connection:
        connection.execute(
            sa.update(credentials)
            .where(credentials.c.user_id == users[0])
            .values(refreshed_at=datetime.now(UTC) - timedelta(days=29, hours=23))
        )

    reports = list(fieldlink.refresh_due(within=timedelta(hours=2)))

    assert [report.user_id for report in reports] == [users[0]]


def test_a_passing_failure_is_retried_later_not_now(sandbox, fieldlink):
    deere = sandbox("john-deere")
    users = _connect_many(deere, 1)
    _set_expiry(fieldlink, users, datetime.now(UTC))
    deere.emulator.fail_next_token_request(503, {"error": "temporarily_unavailable"})

    reports = list(fieldlink.refresh_due())

    # One attempt, then the credential waits out the retry delay instead of looping.
    assert len(reports) == 1 and reports[0].error and not reports[0].invalid
    assert reports[0].passing
    assert fieldlink.credential(users[0], "john-deere").status.value == "active"
    assert list(fieldlink.refresh_due()) == []


def test_revoked_grower_turns_invalid_in_the_worker(sandbox, fieldlink):
    deere = sandbox("john-deere")
    users = _connect_many(deere, 1)
    _set_expiry(fieldlink, users, datetime.now(UTC))
    deere.emulator.revoke()

    reports = list(fieldlink.refresh_due())

    assert [report.invalid for report in reports] == [True]
    assert fieldlink.credential(users[0], "john-deere").status.value == "invalid"


def test_cli_refresh_due_prints_a_summary(sandbox, fieldlink, monkeypatch):
    deere = sandbox("john-deere")
    users = _connect_many(deere, 3)
    _set_expiry(fieldlink, users, datetime.now(UTC))
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)

    # The CLI builds its own Fieldlink: it finds the emulator as `fieldlink sandbox`.
    with serve(mount({"john-deere": deere.emulator})) as running:
        monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
        result = CliRunner().invoke(cli, ["refresh", "--due", "--workers", "2"])

    assert_no_canary(result.output, "CLI output")
    assert result.exit_code == 0, result.output
    assert "refreshed 3, failed 0, invalid 0, unavailable 0" in result.output


def _refresh_in_threads(fieldlink, threads: int) -> list:
    """Every report of ``threads`` workers sharing one pass, as the CLI runs them."""
    reports = []
    lock = threading.Lock()

    def work() -> None:
        for report in fieldlink.refresh_due():
            with lock:
                reports.append(report)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return reports


def _store_unreadable(fieldlink, user: str) -> None:
    """Store ``user``'s credential under a key ``fieldlink`` does not hold, as when
    a key was lost: its secrets cannot be decrypted."""
    payload = dict(fieldlink.credential("template", "john-deere").payload)
    keys = [generate_key(), os.environ["FIELDLINK_SECRET_KEY"]]
    with Fieldlink(fieldlink.store.url, secret_key=keys) as writer:
        writer.register(user, "john-deere", payload, verify=False)


def test_a_credential_that_cannot_be_read_fails_alone(
    database, sandbox_for, fieldlink_home
):
    fieldlink = database.fieldlink(os.environ["FIELDLINK_SECRET_KEY"])
    deere = sandbox_for(fieldlink)
    users = _connect_many(deere, 4)
    _store_unreadable(fieldlink, "user-unreadable")
    _set_expiry(fieldlink, [*users, "user-unreadable"], datetime.now(UTC))

    reports = _refresh_in_threads(fieldlink, 3)

    # Every worker went on past it, and it was tried once, not once per worker.
    assert sorted(report.user_id for report in reports) == sorted(
        [*users, "user-unreadable"]
    )
    failed = next(report for report in reports if report.user_id == "user-unreadable")
    assert all(report.error is None for report in reports if report is not failed)
    assert failed.provider == "john-deere" and failed.credential is None
    assert "cannot be decrypted" in failed.error
    assert not failed.passing and not failed.invalid
    events = fieldlink.store.list_events(failed.credential_id)
    assert [event.kind for event in events] == ["refresh_failed", "created"]
    # Left alone for a while: a pass that comes straight after does not try it.
    assert list(fieldlink.refresh_due()) == []


class BuggyRefresh:
    """A plugin whose refresh hook has a bug for two users; the provider's own hook
    answers for everyone else."""

    @hookimpl
    def refresh_credentials(self, context, credential):
        if credential.user_id == "user-raises":
            raise KeyError("a bug in the plugin")
        if credential.user_id == "user-bad-expiry":
            return Grant(credential.payload, "token", expires_at="tomorrow")
        return None


def test_a_bug_fails_one_credential_and_its_traceback_is_logged(
    database, sandbox_for, fieldlink_home, capsys, caplog
):
    fieldlink = database.fieldlink(os.environ["FIELDLINK_SECRET_KEY"])
    deere = sandbox_for(fieldlink)
    users = _connect_many(deere, 2)
    buggy = ["user-raises", "user-bad-expiry"]
    for user in buggy:
        deere.connect(user)
    fieldlink.registry.add_plugin(BuggyRefresh(), name="buggy-refresh")
    _set_expiry(fieldlink, [*users, *buggy], datetime.now(UTC))
    before = fieldlink.credential("user-bad-expiry", "john-deere")

    with caplog.at_level(logging.ERROR, logger="fieldlink"):
        status = run_workers(fieldlink, within=900, workers=2)

    assert status == 1
    summary = capsys.readouterr().out.splitlines()
    assert summary[0].startswith("refreshed 2, failed 2, invalid 0, unavailable 0")
    assert summary[1:] == [
        "failed: user 'user-bad-expiry' at john-deere: unexpected "
        f"{_logged_error(caplog, 'user-bad-expiry')}; the traceback is in the log",
        "failed: user 'user-raises' at john-deere: the john-deere plugin failed in "
        "refresh_credentials: KeyError",
    ]
    _logged_error(caplog, "user-raises")
    # The broken refresh left nothing half-written, and is not tried again now.
    after = fieldlink.credential("user-bad-expiry", "john-deere")
    assert (after.access_token, after.expires_at) == (
        before.access_token,
        before.expires_at,
    )
    assert list(fieldlink.refresh_due()) == []


def _logged_error(caplog, user: str) -> str:
    """The name of the error logged, with its traceback, for ``user``'s refresh."""
    [record] = [
        record
        for record in caplog.records
        if record.levelno == logging.ERROR and repr(user) in record.getMessage()
    ]
    assert record.exc_info and record.exc_info[1] is not None
    return type(record.exc_info[1]).__name__


def test_cli_refresh_due_names_what_failed_and_exits_1(sandbox, fieldlink, monkeypatch):
    """In a process of its own, as cron runs it: no worker thread dies, and each
    failure is one line of the summary."""
    deere = sandbox("john-deere")
    users = _connect_many(deere, 3)
    _store_unreadable(fieldlink, "user-unreadable")
    _set_expiry(fieldlink, [*users, "user-unreadable"], datetime.now(UTC))
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)

    with serve(mount({"john-deere": deere.emulator})) as running:
        monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
        process = subprocess.run(
            [sys.executable, "-m", "fieldlink.cli", *REFRESH_DUE_IN_3_WORKERS],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            timeout=120,
        )

    assert_no_canary(process.stdout + process.stderr, "CLI output")
    assert process.returncode == 1, process.stderr
    assert process.stderr == ""
    summary, *lines = process.stdout.splitlines()
    assert summary.startswith("refreshed 3, failed 1, invalid 0, unavailable 0")
    [line] = lines
    assert line.startswith("failed: user 'user-unreadable' at john-deere: ")
    assert "cannot be decrypted" in line


def _cli(sandboxed, monkeypatch, *args: str):
    """``fieldlink ARGS`` on the test's store, its provider served as by
    ``fieldlink sandbox``."""
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", sandboxed.fieldlink.store.url)
    with serve(mount({sandboxed.provider: sandboxed.emulator})) as running:
        monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
        result = CliRunner().invoke(cli, list(args))
    assert_no_canary(result.output, "CLI output")
    return result


def test_cli_refresh_due_exits_0_when_only_the_provider_was_unavailable(
    sandbox, fieldlink, monkeypatch
):
    deere = sandbox("john-deere")
    users = _connect_many(deere, 2)
    _set_expiry(fieldlink, users, datetime.now(UTC))
    deere.emulator.fail_next_token_request(503, {"error": "temporarily_unavailable"})

    result = _cli(deere, monkeypatch, "refresh", "--due")

    assert result.exit_code == 0, result.output
    summary, line = result.stdout.splitlines()
    assert summary.startswith("refreshed 1, failed 0, invalid 0, unavailable 1")
    assert line.startswith(
        "unavailable: john-deere, 1 credential left for a later run: "
    )


def test_cli_refresh_due_exits_1_when_a_credential_turned_invalid(
    sandbox, fieldlink, monkeypatch
):
    deere = sandbox("john-deere")
    users = _connect_many(deere, 2)
    _set_expiry(fieldlink, users, datetime.now(UTC))
    deere.emulator.revoke()

    result = _cli(deere, monkeypatch, "refresh", "--due")

    assert result.exit_code == 1, result.output
    summary, *lines = result.stdout.splitlines()
    assert summary.startswith("refreshed 0, failed 0, invalid 2, unavailable 0")
    assert [line.split(": ")[0:2] for line in lines] == [
        ["invalid", f"user {user!r} at john-deere"] for user in users
    ]
    assert all("invalid_grant" in line for line in lines)


def test_cli_refresh_due_says_when_nothing_was_due(sandbox, fieldlink, monkeypatch):
    deere = sandbox("john-deere")
    _connect_many(deere, 2)

    result = _cli(deere, monkeypatch, "refresh", "--due")

    assert result.exit_code == 0, result.output
    assert result.stdout == "nothing was due within 900 s\n"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["john-deere", "--user", "u", "--workers", "3"], "--workers applies only"),
        (["john-deere", "--user", "u", "--within", "60"], "--within applies only"),
        (["--within", "60", "--workers", "1"], "--within and --workers apply only"),
        (["--due", "john-deere"], "leave out PROVIDER and --user"),
        (["--due", "--user", "u"], "leave out PROVIDER and --user"),
        ([], "name PROVIDER and --user, or use --due"),
    ],
)
def test_cli_refresh_refuses_options_of_the_other_kind(fieldlink_home, args, message):
    result = CliRunner().invoke(cli, ["refresh", *args])

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("provider", "said"),
    [
        (
            "john-deere",
            r"refreshed the john-deere credential of grower-1; the new access token "
            r"expires \d{4}-\d\d-\d\dT\S+",
        ),
        (
            "raven-slingshot",
            "checked the raven-slingshot credential of grower-1 at raven-slingshot: "
            "it still works; raven-slingshot signs each request and has no tokens to "
            "refresh",
        ),
        (
            "sentera",
            r"checked the sentera credential of grower-1 at sentera: it still works; "
            r"sentera kept its access token, which expires \d{4}-\d\d-\d\dT\S+",
        ),
    ],
)
def test_cli_refresh_says_what_it_did(sandbox, monkeypatch, provider, said):
    connected = sandbox(provider)
    connected.connect("grower-1")

    result = _cli(connected, monkeypatch, "refresh", provider, "--user", "grower-1")

    assert result.exit_code == 0, result.output
    assert re.fullmatch(said, result.stdout.strip()), result.stdout


def test_the_summary_names_at_most_twenty_credentials_of_one_outcome():
    tally = _Tally()
    for number in range(25):
        tally.add(
            RefreshReport(
                credential_id=f"id-{number}",
                user_id=f"user-{number:02}",
                provider="john-deere",
                error="the app registration of john-deere STAGE is refused",
            )
        )

    lines = tally.lines()

    assert len(lines) == LISTED_AT_MOST + 1
    assert lines[0].startswith("failed: user 'user-00' at john-deere: ")
    assert lines[-1] == (
        "failed: 5 more, not listed; `fieldlink credentials events USER PROVIDER` "
        "says why for each"
    )
