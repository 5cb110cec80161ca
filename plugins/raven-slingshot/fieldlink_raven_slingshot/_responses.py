"""Reading Slingshot's answers: refusals, key summaries and SlingshotIndex lists.

Slingshot answers every failed check (unknown API key, wrong signature, a request
more than 120 seconds old, a bad access key) with the same 401, "sometimes with
details in the body" (Slingshot's security overview). Only a refusal that blames the
access key, and nothing else, means the grower's credential is dead: otherwise a
drifted clock or a misread shared secret would invalidate every credential of the
host at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from fieldlink.errors import CredentialRevoked, ProviderError

from .signing import TIMESTAMP_HEADER

if TYPE_CHECKING:
    import requests

PROVIDER_ID = "raven-slingshot"
#: Slingshot refuses a request whose timestamp is older than this (seconds).
MAX_REQUEST_AGE = 120
#: A clock this far from the server's ``Date`` may be why a request was refused.
SUSPECT_SKEW = MAX_REQUEST_AGE / 2

# The words by which a refusal's body blames one of the checks. The body's shape is
# not documented (JSON, XML or text), so its text is searched.
_BLAMES: Mapping[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "time stamp"),
    "signature": ("signature",),
    "header": ("header",),
    "API key": ("api key", "apikey"),
    "access key": ("access key", "accesskey"),
}
#: Causes that point at the host's setup, never at the grower's key.
_MISCONFIGURED = frozenset({"signature", "header", "API key"})


def blamed(response: requests.Response) -> set[str]:
    """What a 401 blames: the checks its body names, and ``clock`` when the server's
    ``Date`` shows this machine's clock far enough off to explain it."""
    text = response.text[:2000].lower()
    causes = {
        cause for cause, words in _BLAMES.items() if any(w in text for w in words)
    }
    skew = clock_skew(response)
    if skew is not None and abs(skew) >= SUSPECT_SKEW:
        causes.add("clock")
    return causes


def clock_skew(response: requests.Response) -> float | None:
    """Seconds by which the request's timestamp trails the response's ``Date``
    (negative when it was ahead); None when either is missing or unreadable."""
    sent = response.request.headers.get(TIMESTAMP_HEADER) if response.request else None
    try:
        served = parsedate_to_datetime(response.headers["Date"]).timestamp()
        return served - int(sent or "")
    except (KeyError, TypeError, ValueError):
        return None


def refusal(
    response: requests.Response, *, what: str, bare_401_invalidates: bool
) -> Exception:
    """The error to raise for a 401 answer to ``what``."""
    causes = blamed(response)
    if causes & {"clock", "timestamp"}:
        drift = _drift(clock_skew(response))
        return ProviderError(
            f"{PROVIDER_ID} refused {what} for its timestamp (HTTP 401): Slingshot "
            f"takes requests at most {MAX_REQUEST_AGE} s old, and {drift}. The "
            "credential is kept.",
            provider=PROVIDER_ID,
            status=401,
        )
    if causes & _MISCONFIGURED:
        named = ", ".join(sorted(causes & _MISCONFIGURED))
        return ProviderError(
            f"{PROVIDER_ID} refused {what} (HTTP 401), blaming the {named}: check the "
            "apiKey and sharedSecret of the app registration and the "
            "shared_secret_encoding setting. The credential is kept.",
            provider=PROVIDER_ID,
            status=401,
        )
    if causes == {"access key"}:
        return CredentialRevoked(
            f"{PROVIDER_ID} refused the grower's access key (HTTP 401): it is unknown, "
            "inactive, expired or revoked; the grower must create a new one in the "
            "Slingshot Portal",
            error="invalid_access_key",
            provider=PROVIDER_ID,
            status=401,
        )
    if bare_401_invalidates:
        return CredentialRevoked(
            f"{PROVIDER_ID} refused {what} with HTTP 401 without saying why, taken "
            "as a revoked access key (bare_401_invalidates); the grower must connect "
            "again",
            error="unexplained_401",
            provider=PROVIDER_ID,
            status=401,
        )
    return ProviderError(
        f"{PROVIDER_ID} refused {what} with HTTP 401 without saying why. The "
        "credential is kept: ask the grower whether the access key is still active, "
        "and check the app registration and the shared_secret_encoding setting; set "
        "bare_401_invalidates to treat such answers as a revoked key.",
        provider=PROVIDER_ID,
        status=401,
    )


def _drift(skew: float | None) -> str:
    """What the server's ``Date`` says about this machine's clock, and what to do."""
    if skew is None:
        return "this machine's clock may be off; synchronise it (NTP)"
    if abs(skew) < SUSPECT_SKEW:
        return (
            f"this machine's clock is within {abs(skew):.0f} s of Slingshot's, so the "
            "request may have been held up before it was sent"
        )
    side = "behind" if skew > 0 else "ahead of"
    return (
        f"this machine's clock is {abs(skew):.0f} s {side} Slingshot's; "
        "synchronise it (NTP)"
    )


def check_key_summary(summary: Any, *, now: datetime | None = None) -> None:
    """Raise CredentialRevoked when ``GET /accesskey`` shows an inactive or expired key.

    Keys are read in any case (Slingshot's XML is lower case, its JSON PascalCase).
    A summary without ``IsActive`` or with an unreadable expiry is taken as good:
    Slingshot accepted the signed call, so the key works today.
    """
    if not isinstance(summary, Mapping):
        raise ProviderError(
            f"{PROVIDER_ID} answered the access key summary with something other than "
            "a JSON object",
            provider=PROVIDER_ID,
        )
    fields = folded(summary)
    if fields.get("isactive") is False:
        raise CredentialRevoked(
            f"{PROVIDER_ID} says the grower's access key is inactive; the grower must "
            "activate it, or create a new one, in the Slingshot Portal",
            error="inactive_access_key",
            provider=PROVIDER_ID,
        )
    expires = _moment(fields.get("expirationdatetime"))
    if expires is not None and expires <= (now or datetime.now(UTC)):
        raise CredentialRevoked(
            f"{PROVIDER_ID} says the grower's access key expired on "
            f"{expires.date().isoformat()}; the grower must create a new one in the "
            "Slingshot Portal",
            error="expired_access_key",
            provider=PROVIDER_ID,
        )


def read_index(body: Any, *, what: str) -> tuple[list[Mapping[str, Any]], bool]:
    """The items of a SlingshotIndex envelope and whether a next page follows.

    The envelope's paging members are documented (``IsNextPage``...); the name of
    its item list is not, so the one member holding a list is taken.
    """
    if not isinstance(body, Mapping):
        raise ProviderError(
            f"{PROVIDER_ID} answered {what} with something other than a SlingshotIndex",
            provider=PROVIDER_ID,
        )
    fields = folded(body)
    has_next = fields.get("isnextpage")
    lists = [value for value in body.values() if isinstance(value, list)]
    if not isinstance(has_next, bool) or len(lists) != 1:
        raise ProviderError(
            f"{PROVIDER_ID} answered {what} with an envelope that lacks IsNextPage or "
            f"one list of items ({len(lists)} lists)",
            provider=PROVIDER_ID,
        )
    items = lists[0]
    if not all(isinstance(item, Mapping) and "id" in folded(item) for item in items):
        raise ProviderError(
            f"{PROVIDER_ID} answered {what} with items that have no id",
            provider=PROVIDER_ID,
        )
    if has_next and not items:
        # A page that promises more but brings nothing would be asked for forever.
        raise ProviderError(
            f"{PROVIDER_ID} answered {what} with an empty page that says more follow",
            provider=PROVIDER_ID,
        )
    return items, has_next


def folded(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``mapping`` with lower-case keys, to read Slingshot's members in any case."""
    return {str(key).lower(): value for key, value in mapping.items()}


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        # Without an offset, take the latest instant it can mean (UTC-12): a key is
        # never called expired while it may still be valid where it was issued.
        moment = moment.replace(tzinfo=UTC) + timedelta(hours=12)
    return moment
