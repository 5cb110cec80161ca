"""AgLeader AgFiniti end to end, over HTTP against the emulator."""

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
from fieldlink.sandbox import canary, json_response, serve
from fieldlink.testing import CALLBACK_URI
from fieldlink_ag_leader import LEGACY_AUTHORIZE_URL, LEGACY_SCOPES, PROVIDER_ID
from fieldlink_ag_leader.emulator import AgLeaderEmulator

USER = "grower-1"


def _refresh_token(fieldlink, user=USER):
    return fieldlink.credential(user, PROVIDER_ID).payload["refreshToken"]


def _token_request(agleader, **kwargs):
    with make_session(retries=0) as session:
        return session.post(agleader.endpoints["token_url"], timeout=10, **kwargs)


def _query(url):
    return dict(parse_qsl(urlsplit(url).query))


def _register_example_app(host):
    example = host.provider(PROVIDER_ID).schema.examples[0]
    host.register_app(
        PROVIDER_ID, {name: example[name] for name in ("publicKey", "privateKey")}
    )
    return example


def test_connect_lists_every_file_across_pages(sandbox):
    agleader = sandbox(PROVIDER_ID, size=250)
    connection = agleader.connect(USER)
    fieldlink = agleader.fieldlink

    assert connection.next_step_url is None
    assert connection.credential.scopes == ("read", "readwrite")
    assert set(connection.credential.payload) == {
        "publicKey",
        "privateKey",
        "refreshToken",
    }
    pages = [fieldlink.list_resources(USER, PROVIDER_ID, "files")]
    while pages[-1].next_cursor is not None:
        pages.append(
            fieldlink.list_resources(
                USER, PROVIDER_ID, "files", cursor=pages[-1].next_cursor
            )
        )
    assert [len(page.items) for page in pages] == [100, 100, 50]

    files = list(fieldlink.iter_resources(USER, PROVIDER_ID, "files"))
    assert len({file.id for file in files}) == 250
    assert files[0].name == "Harvest 1.agdata"
    assert files[0].data["sizeBytes"] > 0


def test_the_consumer_keys_authenticate_by_http_basic_only(sandbox):
    agleader = sandbox(PROVIDER_ID)
    agleader.connect(USER)
    emulator = agleader.emulator
    form = {
        "grant_type": "refresh_token",
        "refresh_token": _refresh_token(agleader.fieldlink),
    }

    in_body = _token_request(
        agleader,
        data={
            **form,
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
        },
    )

    assert in_body.status_code == 401
    assert in_body.json()["error"] == "invalid_client"
    # The plugin's own refresh, by Basic, goes through.
    agleader.fieldlink.refresh(USER, PROVIDER_ID)


def test_every_returned_refresh_token_is_stored(sandbox):
    agleader = sandbox(PROVIDER_ID)
    agleader.connect(USER)
    fieldlink = agleader.fieldlink
    spent = _refresh_token(fieldlink)

    fieldlink.refresh(USER, PROVIDER_ID)

    # The emulator makes refresh tokens single use: only the stored one still works.
    assert _refresh_token(fieldlink) != spent
    emulator = agleader.emulator
    refused = _token_request(
        agleader,
        data={"grant_type": "refresh_token", "refresh_token": spent},
        auth=(emulator.client_id, emulator.client_secret),
    )
    assert refused.json()["error"] == "invalid_grant"
    fieldlink.refresh(USER, PROVIDER_ID)
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "active"


def test_a_refresh_without_a_new_refresh_token_keeps_the_old(sandbox):
    agleader = sandbox(PROVIDER_ID, rotation="none")
    agleader.connect(USER)
    fieldlink = agleader.fieldlink
    kept = _refresh_token(fieldlink)

    fieldlink.refresh(USER, PROVIDER_ID)

    assert _refresh_token(fieldlink) == kept
    events = fieldlink.events(USER, PROVIDER_ID)
    assert any(
        e.kind == "refreshed" and e.details.get("rotated") is False for e in events
    )


def test_a_withdrawn_consent_turns_the_credential_invalid(sandbox):
    agleader = sandbox(PROVIDER_ID)
    agleader.connect(USER)
    fieldlink = agleader.fieldlink
    agleader.emulator.revoke()

    # A 401 alone proves nothing; the refresh it sets off settles it.
    with pytest.raises(CredentialRevoked):
        fieldlink.list_resources(USER, PROVIDER_ID, "files")
    with pytest.raises(CredentialInvalid):
        fieldlink.list_resources(USER, PROVIDER_ID, "files")
    assert fieldlink.credential(USER, PROVIDER_ID).status.value == "invalid"


def test_an_expired_refresh_token_turns_the_credential_invalid(sandbox):
    agleader = sandbox(PROVIDER_ID)
    agleader.connect(USER)
    for token in agleader.emulator.refresh_tokens.values():
        token.expires_at = 0

    with pytest.raises(CredentialRevoked):
        agleader.fieldlink.refresh(USER, PROVIDER_ID)
    with pytest.raises(CredentialInvalid):
        agleader.fieldlink.access_token(USER, PROVIDER_ID)


def test_leaf_legacy_body_registers_without_its_access_token(sandbox):
    agleader = sandbox(PROVIDER_ID)
    agleader.connect(USER)
    fieldlink = agleader.fieldlink
    stale = canary("stale-access")
    body = {**fieldlink.credential(USER, PROVIDER_ID).payload, "accessToken": stale}

    credential = fieldlink.register("grower-2", PROVIDER_ID, body)

    assert "accessToken" not in credential.payload
    assert credential.access_token not in (None, stale)
    assert len(list(fieldlink.iter_resources("grower-2", PROVIDER_ID, "files"))) == 5


def test_deleting_forgets_the_credential_without_revocation(sandbox):
    agleader = sandbox(PROVIDER_ID)
    agleader.connect(USER)

    deletion = agleader.fieldlink.delete(USER, PROVIDER_ID)

    assert deletion.revoked is None
    assert agleader.fieldlink.credentials(USER) == []


def test_authorize_url_defaults(fieldlink):
    example = _register_example_app(fieldlink)

    start = fieldlink.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)

    assert start.url.startswith("https://www.agfiniti.com/Account/Authorize?")
    query = _query(start.url)
    assert query["client_id"] == example["publicKey"]
    assert query["response_type"] == "code"
    assert query["scope"] == "read readwrite"
    assert query["redirect_uri"] == CALLBACK_URI
    assert "code_challenge" not in query


def test_the_older_authorisation_page_is_one_setting_away(fieldlink_home):
    host = Fieldlink(
        f"sqlite:///{fieldlink_home / 'legacy.db'}",
        endpoints={PROVIDER_ID: {"authorize_url": LEGACY_AUTHORIZE_URL}},
        settings={PROVIDER_ID: {"scopes": list(LEGACY_SCOPES)}},
    )
    with host:
        _register_example_app(host)
        start = host.start_auth(USER, PROVIDER_ID, redirect_uri=CALLBACK_URI)

    assert start.url.startswith("https://www.agfiniti.com/api/oauth2/authorize?")
    assert _query(start.url)["scope"] == "openid profile email filedownload"


def test_an_unknown_scope_is_refused_at_the_consent_page(sandbox):
    agleader = sandbox(PROVIDER_ID)
    scopes = ["read", "filedownload"]
    agleader.fieldlink.override_settings(PROVIDER_ID, {"scopes": scopes})

    with pytest.raises(AuthorizationDenied) as info:
        agleader.connect(USER)

    assert info.value.error == "invalid_scope"


def test_a_wrong_files_url_names_the_endpoint_to_set(sandbox):
    agleader = sandbox(PROVIDER_ID)
    agleader.connect(USER)
    agleader.fieldlink.override_endpoints(
        PROVIDER_ID, {"files_url": agleader.running.url + "/api/v2/files"}
    )

    with pytest.raises(ProviderError, match="files_url") as info:
        agleader.fieldlink.list_resources(USER, PROVIDER_ID, "files")
    assert info.value.status == 404


def test_a_next_link_to_another_host_is_not_followed(sandbox):
    agleader = sandbox(PROVIDER_ID)
    agleader.connect(USER)
    link = '<https://elsewhere.example/api/files?page=1>; rel="next"'

    # A server answering every request alike stands in for AgFiniti's list.
    with serve(json_response([{"id": "1"}], headers={"Link": link})) as other:
        agleader.fieldlink.override_endpoints(PROVIDER_ID, {"files_url": other.url})
        with pytest.raises(ProviderError, match="another host"):
            agleader.fieldlink.list_resources(USER, PROVIDER_ID, "files")


@pytest.mark.parametrize("body", [{"files": []}, [{"name": "no id"}]])
def test_an_unexpected_list_shape_is_an_error(sandbox, body):
    agleader = sandbox(PROVIDER_ID)
    agleader.connect(USER)

    with serve(json_response(body)) as other:
        agleader.fieldlink.override_endpoints(PROVIDER_ID, {"files_url": other.url})
        with pytest.raises(ProviderError, match="guess"):
            agleader.fieldlink.list_resources(USER, PROVIDER_ID, "files")


def test_seeded_files_are_reproducible():
    first, again = AgLeaderEmulator(size=4, seed=3), AgLeaderEmulator(size=4, seed=3)
    other = AgLeaderEmulator(size=4, seed=4)

    assert first.data == again.data
    assert first.data != other.data
    assert len(first.data) == 4
