"""Encryption of secrets at rest, with keys the host controls.

``FIELDLINK_SECRET_KEY`` holds one or more Fernet keys separated by commas: the first
encrypts, all of them decrypt, so a key can be rotated by putting the new one first.
Without it, the embedded default store uses a key file generated beside the database
and readable by its owner only.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import ConfigurationError, DecryptionError

SECRET_KEY_ENV = "FIELDLINK_SECRET_KEY"
KEY_FILE_NAME = "secret.key"


class Keyring:
    """Encrypts with the primary key; decrypts with any configured key."""

    def __init__(self, keys: list[str]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        # An entry may list keys separated by commas, as the variable does: Fernet's
        # lenient base64 would read "new,old" as the new key alone.
        keys = [part.strip() for key in keys for part in key.split(",") if part.strip()]
        if not keys:
            raise ConfigurationError(f"{SECRET_KEY_ENV} names no key")
        try:
            fernets = [Fernet(key.encode()) for key in keys]
            self._fernet = MultiFernet(fernets)
            self._primary = fernets[0]
        except ValueError:
            raise ConfigurationError(
                f"{SECRET_KEY_ENV} must hold Fernet keys (32 url-safe base64-encoded "
                "bytes) separated by commas; make one with `fieldlink keys generate`"
            ) from None

    def __repr__(self) -> str:
        return "Keyring(...)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                f"a stored secret cannot be decrypted with the configured keys; "
                f"put the key it was written with into {SECRET_KEY_ENV}"
            ) from None

    def is_primary(self, token: str) -> bool:
        """Whether ``token`` was encrypted with the primary key."""
        from cryptography.fernet import InvalidToken

        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the primary key."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "a stored secret cannot be decrypted with any configured key, so it "
                "cannot be re-encrypted; keep the key it was written with after the "
                f"new one ({SECRET_KEY_ENV}=NEW,OLD) until the rotation is done"
            ) from None


def generate_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def keyring_from_env() -> Keyring | None:
    raw = os.environ.get(SECRET_KEY_ENV, "").strip()
    if not raw:
        return None
    return Keyring([raw])


def key_file() -> Path:
    """Where the embedded default store keeps its key."""
    from ._paths import data_dir

    return data_dir() / KEY_FILE_NAME


def keyring_from_file(path: Path) -> Keyring:
    """The keys in ``path``, one a line, the first encrypting; a key is generated on
    first use, with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
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
    return Keyring(_read_keys(path))


def _read_keys(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _write_keys(path: Path, keys: list[str]) -> None:
    # A private file renamed into place: the key file is never half-written.
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(keys) + "\n")
    os.replace(partial, path)


def begin_key_file_rotation(path: Path) -> None:
    """Put a new encrypting key at the head of the key file, the old ones after it.

    A rotation that was interrupted left two keys there already: it is resumed
    under the same new key rather than started again under another.
    """
    keys = _read_keys(path)
    if len(keys) == 1:
        _write_keys(path, [generate_key(), *keys])


def end_key_file_rotation(path: Path) -> None:
    """Keep only the encrypting key, once nothing is encrypted with the others."""
    _write_keys(path, _read_keys(path)[:1])
