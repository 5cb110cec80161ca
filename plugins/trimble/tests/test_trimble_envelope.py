"""Reading Trimble's list envelope, whose JSON casing is not confirmed."""

import pytest

from fieldlink.errors import ProviderError
from fieldlink_trimble._envelope import read_envelope


def test_camel_case_as_documented():
    body = {
        "result": [{"id": "a", "name": "A"}],
        "bookmark": {"token": "next", "moreResults": True},
    }

    envelope = read_envelope(body, what="organizations")

    assert envelope.records == [{"id": "a", "name": "A"}]
    assert envelope.next_bookmark == "next"


def test_pascal_case_and_a_string_flag_as_the_dtos_allow():
    body = {
        "Result": [{"Id": "a"}],
        "Bookmark": {"Token": "next", "MoreResults": "True"},
    }

    assert read_envelope(body, what="organizations").next_bookmark == "next"


@pytest.mark.parametrize(
    "bookmark",
    [None, {"token": "next", "moreResults": False}, {"token": "", "moreResults": True}],
)
def test_no_more_results_ends_the_listing(bookmark):
    body = {"result": [], "bookmark": bookmark}

    assert read_envelope(body, what="organizations").next_bookmark is None


@pytest.mark.parametrize("body", [[], {"results": []}, {"result": ["not a record"]}])
def test_a_body_without_a_result_array_is_refused(body):
    with pytest.raises(ProviderError, match="without a result array"):
        read_envelope(body, what="organizations")
