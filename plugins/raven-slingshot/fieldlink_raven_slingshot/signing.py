r"""Raven Slingshot's request signature, as pure functions.

Every request carries the ISV's API key, the grower's access key, a Unix timestamp
and an HMAC-SHA1 signature of six values, each followed by CR LF, the last one
included (Slingshot's "Generating a signature" page)::

    {Method}\r\n{Host}\r\n{URL}\r\n{Timestamp}\r\n{ApiKey}\r\n{AccessKey}\r\n

The method is upper case; the host lower case, without scheme or port; the URL the
absolute path, lower-cased, without the query string. The digest is sent in
standard base64 with padding. The plugin signs with these functions and its
emulator checks with them, so both follow one rule.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

API_KEY_HEADER = "X-SS-APIKey"
ACCESS_KEY_HEADER = "X-SS-AccessKey"
TIMESTAMP_HEADER = "X-SS-TimeStamp"
SIGNATURE_HEADER = "X-SS-Signature"

#: How the shared secret becomes the HMAC key. Slingshot's page says only "shared
#: secret"; working third-party clients base64-decode it, hence the default.
BASE64 = "base64"
UTF8 = "utf-8"
SECRET_ENCODINGS = (BASE64, UTF8)

# Standard base64 never contains "-" or "_", so reading them as the URL-safe
# alphabet's "+" and "/" gives the same bytes a URL-safe decoder would.
_URL_SAFE = str.maketrans("-_", "+/")


def string_to_sign(
    method: str,
    host: str,
    path: str,
    timestamp: int | str,
    api_key: str,
    access_key: str,
) -> str:
    """The text whose HMAC is the signature; method, host and path are normalised."""
    parts = (
        method.upper(),
        host.lower(),
        path.lower(),
        str(timestamp),
        api_key,
        access_key,
    )
    return "".join(f"{part}\r\n" for part in parts)


def secret_key(shared_secret: str, encoding: str = BASE64) -> bytes:
    """The HMAC key bytes of ``shared_secret``.

    ``base64`` decodes it strictly (either alphabet, padding required), with no
    fallback to UTF-8: a secret that does not decode raises ValueError rather than
    yield signatures that Slingshot would refuse with a bare 401. ``utf-8`` takes
    its UTF-8 bytes. Messages never quote the secret.
    """
    if encoding == UTF8:
        return shared_secret.encode("utf-8")
    if encoding != BASE64:
        raise ValueError(
            f"unknown shared secret encoding {encoding!r}; use one of "
            f"{', '.join(SECRET_ENCODINGS)}"
        )
    try:
        return base64.b64decode(shared_secret.translate(_URL_SAFE), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"the shared secret is not base64 ({len(shared_secret)} characters)"
        ) from None


def signature(message: str, key: bytes) -> str:
    """Base64 of the HMAC-SHA1 digest of ``message`` encoded as UTF-8."""
    # Imported on first use: loading OpenSSL for hashlib costs every CLI start ~3 ms.
    import hashlib
    import hmac

    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(
    method: str,
    url: str,
    *,
    api_key: str,
    access_key: str,
    shared_secret: str,
    timestamp: int,
    encoding: str = BASE64,
) -> dict[str, str]:
    """The four ``X-SS-*`` headers of a request to ``url``."""
    parts = urlsplit(url)
    message = string_to_sign(
        method, parts.hostname or "", parts.path or "/", timestamp, api_key, access_key
    )
    return {
        API_KEY_HEADER: api_key,
        ACCESS_KEY_HEADER: access_key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(message, secret_key(shared_secret, encoding)),
    }
