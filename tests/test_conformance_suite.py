"""The conformance suite itself: it passes a sound plugin whatever its flow, and it
fails a plugin that breaks the contract, saying what to change.

Each run is pytest over a plugin's tests in a subprocess, as the plugin's own CI runs
them, with the plugin declared installed on a temporary path. The sample plugin
under ``third_party`` connects through a form and signs its requests: no consent
page, no access token, nothing to refresh.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from .distributions import Outcome, declare, run_tests

SAMPLE = Path(__file__).parent / "third_party" / "fieldlink-sample"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample plugin's tree, declared installed."""
    root = tmp_path_factory.mktemp("sample")
    tree = root / SAMPLE.name
    shutil.copytree(SAMPLE, tree, ignore=shutil.ignore_patterns("__pycache__"))
    declare(root / "site", tree)
    return tree


def test_a_form_flow_without_access_tokens_passes(sample):
    found = run_tests(sample, "tests")

    skipped = {name: o.message for name, o in found.items() if o.status == "skipped"}
    passed = [name for name, o in found.items() if o.status == "passed"]
    assert len(passed) + len(skipped) == len(found), found
    assert skipped.keys() == {
        "test_refusal_at_the_consent_page",
        "test_refresh_renews_the_access_token",
        "test_a_rotated_refresh_token_is_stored",
    }
    assert (
        "a form flow has no consent page" in skipped["test_refusal_at_the_consent_page"]
    )
    assert "issues no access tokens" in skipped["test_refresh_renews_the_access_token"]
    assert "test_a_credential_without_access_tokens_is_used_as_it_is" in passed
    assert "test_pages_through_every_kind_to_the_end" in passed


# Each mutant breaks one rule, in a test module of its own; the named test must fail
# and say why.
MUTANTS = {
    "leaks_a_secret": (
        """
        import logging

        import fieldlink_sample

        original = fieldlink_sample.sign


        def sign(request, payload):
            logging.getLogger("fieldlink_sample").debug("key %s", payload["secretKey"])
            return original(request, payload)


        @pytest.fixture(autouse=True)
        def _mutate(monkeypatch):
            monkeypatch.setattr(fieldlink_sample, "sign", sign)
        """,
        "sample",
        "test_no_secret_leaks",
        "a secret leaked into a log record",
    ),
    "ignores_the_cursor": (
        """
        from fieldlink_sample import SampleSoilLab

        original = SampleSoilLab.list_resources


        @hookimpl
        def list_resources(self, context, api, kind, parent, cursor):
            return original(self, context, api, kind, parent, None)


        @pytest.fixture(autouse=True)
        def _mutate(monkeypatch):
            monkeypatch.setattr(SampleSoilLab, "list_resources", list_resources)
        """,
        "sample",
        "test_pages_through_every_kind_to_the_end",
        "returned a cursor twice",
    ),
    "misses_revocation": (
        """
        import fieldlink_sample


        @pytest.fixture(autouse=True)
        def _mutate(monkeypatch):
            monkeypatch.setattr(fieldlink_sample, "_raise_for_refusal", lambda r: None)
        """,
        "sample",
        "test_a_revoked_credential_turns_invalid",
        "must raise CredentialRevoked; it raised ProviderError instead",
    ),
    "forgets_the_rotated_token": (
        """
        import attrs
        from fieldlink_climate_field_view import ClimateFieldView

        original = ClimateFieldView.refresh_credentials


        @hookimpl
        def refresh_credentials(self, context, credential):
            grant = original(self, context, credential)
            return attrs.evolve(grant, payload=credential.payload)


        @pytest.fixture(autouse=True)
        def _mutate(monkeypatch):
            monkeypatch.setattr(
                ClimateFieldView, "refresh_credentials", refresh_credentials
            )
        """,
        "climate-field-view",
        "test_a_rotated_refresh_token_is_stored",
        "yet the stored payload kept its refresh token",
    ),
}


@pytest.fixture(scope="module")
def mutants(sample: Path) -> dict[str, Outcome]:
    """Each mutant's one test, all run in one pytest."""
    folder = sample / "mutants"
    folder.mkdir()
    targets = []
    for name, (patch, provider, test, _) in MUTANTS.items():
        module = folder / f"test_{name}.py"
        module.write_text(
            "import pytest\n\n"
            "from fieldlink import hookimpl\n"
            "from fieldlink.testing import conformance_tests\n"
            f"{textwrap.dedent(patch)}\n\n"
            f"TestConformance = conformance_tests({provider!r})\n",
            encoding="utf-8",
        )
        targets.append(f"mutants/{module.name}::TestConformance::{test}")
    return run_tests(sample, *targets)


@pytest.mark.parametrize("mutant", MUTANTS)
def test_the_suite_fails_a_plugin_that_breaks_the_contract(mutants, mutant):
    _, _, test, says = MUTANTS[mutant]
    outcome = mutants[test]

    assert outcome.status in ("failure", "error"), outcome
    assert says in outcome.message
