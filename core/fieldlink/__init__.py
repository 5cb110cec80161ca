"""fieldlink: connect users' accounts at agricultural data providers, and keep them alive.

Hosts use :class:`Fieldlink`; provider plugins use :data:`hookimpl` and the models.
Names are imported on first use, so that a plugin importing ``hookimpl`` (and the
``fieldlink providers`` command) does not pay for HTTP, storage or schema libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import pluggy

from ._version import __version__

#: Marks a plugin's hook implementations.
hookimpl = pluggy.HookimplMarker("fieldlink")

_LAZY = {
    "AppRegistration": "fieldlink.models",
    "AuthKind": "fieldlink.models",
    "AuthResult": "fieldlink.models",
    "AuthStart": "fieldlink._client",
    "Credential": "fieldlink.models",
    "CredentialStatus": "fieldlink.models",
    "Event": "fieldlink.models",
    "Fieldlink": "fieldlink._client",
    "FieldlinkError": "fieldlink.errors",
    "Form": "fieldlink.models",
    "FormProvider": "fieldlink.forms",
    "FormField": "fieldlink.models",
    "Grant": "fieldlink.models",
    "OAuth2Provider": "fieldlink.oauth2",
    "OAuth2Settings": "fieldlink.oauth2",
    "Page": "fieldlink.models",
    "ProviderContext": "fieldlink._context",
    "ProviderInfo": "fieldlink.models",
    "Redirect": "fieldlink.models",
    "Resource": "fieldlink.models",
}

__all__ = [
    "AppRegistration",
    "AuthKind",
    "AuthResult",
    "AuthStart",
    "Credential",
    "CredentialStatus",
    "Event",
    "Fieldlink",
    "FieldlinkError",
    "Form",
    "FormField",
    "FormProvider",
    "Grant",
    "OAuth2Provider",
    "OAuth2Settings",
    "Page",
    "ProviderContext",
    "ProviderInfo",
    "Redirect",
    "Resource",
    "__version__",
    "hookimpl",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fieldlink' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from ._client import AuthStart, Fieldlink
    from ._context import ProviderContext
    from .errors import FieldlinkError
    from .forms import FormProvider
    from .models import (
        AppRegistration,
        AuthKind,
        AuthResult,
        Credential,
        CredentialStatus,
        Event,
        Form,
        FormField,
        Grant,
        Page,
        ProviderInfo,
        Redirect,
        Resource,
    )
    from .oauth2 import OAuth2Provider, OAuth2Settings
