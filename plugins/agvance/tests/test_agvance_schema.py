"""The credential schema is Leaf's Agvance body, and nothing else."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_agvance import PROVIDER_ID

LEAF_FIELDS = {"apiKey", "databaseId", "username", "password", "clientEnvironment"}


def _leaf_body(fieldlink):
    return dict(fieldlink.provider(PROVIDER_ID).schema.examples[0])


def test_plugin_loads_with_a_sound_schema(fieldlink):
    # Loading checks the schema against the core meta-schema, examples included.
    loaded = fieldlink.provider(PROVIDER_ID)

    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert set(loaded.schema.fields) == LEAF_FIELDS
    assert loaded.schema.required == LEAF_FIELDS - {"clientEnvironment"}
    assert loaded.schema.secret_fields == {"apiKey", "password"}
    assert loaded.schema.app_fields == {"apiKey"}


def test_leaf_body_validates_unchanged_with_or_without_environment(fieldlink):
    body = _leaf_body(fieldlink)

    fieldlink.validate(PROVIDER_ID, body)
    del body["clientEnvironment"]
    fieldlink.validate(PROVIDER_ID, body)


@pytest.mark.parametrize("missing", ["apiKey", "databaseId", "username", "password"])
def test_each_missing_field_is_named(fieldlink, missing):
    body = _leaf_body(fieldlink)
    del body[missing]

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, body)

    assert info.value.path == f"$.{missing}"
    assert body.get("password", "-") not in str(info.value)


@pytest.mark.parametrize("environment", ["TEST", "stage", ""])
def test_only_leafs_environments_are_accepted(fieldlink, environment):
    body = {**_leaf_body(fieldlink), "clientEnvironment": environment}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, body)

    assert info.value.path == "$.clientEnvironment"
    assert "STAGE, PRODUCTION" in str(info.value)


def test_a_session_id_is_not_part_of_the_body(fieldlink):
    body = {**_leaf_body(fieldlink), "sessionId": "0d9e-sandbox-session"}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, body)

    assert info.value.path == "$.sessionId"


def test_the_app_registration_is_the_api_key_alone(fieldlink):
    with pytest.raises(CredentialValidationError) as info:
        fieldlink.register_app(PROVIDER_ID, {"apiKey": "k", "username": "jsmith"})

    assert info.value.path == "$.username"
