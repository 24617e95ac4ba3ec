"""Where genrenet keeps its files: platformdirs locations, each overridable by an environment
variable (tests and portable installs use them)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import platformdirs

APP = "genrenet"

log = logging.getLogger(__name__)


def _dir(env: str, default: str) -> Path:
    path = Path(os.environ.get(env) or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Library cache (scans, predictions, feature caches): safe to delete.

    One rule, decided afresh on every call: GENRENET_CACHE_DIR (tests, ``--cache-dir``) wins, else
    the ``cache_dir`` user setting, else the platformdirs user cache dir. The setting is read from
    the settings file here, lazily (tagger.settings imports this module, so the import is inside
    the function), rather than pushed in at start-up: whatever saved the settings last, the next
    scan sees it, and nothing can hold a stale copy. Only the cache moves; the write journal
    (data_dir) stays put.
    """
    env = os.environ.get("GENRENET_CACHE_DIR")
    if env:
        return _dir("GENRENET_CACHE_DIR", env)
    from tagger.settings import load_settings

    chosen = load_settings().cache_dir
    if chosen:
        path = Path(chosen).expanduser()
        try:
            path.mkdir(parents=True, exist_ok=True)
            return path
        except OSError as exc:  # an unplugged drive must not stop the app: fall back, say why
            log.warning("cache folder %s unusable (%s); using the default", path, exc)
    return _dir("GENRENET_CACHE_DIR", platformdirs.user_cache_dir(APP))


def default_cache_dir() -> Path:
    """The platformdirs cache folder (what the ``cache_dir`` setting's None means), not created."""
    return Path(platformdirs.user_cache_dir(APP))


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


def review_db() -> Path:
    """Review decisions: the user's work, so beside the journal, not in the cache."""
    return data_dir() / "review.sqlite"
