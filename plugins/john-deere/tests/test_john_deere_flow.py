"""John Deere end to end, over HTTP against the emulator."""

import pytest

from fieldlink.errors import CredentialInvalid, CredentialRevoked, OAuthError


def test_connect_lists_every_kind(sandbox):
    deere = sandbox("john-deere", size=12)
    connection = deere.connect("grower-1")

    assert connection.next_step_url is not None
    assert "/select-organizations?redirect_uri=" in connection.next_step_url
    fieldlink = deere.fieldlink
    organizations = list(
        fieldlink.iter_resources("grower-1", "john-deere", "organizations")
    )
    fields = list(fieldlink.iter_resources("grower-1", "john-deere", "fields"))
    assert len(organizations) == 3
    assert len(fields) == 3 * 12


def test_revoked_grower_turns_invalid(sandbox):
    deere = sandbox("john-deere")
    deere.connect("grower-1")
    deere.emulator.revoke()

    with pytest.raises(CredentialRevoked):
        deere.fieldlink.refresh("grower-1", "john-deere")
    with pytest.raises(CredentialInvalid):
        deere.fieldlink.access_token("grower-1", "john-deere")
    assert (
        deere.fieldlink.credential("grower-1", "john-deere").status.value == "invalid"
    )


def test_delete_revokes_the_refresh_token(sandbox):
    deere = sandbox("john-deere")
    deere.connect("grower-1")
    refresh_token = deere.fieldlink.credential("grower-1", "john-deere").payload[
        "refreshToken"
    ]

    deletion = deere.fieldlink.delete("grower-1", "john-deere")

    assert deletion.revoked is True
    assert deere.emulator.revoked_tokens == 1
    assert deere.emulator.refresh_tokens[refresh_token].retired_at is not None
    assert deere.fieldlink.credentials("grower-1") == []


def test_delete_goes_on_when_revocation_fails(sandbox):
    deere = sandbox("john-deere")
    deere.connect("grower-1")
    deere.fieldlink.override_endpoints(
        "john-deere", {"revoke_url": deere.running.url + "/gone"}
    )

    deletion = deere.fieldlink.delete("grower-1", "john-deere")

    assert deletion.revoked is False
    assert "HTTP 404" in deletion.error
    assert deere.fieldlink.credentials("grower-1") == []


def test_a_token_refused_early_is_refreshed_once_and_the_listing_goes_on(sandbox):
    deere = sandbox("john-deere")
    deere.connect("grower-1")
    deere.emulator.expire_access_tokens()  # the provider forgot them before their time

    organizations = list(
        deere.fieldlink.iter_resources("grower-1", "john-deere", "organizations")
    )

    assert len(organizations) == 3
    assert deere.emulator.refreshes == 1


def test_a_revoked_grower_met_while_listing_turns_invalid(sandbox):
    deere = sandbox("john-deere")
    deere.connect("grower-1")
    deere.emulator.revoke()

    with pytest.raises(CredentialRevoked):
        deere.fieldlink.list_resources("grower-1", "john-deere", "organizations")

    assert (
        deere.fieldlink.credential("grower-1", "john-deere").status.value == "invalid"
    )


def test_a_rotated_client_secret_reaches_existing_credentials(sandbox):
    deere = sandbox("john-deere")
    deere.connect("grower-1")
    old_secret = deere.emulator.client_secret
    # The host rotates its client secret at John Deere...
    deere.emulator.client_secret = old_secret + "-rotated"

    with pytest.raises(OAuthError, match="invalid_client"):
        deere.fieldlink.refresh("grower-1", "john-deere")
    # ...and registers the new one: the next refresh uses it, and stores it.
    deere.fieldlink.register_app(
        "john-deere", deere.emulator.app_fields(), environment="STAGE"
    )
    refreshed = deere.fieldlink.refresh("grower-1", "john-deere")

    assert refreshed.status.value == "active"
    assert refreshed.payload["clientSecret"] == deere.emulator.client_secret
