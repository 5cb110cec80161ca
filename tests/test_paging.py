"""Numbered pages, read over HTTP from a list that ``serve_page`` serves, and the
rails that keep a wrong guess about a provider's paging from looping or losing items.
"""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.wrappers import Request

from fieldlink.errors import ConfigurationError, ProviderError
from fieldlink.http import HttpClient, iter_pages, make_session
from fieldlink.models import Page
from fieldlink.paging import NumberedPages, read_resources, serve_page
from fieldlink.sandbox import json_response, serve

from .support import TEST_PROVIDER, provider_context


class NumberedList:
    """A list of ``size`` fields served in numbered pages, as a provider might.

    ``ignores`` names what the server does not read: ``"page"`` (it answers the
    first page each time) or ``"paging"`` (it answers the whole list).
    ``counts`` is False for a server that sends no X-Total-Count.
    """

    def __init__(self, size: int, *, ignores: str = "", counts: bool = True) -> None:
        self.items = [{"id": f"f{n}", "name": f"Field {n}"} for n in range(size)]
        self.ignores = ignores
        self.counts = counts
        self.requests = 0

    def __call__(self, environ: Any, start_response: Any) -> Any:
        self.requests += 1
        args = dict(Request(environ).args)
        if self.ignores == "page":
            args.pop("page", None)
        if self.ignores == "paging":
            response = json_response(self.items)
        else:
            chunk, headers = serve_page(args, self.items, max_size=100)
            response = json_response(chunk, headers=headers if self.counts else {})
        return response(environ, start_response)


def read_all(app: NumberedList, paging: NumberedPages) -> list[Page]:
    """Every page of ``app``'s list, read over HTTP as a plugin's list_resources
    does."""
    with serve(app) as server, make_session(retries=0) as session:
        api = HttpClient(session, TEST_PROVIDER)

        def fetch(cursor: str | None) -> Page:
            response = api.get(f"{server.url}/fields", params=paging.params(cursor))
            body = api.json(response, what="the fields list")
            items = read_resources(
                body, "fields", provider=TEST_PROVIDER, brand="Test", parent="farm-1"
            )
            return paging.page(cursor, items, response.headers)

        return list(iter_pages(fetch, provider=TEST_PROVIDER))


def _ids(pages: list[Page]) -> list[str]:
    return [item.id for page in pages for item in page.items]


@pytest.mark.parametrize("counts", [True, False], ids=["total", "no-total"])
def test_every_item_is_read_once(counts):
    app = NumberedList(7, counts=counts)

    pages = read_all(app, NumberedPages(TEST_PROVIDER, page_size=3))

    assert [len(page.items) for page in pages] == [3, 3, 1]
    assert _ids(pages) == [item["id"] for item in app.items]
    assert pages[0].items[0].name == "Field 0"
    assert pages[0].items[0].parent_id == "farm-1"


def test_the_total_saves_asking_for_an_empty_page():
    counted, uncounted = NumberedList(6), NumberedList(6, counts=False)

    read_all(counted, NumberedPages(TEST_PROVIDER, page_size=3))
    pages = read_all(uncounted, NumberedPages(TEST_PROVIDER, page_size=3))

    assert counted.requests == 2
    # Without a total, a full last page looks like more to come.
    assert uncounted.requests == 3
    assert pages[-1].items == ()


def test_a_server_that_ignores_the_page_number_is_stopped():
    app = NumberedList(7, ignores="page")

    with pytest.raises(ProviderError, match="page_param"):
        read_all(app, NumberedPages(TEST_PROVIDER, page_size=3))


def test_a_server_that_ignores_paging_gives_the_whole_list_once():
    app = NumberedList(7, ignores="paging")

    pages = read_all(app, NumberedPages(TEST_PROVIDER, page_size=3))

    assert len(_ids(pages)) == 7
    assert app.requests == 1


def test_pages_may_count_from_another_number():
    paging = NumberedPages(TEST_PROVIDER, first_page=1, page_size=2)

    assert paging.params(None) == {"page": 1, "size": 2}
    cursor = paging.next_cursor(None, ["a", "b"], 3)
    assert paging.params(cursor) == {"page": 2, "size": 2}
    assert paging.next_cursor(cursor, ["c"], 3) is None


def test_a_cursor_from_elsewhere_is_refused():
    with pytest.raises(ConfigurationError, match="next_cursor"):
        NumberedPages(TEST_PROVIDER).params("a-bookmark")


def test_the_host_settings_name_the_paging():
    settings = {"page_param": "p", "size_param": "per", "first_page": 1, "page_size": 9}

    paging = NumberedPages.from_settings(provider_context(settings))

    assert paging == NumberedPages(TEST_PROVIDER, "p", "per", 1, 9)
    assert NumberedPages.from_settings(provider_context()) == NumberedPages(
        TEST_PROVIDER
    )


@pytest.mark.parametrize(
    ("setting", "value"),
    [("page_param", ""), ("size_param", 1), ("first_page", -1), ("page_size", 0)],
)
def test_wrong_paging_settings_are_named(setting, value):
    with pytest.raises(ConfigurationError, match=setting):
        NumberedPages.from_settings(provider_context({setting: value}))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"page": "x"}, "page and size must be numbers"),
        ({"page": "-1"}, "page must be 0 or more and size 1 to 100"),
        ({"size": "0"}, "page must be 0 or more and size 1 to 100"),
        ({"size": "101"}, "page must be 0 or more and size 1 to 100"),
    ],
)
def test_an_emulator_refuses_pages_out_of_range(args, message):
    with pytest.raises(ValueError, match=message):
        serve_page(args, ["a"], max_size=100)


def test_an_emulator_serves_20_items_a_page_unless_asked():
    chunk, headers = serve_page({}, list(range(45)), max_size=100)

    assert chunk == list(range(20))
    assert headers == {"X-Total-Count": "45"}
    assert serve_page({"page": "9"}, [1], max_size=100) == ([], {"X-Total-Count": "1"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"items": []}, "something other than a JSON array"),
        ([{"name": "no id"}], "listed fields without an id"),
        ([{"id": ""}], "listed fields without an id"),
        (["f1"], "listed fields without an id"),
    ],
)
def test_a_list_that_is_not_the_guessed_shape_says_so(body, message):
    with pytest.raises(ProviderError, match=message) as info:
        read_resources(body, "fields", provider=TEST_PROVIDER, brand="Test", status=200)

    assert "fieldlink's reading of Test lists is a guess" in str(info.value)
