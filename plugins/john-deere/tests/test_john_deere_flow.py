"""John Deere end to end, over HTTP against the emulator."""

import pytest

from fieldlink.errors import CredentialInvalid, CredentialRevoked


def test_connect_lists_every_kind(sandbox):
    deere = sandbox("john-deere", size=12)
    connection = deere.connect("grower-1")

    assert connection.next_step_url is not None
    assert "/select-organizations?redirect_uri=" in connection.next_step_url
    fieldlink = deere.fieldlink
    organizations = list(fieldlink.iter_resources("grower-1", "john-deere", "organizations"))
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
    assert deere.fieldlink.credential("grower-1", "john-deere").status.value == "invalid"
