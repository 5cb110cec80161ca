"""Many processes and threads, many credentials due at once, each refreshed once.

8 processes with 16 threads each ask for the tokens of 200 credentials that all
expire now, against an emulator whose refresh tokens are single use: a second
refresh of any credential would spend a dead token and be refused with
``invalid_grant``. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from fieldlink._tables import credentials

PROCESSES = 8
THREADS = 16
CREDENTIALS = 200

WORKER = textwrap.dedent(
    """
    import hashlib, json, random, sys, threading, time
    from fieldlink import Fieldlink

    database_url, endpoints = sys.argv[1], json.loads(sys.argv[2])
    users, start_at = json.loads(sys.argv[3]), float(sys.argv[4])
    fieldlink = Fieldlink(database_url, endpoints={"john-deere": endpoints})
    seen, errors, lock = {}, [], threading.Lock()

    def ask(seed):
        order = list(users)
        random.Random(seed).shuffle(order)
        while time.time() < start_at:
            time.sleep(0.001)
        for user in order:
            try:
                token = fieldlink.access_token(user, "john-deere")
            except Exception as error:
                with lock:
                    errors.append(type(error).__name__ + ": " + str(error))
                continue
            with lock:
                seen.setdefault(user, set()).add(hashlib.sha256(token.encode()).hexdigest())

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"seen": {u: sorted(s) for u, s in seen.items()}, "errors": errors}))
    """
).replace("THREADS", str(THREADS))


def test_every_credential_is_refreshed_exactly_once(
    database, sandbox_for, fieldlink_home
):
    fieldlink = database.fieldlink(os.environ["FIELDLINK_SECRET_KEY"])
    deere = sandbox_for(fieldlink)
    deere.emulator.rotation = "single_use"
    users = [f"grower-{number:03}" for number in range(CREDENTIALS)]
    for user in users:
        deere.connect(user)
    with fieldlink.store.engine.begin() as connection:
        connection.execute(sa.update(credentials).values(expires_at=datetime.now(UTC)))
    requests_before = deere.emulator.refresh_requests

    script = fieldlink_home / "worker.py"
    script.write_text(WORKER)
    start_at = time.time() + 4.0  # time for every process to start and connect
    command = [
        sys.executable,
        str(script),
        database.url(),
        json.dumps(deere.endpoints),
        json.dumps(users),
        str(start_at),
    ]
    workers = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(PROCESSES)
    ]
    outputs = [worker.communicate(timeout=600) for worker in workers]

    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-2000:]
    answers = [json.loads(stdout) for stdout, _ in outputs]
    assert [error for answer in answers for error in answer["errors"]] == []

    # One refresh per credential reached the provider, and none was refused.
    assert deere.emulator.refresh_requests - requests_before == CREDENTIALS
    for user in users:
        stored = fieldlink.credential(user, "john-deere")
        assert stored.status.value == "active", stored.status_reason
        assert deere.emulator.is_valid_access_token(stored.access_token)
        fingerprint = hashlib.sha256(stored.access_token.encode()).hexdigest()
        # Every thread of every process was handed that one new token.
        assert {tuple(answer["seen"][user]) for answer in answers} == {(fingerprint,)}
