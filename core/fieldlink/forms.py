"""Form flows: providers whose users type a login into the host's form.

A provider without an OAuth redirect subclasses :class:`FormProvider`, sets ``info``
and ``form`` and writes :meth:`FormProvider.exchange`, which turns what the user
typed into a grant; the form, its reading and the answer to a refusal are here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import hookimpl
from .errors import (
    AuthorizationDenied,
    CredentialRevoked,
    CredentialValidationError,
    ValidationIssue,
)
from .models import AuthResult, Form

if TYPE_CHECKING:
    from ._context import ProviderContext
    from .models import Grant, ProviderInfo

__all__ = ["FormProvider", "read_form"]


def read_form(
    form: Form, params: Mapping[str, str], *, provider: str
) -> dict[str, str]:
    """The value of each of ``form``'s fields in the submitted ``params``.

    Values are stripped of surrounding spaces, except those of secret fields: a
    password may begin or end with spaces and is taken as typed. A required field
    left empty raises :class:`~fieldlink.errors.CredentialValidationError`, which
    names every such field by its JSON path, in the form's order.
    """
    values: dict[str, str] = {}
    for field in form.fields:
        typed = str(params.get(field.name) or "")
        values[field.name] = typed if field.secret else typed.strip()
    issues = [
        ValidationIssue(f"$.{field.name}", "is a required property", "required")
        for field in form.fields
        if field.required and not values[field.name]
    ]
    if issues:
        raise CredentialValidationError(provider, issues)
    return values


class FormProvider(ABC):
    """Hook implementations for connecting through a form instead of a redirect.

    Subclasses set ``info`` and ``form``, implement :meth:`exchange` and the hooks
    that keep and use the credential (``register_credentials``,
    ``refresh_credentials``, ``authorize_request``, ``list_resources``...).
    """

    info: ProviderInfo
    #: What the user types.
    form: Form

    @hookimpl
    def describe_provider(self) -> ProviderInfo:
        return self.info

    # Connecting

    @hookimpl
    def start_auth(self) -> Form:
        return self.form

    @hookimpl
    def complete_auth(
        self, context: ProviderContext, params: Mapping[str, str]
    ) -> AuthResult:
        values = read_form(self.form, params, provider=self.info.id)
        try:
            return AuthResult(self.exchange(context, values))
        except CredentialRevoked as refused:
            # Nothing is stored yet: to the host this is a refused connection.
            raise AuthorizationDenied(
                str(refused), provider=self.info.id, error=refused.error
            ) from None

    @abstractmethod
    def exchange(self, context: ProviderContext, values: Mapping[str, str]) -> Grant:
        """Sign in at the provider with the form's ``values`` and return the grant
        to store; raise CredentialRevoked when the provider refuses the login."""
