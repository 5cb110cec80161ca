"""Helpers the core's test modules share."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

from fieldlink import Credential, CredentialStatus, Fieldlink, hookimpl
from fieldlink.sandbox import drive_consent
from fieldlink.testing import CALLBACK_URI

JOHN_DEERE = "john-deere"
#: The user the ``deere`` fixture connects.
USER = "grower-1"


def consent(
    fieldlink: Fieldlink,
    user_id: str = USER,
    *,
    decision: str = "allow",
    redirect_uri: str = CALLBACK_URI,
) -> dict[str, str]:
    """Start a John Deere connection and answer its consent page as a browser would.

    Returns the parameters of the callback, ready for ``complete_auth``.
    """
    start = fieldlink.start_auth(user_id, JOHN_DEERE, redirect_uri=redirect_uri)
    callback = drive_consent(start.url, decision)
    return dict(parse_qsl(urlsplit(callback).query))


def shown_chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception a traceback of it would print."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None


class Observer:
    """An observer plugin that records what fieldlink broadcasts."""

    def __init__(self) -> None:
        self.status_changes: list[tuple[Credential, CredentialStatus, str]] = []
        self.refreshes: list[tuple[Credential, bool]] = []

    @hookimpl
    def credential_status_changed(
        self, credential: Credential, previous: CredentialStatus, reason: str
    ) -> None:
        self.status_changes.append((credential, previous, reason))

    @hookimpl
    def credential_refreshed(self, credential: Credential, rotated: bool) -> None:
        self.refreshes.append((credential, rotated))
