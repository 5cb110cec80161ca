"""Climate FieldView end to end, over HTTP against the emulator."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from fieldlink import Fieldlink
from fieldlink.errors import (
    AuthorizationDenied,
    CredentialInvalid,
    CredentialRevoked,
    ProviderError,
)
from fieldlink.http import make_session
from fieldlink.testing import CALLBACK_URI
from fieldlink_climate_field_view import PROVIDER_ID

USER = "grower-1"


def _refresh_token(fieldlink):
    return fieldlink.credential(USER, PROVIDER_ID).payload["refreshToken"]


def _spend(climate, refresh_token):
    """Spend a refresh token at the emulator's token endpoint, as a second client."""
    emulator = climate.emulator
    with make_session(retries=0) as session:
        return session.post(
            climate.endpoints["token_url"],
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(emulator.client_id, emulator.client_secret),
            timeout=10,
        )


def _query(url):
    return dict(parse_qsl(urlsplit(url).query))


def _register_example_app(host):
    example = host.provider(PROVIDER_ID).schema.examples[0]
    app = {name: example[name] for name in ("clientId", "clientSecret", "apiKey")}
    host.register_app(PROVIDER_ID, app)


def test_connect_lists_every_field_across_pages(sandbox):
    climate = sandbox(PROVIDER_ID, size=250)
    connection = climate.connect(USER)
    fieldlink = climate.fieldlink

    assert connection.next_step_url is None
    assert connection.credential.scopes == ("fields:read",)
    pages = [fieldlink.list_resources(USER, PROVIDER_ID, "fields")]
    while pages[-1].next_cursor is not None:
        pages.append(
            fieldlink.list_resources(
                USER, PROVIDER_ID, "fields", cursor=pages[-1].next_cursor
            )
        )
    assert [len(page.items) for page in pages] == [100, 100, 50]

    fields = list(fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))
    assert len({field.id for field in fields}) == 250
    assert fields[0].name == "Field 1"
    assert fields[0].data["boundaryId"]


def test_leaf_body_registers_and_verifies(sandbox):
    climate = sandbox(PROVIDER_ID)
    climate.connect(USER)
    fieldlink = climate.fieldlink

    # The payload is exactly Leaf's body; verifying spends its refresh token at once.
    body = dict(fieldlink.credential(USER, PROVIDER_ID).payload)
    credential = fieldlink.register("grower-2", PROVIDER_ID, body)

    assert credential.access_token is not None
    assert credential.payload["refreshToken"] != body["refreshToken"]
    assert len(list(fieldlink.iter_resources("grower-2", PROVIDER_ID, "fields"))) == 5


def test_refusal_at_the_consent_page(sandbox):
    climate = sandbox(PROVIDER_ID)

    with pytest.raises(AuthorizationDenied) as info:
        climate.connect(USER, decision="deny")
    assert info.value.error == "access_denied"
    assert climate.fieldlink.credentials(USER) == []


def test_refresh_rotates_and_the_old_token_lasts_its_grace(sandbox):
    climate = sandbox(PROVIDER_ID)
    climate.connect(USER)
    fieldlink = climate.fieldlink
    old = _refresh_token(fieldlink)

    fieldlink.refresh(USER, PROVIDER_ID)

    assert _refresh_token(fieldlink) != old
    events = fieldlink.events(USER, PROVIDER_ID)
    assert any(e.kind == "refreshed" and e.details.get("rotated") for e in events)
    # Within Climate's hour of grace the spent token still works...
    assert _spend(climate, old).status_code == 200
    # ...and once the grace is over it is refused, while the stored one carries on.
    climate.emulator.end_rotation_grace()
    refused = _spend(climate, old)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    fieldlink.refresh(USER, PROVIDER_ID)
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "active"


def test_revoked_grower_turns_invalid(sandbox):
    climate = sandbox(PROVIDER_ID)
    climate.connect(USER)
    climate.emulator.revoke()

    with pytest.raises(CredentialRevoked):
        climate.fieldlink.refresh(USER, PROVIDER_ID)
    with pytest.raises(CredentialInvalid):
        climate.fieldlink.access_token(USER, PROVIDER_ID)
    assert climate.fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_no_fields_is_an_empty_listing(sandbox):
    climate = sandbox(PROVIDER_ID, size=0)
    climate.connect(USER)

    page = climate.fieldlink.list_resources(USER, PROVIDER_ID, "fields")

    assert page.items == ()
    assert page.next_cursor is None


def test_expired_next_token_asks_to_start_again(sandbox):
    climate = sandbox(PROVIDER_ID, size=150)
    climate.connect(USER)
    fieldlink = climate.fieldlink
    first = fieldlink.list_resources(USER, PROVIDER_ID, "fields")
    climate.emulator.expire_next_tokens()

    with pytest.raises(ProviderError, match="start the listing again") as info:
        fieldlink.list_resources(USER, PROVIDER_ID, "fields", cursor=first.next_cursor)
    assert info.value.status == 409
    assert "X-Http-Request-Id" in str(info.value)
    assert len(list(fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))) == 150


def test_wrong_api_key_is_refused_without_echoing_it(sandbox):
    climate = sandbox(PROVIDER_ID)
    wrong = "partner-examplefarms-not-the-key"
    fieldlink = climate.fieldlink
    fieldlink.register_app(
        PROVIDER_ID, {**climate.emulator.app_fields(), "apiKey": wrong}
    )
    climate.connect(USER)

    with pytest.raises(ProviderError, match="apiKey") as info:
        fieldlink.list_resources(USER, PROVIDER_ID, "fields")
    assert info.value.status == 403
    assert wrong not in str(info.value)


def test_a_passing_rate_limit_is_waited_out(sandbox):
    climate = sandbox(PROVIDER_ID, size=3)
    climate.connect(USER)
    climate.emulator.throttle(times=1)

    fields = list(climate.fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))

    assert len(fields) == 3
    assert climate.emulator.throttle_remaining == 0


def test_authorize_url_defaults(fieldlink):
    _register_example_app(fieldlink)

    start = fieldlink.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)

    assert start.url.startswith("https://climate.com/static/app-login/index.html?")
    query = _query(start.url)
    assert query["page"] == "oidcauthn"
    assert query["response_type"] == "code"
    assert query["scope"] == "fields:read"
    assert query["state"] == start.state
    assert "code_challenge" not in query


def test_settings_turn_on_pkce_and_choose_scopes(fieldlink_home):
    scopes = ["fields:read", "asPlanted:read"]
    settings = {PROVIDER_ID: {"pkce": True, "scopes": scopes}}
    database = f"sqlite:///{fieldlink_home / 'configured.db'}"
    with Fieldlink(database, settings=settings) as host:
        _register_example_app(host)
        start = host.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)

    query = _query(start.url)
    assert query["code_challenge_method"] == "S256"
    assert query["scope"] == "fields:read asPlanted:read"
