"""The refresh worker: what is due gets refreshed once, the rest is left alone."""

from __future__ import annotations

import itertools
import os
import threading
from datetime import UTC, datetime, timedelta

import attrs
import sqlalchemy as sa
from click.testing import CliRunner

from fieldlink._tables import credentials
from fieldlink.cli import cli
from fieldlink.sandbox import mount, serve
from fieldlink.testing import assert_no_canary

DUE = 12
NOT_DUE = 5


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

    assert sorted(report.credential.user_id for report in reports) == sorted(due)
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

    assert sorted(report.credential.user_id for report in reports) == sorted(users)
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

    assert [report.credential.user_id for report in reports] == [users[0]]


def test_a_passing_failure_is_retried_later_not_now(sandbox, fieldlink):
    deere = sandbox("john-deere")
    users = _connect_many(deere, 1)
    _set_expiry(fieldlink, users, datetime.now(UTC))
    deere.emulator.fail_next_token_request(503, {"error": "temporarily_unavailable"})

    reports = list(fieldlink.refresh_due())

    # One attempt, then the credential waits out the retry delay instead of looping.
    assert len(reports) == 1 and reports[0].error and not reports[0].invalid
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
    assert "refreshed 3, failed 0 (will retry), invalid 0" in result.output
