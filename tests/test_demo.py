"""`fieldlink demo` as a new user runs it: a whole process, every installed provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from fieldlink.testing import assert_no_canary


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldlink.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )


def test_demo_connects_every_installed_provider(fieldlink_home):
    installed = [
        p["id"] for p in json.loads(_run("providers", "--json").stdout)["providers"]
    ]

    demo = _run("demo", "--size", "7")

    assert demo.returncode == 0, demo.stderr
    assert_no_canary(demo.stdout + demo.stderr, "the demo's output")
    rows = {line.split()[0]: line for line in demo.stdout.splitlines() if line.strip()}
    for provider in installed:
        assert rows[provider].rstrip().endswith("ok"), rows[provider]
    assert f"{len(installed)} of {len(installed)} providers connected" in demo.stdout
    # The demo keeps to its throwaway store: the user's own is never created.
    assert not (fieldlink_home / "data" / "fieldlink.db").exists()
