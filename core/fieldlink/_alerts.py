"""The built-in webhook alerts plugin.

When a credential turns invalid, or a provider refuses it a permission, the host
hears about it at its webhook, as Leaf's ``credentialsUnauthenticated`` and
``credentialsLimitedPermission`` alerts tell. Each alert is first written to an
outbox table, so that it survives the process; it is then posted with an
``X-Fieldlink-Signature`` header, the base64 HMAC-SHA256 of the exact body under the
host's secret, and retried with growing delays until it is delivered or, after the
last try, recorded as failed in the credential's event log.

Each alert raised starts a delivery round in a background thread of its process;
:meth:`WebhookAlerts.wait` (called by ``Fieldlink.close``) lets those rounds end, so
that a short-lived process, a ``fieldlink`` command, does not exit before its
alerts were tried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from . import hookimpl
from .errors import ConfigurationError, FieldlinkError
from .http import HttpClient, is_http_url, make_session, redact_url
from .models import Credential, CredentialStatus

if TYPE_CHECKING:
    from ._store import Store

logger = logging.getLogger(__name__)

WEBHOOK_URL_ENV = "FIELDLINK_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "FIELDLINK_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Fieldlink-Signature"
#: Seconds to wait before each retry; Leaf retries after 1, 30, 60 and 240 minutes.
DEFAULT_RETRY_DELAYS = (60.0, 1800.0, 3600.0, 14400.0)
#: How long a claimed alert stays hidden from other deliverers.
CLAIM_LEASE = timedelta(minutes=5)

UNAUTHENTICATED = "credentialsUnauthenticated"
LIMITED_PERMISSION = "credentialsLimitedPermission"


def sign(body: bytes, secret: str) -> str:
    """The value of the signature header for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@attrs.frozen
class Delivery:
    """What one round of delivery did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


class WebhookAlerts:
    """Observes credentials and delivers their alerts to one webhook URL."""

    def __init__(
        self,
        store: Store,
        url: str,
        secret: str,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        in_background: bool = True,
    ) -> None:
        self.store = store
        self.url = url
        self._secret = secret
        self.retry_delays = tuple(retry_delays)
        self.in_background = in_background
        self._http = HttpClient(make_session(retries=0), "webhook")
        self._rounds: list[threading.Thread] = []
        self._rounds_guard = threading.Lock()

    def __repr__(self) -> str:
        return f"WebhookAlerts(url={redact_url(self.url)!r})"

    # Observers

    @hookimpl
    def credential_status_changed(
        self, credential: Credential, previous: CredentialStatus, reason: str
    ) -> None:
        if credential.status is CredentialStatus.INVALID:
            self._enqueue(UNAUTHENTICATED, credential, reason)

    @hookimpl
    def credential_permission_denied(self, credential: Credential, reason: str) -> None:
        self._enqueue(LIMITED_PERMISSION, credential, reason)

    def _enqueue(self, kind: str, credential: Credential, message: str) -> None:
        body = {
            "type": kind,
            "credentialId": credential.id,
            "provider": credential.provider,
            "userId": credential.user_id,
            "status": credential.status.value,
            "message": message,
            "timestamp": datetime.now(UTC).isoformat(),
        }
        self.store.add_alert(credential.id, json.dumps(body, separators=(",", ":")))
        if self.in_background:
            self._start_round()

    # Delivery

    def _start_round(self) -> None:
        # Delivery waits on the host's server: never on the caller's request.
        thread = threading.Thread(
            target=self._deliver_logged, name="fieldlink-alerts", daemon=True
        )
        with self._rounds_guard:
            self._rounds = [other for other in self._rounds if other.is_alive()]
            self._rounds.append(thread)
            thread.start()

    def _deliver_logged(self) -> None:
        # Nobody waits on this thread's result: the log is where it can be seen, one
        # line, as a command's output; the traceback of a bug only at debug level.
        try:
            self.deliver_due()
        except FieldlinkError as error:
            logger.error(
                "delivering alerts to %s failed: %s", redact_url(self.url), error
            )
        except Exception as error:
            logger.error(
                "delivering alerts to %s failed: unexpected %s",
                redact_url(self.url),
                type(error).__name__,
            )
            logger.debug("the delivery's traceback", exc_info=error)

    def wait(self) -> None:
        """Wait for the delivery rounds started in the background to end.

        Each round tries every due alert once, within the webhook call's timeouts;
        what fails is tried again on the retry schedule, by a later round.
        """
        with self._rounds_guard:
            rounds, self._rounds = self._rounds, []
        for thread in rounds:
            thread.join()

    def deliver_due(self) -> Delivery:
        """Post every alert that is due now, once; return what happened to them."""
        delivered = retrying = failed = 0
        # Alerts rescheduled during this round wait for the next one.
        started = datetime.now(UTC)
        while (alert := self.store.claim_alert(CLAIM_LEASE, started)) is not None:
            error = self._post(alert["body"])
            if error is None:
                self.store.finish_alert(alert["id"], delivered=True)
                delivered += 1
                continue
            tries = alert["attempts"] + 1
            if tries <= len(self.retry_delays):
                retry_at = datetime.now(UTC) + timedelta(
                    seconds=self.retry_delays[tries - 1]
                )
                self.store.finish_alert(
                    alert["id"], delivered=False, error=error, retry_at=retry_at
                )
                retrying += 1
            else:
                self.store.finish_alert(alert["id"], delivered=False, error=error)
                self.store.add_event(
                    alert["credential_id"],
                    "alert_failed",
                    message=f"the webhook did not take the alert after {tries} tries: {error}",
                )
                failed += 1
        return Delivery(delivered, retrying, failed)

    def _post(self, body: str) -> str | None:
        data = body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(data, self._secret),
        }
        try:
            response = self._http.post(self.url, data=data, headers=headers)
        except FieldlinkError as error:
            # Unreachable, or a URL no request can go to: retried, then recorded.
            return str(error)
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"


def plugin_from_settings(
    store: Store,
    url: str | None,
    secret: str | None,
    *,
    url_origin: str = WEBHOOK_URL_ENV,
    secret_origin: str = WEBHOOK_SECRET_ENV,
    **options: Any,
) -> WebhookAlerts | None:
    """The alerts plugin when a webhook is configured (a blank URL is none), else
    None. ``url_origin`` and ``secret_origin`` name where each was set, for the
    ConfigurationError raised when the URL is not an http(s) URL with a host or
    the secret is missing or blank."""
    if not url or not url.strip():
        return None
    if not is_http_url(url):
        raise ConfigurationError(
            f"{url_origin} must be an absolute http or https URL with a host, such as "
            "https://app.example/fieldlink/alerts; fix it, or unset it to send no "
            "alerts"
        )
    if not secret or not secret.strip():
        problem = "is blank" if secret else "is not set"
        raise ConfigurationError(
            f"a webhook URL is set but {secret_origin}, the secret that signs alerts, "
            f"{problem}; set it to a long random string your webhook checks the "
            f"{SIGNATURE_HEADER} header with"
        )
    return WebhookAlerts(store, url, secret, **options)
