"""The credential schema is Leaf's Sentera body, plus the shape fieldlink stores."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_sentera import PROVIDER_ID

LEAF_FIELDS = {"username", "password", "organizationName"}


@pytest.fixture
def schema(fieldlink):
    return fieldlink.provider(PROVIDER_ID).schema


@pytest.fixture
def leaf_body(schema):
    return schema.examples[0]


def _rejected(fieldlink, payload):
    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, payload)
    return info.value


def test_plugin_loads_with_a_sound_schema(fieldlink, schema):
    # Loading checks the schema against the core meta-schema, examples included.
    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert schema.secret_fields == {"password", "authToken"}
    # Sentera's legacy sign-in needs no app registration: every field is the user's.
    assert schema.app_fields == frozenset()


def test_leaf_body_validates_unchanged(fieldlink, leaf_body):
    assert set(leaf_body) == LEAF_FIELDS

    fieldlink.validate(PROVIDER_ID, leaf_body)


@pytest.mark.parametrize("missing", sorted(LEAF_FIELDS))
def test_each_leaf_field_is_required(fieldlink, leaf_body, missing):
    body = {name: value for name, value in leaf_body.items() if name != missing}

    error = _rejected(fieldlink, body)

    assert error.path == f"$.{missing}"
    assert leaf_body["password"] not in str(error)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"organizationName": 42}, "$.organizationName"),
        ({"password": ""}, "$.password"),
        ({"clientEnvironment": "PRODUCTION"}, "$.clientEnvironment"),
        # Only a signed-in credential carries the organisation's id.
        ({"organizationId": "a1b2c3d4"}, "$.organizationId"),
    ],
)
def test_broken_leaf_bodies_are_named(fieldlink, leaf_body, change, path):
    error = _rejected(fieldlink, {**leaf_body, **change})

    assert error.path == path
    assert leaf_body["password"] not in str(error)


def test_the_stored_shape_validates_and_never_holds_a_password(fieldlink, schema):
    stored = schema.examples[1]
    fieldlink.validate(PROVIDER_ID, stored)

    assert "password" not in stored
    assert _rejected(fieldlink, {**stored, "password": "pw"}).path == "$.password"
    without_id = {k: v for k, v in stored.items() if k != "organizationId"}
    assert _rejected(fieldlink, without_id).path == "$.organizationId"


def test_the_form_asks_for_leaf_fields(fieldlink):
    start = fieldlink.start_auth("grower-1", PROVIDER_ID)

    assert start.kind == "form"
    fields = {field.name: field for field in start.form.fields}
    assert set(fields) == LEAF_FIELDS
    assert [name for name, field in fields.items() if field.secret] == ["password"]
