"""Trimble end to end, over HTTP against the emulator."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from fieldlink.errors import (
    AuthorizationDenied,
    CredentialInvalid,
    CredentialRevoked,
    ProviderError,
)
from fieldlink.http import make_session
from fieldlink.sandbox import drive_consent
from fieldlink.testing import CALLBACK_URI
from fieldlink_trimble import PROVIDER_ID
from fieldlink_trimble.emulator import APPLICATION_NAME

USER = "grower-1"


def _query(url):
    return dict(parse_qsl(urlsplit(url).query))


def _refresh_token(fieldlink, user=USER):
    return fieldlink.credential(user, PROVIDER_ID).payload["refreshToken"]


def _spend(trimble, refresh_token):
    """Present a refresh token at the emulator's token endpoint, as a second client."""
    emulator = trimble.emulator
    with make_session(retries=0) as session:
        return session.post(
            trimble.endpoints["token_url"],
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(emulator.client_id, emulator.client_secret),
            timeout=10,
        )


def _pages(fieldlink, kind, parent=None):
    pages = [fieldlink.list_resources(USER, PROVIDER_ID, kind, parent=parent)]
    while pages[-1].next_cursor is not None:
        cursor = pages[-1].next_cursor
        pages.append(
            fieldlink.list_resources(
                USER, PROVIDER_ID, kind, parent=parent, cursor=cursor
            )
        )
    return pages


def _connect_without_the_organisation_step(trimble):
    fieldlink = trimble.fieldlink
    start = fieldlink.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)
    callback = drive_consent(start.url)
    return fieldlink.complete_auth(PROVIDER_ID, _query(callback))


def test_connect_lists_every_kind_across_pages(sandbox):
    trimble = sandbox(PROVIDER_ID, size=12, page_size=5)
    connection = trimble.connect(USER)
    fieldlink = trimble.fieldlink

    step = urlsplit(connection.next_step_url)
    assert step.path == "/ThirdPartyAccess/ThirdPartyAuthorizationRedirect"
    assert _query(connection.next_step_url) == {
        "clientid": trimble.emulator.client_id,
        "redirectionUrl": CALLBACK_URI,
    }
    assert connection.credential.scopes == ("openid", APPLICATION_NAME)

    organizations = _pages(fieldlink, "organizations")
    assert [len(page.items) for page in organizations] == [5, 5, 2]
    first = organizations[0].items[0]
    assert first.name == "Sandbox Farms 1"
    assert first.data["timezoneName"] == "UTC"
    assert "links" not in first.data

    fields_of_first = _pages(fieldlink, "fields", parent=first.id)
    assert [len(page.items) for page in fields_of_first] == [5, 5, 2]
    assert {field.parent_id for page in fields_of_first for field in page.items} == {
        first.id
    }
    fields = list(fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))
    assert len({field.id for field in fields}) == 12 * 12


def test_more_than_a_thousand_organisations_take_several_calls(sandbox):
    trimble = sandbox(PROVIDER_ID, size=2500)
    trimble.connect(USER)

    pages = _pages(trimble.fieldlink, "organizations")

    assert [len(page.items) for page in pages] == [1000, 1000, 500]
    assert len({item.id for page in pages for item in page.items}) == 2500


def test_organisations_wait_for_the_grower_on_trimbleag(sandbox):
    trimble = sandbox(PROVIDER_ID, size=3)
    connection = _connect_without_the_organisation_step(trimble)
    fieldlink = trimble.fieldlink
    org_id = trimble.emulator.data["organizations"][0]["id"]

    assert list(fieldlink.iter_resources(USER, PROVIDER_ID, "organizations")) == []
    with pytest.raises(ProviderError, match=r"trimbleag\.com") as info:
        fieldlink.list_resources(USER, PROVIDER_ID, "fields", parent=org_id)
    assert info.value.status == 403

    # The organisations page sends the grower back to the host afterwards.
    back = drive_consent(connection.next_step_url)
    assert back == CALLBACK_URI
    organizations = list(fieldlink.iter_resources(USER, PROVIDER_ID, "organizations"))
    assert len(organizations) == 3
    assert len(list(fieldlink.iter_resources(USER, PROVIDER_ID, "fields"))) == 9


def test_refusal_at_the_consent_page(sandbox):
    trimble = sandbox(PROVIDER_ID)

    with pytest.raises(AuthorizationDenied) as info:
        trimble.connect(USER, decision="deny")
    assert info.value.error == "access_denied"
    assert trimble.fieldlink.credentials(USER) == []


def test_refreshing_twice_spends_each_stored_token_once(sandbox):
    trimble = sandbox(PROVIDER_ID)
    trimble.connect(USER)
    fieldlink = trimble.fieldlink
    first = _refresh_token(fieldlink)

    fieldlink.refresh(USER, PROVIDER_ID)
    second = _refresh_token(fieldlink)
    # The second refresh can only work with the token the first one stored.
    fieldlink.refresh(USER, PROVIDER_ID)
    third = _refresh_token(fieldlink)

    assert len({first, second, third}) == 3
    assert trimble.emulator.refreshes == 2
    events = fieldlink.events(USER, PROVIDER_ID)
    assert sum(1 for e in events if e.kind == "refreshed" and e.details["rotated"]) == 2
    for spent in (first, second):
        refused = _spend(trimble, spent)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "active"
    assert len(list(fieldlink.iter_resources(USER, PROVIDER_ID, "organizations"))) == 5


def test_a_refresh_token_spent_elsewhere_turns_the_credential_invalid(sandbox):
    trimble = sandbox(PROVIDER_ID)
    trimble.connect(USER)
    fieldlink = trimble.fieldlink

    assert _spend(trimble, _refresh_token(fieldlink)).status_code == 200

    with pytest.raises(CredentialRevoked) as info:
        fieldlink.refresh(USER, PROVIDER_ID)
    assert info.value.error == "invalid_grant"
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_an_expired_refresh_token_turns_the_credential_invalid(sandbox):
    trimble = sandbox(PROVIDER_ID)
    trimble.connect(USER)
    trimble.emulator.expire_refresh_tokens()
    fieldlink = trimble.fieldlink

    with pytest.raises(CredentialRevoked):
        fieldlink.refresh(USER, PROVIDER_ID)
    with pytest.raises(CredentialInvalid):
        fieldlink.access_token(USER, PROVIDER_ID)
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_revoked_grower_turns_invalid_at_the_next_refresh(sandbox):
    trimble = sandbox(PROVIDER_ID)
    trimble.connect(USER)
    trimble.emulator.revoke()
    fieldlink = trimble.fieldlink

    # A 401 alone proves nothing; the refresh it sets off settles it.
    with pytest.raises(CredentialRevoked):
        fieldlink.list_resources(USER, PROVIDER_ID, "organizations")
    with pytest.raises(CredentialInvalid):
        fieldlink.list_resources(USER, PROVIDER_ID, "organizations")
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_delete_revokes_the_refresh_token_at_trimble(sandbox):
    trimble = sandbox(PROVIDER_ID)
    trimble.connect(USER)
    fieldlink = trimble.fieldlink
    refresh_token = _refresh_token(fieldlink)

    deletion = fieldlink.delete(USER, PROVIDER_ID)

    assert deletion.revoked is True
    assert trimble.emulator.revoked_tokens == 1
    assert _spend(trimble, refresh_token).json()["error"] == "invalid_grant"
    assert fieldlink.credentials(USER) == []


def test_delete_goes_ahead_locally_when_revocation_fails(sandbox, caplog):
    caplog.set_level("INFO", logger="fieldlink")
    trimble = sandbox(PROVIDER_ID)
    trimble.connect(USER)
    fieldlink = trimble.fieldlink
    trimble.running.stop()

    deletion = fieldlink.delete(USER, PROVIDER_ID)

    assert deletion.revoked is False
    assert deletion.error and "trimble" in deletion.error
    assert fieldlink.credentials(USER) == []
    assert any(
        record.levelname == "INFO"
        and "revoking the trimble credential failed" in record.getMessage()
        for record in caplog.records
    )


def test_leaf_body_registers_and_verifies(sandbox):
    trimble = sandbox(PROVIDER_ID)
    trimble.connect(USER)
    fieldlink = trimble.fieldlink
    body = dict(fieldlink.credential(USER, PROVIDER_ID).payload)
    fieldlink.delete(USER, PROVIDER_ID, revoke=False)

    # Verifying spends the single-use refresh token and stores the new one.
    credential = fieldlink.register("grower-2", PROVIDER_ID, body)

    assert set(credential.payload) == set(body)
    assert credential.payload["refreshToken"] != body["refreshToken"]
    assert _spend(trimble, body["refreshToken"]).status_code == 400
    organizations = fieldlink.iter_resources("grower-2", PROVIDER_ID, "organizations")
    assert len(list(organizations)) == 5
