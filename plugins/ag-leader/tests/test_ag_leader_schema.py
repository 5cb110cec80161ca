"""The credential schema is Leaf's AgLeader body."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_ag_leader import PROVIDER_ID


@pytest.fixture
def schema(fieldlink):
    return fieldlink.provider(PROVIDER_ID).schema


def test_plugin_loads_with_a_sound_schema(fieldlink, schema):
    # Loading checks the schema against the core meta-schema, examples included.
    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert schema.secret_fields == {"privateKey", "refreshToken", "accessToken"}
    assert schema.app_fields == {"publicKey", "privateKey"}
    assert schema.required == {"refreshToken", "publicKey", "privateKey"}


def test_leaf_example_validates_unchanged(fieldlink, schema):
    leaf_body = schema.examples[0]

    assert set(leaf_body) == {"refreshToken", "publicKey", "privateKey"}
    fieldlink.validate(PROVIDER_ID, leaf_body)
    # Leaf's legacy page also takes an accessToken.
    fieldlink.validate(PROVIDER_ID, schema.examples[1])


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"privateKey": None}, "$.privateKey"),
        ({"refreshToken": ""}, "$.refreshToken"),
        ({"publicKey": 42}, "$.publicKey"),
        ({"clientId": "3c5e8a1f"}, "$.clientId"),
    ],
)
def test_a_broken_body_names_the_field(fieldlink, schema, change, path):
    body = {**schema.examples[0], **change}
    body = {name: value for name, value in body.items() if value is not None}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, body)

    assert info.value.path == path
    assert schema.examples[0]["privateKey"] not in str(info.value)
    assert schema.examples[0]["refreshToken"] not in str(info.value)
