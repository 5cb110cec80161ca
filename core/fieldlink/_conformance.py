"""The conformance suite: what every provider plugin must do, proven against its own
emulator over real HTTP on loopback.

A plugin's tests switch it on in one line::

    from fieldlink.testing import conformance_tests

    TestConformance = conformance_tests("acme")

Keyword arguments become the emulator's settings (``size``, ``seed``). Each test
says in its failure message what the plugin must change; a test that does not apply
to the provider (a consent page for a form flow, a refresh for a provider without
access tokens) is skipped with the reason.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from .errors import (
    AuthorizationDenied,
    AuthStateError,
    ConfigurationError,
    CredentialInvalid,
    CredentialRevoked,
    CredentialValidationError,
    FieldlinkError,
)
from .models import CredentialStatus, Page, ProviderInfo, Resource
from .sandbox import CANARY, OAuthEmulator

if TYPE_CHECKING:
    from ._client import Fieldlink
    from .testing import SandboxedProvider

#: The grower every test connects.
USER = "conformance-grower"
#: Resources the emulator seeds for the paging test, unless the plugin says.
PAGING_SIZE = 150
#: More pages than any listing in an emulator should need: a loop guard.
MAX_PAGES = 1000
UNKNOWN_FIELD = "conformanceUnknownField"

E = TypeVar("E", bound=FieldlinkError)


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _expect(condition: object, message: str) -> None:
    # Explicit messages: pytest does not rewrite asserts in installed packages.
    if not condition:
        _fail(message)


def _refused(error_class: type[E], call: Callable[[], object], why: str) -> E:
    """The error ``call`` raises, which must be an ``error_class``."""
    try:
        call()
    except error_class as error:
        return error
    except FieldlinkError as error:
        _fail(f"{why}; it raised {type(error).__name__} instead: {error}")
    _fail(f"{why}; it raised nothing")


class ConformanceSuite:
    """The tests every provider plugin must pass; see :func:`conformance_tests`.

    Subclass it with a name pytest collects (``TestAcmeConformance``) and set
    ``provider``, or let :func:`conformance_tests` do both.
    """

    provider: str = ""
    #: Emulator settings for every test (``size``, ``seed``).
    settings: Mapping[str, Any] = {}

    @pytest.fixture(autouse=True)
    def _no_secret_in_logs_or_output(self, canary_sweep: None) -> Iterator[None]:
        yield

    @pytest.fixture
    def sandboxed(self, sandbox: Callable[..., SandboxedProvider]) -> SandboxedProvider:
        return sandbox(self.provider, **self.settings)

    @pytest.fixture
    def info(self, fieldlink: Fieldlink) -> ProviderInfo:
        return fieldlink.provider(self.provider).info

    # The static contract

    def test_passes_fieldlink_check(self, fieldlink: Fieldlink) -> None:
        from ._check import _location, check_plugin

        problems = check_plugin(self.provider, fieldlink.provider(self.provider).plugin)
        _expect(
            not problems,
            "`fieldlink check` finds problems:\n"
            + "\n".join(f"- {_location(p)}{p.message}; fix: {p.fix}" for p in problems),
        )

    # Connecting

    def test_connects_through_the_whole_flow(
        self, sandboxed: SandboxedProvider, info: ProviderInfo
    ) -> None:
        connection = sandboxed.connect(USER)
        credential = connection.credential
        host = sandboxed.fieldlink

        _expect(
            credential.user_id == USER and credential.provider == self.provider,
            "complete_auth stored the credential under another user or provider",
        )
        _expect(
            credential.status is CredentialStatus.ACTIVE, "the credential is not active"
        )
        issues = host.provider(self.provider).schema.issues(credential.payload)
        _expect(
            not issues,
            "complete_auth returned a payload that breaks the credential schema"
            + "".join(f"; {issue.path} {issue.message}" for issue in issues),
        )
        if info.issues_access_tokens:
            _expect(
                credential.access_token,
                "complete_auth returned no access token; set Grant.access_token, or "
                "ProviderInfo(issues_access_tokens=False) if the provider has none",
            )
        _expect(
            host.credential(USER, self.provider).id == credential.id,
            "the stored credential is not the one complete_auth returned",
        )

    def test_refusal_at_the_consent_page(self, sandboxed: SandboxedProvider) -> None:
        host = sandboxed.fieldlink
        start = host.start_auth(USER, self.provider, redirect_uri="http://127.0.0.1:9/")
        if start.kind == "form":
            pytest.skip("a form flow has no consent page to refuse")

        params = sandboxed.callback_params(USER, decision="deny")
        _expect(
            params.get("error"),
            "the emulator's Deny button must send the user back with an error "
            "parameter (RFC 6749 section 4.1.2.1)",
        )
        _refused(
            AuthorizationDenied,
            lambda: host.complete_auth(self.provider, params),
            "a refused consent must raise AuthorizationDenied",
        )
        _expect(not host.credentials(USER), "a refused consent stored a credential")

    def test_a_tampered_state_is_refused(self, sandboxed: SandboxedProvider) -> None:
        host = sandboxed.fieldlink
        params = sandboxed.callback_params(USER)
        state = params["state"]
        forged = state[:-1] + ("A" if state[-1] != "A" else "B")

        _refused(
            AuthStateError,
            lambda: host.complete_auth(self.provider, {**params, "state": forged}),
            "a callback with a state fieldlink did not issue must be refused",
        )
        _expect(not host.credentials(USER), "a forged callback stored a credential")
        # The forgery must not spend the genuine flow.
        connection = host.complete_auth(self.provider, params)
        _expect(connection.credential.user_id == USER, "the genuine callback failed")

    def test_a_replayed_state_is_refused(self, sandboxed: SandboxedProvider) -> None:
        host = sandboxed.fieldlink
        params = sandboxed.callback_params(USER)
        first = host.complete_auth(self.provider, params).credential

        _refused(
            AuthStateError,
            lambda: host.complete_auth(self.provider, params),
            "a callback replayed with a state already used must be refused",
        )
        stored = host.credentials(USER)
        _expect(
            [credential.id for credential in stored] == [first.id]
            and stored[0].payload == first.payload,
            "a replayed callback changed the stored credentials",
        )

    # The credential schema

    def test_schema_examples_pass_validation(self, fieldlink: Fieldlink) -> None:
        schema = fieldlink.provider(self.provider).schema
        _expect(schema.examples, "the credential schema has no examples; add one")
        for index, example in enumerate(schema.examples):
            try:
                fieldlink.validate(self.provider, example)
            except CredentialValidationError as error:
                _fail(f"examples[{index}] does not register: {error}")

    @pytest.mark.parametrize(
        "variant", ["missing field", "unknown field", "wrong type"]
    )
    def test_a_broken_payload_is_refused_with_its_path(
        self, fieldlink: Fieldlink, variant: str
    ) -> None:
        schema = fieldlink.provider(self.provider).schema
        example = dict(schema.examples[0])
        secrets = [
            str(example[name]) for name in schema.secret_fields if example.get(name)
        ]
        cases = list(_broken(example, schema.required, variant))
        _expect(cases, f"no {variant} case: the schema's first example has no fields")

        for payload, path in cases:
            error = _refused(
                CredentialValidationError,
                functools.partial(fieldlink.validate, self.provider, payload),
                f"a payload with a {variant} at {path} must be refused",
            )
            named = [issue.path for issue in error.issues]
            _expect(
                path in named,
                f"the error for a {variant} must name {path}; it names {named}",
            )
            shown = f"{error} {error!r}"
            _expect(
                not any(secret in shown for secret in secrets),
                f"the error for a {variant} at {path} shows a secret value",
            )

    def test_a_stored_payload_registers_again(
        self, sandboxed: SandboxedProvider, info: ProviderInfo
    ) -> None:
        host = sandboxed.fieldlink
        body = dict(sandboxed.connect(USER).credential.payload)

        # The body is what a host that used Leaf would post; verifying uses it.
        credential = host.register(f"{USER}-again", self.provider, body)

        _expect(
            credential.status is CredentialStatus.ACTIVE,
            "a payload complete_auth produced does not register again",
        )
        _first_page(host, f"{USER}-again", self.provider, info)

    # Keeping credentials usable

    def test_refresh_renews_the_access_token(
        self, sandboxed: SandboxedProvider, info: ProviderInfo
    ) -> None:
        if not info.issues_access_tokens:
            pytest.skip("the provider issues no access tokens: nothing to refresh")
        host = sandboxed.fieldlink
        first = sandboxed.connect(USER).credential

        refreshed = host.refresh(USER, self.provider)

        # Some providers can only confirm a long-lived token: it need not change.
        _expect(refreshed.access_token, "refresh_credentials returned no access token")
        _expect(
            refreshed.expires_at is None or refreshed.expires_at > datetime.now(UTC),
            "the refreshed access token has expired already",
        )
        _expect(
            any(
                event.kind == "refreshed" for event in host.events(USER, self.provider)
            ),
            "the refresh left no event",
        )
        if info.rotates_refresh_tokens is False:
            _expect(
                refreshed.payload == first.payload,
                "rotates_refresh_tokens is False, yet the refresh changed the stored "
                "payload; keep the refresh token when the provider returns none",
            )
        _first_page(host, USER, self.provider, info)

    def test_a_rotated_refresh_token_is_stored(
        self, sandboxed: SandboxedProvider, info: ProviderInfo
    ) -> None:
        if info.rotates_refresh_tokens is not True:
            pytest.skip("the provider does not rotate refresh tokens")
        host = sandboxed.fieldlink
        secret_fields = host.provider(self.provider).schema.secret_fields
        first = sandboxed.connect(USER).credential

        refreshed = host.refresh(USER, self.provider)

        changed = [
            name
            for name in secret_fields
            if refreshed.payload.get(name) != first.payload.get(name)
        ]
        _expect(
            changed,
            "rotates_refresh_tokens is True, yet the stored payload kept its refresh "
            "token; write the new one into the grant's payload",
        )
        _expect(
            any(
                event.kind == "refreshed" and event.details.get("rotated")
                for event in host.events(USER, self.provider)
            ),
            "the refresh event does not say the refresh token rotated",
        )
        # From now on only the stored, latest refresh token may work.
        if isinstance(sandboxed.emulator, OAuthEmulator):
            sandboxed.emulator.end_rotation_grace()
        again = host.refresh(USER, self.provider)
        _expect(
            again.status is CredentialStatus.ACTIVE,
            "the rotated refresh token that was stored does not refresh",
        )

    def test_a_credential_without_access_tokens_is_used_as_it_is(
        self, sandboxed: SandboxedProvider, info: ProviderInfo
    ) -> None:
        if info.issues_access_tokens:
            pytest.skip("the provider issues access tokens")
        host = sandboxed.fieldlink
        credential = sandboxed.connect(USER).credential

        usable = host.usable_credential(USER, self.provider)

        _expect(usable.payload == credential.payload, "using the credential changed it")
        _refused(
            ConfigurationError,
            lambda: host.access_token(USER, self.provider),
            "a provider without access tokens has no access token to hand out",
        )
        _first_page(host, USER, self.provider, info)
        kinds = {event.kind for event in host.events(USER, self.provider)}
        _expect(
            not kinds & {"refreshed", "refresh_failed"},
            "a credential without access tokens was refreshed",
        )

    def test_a_revoked_credential_turns_invalid(
        self, sandboxed: SandboxedProvider, info: ProviderInfo
    ) -> None:
        host = sandboxed.fieldlink
        sandboxed.connect(USER)
        sandboxed.emulator.revoke()

        if info.issues_access_tokens:
            _refused(
                CredentialRevoked,
                lambda: host.refresh(USER, self.provider),
                "refreshing a revoked credential must raise CredentialRevoked",
            )
        else:
            _refused(
                CredentialRevoked,
                lambda: _first_page(host, USER, self.provider, info),
                "using a revoked credential must raise CredentialRevoked",
            )
        stored = host.credential(USER, self.provider)
        _expect(
            stored.status is CredentialStatus.INVALID and stored.status_reason,
            "a revoked credential must be marked invalid, with the reason",
        )
        _refused(
            CredentialInvalid,
            lambda: _first_page(host, USER, self.provider, info),
            "an invalid credential must not be used again",
        )

    # Reading data

    def test_pages_through_every_kind_to_the_end(
        self, sandbox: Callable[..., SandboxedProvider], info: ProviderInfo
    ) -> None:
        size = self.settings.get("size", PAGING_SIZE)
        sandboxed = sandbox(self.provider, **{**self.settings, "size": size})
        sandboxed.connect(USER)
        host = sandboxed.fieldlink

        ids: dict[str, list[str]] = {}
        most_pages = 0
        for kind in _parents_first(info):
            parent_kind = info.resource_parents.get(kind)
            parents = [None] if parent_kind is None else ids[parent_kind]
            ids[kind] = []
            for parent in parents:
                items, pages = _read_all(host, self.provider, kind, parent)
                ids[kind] += [item.id for item in items]
                most_pages = max(most_pages, pages)
            _expect(
                ids[kind],
                f"the emulator lists no {kind} with size={size}; seed some, so that "
                "the listing is tested",
            )
        _expect(
            most_pages > 1,
            f"no listing spans more than one page with size={size}: seed more "
            "resources per size, or pass a larger size to conformance_tests",
        )

    # Secrets

    def test_no_secret_leaks(
        self, sandboxed: SandboxedProvider, info: ProviderInfo
    ) -> None:
        from .testing import assert_no_canary

        host = sandboxed.fieldlink
        schema = host.provider(self.provider).schema
        connection = sandboxed.connect(USER)
        credential = connection.credential
        for name in sorted(schema.secret_fields & set(credential.payload)):
            _expect(
                CANARY in str(credential.payload[name]),
                f"the emulator's {name} is not made by fieldlink.sandbox.canary(), so "
                "no test could see it leak",
            )

        # Use the credential, and provoke the errors a host would log.
        page = _first_page(host, USER, self.provider, info)
        errors = [
            _caught(lambda: host.validate(self.provider, _leaky(credential.payload))),
            _caught(lambda: host.complete_auth(self.provider, {"state": "forged"})),
        ]
        sandboxed.emulator.revoke()
        if info.issues_access_tokens:
            errors.append(_caught(lambda: host.refresh(USER, self.provider)))
        errors.append(_caught(lambda: _first_page(host, USER, self.provider, info)))

        for error in errors:
            for shown in _chain(error):
                assert_no_canary(str(shown), f"the message of a {type(shown).__name__}")
                assert_no_canary(repr(shown), f"the repr of a {type(shown).__name__}")
        stored = host.credential(USER, self.provider)
        for thing in (connection, credential, stored, page, *host.apps()):
            assert_no_canary(repr(thing), f"the repr of a {type(thing).__name__}")
        for output in _cli_outputs(host.store.url, self.provider):
            assert_no_canary(output, "the output of the fieldlink command")


def conformance_tests(provider: str, **settings: Any) -> type[ConformanceSuite]:
    """A test class that runs the conformance suite against ``provider``'s emulator.

    Bind it to a name in a test module; ``settings`` go to the emulator (``size``:
    how many resources to seed, so that listings span several pages)::

        TestConformance = conformance_tests("acme", size=300)
    """
    words = re.split(r"[^A-Za-z0-9]+", provider)
    name = "Test" + "".join(word.capitalize() for word in words) + "Conformance"
    # __test__ lets pytest collect the class whatever name it is bound to.
    attributes = {"provider": provider, "settings": dict(settings), "__test__": True}
    return type(name, (ConformanceSuite,), attributes)


# Helpers


def _broken(
    example: Mapping[str, Any], required: frozenset[str], variant: str
) -> Iterator[tuple[dict[str, Any], str]]:
    """Payloads broken in one way, each with the JSON path the error must name."""
    if variant == "missing field":
        for name in sorted(required):
            yield {k: v for k, v in example.items() if k != name}, f"$.{name}"
    elif variant == "unknown field":
        yield {**example, UNKNOWN_FIELD: "surplus"}, f"$.{UNKNOWN_FIELD}"
    else:
        for name, value in example.items():
            yield {**example, name: _other_type(value)}, f"$.{name}"


def _other_type(value: Any) -> Any:
    """A value of another JSON type than ``value``."""
    if isinstance(value, str):
        return 12345
    if isinstance(value, bool | int | float):
        return "12345"
    if isinstance(value, list):
        return {"not": "a list"}
    return ["not", "an object"]


def _parents_first(info: ProviderInfo) -> list[str]:
    """The resource kinds, each after the kind it is listed under."""
    ordered: list[str] = []
    pending = list(info.resource_kinds)
    while pending:
        ready = [
            kind
            for kind in pending
            if info.resource_parents.get(kind) in (None, *ordered)
        ]
        _expect(
            ready, f"resource_parents makes a loop or names unknown kinds: {pending}"
        )
        ordered += ready
        pending = [kind for kind in pending if kind not in ready]
    return ordered


def _read_all(
    host: Fieldlink, provider: str, kind: str, parent: str | None
) -> tuple[list[Resource], int]:
    """Every ``kind`` resource under ``parent``, page by page, and how many pages."""
    where = f"{kind}" + (f" under {parent}" if parent else "")
    items: list[Resource] = []
    cursors: set[str] = set()
    cursor: str | None = None
    pages = 0
    while True:
        pages += 1
        _expect(
            pages <= MAX_PAGES,
            f"the listing of {where} did not end within {MAX_PAGES} pages",
        )
        page = host.list_resources(USER, provider, kind, parent=parent, cursor=cursor)
        _expect(isinstance(page, Page), f"list_resources returned no Page for {where}")
        for item in page.items:
            _expect(
                isinstance(item, Resource) and item.kind == kind,
                f"the listing of {where} returned something that is not a {kind} "
                "Resource",
            )
            _expect(
                parent is None or item.parent_id == parent,
                f"a {kind} listed under {parent} must carry parent_id={parent!r}",
            )
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
        _expect(
            cursor not in cursors,
            f"the listing of {where} returned a cursor twice: it would never end",
        )
        cursors.add(cursor)
    ids = [item.id for item in items]
    _expect(
        len(ids) == len(set(ids)),
        f"the listing of {where} returned the same id twice: pages overlap",
    )
    return items, pages


def _first_page(
    host: Fieldlink, user_id: str, provider: str, info: ProviderInfo
) -> Page:
    """The first page of the first kind that is not listed per parent."""
    kind = next(k for k in info.resource_kinds if k not in info.resource_parents)
    return host.list_resources(user_id, provider, kind)


def _leaky(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with every value also under an unknown field: an invalid payload
    full of secrets, whose error must show none of them."""
    return {**payload, **{f"{name}Copy": value for name, value in payload.items()}}


def _caught(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except FieldlinkError as error:
        return error
    _fail("expected a fieldlink error; none was raised")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception a traceback of it would print."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        follows_cause = current.__cause__ is not None or current.__suppress_context__
        current = current.__cause__ if follows_cause else current.__context__


def _cli_outputs(database: str, provider: str) -> Iterator[str]:
    """What the fieldlink command prints about the stored credential and app."""
    from click.testing import CliRunner

    from .cli import cli

    commands = [
        ["credentials", "show", USER, provider],
        ["credentials", "show", USER, provider, "--json"],
        ["credentials", "list", "--json"],
        ["credentials", "events", USER, provider, "--json"],
        ["apps", "list", "--json"],
    ]
    for command in commands:
        result = CliRunner().invoke(cli, ["--database-url", database, *command])
        _expect(
            result.exit_code == 0,
            f"`fieldlink {' '.join(command)}` failed: {result.output}",
        )
        yield result.output
