"""The credential schema is Leaf's Stara body, and nothing else."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_stara import PROVIDER_ID

LEAF_FIELDS = {"apiKey", "accessToken", "accessTokenClient", "refreshToken"}


def _example(fieldlink):
    return dict(fieldlink.provider(PROVIDER_ID).schema.examples[0])


def test_plugin_loads_with_a_sound_schema(fieldlink):
    # Loading checks the schema against the core meta-schema, examples included.
    loaded = fieldlink.provider(PROVIDER_ID)

    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert set(loaded.schema.fields) == LEAF_FIELDS
    assert loaded.schema.required == LEAF_FIELDS
    assert loaded.schema.secret_fields == LEAF_FIELDS
    # Every field belongs to the connection: the host registers nothing for Stara.
    assert loaded.schema.app_fields == frozenset()


def test_leaf_example_validates_unchanged(fieldlink):
    example = _example(fieldlink)

    fieldlink.validate(PROVIDER_ID, example)

    assert set(example) == LEAF_FIELDS


@pytest.mark.parametrize("missing", sorted(LEAF_FIELDS))
def test_each_missing_field_is_named(fieldlink, missing):
    example = _example(fieldlink)
    del example[missing]

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, example)

    assert info.value.path == f"$.{missing}"
    for value in example.values():
        assert value not in str(info.value)


def test_a_password_is_not_part_of_the_body(fieldlink):
    body = {**_example(fieldlink), "password": "Colheita-2024!"}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, body)

    assert info.value.path == "$.password"
    assert "Colheita-2024!" not in str(info.value)


@pytest.mark.parametrize("value", ["", 42, None])
def test_an_unusable_token_is_named(fieldlink, value):
    body = {**_example(fieldlink), "accessTokenClient": value}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, body)

    assert info.value.path == "$.accessTokenClient"
