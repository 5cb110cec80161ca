"""``fieldlink new-provider`` writes a plugin that passes ``fieldlink check`` and its
conformance suite as written, before anyone edits it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldlink._template import PLACEHOLDER, TEMPLATE_DIR, placeholders
from fieldlink.cli import cli

from .distributions import declare, run_tests

EXPECTED = {
    ".github/workflows/fieldlink.yml",
    "README.md",
    "pyproject.toml",
    "fieldlink_acme_farms/__init__.py",
    "fieldlink_acme_farms/emulator.py",
    "fieldlink_acme_farms/schemas/credentials.json",
    "tests/conftest.py",
    "tests/test_acme_farms_conformance.py",
    "tests/test_acme_farms_resources.py",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plugin for acme-farms, written by the command, declared installed."""
    root = tmp_path_factory.mktemp("generated")
    tree = root / "fieldlink-acme-farms"
    result = CliRunner().invoke(
        cli, ["new-provider", "acme-farms", "--directory", str(tree)]
    )
    assert result.exit_code == 0, result.output
    declare(root / "site", tree)
    return tree


def test_writes_every_file_of_the_template(generated):
    written = {
        path.relative_to(generated).as_posix()
        for path in generated.rglob("*")
        if path.is_file()
    }

    assert written == EXPECTED
    for path in generated.rglob("*"):
        if path.is_file():
            assert not PLACEHOLDER.search(path.read_text("utf-8")), path


def test_the_skeleton_describes_its_provider(generated):
    pyproject = (generated / "pyproject.toml").read_text("utf-8")
    init = (generated / "fieldlink_acme_farms" / "__init__.py").read_text("utf-8")

    assert 'name = "fieldlink-acme-farms"' in pyproject
    assert 'acme-farms = "fieldlink_acme_farms:plugin"' in pyproject
    assert '"fieldlink>=' + placeholders("acme-farms")["min_core_version"] in pyproject
    assert 'name="Acme Farms"' in init
    assert "class AcmeFarms(OAuth2Provider):" in init


def test_the_skeleton_passes_fieldlink_check_before_it_is_installed(generated):
    result = subprocess.run(
        [sys.executable, "-m", "fieldlink.cli", "check", str(generated)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok   acme-farms (fieldlink-acme-farms, ")


def test_the_skeleton_passes_its_tests_and_the_conformance_suite(generated):
    found = run_tests(generated, "tests")

    skipped = {name for name, outcome in found.items() if outcome.status == "skipped"}
    failed = {
        name: o for name, o in found.items() if o.status not in ("passed", "skipped")
    }
    assert not failed
    # Plain OAuth 2.0 that keeps its refresh token: only these do not apply.
    assert skipped == {
        "test_a_rotated_refresh_token_is_stored",
        "test_a_credential_without_access_tokens_is_used_as_it_is",
    }
    assert "test_fields_are_listed_per_farm" in found


def test_the_workflow_checks_and_tests_on_every_push(generated):
    workflow = (generated / ".github" / "workflows" / "fieldlink.yml").read_text()

    assert re.search(r"^on: \[push", workflow, re.MULTILINE)
    assert "run: fieldlink check --format github ." in workflow
    assert "run: python -m pytest" in workflow


def test_every_template_file_is_a_tmpl_file():
    files = [path for path in TEMPLATE_DIR.rglob("*") if path.is_file()]

    assert files
    assert all(path.name.endswith(".tmpl") for path in files)


@pytest.mark.parametrize(
    ("arguments", "status", "says"),
    [
        (["new-provider", "Acme_Farms"], 2, "is not a provider id"),
        (["new-provider", "-acme"], 2, "No such option"),
        (["new-provider", "9acme"], 2, "is not a provider id"),
    ],
)
def test_refuses_an_id_that_cannot_name_a_plugin(tmp_path, arguments, status, says):
    result = CliRunner().invoke(cli, [*arguments, "--directory", str(tmp_path / "x")])

    assert result.exit_code == status
    assert says in result.output
    assert not (tmp_path / "x").exists()


def test_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")

    result = CliRunner().invoke(
        cli, ["new-provider", "acme", "--directory", str(tmp_path)]
    )

    assert result.exit_code == 1
    assert "is not empty" in result.output
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_name_option_names_the_provider(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "new-provider",
            "acme",
            "--name",
            "ACME Agronomy",
            "--directory",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 0, result.output
    assert (
        'name="ACME Agronomy"'
        in (tmp_path / "fieldlink_acme" / "__init__.py").read_text()
    )


@pytest.mark.parametrize(
    ("provider_id", "name", "says"),
    [
        ("acme-farms", None, "register an Acme Farms credential"),
        ("orchard", None, "register an Orchard credential"),
        ("trimble", None, "register a Trimble credential"),
        ("acme", "Iowa Soil Lab", "register an Iowa Soil Lab credential"),
        ("acme", "Yield Hub", "register a Yield Hub credential"),
    ],
)
def test_the_article_before_the_name_fits_it(tmp_path, provider_id, name, says):
    arguments = ["new-provider", provider_id, "--directory", str(tmp_path)]
    result = CliRunner().invoke(cli, arguments + (["--name", name] if name else []))

    assert result.exit_code == 0, result.output
    module = "fieldlink_" + provider_id.replace("-", "_")
    schema = (tmp_path / module / "schemas" / "credentials.json").read_text("utf-8")
    assert f'"The body a host posts to {says}."' in schema


def test_no_template_text_puts_a_bare_article_before_the_name():
    for path in TEMPLATE_DIR.rglob("*.tmpl"):
        text = " ".join(path.read_text("utf-8").split())
        assert not re.search(r"\b[Aa]n? \{\{name\}\}", text), path
