"""How many due credentials a second 1, 2 and 4 refresh worker processes get through.

Workers on several machines share one PostgreSQL store, each claiming credentials
the others do not hold (`FOR UPDATE SKIP LOCKED`). This measures how the throughput
of `Fieldlink.refresh_due` grows with the number of worker processes, against the
John Deere emulator, with one worker as the baseline. Every run is checked: each
credential must have been refreshed exactly once, or no figure is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import sqlalchemy as sa
from _report import Summary, per_second, report

from fieldlink import CredentialStatus, Fieldlink, Grant
from fieldlink._crypto import generate_key
from fieldlink._plugins import PluginRegistry
from fieldlink._tables import credentials, events
from fieldlink.sandbox import drive_consent, mount, serve

PROVIDER = "john-deere"
WORKER_COUNTS = (1, 2, 4)
DEFAULT_CREDENTIALS = 10_000
DEFAULT_ROUNDS = 1
POSTGRESQL_URL_ENV = "FIELDLINK_TEST_POSTGRESQL_URL"
DEFAULT_POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: Never requested: the emulator only has to name it in its redirect.
CALLBACK_URI = "http://127.0.0.1:9/callback"
#: Busy this share of the wall time, a process or the machine is the bottleneck.
SATURATED = 0.9
#: Cores that processes other than these kept busy, above which figures are suspect:
#: a quiet two-core machine showed up to 0.26 (daemons, the kernel), one running a
#: test suite beside them 0.6 to 1.2.
NOISE = 0.5
#: Where the output's longer sentences wrap, as the code does.
WIDTH = 88
#: Where Linux tells CPU time; elsewhere the columns that need it read n/a.
PROC = Path("/proc")


@attrs.frozen
class Run:
    """One run: its wall time, and the cores each party kept busy on average."""

    workers: int
    refreshed: int
    wall: float
    emulator: float
    worker_cpu: float
    #: The workers' PostgreSQL backends and the server's own processes (WAL writer,
    #: autovacuum...), when the server runs on this machine.
    database: float | None
    #: Every core's busy time, whoever used it.
    machine: float | None

    @property
    def rate(self) -> float:
        return self.refreshed / self.wall

    @property
    def others(self) -> float | None:
        """What processes other than these kept busy meanwhile."""
        if self.machine is None:
            return None
        ours = self.emulator + self.worker_cpu + (self.database or 0.0)
        return max(0.0, self.machine - ours)


@attrs.frozen
class Clocks:
    """CPU clocks read at one moment, to subtract from a later reading."""

    emulator: float
    backends: dict[int, float] | None
    machine: tuple[float, float] | None

    @classmethod
    def read(cls, backend_pids: Sequence[int] | None) -> Clocks:
        backends = None
        if backend_pids is not None:
            times = {pid: process_seconds(pid) for pid in backend_pids}
            backends = {pid: t for pid, t in times.items() if t is not None}
        return cls(time.process_time(), backends, machine_seconds())


def process_seconds(pid: int) -> float | None:
    """CPU seconds of a PostgreSQL process of this machine, or None."""
    try:
        if (PROC / str(pid) / "comm").read_text().strip() != "postgres":
            return None
        # The command name may hold spaces; the fields after it do not.
        fields = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_seconds() -> tuple[float, float] | None:
    """Busy and elapsed CPU seconds of all cores since boot, or None."""
    try:
        line = (PROC / "stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, line[1:9])
    busy = user + nice + system + irq + softirq
    tick = os.sysconf("SC_CLK_TCK")
    return busy / tick, (busy + idle + iowait + steal) / tick


def cores() -> int:
    return os.cpu_count() or 1


def isolate(home: Path) -> None:
    """Keep fieldlink's files and key in ``home``; ignore the caller's settings."""
    for name in [name for name in os.environ if name.startswith("FIELDLINK_")]:
        del os.environ[name]
    os.environ["FIELDLINK_DATA_DIR"] = str(home / "data")
    os.environ["FIELDLINK_CACHE_DIR"] = str(home / "cache")
    os.environ["FIELDLINK_SECRET_KEY"] = generate_key()


@attrs.frozen
class Schema:
    """A PostgreSQL schema of our own, and how to reach it."""

    name: str
    admin: sa.Engine
    url: str
    #: The same, with a name the server shows for the workers' connections.
    worker_url: str

    def server_processes(self) -> list[int]:
        """The workers' backends, and the processes that write their changes out."""
        query = sa.text(
            "SELECT pid FROM pg_stat_activity"
            " WHERE application_name = :name OR backend_type <> 'client backend'"
        )
        with self.admin.connect() as connection:
            return list(connection.execute(query, {"name": self.name}).scalars())


@contextmanager
def fresh_schema(base_url: str, *, named: bool) -> Iterator[Schema]:
    """A new schema on the server of ``base_url``, dropped with its tables on exit.

    As the tests do: a server that was ``named`` must answer; without one named,
    no answer at the default address means there is nothing to measure on.
    """
    name = f"fieldlink_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if named:
            sys.exit(
                f"cannot use the PostgreSQL server of {POSTGRESQL_URL_ENV}: {exc.orig}"
            )
        server = sa.make_url(base_url)
        print(
            f"Refresh workers: skipped, no PostgreSQL server answers at "
            f"{server.host}:{server.port}; name one in {POSTGRESQL_URL_ENV}."
        )
        sys.exit(0)
    url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={name}"})
    worker_url = url.update_query_dict({"application_name": name})
    try:
        yield Schema(
            name,
            admin,
            url.render_as_string(hide_password=False),
            worker_url.render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def user(number: int) -> str:
    return f"grower-{number:05}"


def connect(fieldlink: Fieldlink, user_id: str) -> None:
    """Connect ``user_id`` through the emulator's consent pages, as a browser would."""
    start = fieldlink.start_auth(user_id, PROVIDER, redirect_uri=CALLBACK_URI)
    callback = drive_consent(start.url or "")
    params = dict(parse_qsl(urlsplit(callback).query))
    connection = fieldlink.complete_auth(PROVIDER, params)
    if connection.next_step_url:
        drive_consent(connection.next_step_url)


def populate(fieldlink: Fieldlink, count: int) -> None:
    """``count`` credentials: one connected for real, the others copies of it.

    The copies share the grower's refresh token, which John Deere does not rotate.
    They are inserted in bulk, since connecting thousands of users one by one would
    take longer than the runs; each row is still encrypted by the store's own code.
    """
    connect(fieldlink, user(0))
    store = fieldlink.store
    original = fieldlink.credential(user(0), PROVIDER)
    grant = Grant(
        original.payload,
        access_token=original.access_token,
        expires_at=original.expires_at,
        scopes=original.scopes,
    )
    secret_fields = fieldlink.provider(PROVIDER).schema.secret_fields
    moment = datetime.now(UTC)
    rows = [
        {
            **store._grant_values(grant, secret_fields),
            "id": str(uuid.uuid4()),
            "user_id": user(number),
            "provider": PROVIDER,
            "environment": original.environment,
            "status": CredentialStatus.ACTIVE.value,
            "created_at": moment,
            "updated_at": moment,
            "refreshed_at": moment,
        }
        for number in range(1, count)
    ]
    if rows:
        with store.engine.begin() as connection:
            connection.execute(credentials.insert(), rows)


def mark_due(fieldlink: Fieldlink, schema: Schema) -> None:
    """Every credential expires now; the events of earlier runs go."""
    with fieldlink.store.engine.begin() as connection:
        connection.execute(sa.update(credentials).values(expires_at=datetime.now(UTC)))
        connection.execute(sa.delete(events))
    # Each run starts from tables in the same state: no dead rows, fresh statistics.
    with schema.admin.connect() as connection:
        for table in ("credentials", "events"):
            connection.execute(sa.text(f'VACUUM ANALYZE "{schema.name}"."{table}"'))


def check(
    fieldlink: Fieldlink, count: int, counts: Counter[str], requests: int
) -> None:
    """Stop unless every credential was refreshed exactly once and none turned bad."""
    c, e = credentials.c, events.c
    with fieldlink.store.engine.connect() as connection:
        statuses = dict(
            connection.execute(
                sa.select(c.status, sa.func.count()).group_by(c.status)
            ).all()
        )
        still_due = connection.execute(
            sa.select(sa.func.count()).where(c.expires_at <= datetime.now(UTC))
        ).scalar()
        kinds = dict(
            connection.execute(
                sa.select(e.kind, sa.func.count()).group_by(e.kind)
            ).all()
        )
        refreshed = connection.execute(
            sa.select(sa.func.count(sa.distinct(e.credential_id))).where(
                e.kind == "refreshed"
            )
        ).scalar()
    active = statuses.get(CredentialStatus.ACTIVE.value, 0)
    problems = [
        f"{what}: {got:,}, expected {expected:,}"
        for what, got, expected in [
            ("refreshes the workers reported", counts["refreshed"], count),
            ("failures the workers reported", counts["failed"], 0),
            ("credentials the workers found invalid", counts["invalid"], 0),
            ("refresh requests at the emulator", requests, count),
            ("active credentials", active, count),
            ("credentials still due", still_due, 0),
            ("'refreshed' events", kinds.get("refreshed", 0), count),
            ("credentials with a 'refreshed' event", refreshed, count),
            ("'refresh_failed' events", kinds.get("refresh_failed", 0), 0),
        ]
        if got != expected
    ]
    if problems:
        sys.exit(
            "The refresh went wrong, so no figure is printed:\n  "
            + "\n  ".join(problems)
        )


def work() -> None:
    """A worker process: warm up, say so, wait for the start, refresh what is due."""
    with Fieldlink() as fieldlink:
        # Nothing is due yet: this pass loads the plugins and opens a connection.
        print(json.dumps({"due": sum(1 for _ in fieldlink.refresh_due())}), flush=True)
        sys.stdin.readline()
        cpu = time.process_time()
        counts = Counter(
            "invalid" if done.invalid else "failed" if done.error else "refreshed"
            for done in fieldlink.refresh_due()
        )
        print(
            json.dumps({"counts": counts, "cpu": time.process_time() - cpu}), flush=True
        )
        # Connected until told, so that the CPU time of its backend can be read.
        sys.stdin.readline()


def answer(worker: subprocess.Popen[str]) -> dict[str, Any]:
    line = worker.stdout.readline() if worker.stdout else ""
    if not line:
        sys.exit(f"a worker process stopped with status {worker.wait()}; see above")
    return json.loads(line)


def tell(workers: Sequence[subprocess.Popen[str]], line: str) -> None:
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(line + "\n")
        worker.stdin.flush()


def run(
    workers: int, count: int, fieldlink: Fieldlink, emulator: Any, schema: Schema
) -> Run:
    """Refresh every credential with ``workers`` processes; check the work was right."""
    command = [sys.executable, __file__, "--worker"]
    env = {**os.environ, "FIELDLINK_DATABASE_URL": schema.worker_url}
    processes = [
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(workers)
    ]
    try:
        # Started and warmed up first, so that the wall time is the refreshing alone.
        if any(answer(process)["due"] for process in processes):
            sys.exit("credentials were due before the run: the set-up went wrong")
        mark_due(fieldlink, schema)
        server = schema.server_processes()
        local = all(process_seconds(pid) is not None for pid in server)
        requests = emulator.refresh_requests
        before = Clocks.read(server if local else None)
        began = time.perf_counter()
        tell(processes, "go")
        results = [answer(process) for process in processes]
        wall = time.perf_counter() - began
        after = Clocks.read(schema.server_processes() if local else None)
        requests = emulator.refresh_requests - requests
        tell(processes, "bye")
        for process in processes:
            process.wait()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()

    counts: Counter[str] = Counter()
    for result in results:
        counts.update(result["counts"])
    check(fieldlink, count, counts, requests)

    database = machine = None
    if before.backends is not None and after.backends is not None:
        # A process that appeared during the run had spent nothing before it.
        spent = sum(
            t - before.backends.get(pid, 0.0) for pid, t in after.backends.items()
        )
        database = spent / wall
    if before.machine is not None and after.machine is not None:
        busy = after.machine[0] - before.machine[0]
        elapsed = after.machine[1] - before.machine[1]
        machine = busy / elapsed * cores() if elapsed else None
    return Run(
        workers,
        counts["refreshed"],
        wall,
        # This process does little else than serve the emulator while it waits.
        (after.emulator - before.emulator) / wall,
        sum(result["cpu"] for result in results) / wall,
        database,
        machine,
    )


def label(workers: int) -> str:
    return f"{workers} worker process{'es' if workers > 1 else ''}"


def cpu_table(runs: Sequence[Run]) -> list[str]:
    """Cores each party kept busy on average, per worker count, aligned."""

    def cores_of(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    header = ("", "wall", "emulator", "workers", "PostgreSQL", "others", "machine")
    rows = [header] + [
        (
            label(r.workers),
            f"{r.wall:.1f} s",
            cores_of(r.emulator),
            cores_of(r.worker_cpu),
            cores_of(r.database),
            cores_of(r.others),
            cores_of(r.machine),
        )
        for r in runs
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return [
        "  ".join(
            [row[0].ljust(widths[0])]
            + [
                cell.rjust(width)
                for cell, width in zip(row[1:], widths[1:], strict=True)
            ]
        ).rstrip()
        for row in rows
    ]


def bottleneck(typical: Sequence[Run], runs: Sequence[Run]) -> list[str]:
    """What limited the largest run, and whether other processes got in the way of
    any run."""
    last = typical[-1]
    name = label(last.workers)
    if last.emulator >= SATURATED:
        lines = [
            f"The emulator is the bottleneck: with {name} it was busy "
            f"{last.emulator:.0%} of the wall time, and one Python process runs on one "
            "core at most."
        ]
    elif last.machine is not None and last.machine >= SATURATED * cores():
        ours = last.machine - (last.others or 0.0)
        lines = [
            f"The machine's {cores()} cores are the bottleneck: with {name} they were "
            f"{last.machine / cores():.0%} busy, {ours:.2f} cores of it for this "
            f"benchmark; the emulator was busy {last.emulator:.0%} of one core."
        ]
    else:
        lines = [
            f"Nothing measured was saturated with {name}: the emulator was busy "
            f"{last.emulator:.0%} of one core."
        ]
    noisy = [r for r in runs if r.others is not None and r.others > NOISE]
    if noisy:
        worst = max(r.others or 0.0 for r in noisy)
        lines.append(
            f"Other processes kept up to {worst:.2f} cores busy during the runs: the "
            "figures are not reliable; run again on a quiet machine."
        )
    return lines


def ceiling(run: Run) -> str:
    """The CPU time one refresh costs, and the rate the machine's cores allow."""
    parts = {
        "workers": run.worker_cpu,
        "emulator": run.emulator,
        "PostgreSQL": run.database,
    }
    costs = {
        name: busy * run.wall / run.refreshed
        for name, busy in parts.items()
        if busy is not None
    }
    spent = ", ".join(f"{name} {cost * 1000:.1f} ms" for name, cost in costs.items())
    return (
        f"CPU time per refresh with {label(run.workers)}: {spent}; {cores()} cores "
        f"allow about {per_second(cores() / sum(costs.values()))} at most."
    )


def measure(base_url: str, named: bool, count: int, rounds: int) -> None:
    server = sa.make_url(base_url)
    registry = PluginRegistry()
    registry.load_entry_points()
    emulator = registry.call(PROVIDER, "sandbox_emulator", settings={})

    runs: dict[int, list[Run]] = {workers: [] for workers in WORKER_COUNTS}
    with (
        fresh_schema(base_url, named=named) as schema,
        serve(mount({PROVIDER: emulator})) as running,
    ):
        # Every Fieldlink, the workers' too, finds the emulator and its app
        # registration through this, as it would a running `fieldlink sandbox`.
        os.environ["FIELDLINK_SANDBOX_URL"] = running.url
        with Fieldlink(schema.url, registry=registry) as fieldlink:
            populate(fieldlink, count)
            # Alternating the order, so that drift in the machine's load falls on all.
            for index in range(rounds):
                order = WORKER_COUNTS if index % 2 == 0 else WORKER_COUNTS[::-1]
                for workers in order:
                    done = run(workers, count, fieldlink, emulator, schema)
                    runs[workers].append(done)
                    print(
                        f"{label(workers)}: {count:,} refreshed in {done.wall:.1f} s",
                        file=sys.stderr,
                    )

    summaries = {
        workers: Summary.of([r.rate for r in samples])
        for workers, samples in runs.items()
    }
    baseline = summaries[WORKER_COUNTS[0]].median
    verdicts: list[tuple[str, str, str | None, bool]] = []
    for workers in WORKER_COUNTS[1:]:
        speedup = summaries[workers].median / baseline
        verdicts.append(
            (
                f"{label(workers)} / 1: speed-up",
                f"{speedup:.2f}, efficiency {speedup / workers:.0%}",
                None,
                True,
            )
        )
    # The run with the median rate stands for its worker count in the CPU table.
    typical = [
        sorted(samples, key=lambda r: r.rate)[len(samples) // 2]
        for samples in runs.values()
    ]
    report(
        "Due credentials refreshed a second by 1, 2 and 4 worker processes",
        [
            f"{count:,} due {PROVIDER} credentials in PostgreSQL at "
            f"{server.host}:{server.port or 5432}; each worker",
            "a process running Fieldlink.refresh_due, against the emulator served by",
            f"this process. This machine has {cores()} cores: the emulator, the "
            "workers and",
            f"a local PostgreSQL share them. {rounds} run(s) of each. Before each run "
            "every",
            "credential is marked due; after it, each is checked to have been "
            "refreshed once.",
        ],
        [(label(workers), summaries[workers]) for workers in WORKER_COUNTS],
        per_second,
        verdicts,
        [
            "",
            "Cores kept busy on average (CPU time / wall time), in the median run:",
            *cpu_table(typical),
            *(
                line
                for sentence in [
                    *bottleneck(typical, [r for rs in runs.values() for r in rs]),
                    ceiling(typical[0]),
                ]
                for line in textwrap.wrap(sentence, WIDTH)
            ),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--credentials",
        type=int,
        default=DEFAULT_CREDENTIALS,
        metavar="N",
        help=f"due credentials in each run (default {DEFAULT_CREDENTIALS:,})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        metavar="N",
        help=f"runs of each worker count (default {DEFAULT_ROUNDS})",
    )
    # How this script starts its own worker processes.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        work()
        return
    if options.credentials < 1 or options.rounds < 1:
        parser.error("--credentials and --rounds must be at least 1")

    # Read before the other FIELDLINK_* settings are set aside.
    named = os.environ.get(POSTGRESQL_URL_ENV)
    with tempfile.TemporaryDirectory() as home:
        isolate(Path(home))
        measure(
            named or DEFAULT_POSTGRESQL_URL,
            bool(named),
            options.credentials,
            options.rounds,
        )


if __name__ == "__main__":
    main()
