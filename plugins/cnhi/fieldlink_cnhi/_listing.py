"""How CNH's two APIs page their lists.

Neither CNH API documents the paging of its lists (reference: providers.md
section 3, "Response shape and pagination of /companies are [UNCONFIRMED]"). Each
reader here takes the course that cannot lose items silently: an answer it does
not understand raises ProviderError instead of ending the listing.

- AFS Connect follows JSON:API: items in ``data``, the next page in ``links.next``.
- FieldOps is read as numbered pages, ``?page=0&pageSize=100``, with ``items`` and
  ``totalPages`` in the body. Counting starts at 0, since a first page of 1 would
  skip a 0-based API's first page without a sound; a 1-based API reading page 0 as
  page 1 then shows up as a repeated page, which is refused. Names, size and first
  number are settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from fieldlink.errors import ConfigurationError, ProviderError

if TYPE_CHECKING:
    from fieldlink import ProviderContext

#: Items asked for per FieldOps page.
PAGE_SIZE = 100

Item = dict[str, Any]


class LinkPaging:
    """JSON:API paging (AFS Connect): the cursor is the ``links.next`` URL."""

    name = "links"
    #: The host settings it reads: none, the server pages.
    settings: tuple[str, ...] = ()

    def request(
        self, context: ProviderContext, url: str, cursor: str | None
    ) -> tuple[str, dict[str, Any]]:
        """The URL and query of the page ``cursor`` points at."""
        if cursor is None:
            # The server picks the page size: JSON:API leaves page[...] to servers.
            return url, {}
        # Next links are absolute: never send the token to another host.
        if urlsplit(cursor)[:2] != urlsplit(url)[:2]:
            raise ProviderError(
                f"{context.provider.id} sent a next link to another host "
                f"({urlsplit(cursor).netloc}); stopping the listing",
                provider=context.provider.id,
            )
        return cursor, {}

    def read(
        self, context: ProviderContext, body: Any, url: str, cursor: str | None
    ) -> tuple[list[Item], str | None]:
        """The page's items, each with its attributes lifted, and the next cursor."""
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise _shape_error(context, "a JSON:API document with a data array")
        items = [_flatten(resource) for resource in data if isinstance(resource, dict)]
        links = body.get("links")
        link = links.get("next") if isinstance(links, Mapping) else None
        if isinstance(link, Mapping):  # a JSON:API link object
            link = link.get("href")
        return items, urljoin(url, link) if isinstance(link, str) and link else None


class NumberPaging:
    """Numbered pages (FieldOps): the cursor is ``"<page>:<first id of the page
    before>"``, so that a page served twice is noticed."""

    name = "numbers"
    #: The host settings it reads.
    settings = ("page_param", "page_size_param", "page_size", "first_page")

    def request(
        self, context: ProviderContext, url: str, cursor: str | None
    ) -> tuple[str, dict[str, Any]]:
        page, _ = self._position(context, cursor)
        query = {
            context.setting_text("page_param", "page"): page,
            context.setting_text("page_size_param", "pageSize"): context.setting_int(
                "page_size", PAGE_SIZE, minimum=1
            ),
        }
        return url, query

    def read(
        self, context: ProviderContext, body: Any, url: str, cursor: str | None
    ) -> tuple[list[Item], str | None]:
        # A bare array is an API that does not page: the whole list.
        if isinstance(body, list):
            return [item for item in body if isinstance(item, dict)], None
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise _shape_error(context, "an items array, or an array")
        items = [item for item in items if isinstance(item, dict)]
        if not items:
            return [], None

        page, previous_first = self._position(context, cursor)
        first_id = str(items[0].get("id"))
        if first_id == previous_first:
            raise ProviderError(
                f"{context.provider.id} answered page {page} with the page before it: "
                "it does not read the page parameters fieldlink sends; set "
                "page_param, page_size_param or first_page in the provider's settings",
                provider=context.provider.id,
            )
        total_pages = body.get("totalPages")
        if isinstance(total_pages, int) and not isinstance(total_pages, bool):
            first = context.setting_int("first_page", 0, minimum=0)
            more = page - first + 1 < total_pages
        else:
            # No count: read on until an empty page.
            more = True
        return items, f"{page + 1}:{first_id}" if more else None

    @staticmethod
    def _position(
        context: ProviderContext, cursor: str | None
    ) -> tuple[int, str | None]:
        if cursor is None:
            return context.setting_int("first_page", 0, minimum=0), None
        number, _, previous_first = cursor.partition(":")
        if not number.isdigit() or not previous_first:
            raise ConfigurationError(
                f"{cursor!r} is not a {context.provider.id} cursor; pass the "
                "next_cursor of the page before",
                provider=context.provider.id,
            )
        return int(number), previous_first


Paging = LinkPaging | NumberPaging


def _flatten(resource: Mapping[str, Any]) -> Item:
    """A JSON:API resource object as one flat item: id, type and attributes."""
    attributes = resource.get("attributes")
    flat: Item = dict(attributes) if isinstance(attributes, Mapping) else {}
    flat.update(id=resource.get("id"), type=resource.get("type"))
    return flat


def _shape_error(context: ProviderContext, expected: str) -> ProviderError:
    return ProviderError(
        f"{context.provider.id} answered a list without {expected}; its lists are "
        "not documented publicly, so the plugin reads only that shape",
        provider=context.provider.id,
    )
