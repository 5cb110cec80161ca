"""Numbered pages: how the plugin guesses Agvance serves its lists.

Agvance's paging is not published (providers.md section 10). The guess is Leaf's own
convention (leaf-api.md section 6): ``page`` counting from 0, ``size`` items per
page, a JSON array each time and, when present, the total in ``X-Total-Count``.
Without a total, a short or empty page ends the listing. Two rails keep a wrong
guess from looping: a page longer than asked for means the parameters were ignored
and it is the whole list, and a page that begins with the first item of the page
before it raises.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from fieldlink.errors import ConfigurationError, ProviderError

#: Items asked for per page: Leaf's own maximum.
PAGE_SIZE = 100


@attrs.frozen
class Paging:
    """Where a listing stands; cursors read ``<page>:<first id of the page before>``."""

    provider: str
    page_param: str = "page"
    size_param: str = "size"
    first_page: int = 0
    page_size: int = PAGE_SIZE

    def params(self, cursor: str | None) -> dict[str, int]:
        """The query parameters that ask for the page ``cursor`` names."""
        page, _ = self._parse(cursor)
        return {self.page_param: page, self.size_param: self.page_size}

    def next_cursor(
        self, cursor: str | None, ids: Sequence[str], total: int | None
    ) -> str | None:
        """The cursor of the page after this one, or None when this one is the last."""
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


def total_count(header: str | None) -> int | None:
    """``X-Total-Count`` as a number, or None when it is missing or unreadable."""
    if header is None or not header.strip().isdigit():
        return None
    return int(header.strip())
