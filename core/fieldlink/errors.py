"""The exceptions fieldlink raises.

Every error derives from :class:`FieldlinkError`, which carries the provider and, where
one applies, the JSON path of the offending value. Subclasses also inherit the built-in
exception they refine, so ``except ValueError`` keeps working for callers that do not
know fieldlink. Messages never contain a secret: they name fields, never their values.
"""

from __future__ import annotations

from collections.abc import Sequence


class FieldlinkError(Exception):
    """Root of every error fieldlink raises on purpose."""

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider

    def __str__(self) -> str:
        return self.message


class ConfigurationError(FieldlinkError, ValueError):
    """The host's setup is incomplete or contradictory (missing key, unknown provider)."""


class UnknownNameError(ConfigurationError, LookupError):
    """The caller named a provider, an environment or a resource kind that does not
    exist; the message lists the names that do."""


class UnknownProviderError(UnknownNameError):
    """No loaded plugin provides the requested provider id."""


class UnknownEnvironmentError(UnknownNameError):
    """The provider has no environment of the requested name."""


class UnknownResourceKindError(UnknownNameError):
    """The provider lists no resources of the requested kind."""


class InvalidUserIdError(FieldlinkError, ValueError):
    """A user id is empty, too long, starts or ends with whitespace, or holds a
    control character: no credential can be stored under it."""


class FileFormatError(FieldlinkError, ValueError):
    """A file the user named is not the UTF-8 JSON or TOML it should be.

    The message names the file and where the problem is, never the content: a
    credential body holds secrets. ``line`` and ``column`` count from 1.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.column = column

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class ValidationIssue:
    """One problem found in a payload: where it is and what is wrong."""

    __slots__ = ("message", "path", "validator")

    def __init__(self, path: str, message: str, validator: str) -> None:
        self.path = path
        self.message = message
        self.validator = validator

    def __repr__(self) -> str:
        return f"ValidationIssue(path={self.path!r}, message={self.message!r})"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "validator": self.validator}


class CredentialValidationError(FieldlinkError, ValueError):
    """A credential payload does not match its provider's schema.

    ``issues`` lists every problem, best match first; each names its JSON path.
    """

    def __init__(
        self, provider: str, issues: Sequence[ValidationIssue], *, schema: str = ""
    ) -> None:
        self.issues = list(issues)
        self.schema = schema
        first = self.issues[0]
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(
            f"{provider} credentials are invalid at {first.path}: {first.message}{more}",
            provider=provider,
        )

    @property
    def path(self) -> str:
        return self.issues[0].path


class AuthFlowError(FieldlinkError):
    """Connecting a user failed before any credential was stored."""


class AuthStateError(AuthFlowError, ValueError):
    """The ``state`` of a callback is unknown, already used or expired."""


class AuthorizationDenied(AuthFlowError):
    """The user (or the provider) refused the authorisation request."""

    def __init__(
        self, message: str, *, provider: str | None = None, error: str = "access_denied"
    ) -> None:
        super().__init__(message, provider=provider)
        self.error = error


class ProviderError(FieldlinkError):
    """The provider answered in a way fieldlink cannot use.

    ``status`` is the HTTP status code when there was a response.
    """

    retryable = False

    def __init__(
        self, message: str, *, provider: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.status = status


class ProviderUnavailable(ProviderError, ConnectionError):
    """A passing failure (timeout, 5xx, 429): try again later; nothing was changed."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class PermissionDenied(ProviderError, PermissionError):
    """The credential is valid but lacks a permission for what was asked
    (an organisation the grower has not approved, a scope not granted)."""


class OAuthError(ProviderError):
    """The provider answered an OAuth request with an RFC 6749 error code."""

    def __init__(
        self,
        message: str,
        *,
        error: str,
        provider: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.error = error


class CredentialRevoked(OAuthError):
    """The provider refused the credential for good (``invalid_grant``, revoked key).

    The credential has been marked invalid; the user must connect again.
    """


class CredentialNotFound(FieldlinkError, LookupError):
    """No credential is stored for this user and provider."""


class CredentialInvalid(FieldlinkError):
    """The stored credential was marked invalid earlier; the user must connect again."""

    def __init__(
        self, message: str, *, provider: str | None = None, reason: str = ""
    ) -> None:
        super().__init__(message, provider=provider)
        self.reason = reason


class StoreError(FieldlinkError):
    """The credential store cannot be used as configured."""


class DecryptionError(StoreError):
    """A stored secret cannot be decrypted with any of the configured keys."""


class PluginError(FieldlinkError):
    """A plugin broke its contract with the core while running."""
