"""Where fieldlink keeps its files when the host does not say."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

APP_NAME = "fieldlink"
DATA_DIR_ENV = "FIELDLINK_DATA_DIR"


def data_dir() -> Path:
    """The embedded store and its key file: ``FIELDLINK_DATA_DIR``, else the user's data dir."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Throwaway results: ``FIELDLINK_CACHE_DIR``, else the user's cache dir."""
    configured = os.environ.get("FIELDLINK_CACHE_DIR")
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def make_private_dir(path: Path) -> None:
    """Create the folder ``path`` readable by its owner only; parents that are
    missing get the usual permissions, and a folder that exists is left as it is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only, unless it exists.

    Made before the program that fills it opens it, so that it is never readable by
    others, not even for a moment.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
