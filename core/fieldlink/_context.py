"""What a provider hook is given to work with."""

from __future__ import annotations

import string
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .errors import ConfigurationError
from .models import AppRegistration, ProviderInfo

if TYPE_CHECKING:
    from .http import HttpClient


@attrs.frozen
class ProviderContext:
    """The provider, the environment in use, and the host's configuration for it.

    ``endpoints`` are the provider's URLs for ``environment`` with the host's
    overrides applied (the sandbox replaces them all). ``settings`` are the host's
    settings for this provider (``pkce``, ``scopes``...). ``app`` is the host's app
    registration for this provider and environment, if there is one.

    The ``setting_*`` accessors check what the host wrote and raise one
    :class:`~fieldlink.errors.ConfigurationError` that names the provider, the
    setting, what it must be and where the host wrote it; :meth:`invalid_setting`
    builds that error for checks of a plugin's own. When the provider declares the
    settings it reads (``ProviderInfo.settings``), a setting of any other name is
    refused as the context is made, before any hook runs.
    """

    provider: ProviderInfo
    environment: str
    endpoints: Mapping[str, str]
    settings: Mapping[str, Any]
    app: AppRegistration | None
    http: HttpClient = attrs.field(repr=False)
    #: The settings file each setting was read from; those not named were given in
    #: code.
    setting_files: Mapping[str, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        declared = self.provider.settings
        if declared is not None and set(self.settings) - set(declared):
            raise self._unknown_settings(declared)

    def _unknown_settings(self, declared: tuple[str, ...]) -> ConfigurationError:
        """The error for host settings of names the provider does not read."""
        provider = self.provider.id
        unknown = sorted(set(self.settings) - set(declared))
        plural = len(unknown) > 1
        them = "them" if plural else "it"
        fix = (
            f"its settings are {', '.join(sorted(declared))}: correct the name or "
            f"remove {them}"
            if declared
            else f"it reads none: remove {them}"
        )
        return ConfigurationError(
            f"{provider} reads no setting{'s' * plural} named "
            f"{', '.join(map(repr, unknown))} ({self._source(unknown[0])}); {fix}",
            provider=provider,
        )

    def endpoint(self, name: str) -> str:
        try:
            return self.endpoints[name]
        except KeyError:
            raise ConfigurationError(
                f"{self.provider.id} has no {name!r} endpoint for {self.environment}; "
                f"set it with endpoints={{{self.provider.id!r}: {{{name!r}: URL}}}}",
                provider=self.provider.id,
            ) from None

    def setting(self, name: str, default: Any) -> Any:
        """The host's value of ``name``, or ``default``, unchecked: read through a
        typed accessor instead, so that a wrong value is named, never coerced."""
        return self.settings.get(name, default)

    def setting_flag(self, name: str, default: bool) -> bool:
        """True or false, and nothing taken for either ("yes", 1)."""
        value = self.setting(name, default)
        if not isinstance(value, bool):
            raise self.invalid_setting(name, "true or false")
        return value

    def setting_choice(self, name: str, default: str, choices: Collection[str]) -> str:
        """One of ``choices``."""
        value = self.setting(name, default)
        if not isinstance(value, str) or value not in choices:
            raise self.invalid_setting(
                name, "one of " + ", ".join(repr(choice) for choice in choices)
            )
        return value

    def setting_words(self, name: str, default: Collection[str]) -> tuple[str, ...]:
        """A list of words without spaces, such as OAuth scopes or error codes; one
        string is split on white space, as an OAuth ``scope`` parameter is."""
        value = self.setting(name, default)
        if isinstance(value, str):
            return tuple(value.split())
        if not isinstance(value, list | tuple | set | frozenset) or not all(
            isinstance(word, str) and word and not _has_space(word) for word in value
        ):
            raise self.invalid_setting(
                name,
                "a list of strings without spaces, or one string of them separated "
                "by spaces",
            )
        return tuple(value)

    def setting_texts(
        self, name: str, default: Mapping[str, str], *, keys: Collection[str]
    ) -> dict[str, str]:
        """A mapping of some of ``keys`` to non-empty strings."""
        value = self.setting(name, default)
        if not isinstance(value, Mapping) or not all(
            key in keys and isinstance(text, str) and text
            for key, text in value.items()
        ):
            expected = f"a mapping of {', '.join(sorted(keys))} to non-empty strings"
            raise self.invalid_setting(name, expected)
        return dict(value)

    def setting_int(
        self, name: str, default: int, *, minimum: int | None = None
    ) -> int:
        """A whole number, ``minimum`` or more when one is given."""
        value = self.setting(name, default)
        # True is an int to Python, but never a page size a host meant to write.
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (minimum is not None and value < minimum)
        ):
            expected = "a whole number"
            if minimum is not None:
                expected += f" of at least {minimum}"
            raise self.invalid_setting(name, expected)
        return value

    def setting_number(
        self,
        name: str,
        default: float,
        *,
        above: float | None = None,
        minimum: float | None = None,
        unit: str = "",
    ) -> float:
        """An int or a float, greater than ``above`` and at least ``minimum`` when
        they are given; ``unit`` (``"seconds"``) is said in the error."""
        value = self.setting(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (above is not None and value <= above)
            or (minimum is not None and value < minimum)
        ):
            expected = f"a number of {unit}" if unit else "a number"
            if above is not None:
                expected += f" above {above}"
            if minimum is not None:
                expected += f", {minimum} or more"
            raise self.invalid_setting(name, expected)
        return value

    def setting_text(self, name: str, default: str, *, empty: bool = False) -> str:
        """A string, which may be empty only if ``empty`` says so."""
        value = self.setting(name, default)
        if not isinstance(value, str) or (not value and not empty):
            expected = "a string" if empty else "a non-empty string"
            raise self.invalid_setting(name, expected)
        return value

    def setting_statuses(self, name: str, default: Collection[int]) -> frozenset[int]:
        """A list of 4xx HTTP status codes, such as those that refuse a credential
        for good: a 5xx is a passing failure, never a verdict on the credential."""
        value = self.setting(name, default)
        if not isinstance(value, list | tuple | set | frozenset) or not all(
            isinstance(status, int) and 400 <= status < 500 for status in value
        ):
            raise self.invalid_setting(name, "a list of 4xx status codes")
        return frozenset(value)

    def setting_headers(
        self, name: str, default: Mapping[str, str], *, fields: Collection[str]
    ) -> dict[str, str]:
        """HTTP header names mapped to templates such as ``"Bearer {accessToken}"``
        that may name ``fields`` only (payload fields, never a password)."""
        value = self.setting(name, default)
        expected = f"a mapping of header names to templates of {sorted(fields)}"
        if not isinstance(value, Mapping) or not all(
            isinstance(header, str) and _names_only(template, fields)
            for header, template in value.items()
        ):
            # Checked here, so that a typo fails on the first call, never half-way.
            raise self.invalid_setting(name, expected)
        return dict(value)

    def invalid_setting(self, name: str, expected: str) -> ConfigurationError:
        """The error for a setting ``name`` whose value is not ``expected``."""
        provider = self.provider.id
        if name in self.setting_files:
            fix = f"{name} in its [{provider}] table"
        else:
            fix = f"settings={{{provider!r}: {{{name!r}: ...}}}}"
        return ConfigurationError(
            f"the {provider} setting {name!r} {self._source(name)} must be "
            f"{expected}; fix {fix} or leave it out for the default",
            provider=provider,
        )

    def _source(self, name: str) -> str:
        """Where the host wrote the setting ``name``, said after it."""
        path = self.setting_files.get(name)
        return "given in code" if path is None else f"in the settings file {path}"

    def app_fields(self) -> Mapping[str, Any]:
        if self.app is None:
            raise ConfigurationError(
                f"no app registration for {self.provider.id} ({self.environment}); "
                "register your client id and secret first: `fieldlink apps add "
                f"{self.provider.id} --environment {self.environment}`",
                provider=self.provider.id,
            )
        return self.app.fields


def _has_space(word: str) -> bool:
    return any(character.isspace() for character in word)


def _names_only(template: Any, fields: Collection[str]) -> bool:
    """Whether ``template`` is a format string whose every field is in ``fields``."""
    if not isinstance(template, str):
        return False
    try:
        named = {
            field for _, field, _, _ in string.Formatter().parse(template) if field
        }
    except ValueError:  # an unmatched brace
        return False
    return named <= set(fields)
