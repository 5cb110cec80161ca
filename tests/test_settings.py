"""The typed settings a plugin reads from its context: the host's value or the
default, else one ConfigurationError that says what to write instead."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from fieldlink import Fieldlink
from fieldlink._plugins import PluginRegistry, _entry_points
from fieldlink.errors import ConfigurationError
from fieldlink.testing import CALLBACK_URI

from .support import TEST_PROVIDER, USER, provider_context


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
        "the test-provider setting 'page_size' given in code must be a whole number "
        "of at least 1; fix settings={'test-provider': {'page_size': ...}} or leave "
        "it out for the default"
    )


def test_a_setting_read_from_a_file_is_fixed_in_that_file():
    context = provider_context(
        {"page_size": 0}, files={"page_size": "/etc/fieldlink.toml"}
    )

    with pytest.raises(ConfigurationError) as info:
        context.setting_int("page_size", 100, minimum=1)

    assert str(info.value) == (
        "the test-provider setting 'page_size' in the settings file "
        "/etc/fieldlink.toml must be a whole number of at least 1; fix page_size in "
        "its [test-provider] table or leave it out for the default"
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
    assert "'pattern' given in code must be a regular expression" in str(error)


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None])
def test_a_flag_is_true_or_false_and_nothing_taken_for_either(value):
    assert "must be true or false" in _refusal("pkce", value, "setting_flag", False)


def test_a_choice_is_one_of_its_choices():
    context = provider_context({"client_auth": "client_secret_post"})

    choices = ("basic", "client_secret_post")
    assert context.setting_choice("client_auth", "basic", choices) == choices[1]
    assert "must be one of 'basic', 'post'" in _refusal(
        "client_auth", ["post"], "setting_choice", "basic", ("basic", "post")
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["ag1", "ag2"], ("ag1", "ag2")),
        (("ag1",), ("ag1",)),
        # The convenience: one string is split on white space, as OAuth's scope is.
        ("ag1 ag2", ("ag1", "ag2")),
        (" ag1\tag2 ", ("ag1", "ag2")),
        ("", ()),
    ],
)
def test_words_are_a_list_or_one_string_split_on_white_space(value, words):
    assert provider_context({"scopes": value}).setting_words("scopes", ()) == words


@pytest.mark.parametrize("value", [5, ["ag1", 2], ["ag1 ag2"], [""], {"ag1": True}])
def test_words_are_never_coerced(value):
    message = _refusal("scopes", value, "setting_words", ())

    assert "must be a list of strings without spaces, or one string of them" in message


def test_texts_map_known_keys_to_strings():
    context = provider_context({"paths": {"farms": "/farms"}})

    assert context.setting_texts("paths", {}, keys={"farms", "fields"}) == {
        "farms": "/farms"
    }
    for value in ({"farm": "/farms"}, {"farms": 1}, {"farms": ""}, "/farms"):
        assert "a mapping of farms, fields to non-empty strings" in _refusal(
            "paths", value, "setting_texts", {}, keys={"farms", "fields"}
        )


def test_a_setting_the_provider_does_not_read_is_refused_with_those_it_does():
    with pytest.raises(ConfigurationError) as info:
        provider_context({"page_sise": 10}, declared=("page_size", "first_page"))

    assert str(info.value) == (
        "test-provider reads no setting named 'page_sise' (given in code); its "
        "settings are first_page, page_size: correct the name or remove it"
    )


def test_a_provider_that_reads_no_setting_refuses_every_one():
    with pytest.raises(ConfigurationError) as info:
        provider_context({"page_size": 10, "pkce": True}, declared=())

    assert str(info.value) == (
        "test-provider reads no settings named 'page_size', 'pkce' (given in code); "
        "it reads none: remove them"
    )


def test_a_provider_that_declares_nothing_has_its_names_unchecked():
    assert provider_context({"anything": 1}).settings == {"anything": 1}


# Every provider in this repository, through the host's API


PROVIDERS = sorted(entry_point.name for entry_point in _entry_points())
#: A value no setting of any kind takes: not a number, a flag, a string, a list of
#: strings or statuses, nor a mapping.
WRONG = [[1]]


def _declared(provider: str) -> tuple[str, ...]:
    registry = PluginRegistry()
    registry.load_entry_points()
    return registry.provider(provider).info.settings or ()


def test_every_provider_declares_the_settings_it_reads():
    for provider in PROVIDERS:
        assert _declared(provider), provider


def _use(sandboxed: Any) -> None:
    """Connect, list every kind to its end, and refresh: what reads settings."""
    sandboxed.connect(USER)
    fieldlink, provider = sandboxed.fieldlink, sandboxed.provider
    info = fieldlink.provider(provider).info
    for kind in info.resource_kinds:
        list(fieldlink.iter_resources(USER, provider, kind))
    if info.issues_access_tokens:
        fieldlink.refresh(USER, provider)


def _refused_refresh(sandboxed: Any) -> None:
    refusal = {"error": "invalid_request", "error_description": "token not valid"}
    sandboxed.emulator.fail_next_token_request(400, refusal)
    sandboxed.fieldlink.refresh(USER, sandboxed.provider)


def _bare_401(sandboxed: Any) -> None:
    sandboxed.emulator.detailed_errors = False
    sandboxed.emulator.revoke()
    sandboxed.fieldlink.list_resources(USER, sandboxed.provider, "jobdata")


#: Settings read only when the provider refuses something, and how to make it.
READ_ONLY_AFTER_A_REFUSAL = {
    ("raven-slingshot", "bare_401_invalidates"): _bare_401,
    ("trimble", "revoking_errors"): _refused_refresh,
}


@pytest.mark.parametrize(
    ("provider", "setting"),
    [(provider, setting) for provider in PROVIDERS for setting in _declared(provider)],
)
def test_every_setting_of_every_provider_is_checked_when_read(
    sandbox, provider, setting
):
    sandboxed = sandbox(provider)
    sandboxed.fieldlink.override_settings(provider, {setting: WRONG})
    refuse = READ_ONLY_AFTER_A_REFUSAL.get((provider, setting))

    # Never a TypeError or a PluginError from inside the plugin: one named error.
    with pytest.raises(ConfigurationError) as info:
        _use(sandboxed)
        if refuse is not None:
            refuse(sandboxed)
    assert info.value.provider == provider
    assert str(info.value).startswith(
        f"the {provider} setting {setting!r} given in code must be "
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_misspelt_setting_is_refused_before_any_hook_runs(fieldlink, provider):
    fieldlink.override_settings(provider, {"page_sise": 10})

    with pytest.raises(ConfigurationError) as info:
        fieldlink.start_auth(USER, provider, redirect_uri=CALLBACK_URI)

    declared = ", ".join(sorted(_declared(provider)))
    assert f"{provider} reads no setting named 'page_sise'" in str(info.value)
    assert f"its settings are {declared}:" in str(info.value)


# The settings file


@pytest.fixture
def settings_file(fieldlink_home, tmp_path, monkeypatch):
    """Write ``text`` as the FIELDLINK_SETTINGS file; return a Fieldlink that reads
    it, with the example app of every provider registered."""
    made: list[Fieldlink] = []

    def write(text: str) -> Fieldlink:
        path = tmp_path / "fieldlink.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("FIELDLINK_SETTINGS", str(path))
        fieldlink = Fieldlink()
        made.append(fieldlink)
        for provider in PROVIDERS:
            _register_example_app(fieldlink, provider)
        return fieldlink

    yield write
    for fieldlink in made:
        fieldlink.close()


def _register_example_app(fieldlink: Fieldlink, provider: str) -> None:
    loaded = fieldlink.provider(provider)
    if not loaded.schema.app_fields:
        return
    example = loaded.schema.examples[0]
    app = {name: example[name] for name in loaded.schema.app_fields if name in example}
    for environment in loaded.info.environments:
        fieldlink.register_app(provider, app, environment=environment)


def test_a_string_of_scopes_is_split_on_white_space(settings_file):
    fieldlink = settings_file('[john-deere]\nscopes = "ag1 ag2"\n')

    start = fieldlink.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)

    assert dict(parse_qsl(urlsplit(start.url).query))["scope"] == "ag1 ag2"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("[climate-field-view]\nscopes = 5", "a list of strings without spaces"),
        ("[climate-field-view]\npkce = 'yes'", "true or false"),
    ],
)
def test_a_wrong_value_in_the_file_names_the_provider_setting_and_file(
    settings_file, tmp_path, table, expected
):
    fieldlink = settings_file(table + "\n")
    setting = table.splitlines()[1].split(" =")[0]

    with pytest.raises(ConfigurationError) as info:
        fieldlink.start_auth(USER, "climate-field-view", redirect_uri=CALLBACK_URI)

    message = str(info.value)
    assert message.startswith(
        f"the climate-field-view setting {setting!r} in the settings file "
        f"{tmp_path / 'fieldlink.toml'} must be {expected}"
    )
    assert f"fix {setting} in its [climate-field-view] table" in message


def test_an_unknown_key_in_the_file_is_refused_with_the_valid_names(settings_file):
    fieldlink = settings_file('[john-deere]\nscope = "ag1"\n')

    with pytest.raises(ConfigurationError) as info:
        fieldlink.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)

    assert "john-deere reads no setting named 'scope' (in the settings file " in str(
        info.value
    )
    assert "its settings are client_auth, default_expires_in, pkce, scopes" in str(
        info.value
    )


def test_a_table_for_an_unknown_provider_is_warned_of(settings_file, caplog):
    with caplog.at_level(logging.WARNING, logger="fieldlink._client"):
        fieldlink = settings_file("[deere]\npkce = true\n\n[john-deere]\npkce = true\n")

    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert "(FIELDLINK_SETTINGS) has settings for 'deere', which no " in message
    assert f"(installed: {', '.join(PROVIDERS)})" in message
    # The rest of the file still applies.
    start = fieldlink.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)
    assert "code_challenge" in start.url


def test_settings_in_code_for_an_unknown_provider_are_warned_of(fieldlink_home, caplog):
    with (
        caplog.at_level(logging.WARNING, logger="fieldlink._client"),
        Fieldlink(settings={"deere": {"pkce": True}}) as fieldlink,
    ):
        fieldlink.providers()

    assert "Fieldlink(settings=..., endpoints=...) has settings for 'deere'" in (
        caplog.text
    )


def test_a_blank_settings_file_variable_is_unset(fieldlink_home, monkeypatch):
    monkeypatch.setenv("FIELDLINK_SETTINGS", "  ")

    with Fieldlink() as fieldlink:
        _register_example_app(fieldlink, "john-deere")
        start = fieldlink.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)

    assert "code_challenge" not in start.url


# Endpoint overrides

DEERE_ENDPOINTS = "api_base, authorize_url, discovery_url, revoke_url, token_url"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            '[john-deere]\nendpoints = "https://proxy.example"',
            "the john-deere endpoints in the settings file {path} must be a table of "
            "endpoint names to URLs",
        ),
        (
            "[john-deere.endpoints]\nauthorize_url = 5",
            "the john-deere endpoint 'authorize_url' (in the settings file {path}) "
            "must be an absolute http or https URL with a host",
        ),
        (
            '[john-deere.endpoints]\nauthorise_url = "https://proxy.example/authorize"',
            "john-deere has no endpoint named 'authorise_url' (in the settings file "
            f"{{path}}); its endpoints are {DEERE_ENDPOINTS}; or an environment "
            "(STAGE, PRODUCTION) holding a table of them",
        ),
        (
            "[john-deere.endpoints.STAGE]\nauthorize_url = 7",
            "the john-deere endpoint 'authorize_url' for STAGE (in the settings file "
            "{path}) must be an absolute http or https URL with a host",
        ),
        (
            '[john-deere.endpoints.STAGE]\nauthorise_url = "https://proxy.example/a"',
            "john-deere has no endpoint named 'authorise_url' for STAGE (in the "
            f"settings file {{path}}); its endpoints are {DEERE_ENDPOINTS}",
        ),
        (
            '[john-deere.endpoints]\nSTAGE = "https://proxy.example"',
            "the john-deere endpoints for STAGE in the settings file {path} must be a "
            "table",
        ),
        (
            '[john-deere.endpoints.STAGING]\nauthorize_url = "https://proxy.example/a"',
            "john-deere has no endpoint named 'STAGING' (in the settings file {path})",
        ),
    ],
    ids=[
        "not-a-table",
        "number",
        "misspelt",
        "scoped-number",
        "scoped-misspelt",
        "scoped-not-a-table",
        "unknown-environment",
    ],
)
def test_a_wrong_endpoint_in_the_file_is_named_with_the_file(
    settings_file, tmp_path, table, expected
):
    fieldlink = settings_file(table + "\n")

    with pytest.raises(ConfigurationError) as info:
        fieldlink.start_auth(
            USER, "john-deere", redirect_uri=CALLBACK_URI, environment="STAGE"
        )

    assert str(info.value).startswith(expected.format(path=tmp_path / "fieldlink.toml"))
    assert info.value.provider == "john-deere"


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "proxy.example/authorize",
        "/authorize",
        "ftp://proxy.example/authorize",
        "https:///authorize",
        "https://proxy.example:port/authorize",
        "https://proxy..example/authorize",
    ],
)
def test_an_endpoint_is_an_absolute_http_url_with_a_host(settings_file, url):
    fieldlink = settings_file(f'[john-deere.endpoints]\nauthorize_url = "{url}"\n')

    with pytest.raises(ConfigurationError, match="must be an absolute http or https"):
        fieldlink.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)


def test_a_wrong_endpoint_table_spoils_only_its_provider(settings_file):
    fieldlink = settings_file('[john-deere]\nendpoints = "https://proxy.example"\n')

    # Reading the file and the other providers are not held up by the bad table.
    start = fieldlink.start_auth(USER, "climate-field-view", redirect_uri=CALLBACK_URI)

    info = fieldlink.provider("climate-field-view").info
    assert start.url.startswith(info.endpoints["PRODUCTION"]["authorize_url"])
    with pytest.raises(ConfigurationError, match="the john-deere endpoints in the"):
        fieldlink.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)


def test_the_cli_names_a_wrong_endpoint_in_one_line(settings_file, tmp_path):
    from click.testing import CliRunner

    from fieldlink.cli import cli

    settings_file('[john-deere.endpoints]\nauthorise_url = "https://proxy.example"\n')
    runner = CliRunner()

    listed = runner.invoke(cli, ["providers"])
    connect = runner.invoke(
        cli, ["connect", "john-deere", "--user", USER, "--no-browser", "--port", "0"]
    )

    assert listed.exit_code == 0, listed.output
    assert connect.exit_code == 1
    assert "Traceback" not in connect.output
    assert connect.output.count("\n") == 1
    assert "no endpoint named 'authorise_url'" in connect.output
    assert str(tmp_path / "fieldlink.toml") in connect.output


def test_endpoints_in_the_file_apply_to_every_or_one_environment(settings_file):
    fieldlink = settings_file(
        "[john-deere.endpoints]\n"
        'authorize_url = "https://proxy.example/authorize"\n'
        "[john-deere.endpoints.STAGE]\n"
        'authorize_url = "http://127.0.0.1:8080/stage/authorize"\n'
    )

    production = fieldlink.start_auth(
        USER, "john-deere", redirect_uri=CALLBACK_URI, environment="PRODUCTION"
    )
    stage = fieldlink.start_auth(
        USER, "john-deere", redirect_uri=CALLBACK_URI, environment="STAGE"
    )

    assert production.url.startswith("https://proxy.example/authorize?")
    assert stage.url.startswith("http://127.0.0.1:8080/stage/authorize?")


def test_endpoints_given_in_code_are_checked_and_named_as_code(fieldlink_home):
    with Fieldlink(endpoints={"john-deere": {"token_uri": "https://x.example"}}) as fl:
        _register_example_app(fl, "john-deere")
        with pytest.raises(ConfigurationError) as info:
            fl.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)

    assert str(info.value).startswith(
        "john-deere has no endpoint named 'token_uri' (given in code, by "
        "Fieldlink(endpoints=...) or override_endpoints); its endpoints are "
    )


def test_endpoints_added_later_are_checked_when_used(fieldlink):
    _register_example_app(fieldlink, "john-deere")
    fieldlink.override_endpoints("john-deere", {"STAGE": {"token_url": 7}})

    with pytest.raises(
        ConfigurationError, match=r"'token_url' for STAGE \(given in code"
    ):
        fieldlink.start_auth(
            USER, "john-deere", redirect_uri=CALLBACK_URI, environment="STAGE"
        )
    with pytest.raises(ConfigurationError, match="must be a table of endpoint names"):
        fieldlink.override_endpoints("john-deere", "https://proxy.example")


def test_endpoints_added_later_apply_over_the_file(settings_file):
    fieldlink = settings_file(
        '[john-deere.endpoints]\nauthorize_url = "https://file.example/authorize"\n'
    )

    fieldlink.override_endpoints(
        "john-deere", {"authorize_url": "https://code.example/authorize"}
    )
    start = fieldlink.start_auth(USER, "john-deere", redirect_uri=CALLBACK_URI)

    assert start.url.startswith("https://code.example/authorize?")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_emulator_names_only_endpoints_its_provider_has(fieldlink, provider):
    """The sandbox's overrides are checked like the host's: an emulator that served
    a name its provider does not read would be refused."""
    emulator = fieldlink.registry.call(provider, "sandbox_emulator", settings={})
    info = fieldlink.provider(provider).info
    endpoints = emulator.endpoints("http://127.0.0.1:9")
    scoped = [endpoints[env] for env in info.environments if env in endpoints]
    names = {name for table in [endpoints, *scoped] for name in table}

    assert names - set(info.environments) <= set(info.endpoint_names)
