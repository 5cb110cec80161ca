"""The one error the CNH plugins add to fieldlink's."""

from __future__ import annotations

from fieldlink.errors import CredentialRevoked


class WrongEnvironment(CredentialRevoked):
    """CNH refused a credential's client or subscription key in the environment it
    was used in: it belongs to the other environment (or, for a key, to the other
    API), or it was replaced at CNH's portal.

    A credential is marked invalid, as for any refusal that will not pass; the fix
    is to register it again with the right ``clientEnvironment`` and keys.
    """
