"""Refreshing processes killed at any point leave every credential usable.

A child process refreshes due credentials and is killed with SIGKILL after a random
delay: before its request, while the provider answers, between the answer and the
commit, or during the commit. The provider rotates refresh tokens with a grace
period, as Climate FieldView does; a refresh token the child never committed was
never seen by anyone else, and the one still stored keeps working. After every kill
the store must be whole, and at the end every credential must still refresh.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from fieldlink import Fieldlink
from fieldlink._tables import credentials

CREDENTIALS = 12
KILLS = 200


def _refresh_until_killed(database_url: str, endpoints: dict[str, str]) -> None:
    with Fieldlink(database_url, endpoints={"john-deere": endpoints}) as fieldlink:
        while True:
            for _ in fieldlink.refresh_due():
                pass
            _make_all_due(fieldlink)


def _make_all_due(fieldlink: Fieldlink) -> None:
    with fieldlink.store.engine.begin() as connection:
        connection.execute(sa.update(credentials).values(expires_at=datetime.now(UTC)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to start children fast")
def test_sigkill_at_any_point_loses_nothing(sandbox, fieldlink):
    deere = sandbox("john-deere")
    deere.emulator.rotation = "rotate"
    users = [f"grower-{number}" for number in range(CREDENTIALS)]
    for user in users:
        deere.connect(user)
    _make_all_due(fieldlink)
    # Forked children open their own connections: none is shared with the parent.
    fieldlink.store.engine.dispose()

    context = multiprocessing.get_context("fork")
    rng = random.Random(20261203)
    killed_after_answer = 0
    for _ in range(KILLS):
        answered = deere.emulator.refreshes
        child = context.Process(
            target=_refresh_until_killed, args=(fieldlink.store.url, deere.endpoints)
        )
        child.start()
        child.join(timeout=rng.uniform(0.05, 0.4))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL, (
            "the child stopped before it was killed"
        )
        killed_after_answer += deere.emulator.refreshes > answered

        # After each kill every row still decrypts and fits its schema.
        for credential in fieldlink.credentials():
            fieldlink.validate("john-deere", dict(credential.payload))
            assert credential.status.value == "active", credential.status_reason

    # The children did get refreshes through, so kills fell mid-refresh too.
    assert killed_after_answer > 0
    for user in users:
        refreshed = fieldlink.refresh(user, "john-deere")
        assert refreshed.status.value == "active"
        assert deere.emulator.is_valid_access_token(refreshed.access_token)
    if fieldlink.store.is_sqlite:
        with fieldlink.store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
