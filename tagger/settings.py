"""Every user setting in one place: its default and what it means. Stored as JSON in the
config dir; a missing or broken file gives the defaults, unknown keys are ignored."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tagger import paths

log = logging.getLogger(__name__)


def _setting(default: Any, description: str, **kw: Any) -> Any:
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"description": description, **kw})
    return field(default=default, metadata={"description": description, **kw})


@dataclass(frozen=True)
class Settings:
    review_threshold: float = _setting(
        0.8, "Predictions below this confidence need review; 'apply' writes only those at or above it.",
        minimum=0.0, maximum=1.0)
    device: str = _setting("auto", "Where the model runs: auto (CUDA, then Apple MPS, then CPU), cpu, cuda or mps.",
                           choices=("auto", "cpu", "cuda", "mps"))
    id3_version: int = _setting(3, "ID3 version for MP3 files that have no tag yet (existing tags keep their version; other formats have no versions).",
                                choices=(3, 4))
    write_policy: str = _setting(
        "fill-missing", "What a write without your review does to files that already have a genre: "
        "fill-missing (leave them), replace (the prediction replaces their genre) or add (keep theirs, "
        "add the prediction). Decisions you made in review are written as you made them.",
        choices=("fill-missing", "replace", "add"))
    keep_mtime: bool = _setting(
        False, "Keep each file's modification time when writing its genre (like Picard's 'preserve "
        "timestamps'). Backup and sync tools that look only at the time may then miss the change.")
    genres_to_write: int = _setting(1, "How many of the top genres to write into each file.", minimum=1, maximum=5)
    styles: str = _setting(
        "genre", "What a suggestion writes: the genre (genre), the genre and its likeliest style beneath it "
        "(genre+style: 'Rock; Hard Rock'), or the style in the genre's place (style); a track without a "
        "style gets its genre. Styles come from the musicnn tagger's last.fm tags, judged beside the genre.",
        choices=("genre", "genre+style", "style"))
    separator: str = _setting("; ", "Separator between several genres in an MP3's ID3 v2.3 tag (v2.4, FLAC, Ogg, Opus and M4A store each genre as its own value).")
    model_path: str | None = _setting(None, "Genre model file; empty means the shipped default model.")
    cache_dir: str | None = _setting(
        None, "Folder for the library cache (scanned tags, predictions); empty means the standard user "
              "cache folder. Takes effect at the next scan; the old cache is not copied. "
              "GENRENET_CACHE_DIR, when set, wins.")
    speed: str = _setting(
        "exact", "How tracks are judged: exact (the model on every window), adaptive (the same model, "
        "stopping early once a track's first windows all say the same genre with 0.98 or more: it saves "
        "time on tracks that sound alike throughout, such as short clips, and seldom on full-length songs "
        "whose sections differ, which are then judged on every window) or fast "
        "(a small model distilled from the default one, many times faster, a little less accurate).",
        choices=("exact", "adaptive", "fast"))
    windows_per_track: int = _setting(8, "How many 3-second windows, spread over the track, judge each track.",
                                      minimum=1, maximum=64)
    genre_map: dict = _setting({}, "Model label -> genre name to write, overriding resources/genres.toml.")
    genre_merges: dict = _setting({}, "Genre spellings -> the genre name you want instead (Genres page, "
                                      "'Merge into'); your merges win over genrenet's genre tree.")
    appearance: str = _setting(
        "system", "Colours: system follows the desktop (its dark mode included); light or dark forces one.",
        choices=("system", "light", "dark"))
    recent_folders: tuple = _setting((), "Folders opened recently (newest first).")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["recent_folders"] = list(self.recent_folders)
        return data

    def with_changes(self, **changes: Any) -> Settings:
        return _validated(replace(self, **changes))


SETTINGS_FIELDS = {f.name: f for f in fields(Settings)}


def description(name: str) -> str:
    return SETTINGS_FIELDS[name].metadata["description"]


def settings_file() -> Path:
    return paths.config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    path = path or settings_file()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("settings file %s unreadable (%s); using defaults", path, exc)
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    values = {k: v for k, v in raw.items() if k in SETTINGS_FIELDS}
    if "recent_folders" in values:
        values["recent_folders"] = tuple(str(p) for p in values["recent_folders"] or ())
    try:
        return _validated(Settings(**values))
    except (TypeError, ValueError) as exc:
        log.warning("settings file %s has a bad value (%s); using defaults", path, exc)
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(settings.to_dict(), fh, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _validated(settings: Settings) -> Settings:
    for f in fields(settings):
        value = getattr(settings, f.name)
        meta = f.metadata
        if "choices" in meta and value not in meta["choices"]:
            raise ValueError(f"{f.name} must be one of {meta['choices']}, not {value!r}")
        if "minimum" in meta and not (meta["minimum"] <= value <= meta["maximum"]):
            raise ValueError(f"{f.name} must be between {meta['minimum']} and {meta['maximum']}")
    if settings.cache_dir is not None and not isinstance(settings.cache_dir, str):
        raise ValueError("cache_dir must be a folder path or empty")
    for name in ("genre_map", "genre_merges"):
        value = getattr(settings, name)
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ValueError(f"{name} must be a mapping of names to names")
    return settings

