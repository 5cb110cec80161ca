"""The credential schema is Leaf's Raven body."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_raven import PROVIDER_ID


@pytest.fixture
def schema(fieldlink):
    return fieldlink.provider(PROVIDER_ID).schema


def test_plugin_loads_with_a_sound_schema(fieldlink, schema):
    # Loading checks the schema against the core meta-schema, examples included.
    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert schema.secret_fields == {"clientSecret", "refreshToken"}
    assert schema.app_fields == {"clientId", "clientSecret"}
    assert schema.required == {"clientId", "clientSecret", "refreshToken"}


def test_leaf_example_validates_unchanged(fieldlink, schema):
    leaf_body = schema.examples[0]

    assert set(leaf_body) == {"clientId", "clientSecret", "refreshToken"}
    fieldlink.validate(PROVIDER_ID, leaf_body)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"clientSecret": None}, "$.clientSecret"),
        ({"refreshToken": ""}, "$.refreshToken"),
        ({"clientId": ["examplefarms"]}, "$.clientId"),
        # Leaf returns accessToken but does not take it.
        ({"accessToken": "8c1f2e"}, "$.accessToken"),
        # A Raven Slingshot body is another provider's.
        ({"apiKey": "071X7Hc9"}, "$.apiKey"),
    ],
)
def test_a_broken_body_names_the_field(fieldlink, schema, change, path):
    body = {**schema.examples[0], **change}
    body = {name: value for name, value in body.items() if value is not None}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, body)

    assert info.value.path == path
    assert schema.examples[0]["clientSecret"] not in str(info.value)
    assert schema.examples[0]["refreshToken"] not in str(info.value)
