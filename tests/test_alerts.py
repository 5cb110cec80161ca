"""Status alerts reach the host's webhook: signed, retried, recorded when they fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Request, Response

from fieldlink import Fieldlink
from fieldlink._alerts import Delivery
from fieldlink._tables import alerts
from fieldlink.errors import ConfigurationError, CredentialRevoked, PermissionDenied
from fieldlink.sandbox import mount, serve
from fieldlink.testing import SandboxedProvider, assert_no_canary

SECRET = "webhook-signing-secret"


class Receiver:
    """A host's webhook endpoint: answers ``failures`` times with 500, then 204,
    each answer ``pause`` seconds after the request."""

    def __init__(self, failures: int = 0, pause: float = 0.0) -> None:
        self.failures = failures
        self.pause = pause
        self.received: list[tuple[bytes, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            self.received.append(
                (request.get_data(), request.headers.get("X-Fieldlink-Signature", ""))
            )
            failing = self.failures > 0
            self.failures -= 1
        time.sleep(self.pause)
        return Response(status=500 if failing else 204)(environ, start_response)


@pytest.fixture
def webhook():
    def start(failures: int = 0, pause: float = 0.0):
        receiver = Receiver(failures, pause)
        running.append(serve(receiver))
        return receiver, running[-1].url + "/hook"

    running = []
    yield start
    for server in running:
        server.stop()


@pytest.fixture
def connect_with_alerts(fieldlink_home):
    opened = []

    def start(url: str, **options) -> SandboxedProvider:
        fieldlink = Fieldlink(
            f"sqlite:///{fieldlink_home / 'alerts.db'}",
            webhook_url=url,
            webhook_secret=SECRET,
            alert_options={"in_background": False, **options},
        )
        emulator = fieldlink.registry.call(
            "john-deere", "sandbox_emulator", settings={}
        )
        server = serve(emulator)
        opened.append((fieldlink, server))
        fieldlink.override_endpoints("john-deere", emulator.endpoints(server.url))
        fieldlink.register_app("john-deere", emulator.app_fields(), environment="STAGE")
        deere = SandboxedProvider("john-deere", emulator, server, fieldlink)
        deere.connect("grower-1")
        return deere

    yield start
    for fieldlink, server in opened:
        server.stop()
        fieldlink.close()


def _verify(body: bytes, signature: str) -> dict:
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    )
    assert hmac.compare_digest(expected.decode(), signature)
    return json.loads(body)


def test_an_invalid_credential_is_announced(webhook, connect_with_alerts):
    receiver, url = webhook()
    deere = connect_with_alerts(url)
    deere.emulator.revoke()

    with pytest.raises(CredentialRevoked):
        deere.fieldlink.refresh("grower-1", "john-deere")
    delivery = deere.fieldlink.deliver_alerts()

    assert delivery.delivered == 1
    [(body, signature)] = receiver.received
    assert_no_canary(body.decode(), "the alert body")
    alert = _verify(body, signature)
    assert alert["type"] == "credentialsUnauthenticated"
    assert alert["provider"] == "john-deere" and alert["userId"] == "grower-1"
    assert alert["status"] == "invalid" and "invalid_grant" in alert["message"]


def test_a_refused_permission_is_announced(webhook, connect_with_alerts):
    receiver, url = webhook()
    deere = connect_with_alerts(url)
    # The grower has approved none of the organisations beyond the first.
    with deere.emulator.lock:
        for organization in deere.emulator.data["organizations"][1:]:
            organization["connected"] = False

    with pytest.raises(PermissionDenied):
        deere.fieldlink.list_resources("grower-1", "john-deere", "farms", parent="4002")
    deere.fieldlink.deliver_alerts()

    alert = _verify(*receiver.received[0])
    assert alert["type"] == "credentialsLimitedPermission"
    assert alert["status"] == "active"
    assert "4002" in alert["message"]


def test_failed_deliveries_are_retried_then_recorded(webhook, connect_with_alerts):
    receiver, url = webhook(failures=10)
    deere = connect_with_alerts(url, retry_delays=(0, 0))
    deere.emulator.revoke()
    with pytest.raises(CredentialRevoked):
        deere.fieldlink.refresh("grower-1", "john-deere")

    # Three tries in all (the first and two retries), then the alert fails for good.
    rounds = [deere.fieldlink.deliver_alerts() for _ in range(4)]

    assert [(r.delivered, r.retrying, r.failed) for r in rounds] == [
        (0, 1, 0),
        (0, 1, 0),
        (0, 0, 1),
        (0, 0, 0),
    ]
    assert len(receiver.received) == 3
    assert len({body for body, _ in receiver.received}) == 1  # the same alert each time
    events = deere.fieldlink.events("grower-1", "john-deere")
    failed = [event for event in events if event.kind == "alert_failed"]
    assert len(failed) == 1 and "HTTP 500" in failed[0].message


def test_a_retried_alert_is_delivered_once(webhook, connect_with_alerts):
    _, url = webhook(failures=1)
    deere = connect_with_alerts(url, retry_delays=(0,))
    deere.emulator.revoke()
    with pytest.raises(CredentialRevoked):
        deere.fieldlink.refresh("grower-1", "john-deere")

    first, second = deere.fieldlink.deliver_alerts(), deere.fieldlink.deliver_alerts()

    assert (first.retrying, second.delivered) == (1, 1)
    assert deere.fieldlink.deliver_alerts().delivered == 0


def test_alerts_go_out_in_the_background_by_default(webhook, connect_with_alerts):
    receiver, url = webhook()
    deere = connect_with_alerts(url, in_background=True)
    deere.emulator.revoke()

    with pytest.raises(CredentialRevoked):
        deere.fieldlink.refresh("grower-1", "john-deere")

    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _verify(*receiver.received[0])["type"] == "credentialsUnauthenticated"


def _refuse_every_organization_but_the_first(emulator) -> None:
    with emulator.lock:
        for organization in emulator.data["organizations"][1:]:
            organization["connected"] = False


@pytest.mark.parametrize(
    ("args", "status", "kind", "provoke"),
    [
        (
            ["refresh", "john-deere"],
            4,
            "credentialsUnauthenticated",
            lambda emulator: emulator.revoke(),
        ),
        (
            ["resources", "john-deere", "--kind", "farms"],
            1,
            "credentialsLimitedPermission",
            _refuse_every_organization_but_the_first,
        ),
    ],
    ids=["refresh", "resources"],
)
def test_a_command_delivers_its_alert_before_it_exits(
    webhook, sandbox, fieldlink, monkeypatch, args, status, kind, provoke
):
    """A ``fieldlink`` command is a short-lived process: the alert it raises is
    delivered before the process ends, not left to a later ``refresh --due``."""
    # A slow webhook: a delivery the exiting process cut short would show.
    receiver, url = webhook(pause=0.5)
    deere = sandbox("john-deere")
    deere.connect("grower-1")
    provoke(deere.emulator)
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)
    monkeypatch.setenv("FIELDLINK_WEBHOOK_URL", url)
    monkeypatch.setenv("FIELDLINK_WEBHOOK_SECRET", SECRET)

    with serve(mount({"john-deere": deere.emulator})) as running:
        monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
        process = subprocess.run(
            [sys.executable, "-m", "fieldlink.cli", *args, "--user", "grower-1"],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            timeout=120,
        )

    assert process.returncode == status, process.stderr
    [(body, signature)] = receiver.received
    assert _verify(body, signature)["type"] == kind
    with fieldlink.store.engine.connect() as connection:
        [outbox] = connection.execute(sa.select(alerts)).mappings().all()
    assert outbox["delivered_at"] is not None and outbox["attempts"] == 1


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "alerts.example/hook",
        "/hook",
        "ftp://alerts.example/hook",
        "https:///hook",
        "https://alerts.example:port/hook",
    ],
)
def test_a_webhook_url_given_in_code_is_checked_when_alerts_are_set_up(
    fieldlink_home, url
):
    with (
        Fieldlink(webhook_url=url, webhook_secret=SECRET) as fieldlink,
        pytest.raises(ConfigurationError) as info,
    ):
        fieldlink.providers()

    assert str(info.value).startswith(
        "Fieldlink(webhook_url=...) must be an absolute http or https URL with a host"
    )


@pytest.mark.parametrize(
    ("secret", "problem"), [(" \t", "is blank"), ("", "is not set")]
)
def test_a_blank_webhook_secret_is_refused(
    fieldlink_home, monkeypatch, secret, problem
):
    monkeypatch.setenv("FIELDLINK_WEBHOOK_URL", "https://alerts.example/hook")
    monkeypatch.setenv("FIELDLINK_WEBHOOK_SECRET", secret)

    with Fieldlink() as fieldlink, pytest.raises(ConfigurationError) as info:
        fieldlink.providers()

    assert f"FIELDLINK_WEBHOOK_SECRET, the secret that signs alerts, {problem}" in (
        str(info.value)
    )


def test_a_blank_webhook_url_is_unset(fieldlink_home, monkeypatch):
    monkeypatch.setenv("FIELDLINK_WEBHOOK_URL", "  ")

    with Fieldlink() as fieldlink:
        assert fieldlink.deliver_alerts() == Delivery()


def _fieldlink_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldlink.cli", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def test_a_command_names_a_wrong_webhook_url_in_one_line(fieldlink_home, monkeypatch):
    monkeypatch.setenv("FIELDLINK_WEBHOOK_URL", "notaurl")
    monkeypatch.setenv("FIELDLINK_WEBHOOK_SECRET", SECRET)

    process = _fieldlink_command("refresh", "--due")

    assert process.returncode == 1
    assert process.stderr.count("\n") == 1, process.stderr
    assert "FIELDLINK_WEBHOOK_URL must be an absolute http or https URL" in (
        process.stderr
    )


def test_a_failed_delivery_is_never_printed_as_a_traceback(
    sandbox, fieldlink, monkeypatch
):
    """The webhook is down while a command raises an alert: the command says what
    it did, the alert waits for a retry, and no traceback reaches the user."""
    with serve(Receiver()) as gone:
        url = gone.url + "/hook"
    deere = sandbox("john-deere")
    deere.connect("grower-1")
    deere.emulator.revoke()
    monkeypatch.setenv("FIELDLINK_DATABASE_URL", fieldlink.store.url)
    monkeypatch.setenv("FIELDLINK_WEBHOOK_URL", url)
    monkeypatch.setenv("FIELDLINK_WEBHOOK_SECRET", SECRET)

    with serve(mount({"john-deere": deere.emulator})) as running:
        monkeypatch.setenv("FIELDLINK_SANDBOX_URL", running.url)
        process = _fieldlink_command("refresh", "john-deere", "--user", "grower-1")

    assert process.returncode == 4, process.stderr
    assert "Traceback" not in process.stderr
    with fieldlink.store.engine.connect() as connection:
        [outbox] = connection.execute(sa.select(alerts)).mappings().all()
    assert outbox["delivered_at"] is None and outbox["attempts"] == 1
