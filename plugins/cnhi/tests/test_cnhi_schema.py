"""The credential schema is Leaf's body for cnhi-credentials."""

import pytest

from fieldlink.errors import CredentialValidationError
from fieldlink_cnhi import PROVIDER_ID


@pytest.fixture
def leaf_body(fieldlink):
    return dict(fieldlink.provider(PROVIDER_ID).schema.examples[0])


def test_plugin_loads_with_a_sound_schema(fieldlink):
    # Loading checks the schema against the core meta-schema, examples included.
    schema = fieldlink.provider(PROVIDER_ID).schema

    assert not [f for f in fieldlink.plugin_failures() if f.name == PROVIDER_ID]
    assert schema.secret_fields == {"clientSecret", "subscriptionKey", "refreshToken"}
    assert schema.app_fields == {"clientId", "clientSecret", "subscriptionKey"}


def test_leaf_body_validates_unchanged(fieldlink, leaf_body):
    assert sorted(leaf_body) == [
        "clientEnvironment",
        "clientId",
        "clientSecret",
        "refreshToken",
        "subscriptionKey",
    ]

    fieldlink.validate(PROVIDER_ID, leaf_body)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        # Leaf's provider matrix requires clientEnvironment for cnhi.
        ({"clientEnvironment": None}, "$.clientEnvironment"),
        ({"clientEnvironment": "production"}, "$.clientEnvironment"),
        ({"subscriptionKey": None}, "$.subscriptionKey"),
        ({"subscriptionKey": ""}, "$.subscriptionKey"),
        ({"refreshToken": 42}, "$.refreshToken"),
        ({"apiKey": "partner-key"}, "$.apiKey"),
    ],
)
def test_broken_bodies_are_refused_at_their_path(fieldlink, leaf_body, change, path):
    body = {**leaf_body, **change}
    body = {name: value for name, value in body.items() if value is not None}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.validate(PROVIDER_ID, body)

    assert info.value.path == path
    for secret in ("clientSecret", "subscriptionKey", "refreshToken"):
        assert leaf_body[secret] not in str(info.value)


def test_app_registration_takes_the_app_level_fields(fieldlink, leaf_body):
    app = {name: leaf_body[name] for name in ("clientId", "clientSecret")}

    with pytest.raises(CredentialValidationError) as info:
        fieldlink.register_app(PROVIDER_ID, app, environment="PRODUCTION")

    assert info.value.path == "$.subscriptionKey"
