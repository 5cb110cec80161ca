"""The credential schema is Leaf's trimble-credentials body, and nothing else."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_trimble import PROVIDER_ID

LEAF_FIELDS = {"clientId", "clientSecret", "refreshToken"}


def _example(fieldlink):
    return dict(fieldlink.provider(PROVIDER_ID).schema.examples[0])


def test_plugin_loads_with_a_sound_schema(fieldlink):
    # Loading checks the schema against the core meta-schema, examples included.
    schema = fieldlink.provider(PROVIDER_ID).schema

    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert set(schema.fields) == LEAF_FIELDS
    assert schema.required == LEAF_FIELDS
    assert schema.secret_fields == {"clientSecret", "refreshToken"}
    assert schema.app_fields == {"clientId", "clientSecret"}


def test_leaf_body_validates_unchanged(fieldlink):
    example = _example(fieldlink)

    assert set(example) == LEAF_FIELDS
    fieldlink.validate(PROVIDER_ID, example)


@pytest.mark.parametrize("missing", sorted(LEAF_FIELDS))
def test_a_missing_field_is_named(fieldlink, missing):
    example = _example(fieldlink)
    del example[missing]

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, example)

    assert info.value.path == f"$.{missing}"


def test_an_empty_secret_is_named_without_echoing_the_others(fieldlink):
    example = _example(fieldlink)

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, {**example, "refreshToken": ""})

    assert info.value.path == "$.refreshToken"
    assert example["clientSecret"] not in str(info.value)


@pytest.mark.parametrize(
    "extra", ["applicationName", "clientEnvironment", "accessToken"]
)
def test_fields_outside_leafs_body_are_refused(fieldlink, extra):
    # The application name is a provider setting, not part of the credential.
    example = _example(fieldlink)

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, {**example, extra: "anything"})

    assert info.value.path == f"$.{extra}"


def test_app_registration_takes_the_app_fields_only(fieldlink):
    example = _example(fieldlink)

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.register_app(PROVIDER_ID, example)

    assert info.value.path == "$.refreshToken"
    app = {name: example[name] for name in ("clientId", "clientSecret")}
    assert fieldlink.register_app(PROVIDER_ID, app).environment == "PRODUCTION"
