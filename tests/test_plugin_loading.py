"""Plugin loading: discovery through entry points, and every way a plugin can break.

Fake distributions are installed into a temporary directory (a ``.dist-info`` folder
beside the plugin's package) and found by ``fieldlink providers --json`` in a
subprocess, since entry points are read once per process. Routing and broadcasting
are tested in-process on a :class:`PluginRegistry` built by hand.
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

import fieldlink
from fieldlink import hookimpl
from fieldlink._plugins import PLUGINS_ENV, PluginRegistry
from fieldlink.models import AuthKind, Credential, Page, ProviderInfo, Resource

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


def install(
    site: Path, dist_id: str, source: str, *, schema: str = "", entry_point: str = ""
) -> None:
    """Install distribution ``fieldlink-<dist_id>`` into ``site`` as pip lays it out.

    Its package ``fieldlink_<dist_id>`` holds ``source`` and ``credentials.json``; its
    entry point is named ``entry_point`` (``dist_id`` unless given).
    """
    package = "fieldlink_" + dist_id.replace("-", "_")
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(source, encoding="utf-8")
    (site / package / "credentials.json").write_text(
        schema or schema_text(), encoding="utf-8"
    )

    metadata = site / f"{package}-1.0.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: fieldlink-{dist_id}\nVersion: 1.0\n",
        encoding="utf-8",
    )
    (metadata / "entry_points.txt").write_text(
        f"[fieldlink.providers]\n{entry_point or dist_id} = {package}:plugin\n",
        encoding="utf-8",
    )


class Broken(NamedTuple):
    """A plugin that must be left out, and what its reason must say."""

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
        ("not valid JSON Schema at $.required", "is not of type 'array'"),
        schema=schema_text(lambda schema: schema.update(required="clientId")),
    ),
    Broken(
        "fake-dangling-ref",
        provider_module("fake-dangling-ref"),
        ("ships an unusable credential schema", "urn:fieldlink:nowhere"),
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
        ("examples[0] $.refreshToken: is a required property",),
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
    install(site, "fake-good", provider_module("fake-good"))
    for dist in TWINS:
        install(
            site,
            dist.removeprefix("fieldlink-"),
            provider_module("fake-twin"),
            entry_point="fake-twin",
        )
    for case in BROKEN:
        install(
            site,
            case.dist_id,
            case.source,
            schema=case.schema,
            entry_point=case.entry_point,
        )
    return site


def fieldlink_providers(site: Path, cache: Path, **env: str) -> dict[str, Any]:
    """Run ``fieldlink providers --json`` with ``site`` on the path; return its JSON."""
    environ = {**os.environ, "PYTHONPATH": str(site), "FIELDLINK_CACHE_DIR": str(cache)}
    environ.pop(PLUGINS_ENV, None)
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-m", "fieldlink.cli", "providers", "--json"],
        cwd=site,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
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
