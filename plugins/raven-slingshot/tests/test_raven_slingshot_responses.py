"""Reading Slingshot's answers, including shapes the emulator does not produce.

These build responses by hand: the bodies of the real API are only partly known,
and the plugin must stay safe for every shape Slingshot's documentation leaves open.
"""

import time
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest
import requests

from fieldlink.errors import CredentialRevoked, ProviderError
from fieldlink_raven_slingshot._responses import (
    blamed,
    check_key_summary,
    read_index,
    refusal,
)
from fieldlink_raven_slingshot.signing import TIMESTAMP_HEADER

NOW = time.time()


def _refused(body, *, skew=None):
    """A 401 with ``body``; with ``skew``, a Date that far after the signed time."""
    headers = {} if skew is None else {TIMESTAMP_HEADER: str(int(NOW - skew))}
    response = requests.Response()
    response.status_code = 401
    response._content = body.encode()
    response.request = requests.Request(
        "GET", "https://api.ravenslingshot.com/jobdata", headers=headers
    ).prepare()
    if skew is not None:
        response.headers["Date"] = formatdate(NOW, usegmt=True)
    return response


@pytest.mark.parametrize(
    ("body", "skew", "causes"),
    [
        ('{"Message": "Invalid Access Key"}', 0, {"access key"}),
        (
            "<error>Invalid API Key or Access Key</error>",
            None,
            {"API key", "access key"},
        ),
        ("Request TimeStamp expired", None, {"timestamp"}),
        (
            '{"Message": "Missing X-SS-AccessKey header"}',
            None,
            {"header", "access key"},
        ),
        ('{"message": "invalid signature"}', 0, {"signature"}),
        ("", 200, {"clock"}),
        ("", -200, {"clock"}),
        ("", 30, set()),
        ("", None, set()),
    ],
)
def test_what_a_refusal_blames(body, skew, causes):
    assert blamed(_refused(body, skew=skew)) == causes


@pytest.mark.parametrize(
    ("body", "skew", "invalidates"),
    [
        ('{"Message": "Invalid Access Key"}', None, True),
        ('{"Message": "Access Key has expired"}', 0, True),
        # A drifted clock is reason enough to doubt the access key is to blame.
        ('{"Message": "Invalid Access Key"}', 300, False),
        ("<error>Invalid API Key or Access Key</error>", None, False),
        ('{"Message": "Missing X-SS-AccessKey header"}', None, False),
        ("Request timestamp is too old", 0, False),
        ("", None, False),
    ],
)
def test_only_a_refusal_that_blames_the_access_key_alone_invalidates(
    body, skew, invalidates
):
    error = refusal(
        _refused(body, skew=skew), what="the list", bare_401_invalidates=False
    )

    assert isinstance(error, CredentialRevoked) is invalidates
    assert isinstance(error, ProviderError)


def test_a_bare_refusal_invalidates_only_when_asked_and_the_clock_agrees():
    def invalidates(skew):
        error = refusal(_refused("", skew=skew), what="x", bare_401_invalidates=True)
        return isinstance(error, CredentialRevoked)

    assert invalidates(None)
    assert invalidates(2)
    assert not invalidates(400)


@pytest.mark.parametrize(
    "summary",
    [
        {"IsActive": False},
        {"isactive": False},
        {"IsActive": True, "ExpirationDateTime": "2020-01-01T00:00:00Z"},
        {"ExpirationDateTime": "2020-01-01T00:00:00"},
    ],
)
def test_an_inactive_or_expired_key_summary_is_refused(summary):
    with pytest.raises(CredentialRevoked):
        check_key_summary(summary)


@pytest.mark.parametrize(
    "summary",
    [
        {"IsActive": True, "ExpirationDateTime": "2999-01-01T00:00:00+00:00"},
        {"AccessKey": "k", "ID": 3},
        {"IsActive": True, "ExpirationDateTime": "next spring"},
    ],
)
def test_a_usable_key_summary_passes(summary):
    check_key_summary(summary)


def test_an_expiry_without_offset_is_read_as_late_as_it_can_be():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    six_hours_ago = (now - timedelta(hours=6)).replace(tzinfo=None).isoformat()
    a_day_ago = (now - timedelta(hours=24)).replace(tzinfo=None).isoformat()

    # Six hours ago in UTC may still be the future in a time zone west of it.
    check_key_summary({"ExpirationDateTime": six_hours_ago}, now=now)
    with pytest.raises(CredentialRevoked):
        check_key_summary({"ExpirationDateTime": a_day_ago}, now=now)


def test_an_index_is_read_in_any_case_whatever_its_list_is_called():
    body = {
        "totalcount": 3,
        "isnextpage": True,
        "results": [{"ID": 1, "Name": "a"}, {"id": 2}],
    }

    items, has_next = read_index(body, what="the list")

    assert (len(items), has_next) == (2, True)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"Items": [{"id": 1}]},
        {"IsNextPage": "false", "Items": [{"id": 1}]},
        {"IsNextPage": False, "Items": [{"id": 1}], "Links": []},
        {"IsNextPage": False, "Items": [{"name": "no id"}]},
        {"IsNextPage": True, "Items": []},
    ],
    ids=["not-object", "no-flag", "flag-not-bool", "two-lists", "no-id", "empty-next"],
)
def test_an_index_that_cannot_be_trusted_is_refused(body):
    with pytest.raises(ProviderError, match="the list"):
        read_index(body, what="the list")
