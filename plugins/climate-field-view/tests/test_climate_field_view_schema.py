"""The credential schema is Leaf's Climate FieldView body."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_climate_field_view import PROVIDER_ID


def test_plugin_loads_with_a_sound_schema(fieldlink):
    # Loading checks the schema against the core meta-schema, examples included.
    loaded = fieldlink.provider(PROVIDER_ID)

    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert loaded.schema.secret_fields == {"clientSecret", "apiKey", "refreshToken"}
    assert loaded.schema.app_fields == {"clientId", "clientSecret", "apiKey"}


def test_example_validates_and_a_missing_api_key_is_named(fieldlink):
    example = fieldlink.provider(PROVIDER_ID).schema.examples[0]
    fieldlink.validate(PROVIDER_ID, example)
    without_key = {name: value for name, value in example.items() if name != "apiKey"}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, without_key)

    assert info.value.path == "$.apiKey"
    assert example["clientSecret"] not in str(info.value)


def test_unknown_fields_are_refused(fieldlink):
    example = fieldlink.provider(PROVIDER_ID).schema.examples[0]

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, {**example, "clientEnvironment": "PRODUCTION"})

    assert info.value.path == "$.clientEnvironment"
