"""Raven Slingshot end to end, over HTTP against the emulator."""

import contextlib
import re
import time

import pytest

import fieldlink_raven_slingshot
from fieldlink import Fieldlink
from fieldlink.errors import (
    AuthFlowError,
    ConfigurationError,
    CredentialInvalid,
    CredentialNotFound,
    CredentialRevoked,
    ProviderError,
    ProviderUnavailable,
)
from fieldlink.models import FormField
from fieldlink.sandbox import mount, serve
from fieldlink_raven_slingshot import PROVIDER_ID
from fieldlink_raven_slingshot.emulator import RavenSlingshotEmulator

USER = "grower-1"
KINDS = ("fieldcomputers", "jobdata")


@contextlib.contextmanager
def _host(home, settings=None, **emulator_options):
    """A Fieldlink with ``settings`` for the provider, and its own emulator."""
    emulator = RavenSlingshotEmulator(**emulator_options)
    with (
        serve(emulator) as running,
        Fieldlink(
            f"sqlite:///{home / 'settings.db'}",
            endpoints={PROVIDER_ID: emulator.endpoints(running.url)},
            settings={PROVIDER_ID: settings or {}},
        ) as host,
    ):
        host.register_app(PROVIDER_ID, emulator.app_fields())
        yield host, emulator


def _connect(host, emulator, user=USER):
    start = host.start_auth(user, PROVIDER_ID)
    return host.complete_auth(
        PROVIDER_ID, {"state": start.state, **emulator.login_fields()}
    )


def _leaf_body(emulator):
    return {**emulator.app_fields(), **emulator.login_fields()}


def _status(fieldlink, user=USER):
    return fieldlink.credential(user, PROVIDER_ID).status.value


# Connecting and listing


def test_connect_asks_for_the_access_key_and_lists_every_kind(sandbox):
    slingshot = sandbox(PROVIDER_ID, size=250)
    fieldlink = slingshot.fieldlink

    start = fieldlink.start_auth(USER, PROVIDER_ID)
    assert start.kind == "form"
    assert start.form.fields == (
        FormField("accessKey", "Slingshot access key", secret=True),
    )
    connection = slingshot.connect(USER)

    credential = connection.credential
    assert dict(credential.payload) == _leaf_body(slingshot.emulator)
    assert credential.access_token is None
    assert credential.expires_at is None
    for kind in KINDS:
        pages = [fieldlink.list_resources(USER, PROVIDER_ID, kind)]
        while pages[-1].next_cursor is not None:
            cursor = pages[-1].next_cursor
            pages.append(
                fieldlink.list_resources(USER, PROVIDER_ID, kind, cursor=cursor)
            )
        assert [len(page.items) for page in pages] == [100, 100, 50]

        listed = list(fieldlink.iter_resources(USER, PROVIDER_ID, kind))
        assert len({item.id for item in listed}) == 250
        assert listed[0].name and listed[0].data["uri"].endswith(
            f"/{kind}/{listed[0].id}"
        )
    jobs = list(fieldlink.iter_resources(USER, PROVIDER_ID, "jobdata"))
    dates = [job.data["date"] for job in jobs]
    assert dates == sorted(dates, reverse=True)


def test_pages_are_the_servers_when_it_serves_fewer_than_asked(sandbox):
    slingshot = sandbox(PROVIDER_ID, size=90)
    slingshot.connect(USER)
    slingshot.emulator.max_page_size = 40
    fieldlink = slingshot.fieldlink

    first = fieldlink.list_resources(USER, PROVIDER_ID, "jobdata")
    listed = list(fieldlink.iter_resources(USER, PROVIDER_ID, "jobdata"))

    assert (len(first.items), first.next_cursor) == (40, "1")
    assert [job.id for job in listed] == [
        str(job["id"]) for job in slingshot.emulator.data["jobdata"]
    ]


def test_leaf_body_registers_after_the_key_check(sandbox):
    slingshot = sandbox(PROVIDER_ID, size=3)
    fieldlink = slingshot.fieldlink

    credential = fieldlink.register(
        "grower-2", PROVIDER_ID, _leaf_body(slingshot.emulator)
    )

    assert credential.status.value == "active"
    assert len(list(fieldlink.iter_resources("grower-2", PROVIDER_ID, "jobdata"))) == 3


def test_behind_a_sandbox_mount_the_signed_path_keeps_its_prefix(fieldlink_home):
    # `fieldlink sandbox` and the demo serve every emulator under /<provider id>.
    emulator = RavenSlingshotEmulator(size=4)
    with (
        serve(mount({PROVIDER_ID: emulator})) as running,
        Fieldlink(
            f"sqlite:///{fieldlink_home / 'mounted.db'}", sandbox_url=running.url
        ) as host,
    ):
        host.register_app(PROVIDER_ID, emulator.app_fields())
        _connect(host, emulator)

        assert len(list(host.iter_resources(USER, PROVIDER_ID, "fieldcomputers"))) == 4


# Keys that Slingshot refuses


@pytest.mark.parametrize(
    ("control", "error"),
    [
        ("revoke", "invalid_access_key"),
        ("deactivate", "inactive_access_key"),
        ("expire", "expired_access_key"),
    ],
)
def test_a_refused_key_is_never_stored(sandbox, control, error):
    slingshot = sandbox(PROVIDER_ID)
    refused_key = slingshot.emulator.grower_key
    getattr(slingshot.emulator, control)()

    # The key typed is the one refused (after a revocation, the sandbox's login
    # offers a new key, as the grower would make one to connect again).
    with pytest.raises(CredentialRevoked) as info:
        slingshot.connect(USER, form={"accessKey": refused_key})
    with pytest.raises(CredentialRevoked):
        slingshot.fieldlink.register(
            "grower-2",
            PROVIDER_ID,
            {**_leaf_body(slingshot.emulator), "accessKey": refused_key},
        )

    assert info.value.error == error
    assert slingshot.fieldlink.credentials() == []


def test_a_mistyped_access_key_is_refused(sandbox):
    slingshot = sandbox(PROVIDER_ID)

    with pytest.raises(CredentialRevoked):
        slingshot.connect(USER, form={"accessKey": "not-the-growers-key"})
    with pytest.raises(CredentialNotFound):
        slingshot.fieldlink.credential(USER, PROVIDER_ID)


def test_an_empty_form_is_refused(sandbox):
    slingshot = sandbox(PROVIDER_ID)

    with pytest.raises(AuthFlowError, match="accessKey"):
        slingshot.connect(USER, form={"accessKey": "  "})


def test_the_form_needs_the_app_registration_first(fieldlink):
    with pytest.raises(ConfigurationError, match="no app registration"):
        fieldlink.start_auth(USER, PROVIDER_ID)


@pytest.mark.parametrize("control", ["revoke", "deactivate", "expire"])
def test_a_key_refused_while_listing_turns_the_credential_invalid(sandbox, control):
    slingshot = sandbox(PROVIDER_ID)
    slingshot.connect(USER)
    fieldlink = slingshot.fieldlink
    getattr(slingshot.emulator, control)()

    with pytest.raises(CredentialRevoked):
        list(fieldlink.iter_resources(USER, PROVIDER_ID, "fieldcomputers"))
    with pytest.raises(CredentialInvalid):
        fieldlink.list_resources(USER, PROVIDER_ID, "jobdata")

    credential = fieldlink.credential(USER, PROVIDER_ID)
    assert credential.status.value == "invalid"
    assert "access key" in credential.status_reason
    assert "status_changed" in [
        event.kind for event in fieldlink.events(USER, PROVIDER_ID)
    ]


def test_refresh_checks_the_key_again(sandbox):
    slingshot = sandbox(PROVIDER_ID)
    slingshot.connect(USER)
    fieldlink = slingshot.fieldlink
    before = fieldlink.credential(USER, PROVIDER_ID)

    after = fieldlink.refresh(USER, PROVIDER_ID)
    assert after.payload == before.payload
    assert after.status.value == "active"

    slingshot.emulator.revoke()
    with pytest.raises(CredentialRevoked):
        fieldlink.refresh(USER, PROVIDER_ID)
    assert _status(fieldlink) == "invalid"


def test_there_is_no_access_token_to_hand_out(sandbox):
    slingshot = sandbox(PROVIDER_ID)
    slingshot.connect(USER)

    with pytest.raises(ConfigurationError, match="signs each request"):
        slingshot.fieldlink.access_token(USER, PROVIDER_ID)


# Refusals that are not the grower's doing


def _slow_clock(monkeypatch, seconds=300):
    """This machine's clock runs ``seconds`` slow: the one failure that cannot be
    made over HTTP, since the emulator keeps the real time."""
    monkeypatch.setattr(
        fieldlink_raven_slingshot, "_timestamp", lambda: int(time.time()) - seconds
    )


def test_a_refused_timestamp_keeps_the_credential(sandbox, monkeypatch):
    slingshot = sandbox(PROVIDER_ID)
    slingshot.connect(USER)
    fieldlink = slingshot.fieldlink
    _slow_clock(monkeypatch)

    with pytest.raises(ProviderError, match="timestamp") as info:
        fieldlink.list_resources(USER, PROVIDER_ID, "fieldcomputers")

    assert not isinstance(info.value, CredentialRevoked)
    assert re.search(r"clock is 30\d s behind", str(info.value))
    assert _status(fieldlink) == "active"
    monkeypatch.undo()
    assert fieldlink.list_resources(USER, PROVIDER_ID, "fieldcomputers").items


def test_a_bare_refusal_from_a_drifted_clock_never_invalidates(
    fieldlink_home, monkeypatch
):
    with _host(fieldlink_home, {"bare_401_invalidates": True}) as (host, emulator):
        _connect(host, emulator)
        emulator.detailed_errors = False
        _slow_clock(monkeypatch)

        # The body says nothing; the server's Date shows the drift.
        with pytest.raises(ProviderError, match=r"clock is 30\d s behind") as info:
            host.list_resources(USER, PROVIDER_ID, "jobdata")

        assert not isinstance(info.value, CredentialRevoked)
        assert _status(host) == "active"


def test_a_bare_refusal_keeps_the_credential_by_default(sandbox):
    slingshot = sandbox(PROVIDER_ID)
    slingshot.connect(USER)
    slingshot.emulator.detailed_errors = False
    slingshot.emulator.revoke()

    with pytest.raises(ProviderError, match="without saying why") as info:
        slingshot.fieldlink.list_resources(USER, PROVIDER_ID, "jobdata")

    assert not isinstance(info.value, CredentialRevoked)
    assert _status(slingshot.fieldlink) == "active"


def test_a_bare_refusal_invalidates_when_the_host_says_so(fieldlink_home):
    with _host(fieldlink_home, {"bare_401_invalidates": True}) as (host, emulator):
        _connect(host, emulator)
        emulator.detailed_errors = False
        emulator.revoke()

        with pytest.raises(CredentialRevoked):
            host.list_resources(USER, PROVIDER_ID, "jobdata")

        assert _status(host) == "invalid"


def test_a_secret_read_the_wrong_way_is_refused_at_connection(sandbox):
    slingshot = sandbox(PROVIDER_ID, shared_secret_encoding="utf-8")

    with pytest.raises(ProviderError, match="shared_secret_encoding") as info:
        slingshot.connect(USER)

    assert "signature" in str(info.value)
    assert slingshot.fieldlink.credentials() == []


def test_a_secret_read_as_utf8_when_configured(fieldlink_home):
    encoding = {"shared_secret_encoding": "utf-8"}
    with _host(fieldlink_home, encoding, shared_secret_encoding="utf-8", size=3) as (
        host,
        emulator,
    ):
        _connect(host, emulator)

        assert len(list(host.iter_resources(USER, PROVIDER_ID, "fieldcomputers"))) == 3


def test_a_secret_that_is_not_base64_fails_before_any_call(sandbox):
    slingshot = sandbox(PROVIDER_ID)
    body = {**_leaf_body(slingshot.emulator), "sharedSecret": "not base64!"}

    with pytest.raises(ConfigurationError, match="shared_secret_encoding"):
        slingshot.fieldlink.register("grower-2", PROVIDER_ID, body)

    assert not slingshot.emulator.calls


def test_the_rate_limit_is_a_passing_failure(sandbox):
    slingshot = sandbox(PROVIDER_ID)
    slingshot.connect(USER)
    fieldlink = slingshot.fieldlink
    # The connection's key check was one call; one more fits in a limit of two.
    slingshot.emulator.rate_limit_calls = 2
    fieldlink.list_resources(USER, PROVIDER_ID, "fieldcomputers")

    with pytest.raises(ProviderUnavailable) as info:
        fieldlink.list_resources(USER, PROVIDER_ID, "jobdata")

    assert info.value.status == 429
    assert info.value.retry_after > 0
    assert _status(fieldlink) == "active"


def test_a_cursor_of_another_provider_is_refused(sandbox):
    slingshot = sandbox(PROVIDER_ID)
    slingshot.connect(USER)

    with pytest.raises(ConfigurationError, match="cursor"):
        slingshot.fieldlink.list_resources(USER, PROVIDER_ID, "jobdata", cursor="abc")


def test_delete_forgets_the_credential_without_revoking(sandbox):
    slingshot = sandbox(PROVIDER_ID)
    slingshot.connect(USER)

    deletion = slingshot.fieldlink.delete(USER, PROVIDER_ID)

    # Only the grower can revoke an access key, in the Slingshot Portal.
    assert deletion.revoked is None
    assert slingshot.fieldlink.credentials() == []
