"""Where genrenet keeps its files: platformdirs locations, each overridable by an environment
variable (tests and portable installs use them)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "genrenet"


def _dir(env: str, default: str) -> Path:
    path = Path(os.environ.get(env) or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Library cache (scans, predictions, feature caches): safe to delete."""
    return _dir("GENRENET_CACHE_DIR", platformdirs.user_cache_dir(APP))


def config_dir() -> Path:
    """Settings."""
    return _dir("GENRENET_CONFIG_DIR", platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    """The write journal: kept apart from the cache so that clearing the cache never loses undo."""
    return _dir("GENRENET_DATA_DIR", platformdirs.user_data_dir(APP))


def library_db() -> Path:
    return cache_dir() / "library.sqlite"


def journal_db() -> Path:
    return data_dir() / "journal.sqlite"
