"""Reading the envelope of Trimble Ag API lists: ``result`` and ``bookmark``.

Every list answers ``{"result": [...], "bookmark": {"token", "moreResults"}}``. The
shape comes from the DTOs of Trimble's official C# samples (Ag-Data-API-Examples),
which deserialize without regard to case, so the JSON's casing is not confirmed:
members are looked up exactly first, then ignoring case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from fieldlink.errors import ProviderError

PROVIDER_ID = "trimble"


@attrs.frozen
class Envelope:
    """One page of a list: its records, and the bookmark of the next page if any."""

    records: Sequence[Mapping[str, Any]]
    #: The token to send for the next page; None on the last page.
    next_bookmark: str | None


def member(document: Mapping[str, Any], name: str) -> Any:
    """``document[name]``, matched exactly or else ignoring case; None if absent."""
    if name in document:
        return document[name]
    folded = name.casefold()
    for key, value in document.items():
        if isinstance(key, str) and key.casefold() == folded:
            return value
    return None


def read_envelope(body: Any, *, what: str) -> Envelope:
    """The records and next bookmark of a list response; ProviderError if unusable."""
    result = member(body, "result") if isinstance(body, Mapping) else None
    if not isinstance(result, list) or not all(isinstance(r, Mapping) for r in result):
        raise ProviderError(
            f"{PROVIDER_ID} answered {what} without a result array of records",
            provider=PROVIDER_ID,
        )

    # A bookmark is worth following only while moreResults says so.
    bookmark = member(body, "bookmark")
    token = None
    if isinstance(bookmark, Mapping) and _true(member(bookmark, "moreResults")):
        token = member(bookmark, "token")
    return Envelope(result, token if isinstance(token, str) and token else None)


def _true(value: Any) -> bool:
    # The DTO's moreResults is shown as a string in the docs; accept a boolean too.
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True
