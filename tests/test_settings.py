"""The typed settings a plugin reads from its context: the host's value or the
default, else one ConfigurationError that says what to write instead."""

from __future__ import annotations

from typing import Any

import pytest

from fieldlink.errors import ConfigurationError

from .support import TEST_PROVIDER, provider_context


def _refusal(setting: str, value: Any, read: str, *args: Any, **kwargs: Any) -> str:
    """The message of the error that reading ``setting`` set to ``value`` raises."""
    context = provider_context({setting: value})
    with pytest.raises(ConfigurationError) as info:
        getattr(context, read)(setting, *args, **kwargs)
    assert info.value.provider == TEST_PROVIDER
    return str(info.value)


def test_the_message_names_the_provider_the_setting_and_the_fix():
    message = _refusal("page_size", 0, "setting_int", 100, minimum=1)

    assert message == (
        "the test-provider setting 'page_size' must be a whole number of at least 1; "
        "fix settings={'test-provider': {'page_size': ...}} or leave it out for the "
        "default"
    )


def test_defaults_apply_when_the_host_sets_nothing():
    context = provider_context()

    assert context.setting_int("page_size", 100, minimum=1) == 100
    assert context.setting_number("lifetime", 1.5, above=0) == 1.5
    assert context.setting_text("page_param", "page") == "page"
    assert context.setting_statuses("revoking", (401, 403)) == {401, 403}
    assert context.setting_headers("headers", {"X-Key": "{apiKey}"}, fields={"apiKey"})


def test_the_host_value_wins_over_the_default():
    context = provider_context(
        {"page_size": 25, "lifetime": 60, "page_param": "p", "revoking": [400]}
    )

    assert context.setting_int("page_size", 100, minimum=1) == 25
    assert context.setting_number("lifetime", 1.5, above=0) == 60
    assert context.setting_text("page_param", "page") == "p"
    assert context.setting_statuses("revoking", (401,)) == frozenset({400})


@pytest.mark.parametrize("value", [True, "10", 2.5, None])
def test_a_whole_number_is_an_int_and_never_a_bool(value):
    assert "a whole number" in _refusal("page_size", value, "setting_int", 100)


@pytest.mark.parametrize(
    ("value", "bounds", "expected"),
    [
        (0, {"above": 0}, "must be a number of seconds above 0"),
        (-1, {"minimum": 0}, "must be a number of seconds, 0 or more"),
        ("60", {"above": 0}, "must be a number of seconds above 0"),
        (False, {}, "must be a number of seconds;"),
    ],
)
def test_numbers_are_checked_against_their_bounds(value, bounds, expected):
    message = _refusal(
        "lifetime", value, "setting_number", 60, unit="seconds", **bounds
    )

    assert expected in message


def test_bounds_let_their_edge_values_through():
    context = provider_context({"days": 0, "seconds": 0.5})

    assert context.setting_number("days", 89, minimum=0) == 0
    assert context.setting_number("seconds", 60, above=0) == 0.5


def test_text_is_non_empty_unless_empty_is_allowed():
    context = provider_context({"scheme": ""})

    assert context.setting_text("scheme", "Bearer", empty=True) == ""
    assert "a non-empty string" in _refusal("scheme", "", "setting_text", "Bearer")
    assert "must be a string" in _refusal(
        "scheme", 1, "setting_text", "Bearer", empty=True
    )


@pytest.mark.parametrize("value", [[500], ["401"], 401, [399]])
def test_statuses_are_4xx_codes_only(value):
    assert "a list of 4xx status codes" in _refusal(
        "revoking", value, "setting_statuses", (401,)
    )


@pytest.mark.parametrize(
    "value",
    [
        {"X-Password": "{password}"},
        {"X-Key": "{apiKey"},
        {"X-Key": 1},
        ["X-Key"],
    ],
    ids=["unlisted-field", "unmatched-brace", "not-a-template", "not-a-mapping"],
)
def test_header_templates_may_name_the_listed_fields_only(value):
    message = _refusal(
        "headers", value, "setting_headers", {}, fields={"apiKey", "token"}
    )

    assert "templates of ['apiKey', 'token']" in message
    # The value may carry a secret the host pasted: it is never repeated.
    assert "password" not in message


def test_header_templates_come_back_as_written():
    headers = {"Authorization": "Bearer {token}", "X-Key": "{apiKey}", "X-Fixed": "1"}
    context = provider_context({"headers": headers})

    read = context.setting_headers("headers", {}, fields={"apiKey", "token"})

    assert read == headers


def test_a_plugin_check_of_its_own_raises_the_same_error():
    error = provider_context().invalid_setting("pattern", "a regular expression")

    assert isinstance(error, ConfigurationError)
    assert "'pattern' must be a regular expression" in str(error)
