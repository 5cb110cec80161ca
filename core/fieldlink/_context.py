"""What a provider hook is given to work with."""

from __future__ import annotations

from collections.abc import Mapping
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
    """

    provider: ProviderInfo
    environment: str
    endpoints: Mapping[str, str]
    settings: Mapping[str, Any]
    app: AppRegistration | None
    http: HttpClient = attrs.field(repr=False)

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
        return self.settings.get(name, default)

    def app_fields(self) -> Mapping[str, Any]:
        if self.app is None:
            raise ConfigurationError(
                f"no app registration for {self.provider.id} ({self.environment}); "
                f"register your client id and secret first: "
                f"`fieldlink apps add {self.provider.id} --environment {self.environment}`",
                provider=self.provider.id,
            )
        return self.app.fields
