"""Validation names every missing and every unknown field once, each at its own path.

jsonschema raises one ``required`` error per missing property, each carrying the whole
``required`` list, and one ``additionalProperties`` error for all the unknown fields.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fieldlink.cli import cli
from fieldlink.errors import CredentialValidationError
from fieldlink.testing import assert_no_canary

DEERE = {
    "clientKey": "app",
    "clientSecret": "CANARY-client-secret",
    "refreshToken": "CANARY-refresh-token",
    "clientEnvironment": "STAGE",
}


def validate(tmp_path, provider: str, payload: dict[str, object]) -> list[str]:
    """Run `fieldlink validate --json`; return the paths of the issues, in order."""
    body = tmp_path / "body.json"
    body.write_text(json.dumps(payload))
    result = CliRunner().invoke(cli, ["validate", provider, str(body), "--json"])
    assert_no_canary(result.output, "CLI output")
    assert result.exit_code == 3, result.output
    return [issue["path"] for issue in json.loads(result.output)["issues"]]


def test_each_missing_property_is_named_once(fieldlink_home, tmp_path):
    paths = validate(
        tmp_path,
        "climate-field-view",
        {"clientSecret": "CANARY-secret", "refreshToken": "CANARY-refresh"},
    )

    assert paths == ["$.clientId", "$.apiKey"]


def test_a_payload_of_one_field_names_the_three_missing(fieldlink_home, tmp_path):
    paths = validate(tmp_path, "john-deere", {"clientSecret": "CANARY-secret"})

    assert paths == ["$.clientKey", "$.refreshToken", "$.clientEnvironment"]


def test_each_unknown_field_is_named_once(fieldlink_home, tmp_path):
    payload = {**DEERE, "organization": "1234", "password": "CANARY-password"}

    paths = validate(tmp_path, "john-deere", payload)

    assert paths == ["$.organization", "$.password"]


def test_the_text_output_has_a_line_per_field(fieldlink_home, tmp_path):
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"clientSecret": "CANARY-secret", "extra": 1}))

    result = CliRunner().invoke(cli, ["validate", "john-deere", str(body)])

    assert result.exit_code == 3
    assert sorted(result.stderr.splitlines()) == [
        "$.clientEnvironment: is a required property",
        "$.clientKey: is a required property",
        "$.extra: is not a field of this schema; remove it",
        "$.refreshToken: is a required property",
    ]


def test_the_python_api_reports_the_same_issues(fieldlink):
    payload = {"clientSecret": "CANARY-secret", "extra": 1, "other": 2}

    with pytest.raises(CredentialValidationError) as raised:
        fieldlink.validate("john-deere", payload)
    with pytest.raises(CredentialValidationError) as registering:
        fieldlink.register("grower-1", "john-deere", payload)

    for error in (raised.value, registering.value):
        assert sorted(issue.path for issue in error.issues) == [
            "$.clientEnvironment",
            "$.clientKey",
            "$.extra",
            "$.other",
            "$.refreshToken",
        ]
        assert "(and 4 more)" in str(error)
    assert fieldlink.credentials() == []
