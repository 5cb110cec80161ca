"""What a host configures for Trimble: the application name, the unconfirmed points."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from fieldlink import Fieldlink
from fieldlink.errors import (
    ConfigurationError,
    CredentialRevoked,
    OAuthError,
    ProviderError,
)
from fieldlink.testing import CALLBACK_URI
from fieldlink_trimble import PROVIDER_ID

USER = "grower-1"


def _query(url):
    return dict(parse_qsl(urlsplit(url).query))


def _register_example_app(host):
    example = host.provider(PROVIDER_ID).schema.examples[0]
    host.register_app(
        PROVIDER_ID, {n: example[n] for n in ("clientId", "clientSecret")}
    )
    return example


def test_connecting_without_an_application_name_is_refused_early(fieldlink):
    _register_example_app(fieldlink)

    with pytest.raises(ConfigurationError, match="application_name"):
        fieldlink.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)


def test_authorize_url_carries_the_application_name_in_the_scope(fieldlink_home):
    settings = {PROVIDER_ID: {"application_name": "AcmeAgronomy"}}
    with Fieldlink(
        f"sqlite:///{fieldlink_home / 'host.db'}", settings=settings
    ) as host:
        example = _register_example_app(host)
        start = host.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)

    assert start.url.startswith("https://id.trimble.com/oauth/authorize?")
    assert _query(start.url) == {
        "response_type": "code",
        "client_id": example["clientId"],
        "redirect_uri": CALLBACK_URI,
        "scope": "openid AcmeAgronomy",
        "state": start.state,
    }


def test_the_organisation_step_returns_to_the_registered_url(sandbox):
    trimble = sandbox(PROVIDER_ID)
    done = "https://host.example/trimble/organizations-done"
    trimble.fieldlink.override_settings(
        PROVIDER_ID, {"authorization_redirect_url": done}
    )

    connection = trimble.connect(USER)

    assert _query(connection.next_step_url)["redirectionUrl"] == done


def test_a_bookmark_the_api_ignores_is_reported_not_looped_on(sandbox):
    trimble = sandbox(PROVIDER_ID, size=7, page_size=3, bookmark_param="pageToken")
    trimble.connect(USER)
    fieldlink = trimble.fieldlink

    with pytest.raises(ProviderError, match="bookmark_param"):
        list(fieldlink.iter_resources(USER, PROVIDER_ID, "organizations"))

    fieldlink.override_settings(PROVIDER_ID, {"bookmark_param": "pageToken"})
    assert len(list(fieldlink.iter_resources(USER, PROVIDER_ID, "organizations"))) == 7


def test_only_the_configured_error_codes_condemn_a_credential(sandbox):
    trimble = sandbox(PROVIDER_ID)
    trimble.connect(USER)
    fieldlink = trimble.fieldlink
    refusal = {"error": "invalid_request", "error_description": "token not valid"}

    # By default an unknown refusal is kept for a retry...
    trimble.emulator.fail_next_token_request(400, refusal)
    with pytest.raises(OAuthError) as info:
        fieldlink.refresh(USER, PROVIDER_ID)
    assert not isinstance(info.value, CredentialRevoked)
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "active"

    # ...unless the host says that code means the refresh token is dead.
    codes = ["invalid_grant", "invalid_request"]
    fieldlink.override_settings(PROVIDER_ID, {"revoking_errors": codes})
    trimble.emulator.fail_next_token_request(400, refusal)
    with pytest.raises(CredentialRevoked):
        fieldlink.refresh(USER, PROVIDER_ID)
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_fields_need_an_organization(sandbox):
    trimble = sandbox(PROVIDER_ID)
    trimble.connect(USER)

    with pytest.raises(ConfigurationError, match="parent"):
        trimble.fieldlink.list_resources(USER, PROVIDER_ID, "fields")
