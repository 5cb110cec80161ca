"""The credential schema is Leaf's raven-slingshot-credentials body."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_raven_slingshot import PROVIDER_ID

# Leaf's field table for raven-slingshot-credentials: three required strings.
LEAF_FIELDS = {"apiKey", "accessKey", "sharedSecret"}


@pytest.fixture
def example(fieldlink):
    return dict(fieldlink.provider(PROVIDER_ID).schema.examples[0])


def test_plugin_loads_with_a_sound_schema(fieldlink):
    # Loading checks the schema against the core meta-schema, examples included.
    loaded = fieldlink.provider(PROVIDER_ID)

    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert set(loaded.schema.fields) == LEAF_FIELDS
    assert loaded.schema.required == LEAF_FIELDS
    assert loaded.schema.secret_fields == LEAF_FIELDS
    assert loaded.schema.app_fields == {"apiKey", "sharedSecret"}
    assert loaded.info.issues_access_tokens is False


def test_leaf_example_validates_unchanged(fieldlink, example):
    assert set(example) == LEAF_FIELDS

    fieldlink.validate(PROVIDER_ID, example)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda body: body.pop("accessKey"), "$.accessKey"),
        (lambda body: body.update(sharedSecret=12345), "$.sharedSecret"),
        (lambda body: body.update(apiKey=""), "$.apiKey"),
        (
            lambda body: body.update(clientEnvironment="PRODUCTION"),
            "$.clientEnvironment",
        ),
        (lambda body: body.update(secretKey="x"), "$.secretKey"),
    ],
    ids=["missing", "not-a-string", "empty", "environment", "unknown"],
)
def test_a_broken_body_is_refused_at_its_path(fieldlink, example, change, path):
    broken = dict(example)
    change(broken)

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, broken)

    assert info.value.path == path
    assert not [value for value in example.values() if value in str(info.value)]


def test_the_access_key_is_no_part_of_the_app_registration(fieldlink, example):
    with pytest.raises(CredentialValidationError) as info:
        fieldlink.register_app(PROVIDER_ID, example)

    assert info.value.path == "$.accessKey"
