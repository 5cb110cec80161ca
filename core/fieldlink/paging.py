"""Reading the lists of providers that publish nothing about them.

Numbered pages follow Leaf's own API convention: ``page`` counting from 0, ``size``
items per page, a JSON array each time and, when present, the total in
``X-Total-Count``. Without a total, a short or empty page ends the listing. Two
rails keep a wrong guess from looping: a page longer than asked for means the
parameters were ignored and it is the whole list, and a page that begins with the
first item of the page before it raises. The host corrects a wrong guess with the
settings ``page_param``, ``size_param``, ``first_page`` and ``page_size``.

:class:`NumberedPages` is the client's side of that convention and
:func:`serve_page` an emulator's. :func:`read_resources` reads a JSON array of
objects with an ``id``, however the list is paged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .errors import ConfigurationError, ProviderError
from .models import Page, Resource

if TYPE_CHECKING:
    from ._context import ProviderContext

__all__ = [
    "NUMBERED_PAGES_SETTINGS",
    "PAGE_SIZE",
    "NumberedPages",
    "read_resources",
    "serve_page",
]

#: Items asked for per page: Leaf's own maximum.
PAGE_SIZE = 100
#: The host settings :meth:`NumberedPages.from_settings` reads, for a provider to
#: declare in ``ProviderInfo.settings``.
NUMBERED_PAGES_SETTINGS = ("page_param", "size_param", "first_page", "page_size")

_Item = TypeVar("_Item")


@attrs.frozen
class NumberedPages:
    """Where a listing stands; cursors read ``<page>:<first id of the page before>``,
    so that a page served twice is noticed."""

    provider: str
    page_param: str = "page"
    size_param: str = "size"
    first_page: int = 0
    page_size: int = PAGE_SIZE

    @classmethod
    def from_settings(cls, context: ProviderContext) -> NumberedPages:
        """The paging the host's settings name, each checked, defaults applied."""
        return cls(
            context.provider.id,
            page_param=context.setting_text("page_param", "page"),
            size_param=context.setting_text("size_param", "size"),
            first_page=context.setting_int("first_page", 0, minimum=0),
            page_size=context.setting_int("page_size", PAGE_SIZE, minimum=1),
        )

    def params(self, cursor: str | None) -> dict[str, int]:
        """The query parameters that ask for the page ``cursor`` names."""
        page, _ = self._parse(cursor)
        return {self.page_param: page, self.size_param: self.page_size}

    def page(
        self, cursor: str | None, items: Sequence[Resource], headers: Mapping[str, str]
    ) -> Page:
        """The page of ``items`` that ``cursor`` asked for, with the next cursor,
        given the response ``headers`` (which may count the list)."""
        ids = [item.id for item in items]
        total = _total_count(headers.get("X-Total-Count"))
        return Page(items, self.next_cursor(cursor, ids, total))

    def next_cursor(
        self, cursor: str | None, ids: Sequence[str], total: int | None
    ) -> str | None:
        """The cursor of the page after this one, or None when this one is the last.

        ``ids`` are the ids of this page's items, in order; ``total`` is the count
        of the whole list when the provider sent one.
        """
        page, previous_first = self._parse(cursor)
        if ids and ids[0] == previous_first:
            raise ProviderError(
                f"{self.provider} answered page {page} with the page before it again; "
                f"it seems to ignore the {self.page_param!r} parameter (settings "
                "page_param, size_param and first_page name the paging)",
                provider=self.provider,
            )
        if not ids or len(ids) > self.page_size:
            return None
        read = (page - self.first_page) * self.page_size + len(ids)
        more = read < total if total is not None else len(ids) == self.page_size
        return f"{page + 1}:{ids[0]}" if more else None

    def _parse(self, cursor: str | None) -> tuple[int, str | None]:
        if cursor is None:
            return self.first_page, None
        number, _, previous_first = cursor.partition(":")
        if not number.isdigit() or not previous_first:
            raise ConfigurationError(
                f"{cursor!r} is not a {self.provider} page cursor; pass the "
                "next_cursor of the page before",
                provider=self.provider,
            )
        return int(number), previous_first


def _total_count(header: str | None) -> int | None:
    """``X-Total-Count`` as a number, or None when it is missing or unreadable."""
    if header is None or not header.strip().isdigit():
        return None
    return int(header.strip())


def read_resources(
    body: Any,
    kind: str,
    *,
    provider: str,
    brand: str,
    parent: str | None = None,
    status: int | None = None,
) -> list[Resource]:
    """The ``kind`` resources of a list whose shape is a guess: a JSON array of
    objects, each with an ``id`` and perhaps a ``name``.

    Anything else raises ProviderError that points at the provider's notes, where
    the guess is written down; ``brand`` names the provider's lists there
    ("Agvance"), ``status`` is the HTTP status of the answer.
    """
    guess = f"fieldlink's reading of {brand} lists is a guess, see the provider's notes"
    if not isinstance(body, list):
        raise ProviderError(
            f"{provider} answered the {kind} list with something other than a JSON "
            f"array; {guess}",
            provider=provider,
            status=status,
        )
    resources = []
    for value in body:
        if not isinstance(value, dict) or value.get("id") in (None, ""):
            raise ProviderError(
                f"{provider} listed {kind} without an id; {guess}", provider=provider
            )
        resources.append(
            Resource(
                kind=kind,
                id=str(value["id"]),
                name=value.get("name"),
                parent_id=parent,
                data=value,
            )
        )
    return resources


def serve_page(
    args: Mapping[str, str], items: Sequence[_Item], *, max_size: int
) -> tuple[list[_Item], dict[str, str]]:
    """For an emulator: the page of ``items`` that the query ``args`` ask for (pages
    from 0, 20 items unless ``size`` says otherwise) and its ``X-Total-Count``.

    Raises ValueError, with a message for the client, for a page or size that is
    not a number in range; the emulator answers it with HTTP 400.
    """
    try:
        page = int(args.get("page", "0"))
        size = int(args.get("size", "20"))
    except ValueError:
        raise ValueError("page and size must be numbers") from None
    if page < 0 or not 1 <= size <= max_size:
        raise ValueError(f"page must be 0 or more and size 1 to {max_size}")
    chunk = list(items[page * size : (page + 1) * size])
    return chunk, {"X-Total-Count": str(len(items))}
