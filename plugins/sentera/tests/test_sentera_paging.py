"""Reading Sentera's paged answers: when to ask for more, and when to stop short.

The emulator counts pages from 1 as the plugin does; these answers are built by hand
to show what happens when a provider counts otherwise.
"""

import pytest

from fieldlink.errors import ProviderError
from fieldlink_sentera._graphql import read_page


def _answer(total, page, results, page_size=100):
    items = [{"sentera_id": str(n)} for n in range(results)]
    return {
        "fields": {
            "total_count": total,
            "page": page,
            "page_size": page_size,
            "results": items,
        }
    }


def _read(data, page, first_page=1):
    return read_page(
        data, "fields", page=page, page_size=100, first_page=first_page, what="fields"
    )


@pytest.mark.parametrize(
    ("total", "page", "results", "next_page"),
    [(250, 1, 100, 2), (250, 2, 100, 3), (250, 3, 50, None), (200, 2, 100, None)],
)
def test_pages_go_on_until_total_count(total, page, results, next_page):
    assert _read(_answer(total, page, results), page).next_page == next_page


def test_a_smaller_page_size_than_asked_is_followed():
    page = _read(_answer(120, 1, 50, page_size=50), 1)

    assert page.next_page == 2


def test_pages_counted_from_0_fail_instead_of_skipping_fields():
    # Asked from page 1, a provider counting from 0 skips the first 100 fields.
    assert _read(_answer(250, 2, 50), 2).next_page == 3

    with pytest.raises(ProviderError, match="first_page"):
        _read(_answer(250, 3, 0), 3)


def test_settings_can_count_pages_from_0():
    assert _read(_answer(150, 0, 100), 0, first_page=0).next_page == 1
    assert _read(_answer(150, 1, 50), 1, first_page=0).next_page is None


@pytest.mark.parametrize(
    "node",
    [
        {"total_count": 3, "page": 1, "page_size": 100},
        {"page": 1, "page_size": 100, "results": []},
        {"total_count": "3", "page": 1, "page_size": 100, "results": []},
        {"total_count": 3, "page": 1, "page_size": 100, "results": ["x"]},
    ],
)
def test_malformed_answers_are_errors(node):
    with pytest.raises(ProviderError):
        _read({"fields": node}, 1)


def test_an_answer_for_another_page_is_an_error():
    with pytest.raises(ProviderError, match="another page"):
        _read(_answer(250, 1, 100), 2)
