"""One refresh at a time per credential, across threads and processes.

4 processes with 16 threads each ask for the access token of one credential just
before it expires, against an emulator whose refresh tokens are single use: a second
refresh would spend a dead token and turn the credential invalid. Exactly one
refresh must reach the emulator, and every caller must get a token it accepts.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fieldlink._tables import credentials

PROCESSES = 4
THREADS = 16

WORKER = textwrap.dedent(
    """
    import hashlib, json, sys, threading, time
    from fieldlink import Fieldlink

    database_url, endpoints = sys.argv[1], json.loads(sys.argv[2])
    start_at = float(sys.argv[3])
    fieldlink = Fieldlink(database_url, endpoints={"john-deere": endpoints})
    results, errors = [], []

    def ask():
        while time.time() < start_at:
            time.sleep(0.001)
        try:
            token = fieldlink.access_token("grower-1", "john-deere")
            results.append(hashlib.sha256(token.encode()).hexdigest())
        except Exception as error:
            errors.append(type(error).__name__)

    threads = [threading.Thread(target=ask) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"tokens": results, "errors": errors}))
    """
).replace("THREADS", str(THREADS))


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_one_refresh_reaches_the_provider(sandbox, fieldlink, fieldlink_home):
    deere = sandbox("john-deere")
    deere.emulator.rotation = "single_use"
    deere.connect("grower-1")

    # The token now expires inside the refresh margin: every caller wants a refresh.
    with fieldlink.store.engine.begin() as connection:
        connection.execute(
            sa.update(credentials).values(
                expires_at=datetime.now(UTC) + timedelta(seconds=30)
            )
        )
    old_token = fieldlink.credential("grower-1", "john-deere").access_token
    refreshes_before = deere.emulator.refresh_requests

    script = fieldlink_home / "worker.py"
    script.write_text(WORKER)
    start_at = time.time() + 3.0  # time for every process to import and connect
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                fieldlink.store.url,
                json.dumps(deere.endpoints),
                str(start_at),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]

    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr
    answers = [json.loads(stdout) for stdout, _ in outputs]
    tokens = [token for answer in answers for token in answer["tokens"]]
    assert [error for answer in answers for error in answer["errors"]] == []
    assert len(tokens) == PROCESSES * THREADS

    assert deere.emulator.refresh_requests - refreshes_before == 1
    assert len(set(tokens)) == 1
    new_token = fieldlink.credential("grower-1", "john-deere").access_token
    assert tokens[0] == _fingerprint(new_token)
    assert new_token != old_token
    assert deere.emulator.is_valid_access_token(new_token)
    assert fieldlink.credential("grower-1", "john-deere").status.value == "active"
