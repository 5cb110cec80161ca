"""Encryption of secrets at rest, with keys the host controls.

``FIELDLINK_SECRET_KEY`` holds one or more Fernet keys: the first encrypts, all of
them decrypt, so a key can be rotated by putting the new one first. Without it, the
embedded default store uses a key file generated beside the database and readable by
its owner only. Both read a list of keys the same way: separated by commas and/or
whitespace (newlines included), which Fernet keys, url-safe base64, never contain.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigurationError, DecryptionError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

SECRET_KEY_ENV = "FIELDLINK_SECRET_KEY"
KEY_FILE_NAME = "secret.key"

_SEPARATORS = re.compile(r"[,\s]+")
#: 32 bytes in url-safe base64: 43 characters and one padding sign.
_FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")


def split_keys(text: str) -> list[str]:
    """The keys listed in ``text``, in order."""
    return [key for key in _SEPARATORS.split(text) if key]


class Keyring:
    """Encrypts with the primary key; decrypts with any configured key.

    ``source`` says where the keys come from (the variable, the key file), so that
    an error can tell the host which setting to fix.
    """

    def __init__(self, keys: Iterable[str], *, source: str = "the keys given") -> None:
        from cryptography.fernet import MultiFernet

        self.source = source
        # An entry may itself be a list ("new,old"), as the variable is.
        listed = [key for entry in keys for key in split_keys(entry)]
        if not listed:
            raise ConfigurationError(
                f"{source} names no key; make one with `fieldlink keys generate FILE`"
            )
        fernets = [
            _fernet(key, position, source) for position, key in enumerate(listed, 1)
        ]
        self._fernet = MultiFernet(fernets)
        self._primary = fernets[0]

    def __repr__(self) -> str:
        return "Keyring(...)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str, what: str, *, or_else: str = "") -> str:
        """The plaintext of ``token``; ``what`` names it in the error (a table's row,
        never a value), and ``or_else`` offers a way out besides the missing key."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                f"{what} cannot be decrypted with {self.source}: it was written with "
                f"another key; put that key into {SECRET_KEY_ENV}, after the current "
                f"one and a comma to keep both{f', or {or_else}' if or_else else ''}"
            ) from None

    def can_decrypt(self, token: str) -> bool:
        from cryptography.fernet import InvalidToken

        try:
            self._fernet.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def is_primary(self, token: str) -> bool:
        """Whether ``token`` was encrypted with the primary key."""
        from cryptography.fernet import InvalidToken

        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str, what: str) -> str:
        """Re-encrypt ``token`` under the primary key; ``what`` names it in errors."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                f"{what} cannot be decrypted with any key of {self.source}, so it "
                "cannot be re-encrypted; keep the key it was written with there, "
                "after the new one, until the rotation is done, or delete the row"
            ) from None


def _fernet(key: str, position: int, source: str) -> Fernet:
    from cryptography.fernet import Fernet

    # Fernet's own base64 decoding skips stray characters; this check does not, so
    # a mangled key is named here rather than taken for another one.
    if not _FERNET_KEY.fullmatch(key):
        raise ConfigurationError(
            f"key {position} of {source} is not a Fernet key (44 url-safe base64 "
            "characters); separate keys with commas or whitespace, the encrypting one "
            "first; make one with `fieldlink keys generate FILE`"
        )
    return Fernet(key.encode())


def generate_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def keyring_from_env() -> Keyring | None:
    raw = os.environ.get(SECRET_KEY_ENV, "").strip()
    if not raw:
        return None
    return Keyring([raw], source=SECRET_KEY_ENV)


def key_file() -> Path:
    """Where the embedded default store keeps its key."""
    from ._paths import data_dir

    return data_dir() / KEY_FILE_NAME


def keyring_from_file(path: Path) -> Keyring:
    """The keys in ``path``, the first encrypting; a key is generated on first use,
    with owner-only permissions."""
    from ._paths import make_private_dir

    make_private_dir(path.parent)
    if not path.exists():
        # Write the key under a private name, then link it into place: of two
        # processes starting at once, exactly one key wins and none is read half-written.
        descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(generate_key() + "\n")
            os.link(partial, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(partial)

    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"the key file {path} can be read by other users; "
            f"restrict it with `chmod 600 {path}`"
        )
    return Keyring(_read_keys(path), source=f"the key file {path}")


def _read_keys(path: Path) -> list[str]:
    try:
        text = path.read_bytes().removeprefix(codecs.BOM_UTF8).decode("ascii")
    except UnicodeDecodeError:
        # Fernet keys are URL-safe base64: anything else is not a key file.
        raise ConfigurationError(
            f"the key file {path} holds bytes that are not Fernet keys; restore it "
            "from a backup, or name the keys in FIELDLINK_SECRET_KEY"
        ) from None
    return split_keys(text)


def _write_keys(path: Path, keys: list[str]) -> None:
    # A private file renamed into place: the key file is never half-written. One key
    # a line, which `FIELDLINK_SECRET_KEY="$(cat FILE)"` reads as the same list.
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(keys) + "\n")
    os.replace(partial, path)


def begin_key_file_rotation(path: Path) -> None:
    """Put a new encrypting key at the head of the key file, the old ones after it.

    A rotation that was interrupted left two keys there already: it is resumed
    under the same new key rather than started again under another.
    """
    keyring_from_file(path)  # the file exists, is private and lists only keys
    keys = _read_keys(path)
    if len(keys) == 1:
        _write_keys(path, [generate_key(), *keys])


def end_key_file_rotation(path: Path) -> None:
    """Keep only the encrypting key, once nothing is encrypted with the others."""
    _write_keys(path, _read_keys(path)[:1])
