"""Where fieldlink keeps its files when the host does not say."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "fieldlink"


def data_dir() -> Path:
    """The embedded store and its key file: ``FIELDLINK_DATA_DIR``, else the user's data dir."""
    configured = os.environ.get("FIELDLINK_DATA_DIR")
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
