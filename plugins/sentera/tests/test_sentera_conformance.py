"""The conformance suite every provider plugin passes, with one test adapted."""

from fieldlink.testing import conformance_tests
from fieldlink_sentera import PROVIDER_ID


class TestConformance(conformance_tests(PROVIDER_ID, size=250)):
    def test_refresh_renews_the_access_token(self, sandboxed, info):
        """Sentera's session token cannot be renewed without the password, which
        fieldlink does not keep: a refresh confirms that the token still works and
        keeps it. Its end is covered by the flow tests."""
        host = sandboxed.fieldlink
        first = sandboxed.connect("grower-1").credential

        refreshed = host.refresh("grower-1", PROVIDER_ID)

        assert refreshed.access_token == first.access_token
        assert refreshed.payload == first.payload
        assert any(e.kind == "refreshed" for e in host.events("grower-1", PROVIDER_ID))
        assert host.list_resources("grower-1", PROVIDER_ID, "fields").items
