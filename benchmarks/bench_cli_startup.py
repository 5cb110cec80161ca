"""Wall time of `fieldlink providers --json` in a new process, beside `import requests`.

Listing providers is what a shell or a health check runs most often; it should cost
little more than starting Python with the HTTP library every plugin uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import Summary, milliseconds, report

RUNS = 15
GOAL = 1.5

FIELDLINK = [str(Path(sys.executable).with_name("fieldlink")), "providers", "--json"]
BASELINE = [sys.executable, "-c", "import requests"]


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run ``command`` to completion; return the wall time and its output."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return elapsed, done.stdout


def environment(home: Path, cache: str) -> dict[str, str]:
    # The caller's fieldlink settings are dropped, so that every installed plugin
    # loads; PYTHONDONTWRITEBYTECODE too, so that the warm-up writes .pyc files as
    # an ordinary install has them.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FIELDLINK_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["FIELDLINK_DATA_DIR"] = str(home / "data")
    env["FIELDLINK_CACHE_DIR"] = str(home / cache)
    return env


def main() -> None:
    if not Path(FIELDLINK[0]).exists():
        sys.exit(f"no fieldlink command beside {sys.executable}; install the project")

    with tempfile.TemporaryDirectory() as home:
        # The warm-up writes .pyc files; its cache directory is then thrown away.
        timed_run(FIELDLINK, environment(Path(home), "warm-up-cache"))
        timed_run(BASELINE, environment(Path(home), "warm-up-cache"))

        env = environment(Path(home), "cache")
        first, output = timed_run(FIELDLINK, env)
        listed = json.loads(output)

        # Interleaved, and alternating which goes first, so that drift in the
        # machine's load falls on both alike.
        fieldlink: list[float] = []
        baseline: list[float] = []
        for index in range(RUNS):
            pair = [(FIELDLINK, fieldlink), (BASELINE, baseline)]
            for command, samples in pair if index % 2 == 0 else reversed(pair):
                samples.append(timed_run(command, env)[0])

    ours, theirs = Summary.of(fieldlink), Summary.of(baseline)
    ratio = ours.median / theirs.median
    providers = ", ".join(p["id"] for p in listed["providers"]) or "none"
    left_out = len(listed["failed"])
    report(
        "CLI startup: `fieldlink providers --json` as a new process",
        [
            f"{RUNS} runs each, interleaved, after one warm-up run each:",
            ".pyc files and the schema-check cache exist.",
            f"Providers listed: {providers}; plugins left out: {left_out}.",
        ],
        [
            ("fieldlink providers --json", ours),
            ('baseline: python -c "import requests"', theirs),
        ],
        milliseconds,
        [("fieldlink / baseline", f"{ratio:.2f}", f"at most {GOAL}", ratio <= GOAL)],
        [
            "Measured apart, once: the first run with an empty cache directory",
            f"(schema checks not yet cached): {milliseconds(first)}, "
            f"{first / theirs.median:.2f} times the baseline's median.",
        ],
    )


if __name__ == "__main__":
    main()
