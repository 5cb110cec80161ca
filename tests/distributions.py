"""Fake installed distributions, laid out as pip lays them out: a ``.dist-info``
folder beside the package, in a directory put on ``PYTHONPATH``. A subprocess with
that path finds their entry points as it would find installed plugins', and runs a
plugin's tests as the plugin's own CI would."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

from fieldlink._plugins import PLUGINS_ENV


def install(
    site: Path, dist_id: str, source: str, *, schema: str, entry_point: str = ""
) -> None:
    """Install distribution ``fieldlink-<dist_id>`` into ``site``.

    Its package ``fieldlink_<dist_id>`` holds ``source`` and ``credentials.json``; its
    entry point is named ``entry_point`` (``dist_id`` unless given).
    """
    package = "fieldlink_" + dist_id.replace("-", "_")
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(source, encoding="utf-8")
    (site / package / "credentials.json").write_text(schema, encoding="utf-8")
    entry_points = {entry_point or dist_id: f"{package}:plugin"}
    write_metadata(site, f"fieldlink-{dist_id}", "1.0", entry_points)


def declare(site: Path, tree: Path) -> None:
    """Make the plugin whose source tree is ``tree`` look installed, for a process
    whose ``PYTHONPATH`` holds ``site`` and ``tree``: what ``pip install -e`` does,
    without pip."""
    project = tomllib.loads((tree / "pyproject.toml").read_text("utf-8"))["project"]
    entry_points = project["entry-points"]["fieldlink.providers"]
    write_metadata(site, project["name"], project["version"], entry_points)


def write_metadata(
    site: Path, name: str, version: str, entry_points: dict[str, str]
) -> None:
    metadata = site / f"{name.replace('-', '_')}-{version}.dist-info"
    metadata.mkdir(parents=True)
    (metadata / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (metadata / "entry_points.txt").write_text(
        f"[fieldlink.providers]\n{lines}", encoding="utf-8"
    )


class Outcome(NamedTuple):
    """One test's result: passed, failure, error or skipped, and what pytest said."""

    status: str
    message: str


def run_tests(tree: Path, *targets: str) -> dict[str, Outcome]:
    """Run pytest over ``targets`` in the plugin source tree ``tree``, declared
    installed in the folder ``site`` beside it; each test's outcome, by its name."""
    report = tree.parent / f"report-{len(list(tree.parent.glob('report-*')))}.xml"
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tree.parent / "site"), str(tree)]),
    }
    environ.pop(PLUGINS_ENV, None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    result = subprocess.run(
        [*command, f"--junit-xml={report}", *targets],
        cwd=tree,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.exists(), result.stdout + result.stderr
    return outcomes(report)


def outcomes(report: Path) -> dict[str, Outcome]:
    """Each test's outcome in a JUnit XML report, by the test's name."""
    found: dict[str, Outcome] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        name = case.get("name", "")
        status, message = "passed", ""
        for element in case:
            if element.tag in ("failure", "error", "skipped"):
                # A failure in the body outweighs one in teardown, reported after.
                if status in ("passed", "skipped"):
                    status = element.tag
                message += f"{element.get('message', '')} {element.text or ''}"
        found[name] = Outcome(status, message)
    return found
