"""The credential schema is Leaf's body for cnhi-field-ops-credentials."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_cnhi_field_ops import PROVIDER_ID

SECRETS = ("clientSecret", "subscriptionKey", "refreshToken")


@pytest.fixture
def leaf_body(fieldlink):
    return dict(fieldlink.provider(PROVIDER_ID).schema.examples[0])


def test_plugin_loads_with_a_sound_schema(fieldlink):
    # Loading checks the schema against the core meta-schema, examples included.
    schema = fieldlink.provider(PROVIDER_ID).schema

    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert schema.secret_fields == set(SECRETS)
    assert schema.app_fields == {"clientId", "clientSecret", "subscriptionKey"}


def test_leaf_bodies_validate_unchanged(fieldlink, leaf_body):
    examples = fieldlink.provider(PROVIDER_ID).schema.examples
    assert sorted(leaf_body) == [
        "clientEnvironment",
        "clientId",
        "clientSecret",
        "refreshToken",
        "subscriptionKey",
    ]

    # Leaf's FieldOps page lets clientEnvironment out; both bodies register.
    for example in examples:
        fieldlink.validate(PROVIDER_ID, example)
    assert "clientEnvironment" not in examples[1]


def test_a_body_without_environment_is_stored_as_stage(fieldlink, leaf_body):
    del leaf_body["clientEnvironment"]

    credential = fieldlink.register("grower-1", PROVIDER_ID, leaf_body, verify=False)

    assert credential.environment == "STAGE"
    assert credential.payload == {**leaf_body, "clientEnvironment": "STAGE"}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"clientEnvironment": "DEV"}, "$.clientEnvironment"),
        ({"clientEnvironment": None, "environment": "STAGE"}, "$.environment"),
        ({"subscriptionKey": None}, "$.subscriptionKey"),
        ({"clientSecret": ""}, "$.clientSecret"),
        ({"clientId": ["several"]}, "$.clientId"),
    ],
)
def test_broken_bodies_are_refused_at_their_path(fieldlink, leaf_body, change, path):
    body = {**leaf_body, **change}
    body = {name: value for name, value in body.items() if value is not None}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, body)

    assert info.value.path == path
    for secret in SECRETS:
        assert leaf_body[secret] not in str(info.value)
