"""Plugin loading: discovery through entry points, and every way a plugin can break.

Fake distributions are installed into a temporary directory (a ``.dist-info`` folder
beside the plugin's package) and found by ``fieldlink providers --json`` and
``fieldlink check`` in a subprocess, since entry points are read once per process.
Routing and broadcasting are tested in-process on a :class:`PluginRegistry` built by
hand.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner

import fieldlink
from fieldlink import hookimpl
from fieldlink._plugins import PLUGINS_ENV, PluginRegistry
from fieldlink._schemas import unmarked_secrets
from fieldlink.cli import cli
from fieldlink.errors import UnknownProviderError
from fieldlink.models import AuthKind, Credential, Page, ProviderInfo, Resource

from .distributions import install

# A fake provider's credential schema, shaped like the John Deere plugin's.
GOOD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:fieldlink:fake:credentials",
    "title": "Fake provider credentials",
    "type": "object",
    "required": ["clientId", "clientSecret", "refreshToken"],
    "additionalProperties": False,
    "properties": {
        "clientId": {
            "$ref": "urn:fieldlink:definitions#/$defs/identifier",
            "x-fieldlink-scope": "app",
        },
        "clientSecret": {
            "$ref": "urn:fieldlink:definitions#/$defs/token",
            "writeOnly": True,
            "x-fieldlink-scope": "app",
        },
        "refreshToken": {
            "$ref": "urn:fieldlink:definitions#/$defs/token",
            "writeOnly": True,
            "x-fieldlink-scope": "user",
        },
    },
    "examples": [
        {"clientId": "fake-app", "clientSecret": "example-secret", "refreshToken": "r1"}
    ],
}

# The source of a minimal provider plugin: generic OAuth 2.0 plus a listing.
PROVIDER_MODULE = """\
from pathlib import Path

from fieldlink import hookimpl
from fieldlink.models import Page, ProviderInfo
from fieldlink.oauth2 import OAuth2Provider


class Provider(OAuth2Provider):
    info = ProviderInfo(
        **{fields!r},
        credential_schema=Path(__file__).with_name("credentials.json"),
    )

    @hookimpl
    def list_resources(self, kind):
        return Page([])
{hooks}

plugin = Provider()
"""


def provider_module(provider_id: str, *, hooks: str = "", **fields: Any) -> str:
    """A provider plugin's ``__init__.py``; ``fields`` override its ProviderInfo."""
    described = {
        "id": provider_id,
        "name": f"Fake {provider_id}",
        "version": "1.0",
        "auth_kind": "oauth2",
        "resource_kinds": ("fields",),
        "endpoints": {
            "PRODUCTION": {
                "authorize_url": "https://auth.example.com/authorize",
                "token_url": "https://auth.example.com/token",
            }
        },
        "documentation_url": "https://example.com/docs",
        "min_core_version": "0.1.0",
        **fields,
    }
    return PROVIDER_MODULE.format(fields=described, hooks=hooks)


def schema_text(change: Any = None) -> str:
    """The good schema as file text, after ``change`` edited a copy of it in place."""
    schema = copy.deepcopy(GOOD_SCHEMA)
    if change is not None:
        change(schema)
    return json.dumps(schema, indent=2)


class Broken(NamedTuple):
    """A plugin that must be left out, and what both its reason for being left out
    and ``fieldlink check`` must say."""

    dist_id: str
    source: str
    says: tuple[str, ...]
    schema: str = ""
    entry_point: str = ""


BROKEN = [
    Broken(
        "fake-raises",
        "raise RuntimeError('the fake setup failed')\n",
        ("cannot be imported", "RuntimeError", "the fake setup failed"),
    ),
    Broken(
        "fake-syntax",
        "def plugin(:\n",
        ("cannot be imported", "SyntaxError"),
    ),
    Broken(
        "fake-unknown-hook",
        provider_module(
            "fake-unknown-hook",
            hooks="\n    @hookimpl\n    def list_farms(self, credential):\n"
            "        return []\n",
        ),
        ("implements hooks the specifications do not know: list_farms",),
    ),
    Broken(
        "fake-unknown-argument",
        provider_module(
            "fake-unknown-argument",
            hooks="\n    @hookimpl\n    def start_auth(self, request, page_size):\n"
            "        return None\n",
        ),
        ("does not match the hook specifications", "start_auth", "page_size"),
    ),
    Broken(
        "fake-misnamed",
        provider_module("fake-other"),
        ("describes provider 'fake-other' under the entry point name 'fake-misnamed'",),
    ),
    Broken(
        "fake-not-json",
        provider_module("fake-not-json"),
        ("credentials.json: not valid JSON at line 2",),
        schema='{"$schema": "https://json-schema.org/draft/2020-12/schema",\n',
    ),
    Broken(
        "fake-not-json-schema",
        provider_module("fake-not-json-schema"),
        ("$.required: not valid JSON Schema", "is not of type 'array'"),
        schema=schema_text(lambda schema: schema.update(required="clientId")),
    ),
    Broken(
        "fake-dangling-ref",
        provider_module("fake-dangling-ref"),
        ("$.properties.clientId.$ref: $ref 'urn:fieldlink:nowhere' does not resolve",),
        schema=schema_text(
            lambda schema: schema["properties"]["clientId"].update(
                {"$ref": "urn:fieldlink:nowhere"}
            )
        ),
    ),
    Broken(
        "fake-breaks-meta-schema",
        provider_module("fake-breaks-meta-schema"),
        ("$.properties.clientId.x-fieldlink-scope: is a required property",),
        schema=schema_text(
            lambda schema: schema["properties"]["clientId"].pop("x-fieldlink-scope")
        ),
    ),
    Broken(
        "fake-bad-example",
        provider_module("fake-bad-example"),
        ("$.examples[0].refreshToken: is a required property",),
        schema=schema_text(lambda schema: schema["examples"][0].pop("refreshToken")),
    ),
    Broken(
        "fake-future",
        provider_module("fake-future", min_core_version="99.0"),
        (f"needs fieldlink core 99.0 or newer; {fieldlink.__version__} is installed",),
    ),
    Broken(
        "fake-odd-version",
        provider_module("fake-odd-version", min_core_version=1.0),
        ("min_core_version 1.0 is not a version",),
    ),
]

# Two distributions that both claim the provider id fake-twin.
TWINS = ("fieldlink-fake-twin", "fieldlink-fake-twin-fork")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of installed fake distributions: good ones and broken ones."""
    site = tmp_path_factory.mktemp("site-packages")
    install(site, "fake-good", provider_module("fake-good"), schema=schema_text())
    for dist in TWINS:
        install(
            site,
            dist.removeprefix("fieldlink-"),
            provider_module("fake-twin"),
            schema=schema_text(),
            entry_point="fake-twin",
        )
    for case in BROKEN:
        install(
            site,
            case.dist_id,
            case.source,
            schema=case.schema or schema_text(),
            entry_point=case.entry_point,
        )
    return site


def run_fieldlink(
    site: Path, cache: Path, *arguments: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the ``fieldlink`` command with ``site`` on the path."""
    environ = {**os.environ, "PYTHONPATH": str(site), "FIELDLINK_CACHE_DIR": str(cache)}
    environ.pop(PLUGINS_ENV, None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "fieldlink.cli", *arguments],
        cwd=site,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def fieldlink_providers(site: Path, cache: Path, **env: str) -> dict[str, Any]:
    """Run ``fieldlink providers --json`` with ``site`` on the path; return its JSON."""
    result = run_fieldlink(site, cache, "providers", "--json", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def listing(site: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return fieldlink_providers(site, tmp_path_factory.mktemp("cache"))


# Other real plugins may be installed beside john-deere: only these are pinned down.
KNOWN = ("fake-", "john-deere")


def loaded(answer: dict[str, Any]) -> dict[str, str]:
    """The fake providers and john-deere that loaded, with their distributions."""
    return {
        provider["id"]: provider["distribution"]
        for provider in answer["providers"]
        if provider["id"].startswith(KNOWN)
    }


def failed(answer: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The fake plugins and john-deere left out, by entry point name."""
    by_name: dict[str, list[dict[str, str]]] = {}
    for failure in answer["failed"]:
        if failure["name"].startswith(KNOWN):
            by_name.setdefault(failure["name"], []).append(failure)
    return by_name


# Discovery


def test_good_plugins_load_beside_broken_ones(listing):
    providers = loaded(listing)

    assert providers.keys() == {"fake-good", "fake-twin", "john-deere"}
    assert providers["fake-good"] == "fieldlink-fake-good"
    assert providers["john-deere"] == "fieldlink-john-deere"


def test_every_broken_plugin_is_reported_once(listing):
    expected = {case.entry_point or case.dist_id for case in BROKEN} | {"fake-twin"}

    assert sorted(failed(listing)) == sorted(expected)
    assert all(len(failures) == 1 for failures in failed(listing).values())


@pytest.mark.parametrize("case", BROKEN, ids=lambda case: case.dist_id)
def test_broken_plugin_is_left_out_with_its_reason(listing, case):
    name = case.entry_point or case.dist_id
    [failure] = failed(listing)[name]

    assert name not in loaded(listing)
    assert failure["distribution"] == f"fieldlink-{case.dist_id}"
    for words in case.says:
        assert words in failure["reason"]


def test_second_distribution_of_a_provider_id_is_left_out(listing):
    winner = loaded(listing)["fake-twin"]
    [failure] = failed(listing)["fake-twin"]

    assert {winner, failure["distribution"]} == set(TWINS)
    assert failure["reason"] == f"repeats the provider id 'fake-twin' of {winner}"


def test_cached_schema_checks_give_the_same_answer(site, tmp_path):
    cold = fieldlink_providers(site, tmp_path)
    warm = fieldlink_providers(site, tmp_path)

    assert cold == warm
    assert loaded(warm).keys() == {"fake-good", "fake-twin", "john-deere"}


@pytest.mark.parametrize(
    ("selection", "providers", "failures"),
    [
        ("fake-good", {"fake-good"}, set()),
        (" john-deere , fake-raises", {"john-deere"}, {"fake-raises"}),
        ("", set(), set()),
    ],
)
def test_plugins_env_limits_what_loads(site, tmp_path, selection, providers, failures):
    answer = fieldlink_providers(site, tmp_path, **{PLUGINS_ENV: selection})

    # Every other installed plugin is left out too, so the whole answer is known.
    assert {provider["id"] for provider in answer["providers"]} == providers
    assert {failure["name"] for failure in answer["failed"]} == failures


@pytest.mark.parametrize("selection", [" ", " , "])
def test_a_blank_plugins_env_loads_none_and_says_so(site, tmp_path, selection):
    result = run_fieldlink(site, tmp_path, "providers", **{PLUGINS_ENV: selection})

    # An allow-list that names nothing lets nothing in; a warning says why.
    assert result.returncode == 0
    assert "left out" not in result.stderr
    [warning] = result.stderr.splitlines()
    assert warning.startswith(
        f"Warning: {PLUGINS_ENV} is set but names no plugin, so none is loaded; "
        "name the plugins to load (installed: "
    )
    assert "fake-good, " in warning
    assert "john-deere, " in warning
    assert warning.endswith("or unset it to load every plugin")


def test_a_provider_asked_for_under_a_blank_plugins_env_says_why(monkeypatch):
    monkeypatch.setenv(PLUGINS_ENV, "  ")
    registry = PluginRegistry()
    registry.load_entry_points()

    with pytest.raises(UnknownProviderError) as info:
        registry.provider("john-deere")

    assert "it is installed but left out by FIELDLINK_PLUGINS" in str(info.value)
    assert "FIELDLINK_PLUGINS is set but names no plugin" in str(info.value)


def test_one_plugin_object_in_two_distributions_is_named_plainly(tmp_path):
    site = tmp_path / "site"
    install(site, "fake-same", provider_module("fake-same"), schema=schema_text())
    # A fork that ships the original's plugin object under an entry point of its own.
    install(
        site,
        "fake-same-fork",
        "from fieldlink_fake_same import plugin\n",
        schema=schema_text(),
    )

    answer = fieldlink_providers(site, tmp_path / "cache")

    assert loaded(answer)["fake-same"] == "fieldlink-fake-same"
    [failure] = failed(answer)["fake-same-fork"]
    # Whichever loads first, the reason names the cause, never an object's address.
    assert failure["reason"] in (
        "is the same plugin object as the provider 'fake-same' already loaded (from "
        "fieldlink-fake-same): two distributions ship one plugin, or the entry point "
        "'fake-same-fork' names a plugin that describes another provider",
        "describes provider 'fake-same' under the entry point name 'fake-same-fork'",
    )


# Checking: `fieldlink check` reports the same plugins, each problem with its fix


@pytest.fixture(scope="module")
def checked(site: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``fieldlink check --format json`` over every installed plugin."""
    result = run_fieldlink(
        site, tmp_path_factory.mktemp("cache"), "check", "--format", "json"
    )
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


def reports(answer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The reports on the fake plugins and john-deere, by provider id."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for report in answer["plugins"]:
        if report["name"].startswith(KNOWN):
            by_name.setdefault(report["name"], []).append(report)
    return by_name


def shown(problem: dict[str, Any]) -> str:
    """A problem as the text format shows it: file, JSON path, message."""
    where = [problem["file"], problem["path"]]
    return ": ".join([*(part for part in where if part), problem["message"]])


@pytest.mark.parametrize("case", BROKEN, ids=lambda case: case.dist_id)
def test_check_reports_a_broken_plugin_with_its_cause_and_fix(checked, case):
    [report] = reports(checked)[case.entry_point or case.dist_id]

    assert report["ok"] is False
    assert report["distribution"] == f"fieldlink-{case.dist_id}"
    assert any(
        all(words in shown(problem) for words in case.says)
        for problem in report["problems"]
    ), report["problems"]
    for problem in report["problems"]:
        assert problem["fix"]
        assert problem["file"]


def test_check_passes_good_plugins_beside_broken_ones(checked):
    passed = {name for name, found in reports(checked).items() if found[0]["ok"]}

    assert passed == {"fake-good", "john-deere"}
    assert checked["ok"] is False


def test_check_reports_both_distributions_of_a_provider_id(checked):
    twins = reports(checked)["fake-twin"]

    assert {report["distribution"] for report in twins} == set(TWINS)
    for report in twins:
        [problem] = report["problems"]
        [other] = set(TWINS) - {report["distribution"]}
        assert problem["check"] == "duplicate"
        assert f"'fake-twin' is also offered by {other}" in problem["message"]


@pytest.mark.parametrize(
    ("case", "file", "path", "line_shows", "fix"),
    [
        (
            "fake-dangling-ref",
            "credentials.json",
            "$.properties.clientId.$ref",
            '"$ref": "urn:fieldlink:nowhere"',
            "urn:fieldlink:definitions",
        ),
        ("fake-not-json", "credentials.json", None, None, "JSON syntax"),
        (
            "fake-breaks-meta-schema",
            "credentials.json",
            "$.properties.clientId.x-fieldlink-scope",
            '"clientId": {',
            '"x-fieldlink-scope": "app"',
        ),
        (
            "fake-bad-example",
            "credentials.json",
            "$.examples[0].refreshToken",
            "{",
            "correct examples[0]",
        ),
        ("fake-syntax", "__init__.py", None, "def plugin(:", "syntax"),
        (
            "fake-unknown-argument",
            "__init__.py",
            None,
            "@hookimpl",
            "(context, request)",
        ),
    ],
)
def test_check_points_at_the_file_line_and_json_path(
    checked, case, file, path, line_shows, fix
):
    [report] = reports(checked)[case]
    [problem] = report["problems"]
    lines = [*Path(problem["file"]).read_text(encoding="utf-8").splitlines(), None]

    assert Path(problem["file"]).name == file
    assert Path(problem["file"]).parent.name == "fieldlink_" + case.replace("-", "_")
    assert problem["path"] == path
    # The line of the culprit; past the end of a file cut short.
    shows = lines[problem["line"] - 1]
    assert shows is None if line_shows is None else shows.strip().startswith(line_shows)
    assert fix in problem["fix"]


def test_check_exits_0_when_the_plugins_named_pass(site, tmp_path):
    result = run_fieldlink(site, tmp_path, "check", "fake-good", "fieldlink-john-deere")

    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        "ok   fake-good (fieldlink-fake-good)",
        "ok   john-deere (fieldlink-john-deere)",
        "2 plugins checked: all passed",
    ]


def test_check_text_names_the_plugin_the_cause_and_the_fix(site, tmp_path):
    result = run_fieldlink(site, tmp_path, "check", "fake-future")

    assert result.returncode == 1
    [status, problem, fix, summary] = result.stdout.splitlines()
    assert status == "FAIL fake-future (fieldlink-fake-future)"
    assert problem.startswith("  fieldlink_fake_future/__init__.py:8: needs fieldlink")
    assert fix.startswith("    fix: lower min_core_version")
    assert summary == "1 plugin checked: 1 failed with 1 problem"


def test_check_annotates_github_workflows(site, tmp_path):
    result = run_fieldlink(
        site, tmp_path, "check", "--format", "github", "fake-dangling-ref"
    )

    [annotation, summary] = result.stdout.splitlines()
    assert annotation.startswith(
        "::error file=fieldlink_fake_dangling_ref/credentials.json,line=14,"
        "title=fieldlink check%3A fake-dangling-ref (schema)::"
        "$.properties.clientId.$ref: $ref 'urn:fieldlink:nowhere' does not resolve"
    )
    assert ". Fix: point it at" in annotation
    assert summary == "1 plugin checked: 1 failed with 1 problem"


def test_check_refuses_what_is_not_a_plugin(site, tmp_path):
    result = run_fieldlink(site, tmp_path, "check", "fake-nothing", "fake-good")

    assert result.returncode == 2
    assert "'fake-nothing' is neither an installed provider plugin" in result.stderr


def source_tree(root: Path, dist_id: str, schema: str) -> Path:
    """A plugin's source tree, not installed: pyproject.toml and the package."""
    module = "fieldlink_" + dist_id.replace("-", "_")
    tree = root / f"fieldlink-{dist_id}"
    (tree / module).mkdir(parents=True)
    (tree / module / "__init__.py").write_text(provider_module(dist_id), "utf-8")
    (tree / module / "credentials.json").write_text(schema, "utf-8")
    (tree / "pyproject.toml").write_text(
        f'[project]\nname = "fieldlink-{dist_id}"\nversion = "1.0"\n\n'
        f'[project.entry-points."fieldlink.providers"]\n{dist_id} = "{module}:plugin"\n',
        "utf-8",
    )
    return tree


def check_tree(site: Path, cache: Path, tree: Path) -> list[dict[str, Any]]:
    """The problems ``fieldlink check --format json TREE`` finds."""
    result = run_fieldlink(site, cache, "check", "--format", "json", str(tree))
    [report] = json.loads(result.stdout)["plugins"]
    assert result.returncode == (0 if report["ok"] else 1), result.stderr
    return list(report["problems"])


def _unmark(*names: str) -> Any:
    def change(schema: dict[str, Any]) -> None:
        for name in names:
            del schema["properties"][name]["writeOnly"]

    return change


def test_check_fails_a_secret_that_is_not_marked_write_only(site, tmp_path):
    schema = schema_text(_unmark("clientSecret", "refreshToken"))
    tree = source_tree(tmp_path, "fake-open", schema)

    problems = check_tree(site, tmp_path / "cache", tree)

    assert [(p["check"], p["path"]) for p in problems] == [
        ("secret", "$.properties.clientSecret.writeOnly"),
        ("secret", "$.properties.refreshToken.writeOnly"),
    ]
    lines = (tree / "fieldlink_fake_open" / "credentials.json").read_text().splitlines()
    for problem, name in zip(problems, ("clientSecret", "refreshToken"), strict=True):
        assert problem["file"].endswith("fieldlink_fake_open/credentials.json")
        assert lines[problem["line"] - 1].strip() == f'"{name}": {{'
        assert problem["message"] == (
            f"{name!r} is named like a secret but is not marked writeOnly"
        )
        assert '"writeOnly": true' in problem["fix"]
        assert '"writeOnly": false' in problem["fix"]


def test_a_template_plugin_whose_secrets_lose_write_only_fails_check(site, tmp_path):
    tree = tmp_path / "fieldlink-acme-farms"
    CliRunner().invoke(cli, ["new-provider", "acme-farms", "--directory", str(tree)])
    path = tree / "fieldlink_acme_farms" / "schemas" / "credentials.json"
    text = path.read_text("utf-8")
    path.write_text(text.replace('"writeOnly": true,', ""), "utf-8")

    problems = check_tree(site, tmp_path / "cache", tree)

    assert {(p["check"], p["path"]) for p in problems} == {
        ("secret", "$.properties.clientSecret.writeOnly"),
        ("secret", "$.properties.refreshToken.writeOnly"),
    }


def test_check_reports_every_independent_schema_problem_in_one_run(site, tmp_path):
    def break_four_rules(schema: dict[str, Any]) -> None:
        del schema["title"]
        del schema["properties"]["clientId"]["x-fieldlink-scope"]
        del schema["properties"]["refreshToken"]["writeOnly"]
        del schema["examples"][0]["clientSecret"]

    tree = source_tree(tmp_path, "fake-four", schema_text(break_four_rules))

    problems = check_tree(site, tmp_path / "cache", tree)

    assert {(p["check"], p["path"]) for p in problems} == {
        ("schema", "$.title"),
        ("schema", "$.properties.clientId.x-fieldlink-scope"),
        ("schema", "$.examples[0].clientSecret"),
        ("secret", "$.properties.refreshToken.writeOnly"),
    }


def test_check_reports_json_schema_and_meta_schema_problems_together(site, tmp_path):
    def break_both(schema: dict[str, Any]) -> None:
        schema["required"] = "clientId"
        schema["properties"]["clientSecret"]["type"] = "text"
        del schema["properties"]["clientId"]["x-fieldlink-scope"]

    tree = source_tree(tmp_path, "fake-both", schema_text(break_both))

    problems = check_tree(site, tmp_path / "cache", tree)

    # Examples cannot be checked against what is not JSON Schema: only these three.
    assert sorted(p["path"] for p in problems) == [
        "$.properties.clientId.x-fieldlink-scope",
        "$.properties.clientSecret.type",
        "$.required",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "clientSecret",
        "sharedSecret",
        "password",
        "refreshToken",
        "accessTokenClient",
        "authToken",
        "privateKey",
        "apiKey",
        "api_key",
        "accessKey",
        "subscriptionKey",
    ],
)
def test_names_that_say_secret_must_say_whether_they_are(tmp_path, name):
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"properties": {name: {}}}), "utf-8")

    [problem] = unmarked_secrets(path)

    assert problem.path == f"$.properties.{name}.writeOnly"
    for marked in (True, False):
        path.write_text(json.dumps({"properties": {name: {"writeOnly": marked}}}))
        assert unmarked_secrets(path) == []


@pytest.mark.parametrize(
    "name",
    [
        "clientId",
        "clientKey",
        "publicKey",
        "username",
        "databaseId",
        "organizationName",
        "clientEnvironment",
        "partnerId",
    ],
)
def test_names_that_do_not_say_secret_need_no_mark(tmp_path, name):
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"properties": {name: {}}}), "utf-8")

    assert unmarked_secrets(path) == []


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("{tmp}/nope", "{tmp}/nope does not exist: name a plugin's source tree"),
        ("{tmp}/file.txt", "{tmp}/file.txt is a file, not a plugin's source tree"),
        ("{tmp}/empty", "{tmp}/empty is not a plugin's source tree: it has no"),
        ("empty", "the folder empty is not a plugin's source tree: it has no"),
        ("fake-nothing", "'fake-nothing' is neither an installed provider plugin"),
    ],
)
def test_check_says_what_is_wrong_with_a_name(tmp_path, monkeypatch, name, says):
    (tmp_path / "file.txt").write_text("", "utf-8")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(cli, ["check", name.format(tmp=tmp_path)])

    assert result.exit_code == 2
    assert says.format(tmp=tmp_path) in " ".join(result.output.split())


def test_check_takes_the_path_of_a_pyproject_file(site, tmp_path):
    tree = source_tree(tmp_path, "fake-by-file", schema_text())

    result = run_fieldlink(site, tmp_path, "check", str(tree / "pyproject.toml"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok   fake-by-file (fieldlink-fake-by-file, ")


# Calling: in-process, on providers registered by hand


def fake_info(provider_id: str, schema: Path, **fields: Any) -> ProviderInfo:
    described: dict[str, Any] = {
        "id": provider_id,
        "name": f"Fake {provider_id}",
        "version": "1.0",
        "auth_kind": AuthKind.OAUTH2,
        "credential_schema": schema,
        "resource_kinds": ("fields",),
        "endpoints": {"PRODUCTION": {}},
        "documentation_url": "https://example.com/docs",
        "min_core_version": "0.1.0",
        **fields,
    }
    return ProviderInfo(**described)


class FakeProvider:
    """A provider plugin that records the calls it answers."""

    def __init__(self, info: ProviderInfo) -> None:
        self.info = info
        self.calls: list[str] = []

    @hookimpl
    def describe_provider(self) -> ProviderInfo:
        return self.info

    @hookimpl
    def list_resources(self, kind: str) -> Page:
        self.calls.append(kind)
        return Page([Resource(kind, f"{self.info.id}-1")])

    @hookimpl
    def credential_refreshed(self, credential: Credential) -> None:
        self.calls.append(f"refreshed {credential.id}")


class Audit:
    """A wrapper of every provider: it sees each listing and its answer."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, list[str]]] = []

    @hookimpl(wrapper=True)
    def list_resources(self, kind: str) -> Any:
        page = yield
        self.seen.append((kind, [item.id for item in page.items]))
        return page


@pytest.fixture
def schema(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FIELDLINK_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "credentials.json"
    path.write_text(schema_text(), encoding="utf-8")
    return path


def list_fields(registry: PluginRegistry, provider_id: str) -> Page:
    return registry.call(
        provider_id,
        "list_resources",
        context=None,
        credential=None,
        api=None,
        kind="fields",
        parent=None,
        cursor=None,
    )


def make_credential(credential_id: str = "cred-1") -> Credential:
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    return Credential(
        id=credential_id,
        user_id="grower-1",
        provider="alpha",
        environment="PRODUCTION",
        status="active",
        status_reason=None,
        payload={},
        access_token=None,
        expires_at=None,
        scopes=(),
        created_at=moment,
        updated_at=moment,
    )


def test_a_call_reaches_one_provider_and_the_wrappers(schema):
    registry = PluginRegistry()
    alpha, beta = (
        FakeProvider(fake_info("alpha", schema)),
        FakeProvider(fake_info("beta", schema)),
    )
    audit = Audit()
    registry.add_provider("alpha", alpha)
    registry.add_provider("beta", beta)
    registry.add_plugin(audit, name="audit")

    page = list_fields(registry, "alpha")

    assert [item.id for item in page.items] == ["alpha-1"]
    assert (alpha.calls, beta.calls) == (["fields"], [])
    assert audit.seen == [("fields", ["alpha-1"])]

    list_fields(registry, "beta")

    assert (alpha.calls, beta.calls) == (["fields"], ["fields"])
    assert audit.seen[-1] == ("fields", ["beta-1"])


class Observer:
    def __init__(self) -> None:
        self.heard: list[str] = []

    @hookimpl
    def credential_status_changed(self, credential: Credential, reason: str) -> None:
        self.heard.append(f"{credential.id} {reason}")

    @hookimpl
    def credential_refreshed(self, credential: Credential, rotated: bool) -> None:
        self.heard.append(f"{credential.id} rotated={rotated}")


class FailingObserver:
    @hookimpl
    def credential_status_changed(self) -> None:
        raise RuntimeError("observer is down")

    @hookimpl
    def credential_refreshed(self) -> None:
        raise RuntimeError("observer is down")


@pytest.mark.parametrize(
    ("hook", "arguments", "heard"),
    [
        (
            "credential_status_changed",
            {"previous": "active", "reason": "invalid_grant"},
            "cred-1 invalid_grant",
        ),
        ("credential_refreshed", {"rotated": True}, "cred-1 rotated=True"),
    ],
)
def test_observers_all_hear_despite_one_failing(schema, caplog, hook, arguments, heard):
    registry = PluginRegistry()
    first, last = Observer(), Observer()
    # The failing observer sits between two others, whichever order they run in.
    registry.add_plugin(first, name="first")
    registry.add_plugin(FailingObserver(), name="failing")
    registry.add_plugin(last, name="last")

    with caplog.at_level(logging.ERROR, logger="fieldlink._plugins"):
        registry.broadcast(hook, credential=make_credential(), **arguments)

    assert first.heard == last.heard == [heard]
    assert f"observer failing of {hook} failed" in caplog.text


def test_observers_include_provider_plugins(schema):
    registry = PluginRegistry()
    alpha, beta = (
        FakeProvider(fake_info("alpha", schema)),
        FakeProvider(fake_info("beta", schema)),
    )
    registry.add_provider("alpha", alpha)
    registry.add_provider("beta", beta)

    registry.broadcast(
        "credential_refreshed", credential=make_credential(), rotated=False
    )

    assert alpha.calls == beta.calls == ["refreshed cred-1"]


class ExtraArgument(FakeProvider):
    @hookimpl
    def list_resources(self, kind: str, page_size: int) -> Page:
        return Page([])


class UnknownHook(FakeProvider):
    @hookimpl
    def list_farms(self) -> list[str]:
        return []


@pytest.mark.parametrize(
    ("plugin_class", "fields"),
    [
        (ExtraArgument, {}),
        (UnknownHook, {}),
        (FakeProvider, {"min_core_version": "99.0"}),
        (FakeProvider, {"id": "gamma"}),
    ],
    ids=["unknown-argument", "unknown-hook", "needs-newer-core", "other-id"],
)
def test_a_plugin_left_out_keeps_none_of_its_hooks(schema, plugin_class, fields):
    registry = PluginRegistry()
    good = FakeProvider(fake_info("alpha", schema))
    broken = plugin_class(fake_info("beta", schema, **fields))
    registry.add_provider("alpha", good)

    registry.add_provider("beta", broken)
    registry.broadcast(
        "credential_refreshed", credential=make_credential(), rotated=False
    )

    assert [failure.name for failure in registry.failures] == ["beta"]
    assert registry.providers.keys() == {"alpha"}
    assert broken.calls == []
    assert good.calls == ["refreshed cred-1"]
    assert not registry.manager.is_registered(broken)


def test_the_same_plugin_object_under_two_names_is_left_out_plainly(schema):
    registry = PluginRegistry()
    alpha = FakeProvider(fake_info("alpha", schema))
    registry.add_provider("alpha", alpha, distribution="fieldlink-alpha")

    registry.add_provider("alpha-two", alpha, distribution="fieldlink-alpha-two")

    [failure] = registry.failures
    assert failure.reason == (
        "is the same plugin object as the provider 'alpha' already loaded (from "
        "fieldlink-alpha): two distributions ship one plugin, or the entry point "
        "'alpha-two' names a plugin that describes another provider"
    )
    assert registry.providers.keys() == {"alpha"}
    assert registry.manager.get_name(alpha) == "provider:alpha"
