"""Proof from outside the repository: a third party's plugin, built as a wheel and
installed beside the core's wheel in a fresh virtual environment, works with no
change to the core.

Slow: it builds two wheels and installs them, with their dependencies from the
package index (pip's cache makes later runs quicker). Deselect with -m 'not slow'.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from .distributions import outcomes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[1]
THIRD_PARTY = Path(__file__).parent / "third_party"
SAMPLE = THIRD_PARTY / "fieldlink-sample"


def run(*command: str | Path, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A fresh virtual environment with the core's and the sample's wheels in it;
    its bin folder, and the environment variables to run it with."""
    root = tmp_path_factory.mktemp("third-party")
    # Nothing of this checkout may leak in: no path, no fieldlink settings.
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "PYTHONPATH" and not name.startswith("FIELDLINK_")
    }
    env.update(
        FIELDLINK_DATA_DIR=str(root / "data"), FIELDLINK_CACHE_DIR=str(root / "cache")
    )

    wheels = root / "wheels"
    for project in (ROOT, SAMPLE):
        run(
            sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
            "--wheel-dir", wheels, project, cwd=root, env=env,
        )  # fmt: skip
    venv.create(root / "venv", with_pip=True)
    bin_dir = root / "venv" / "bin"
    run(
        bin_dir / "python", "-m", "pip", "install", "--quiet",
        *sorted(wheels.glob("*.whl")), "pytest", cwd=root, env=env,
    )  # fmt: skip
    return bin_dir, env


def test_a_host_finds_the_plugin_connects_and_lists(environment, tmp_path):
    bin_dir, env = environment

    output = run(bin_dir / "python", THIRD_PARTY / "host.py", cwd=tmp_path, env=env)

    summary = json.loads(output)
    assert summary["providers"] == ["sample"]
    assert summary["failures"] == []
    assert summary["form"] == ["accessKey", "secretKey"]
    assert summary["status"] == "active"
    assert summary["listed"] == {"sites": 4, "samples": 4 * 60}


def test_fieldlink_lists_and_checks_the_plugin(environment, tmp_path):
    bin_dir, env = environment

    listing = json.loads(
        run(bin_dir / "fieldlink", "providers", "--json", cwd=tmp_path, env=env)
    )
    checked = run(bin_dir / "fieldlink", "check", "sample", cwd=tmp_path, env=env)

    [provider] = listing["providers"]
    assert (provider["id"], provider["distribution"]) == ("sample", "fieldlink-sample")
    assert listing["failed"] == []
    assert checked.splitlines() == [
        "ok   sample (fieldlink-sample)",
        "1 plugin checked: all passed",
    ]


def test_the_plugin_passes_its_tests_against_the_installed_core(environment, tmp_path):
    bin_dir, env = environment
    shutil.copytree(SAMPLE / "tests", tmp_path / "tests")
    report = tmp_path / "report.xml"

    run(
        bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
        f"--junit-xml={report}", "tests", cwd=tmp_path, env=env,
    )  # fmt: skip

    found = outcomes(report)
    assert "test_no_secret_leaks" in found
    assert {outcome.status for outcome in found.values()} == {"passed", "skipped"}


def test_the_installed_core_writes_a_plugin_that_passes_check(environment, tmp_path):
    bin_dir, env = environment
    tree = tmp_path / "fieldlink-demo-farm"

    run(bin_dir / "fieldlink", "new-provider", "demo-farm", "--directory", tree,
        cwd=tmp_path, env=env)  # fmt: skip
    checked = run(bin_dir / "fieldlink", "check", tree, cwd=tmp_path, env=env)

    assert checked.startswith("ok   demo-farm (fieldlink-demo-farm, ")
    # Every file of the template shipped in the wheel, the hidden folder included.
    assert (tree / ".github" / "workflows" / "fieldlink.yml").is_file()
