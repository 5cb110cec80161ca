"""Form flows: what the user typed is read and checked, and a provider that refuses
the login refuses the connection."""

from __future__ import annotations

from collections.abc import Mapping

import pluggy
import pytest

from fieldlink import hookspecs
from fieldlink.errors import (
    AuthorizationDenied,
    CredentialRevoked,
    CredentialValidationError,
)
from fieldlink.forms import FormProvider, read_form
from fieldlink.models import AuthResult, Form, FormField, Grant

from .support import TEST_PROVIDER, provider_context

LOGIN = Form(
    (
        FormField("login", "Login"),
        FormField("password", "Password", secret=True),
        FormField("farm", "Farm name", required=False),
    )
)


class Sample(FormProvider):
    """Signs in anyone but ``intruder``, whose login the provider refuses."""

    info = provider_context().provider
    form = LOGIN

    def exchange(self, context, values: Mapping[str, str]) -> Grant:
        if values["login"] == "intruder":
            raise CredentialRevoked(
                "the provider refused the login (HTTP 401)",
                error="invalid_login",
                provider=TEST_PROVIDER,
                status=401,
            )
        return Grant(dict(values), "session-1")


def test_values_are_trimmed_but_secrets_are_taken_as_typed():
    typed = {"login": "  jsmith ", "password": " pass word ", "farm": " North "}

    values = read_form(LOGIN, typed, provider=TEST_PROVIDER)

    assert values == {"login": "jsmith", "password": " pass word ", "farm": "North"}


def test_every_required_field_left_empty_is_named_in_form_order():
    with pytest.raises(CredentialValidationError) as info:
        read_form(LOGIN, {"login": "   ", "farm": ""}, provider=TEST_PROVIDER)

    assert [issue.path for issue in info.value.issues] == ["$.login", "$.password"]
    assert info.value.provider == TEST_PROVIDER


def test_an_optional_field_may_be_left_out():
    values = read_form(LOGIN, {"login": "jsmith", "password": "pw"}, provider="p")

    assert values["farm"] == ""


def test_the_hooks_reach_pluggy_from_the_base_class():
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(Sample())

    assert manager.hook.describe_provider() == Sample.info
    assert manager.hook.start_auth(context=provider_context(), request=None) == LOGIN


def test_the_typed_values_become_the_grant():
    params = {"state": "s", "login": "jsmith", "password": "pw"}

    result = Sample().complete_auth(provider_context(), params)

    assert isinstance(result, AuthResult)
    assert result.grant.access_token == "session-1"
    assert dict(result.grant.payload) == {
        "login": "jsmith",
        "password": "pw",
        "farm": "",
    }


def test_a_refused_login_refuses_the_connection():
    params = {"login": "intruder", "password": "pw"}

    with pytest.raises(AuthorizationDenied) as info:
        Sample().complete_auth(provider_context(), params)

    assert info.value.error == "invalid_login"
    assert info.value.provider == TEST_PROVIDER
    assert "HTTP 401" in str(info.value)
    assert info.value.__suppress_context__
