"""Read the tags of an audio file and write its genre field, touching nothing else.

One interface for every format; the file's content (not its name) decides which module handles
it, so a FLAC file named .mp3 is still written as FLAC:

- MP3: ID3v2 `TCON` (tagger.tags.id3, its own raw-frame writer and snapshot).
- FLAC: Vorbis comment `GENRE` fields, one per value (tagger.tags.flac).
- Ogg Vorbis and Opus: the same Vorbis comment fields in the stream's comment header
  (tagger.tags.ogg).
- M4A/MP4 (AAC, ALAC): the `©gen` item of iTunes metadata (tagger.tags.mp4).

Every write goes through tagger.tags.base.rewrite: a new copy made of literal bytes and ranges
of the original, verified and swapped in atomically; undo restores the exact old bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from tagger.errors import ReadError, WriteError, without_path
from tagger.tags import flac, id3, mp4, ogg
from tagger.tags.base import (
    DEFAULT_SEPARATOR,
    TEMP_PREFIX,
    TEMP_SUFFIX,
    LayoutError,
    TagInfo,
    WriteResult,
    clean_genres,
    genre_problem,
    is_pieces_snapshot,
    pieces_match,
    restore_pieces,
    rewrite,
    sha256_of,
)
from tagger.tags.id3 import read_genre_frame, restore_genre_frame

__all__ = [
    "DEFAULT_SEPARATOR", "SUPPORTED_EXTENSIONS", "SUPPORTED_FORMATS", "TEMP_PREFIX", "TEMP_SUFFIX", "TagInfo", "WriteResult",
    "detect_format", "file_sha256", "genre_problem", "read_genre_frame", "read_tags", "restore_genre_frame",
    "restore_snapshot", "snapshot_matches", "write_genres",
]

# file suffix (lower case) -> the module that handles such files when the content does not say
_BY_EXTENSION: dict[str, ModuleType] = {
    ".mp3": id3, ".flac": flac, ".ogg": ogg, ".oga": ogg, ".opus": ogg, ".m4a": mp4,
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_BY_EXTENSION)
SUPPORTED_FORMATS = "MP3, FLAC, Ogg Vorbis, Opus and M4A (AAC, ALAC)"


def detect_format(path: Path) -> ModuleType | None:
    """The module for this file's content (magic bytes), None when the content names none."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:3] == b"ID3" and len(head) >= 10:  # an ID3v2 tag in front: FLAC or MP3
                size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
                f.seek(10 + size + (10 if head[5] & 0x10 else 0))
                return flac if f.read(4) == b"fLaC" else id3
    except OSError:
        return None
    if head[:4] == b"fLaC":
        return flac
    if head[:4] == b"OggS":
        return ogg
    if head[4:8] == b"ftyp":
        return mp4
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return id3
    return None


def _module(path: Path) -> ModuleType:
    found = detect_format(path)
    if found is not None:
        return found
    return _BY_EXTENSION.get(Path(path).suffix.lower(), id3)


def read_tags(path: Path, *, separator: str | None = None) -> TagInfo:
    """Title, artist, album, genres, duration, format and album fields (track and disc number,
    year, album artist, compilation: tagger.tags.fields) of one audio file.

    Raises ReadError when the file is missing, unreadable, or not audio of a supported format.
    A file without tags gives empty fields.
    """
    module = _module(path)
    if module is id3:
        return id3.read_tags(path, separator=separator)
    _check_readable(Path(path))
    return module.read_tags(Path(path))


def write_genres(
    path: Path,
    genres: Sequence[str],
    *,
    id3_version: int = 3,
    separator: str | None = None,
    keep_mtime: bool = False,
    before_replace: Callable[[WriteResult], None] | None = None,
    on_temp: Callable[[Path], None] | None = None,
) -> WriteResult:
    """Set the file's genres (empty: remove them), touching nothing else; see tagger.tags.id3
    for `id3_version` and `separator` (MP3 only: the other formats store several values natively).

    `before_replace` is called with the result once the new copy is complete and before it
    replaces the original; `on_temp` is told the temporary copy's path before it is created.
    Raises WriteError (ValueError for bad arguments) with the original left intact.
    """
    path = Path(path)
    module = _module(path)
    if module is id3:
        return id3.write_genres(path, genres, id3_version=id3_version, separator=separator, keep_mtime=keep_mtime,
                                before_replace=before_replace, on_temp=on_temp)
    if id3_version not in (3, 4):
        raise ValueError(f"id3_version must be 3 or 4, not {id3_version!r}")
    cleaned = tuple(clean_genres(genres))

    def plan(src, st):
        edit = module.plan_genres(src, st, cleaned)
        try:
            module.read_tags(path)  # what genrenet cannot read (a video-only MP4) it does not write either
        except ReadError as exc:
            raise LayoutError(f"{without_path(str(exc), path)}; not written") from None
        return edit

    return rewrite(path, plan,
                   lambda tmp, _digest: module.verify_genres(path, tmp, cleaned),
                   keep_mtime=keep_mtime, before_replace=before_replace, on_temp=on_temp)


def restore_snapshot(path: Path, snapshot: str, *, mtime_ns: int | None = None,
                     on_temp: Callable[[Path], None] | None = None) -> WriteResult:
    """Give the file back the exact bytes it had before genrenet wrote it (WriteResult.snapshot
    of that write). Raises WriteError when the file is not one genrenet's write can have left."""
    try:
        snap = json.loads(snapshot)
    except ValueError:
        raise WriteError(f"{path}: the journal's record of the old tag is damaged") from None
    if is_pieces_snapshot(snap):
        return restore_pieces(Path(path), snap, mtime_ns=mtime_ns, on_temp=on_temp)
    return id3.restore_snapshot(path, snapshot, mtime_ns=mtime_ns, on_temp=on_temp)


def snapshot_matches(path: Path, snapshot: str) -> bool:
    """Whether the file already is the one `snapshot` records (restored, or never replaced)."""
    try:
        snap = json.loads(snapshot)
    except ValueError:
        return False
    if is_pieces_snapshot(snap):
        return pieces_match(Path(path), snap)
    return id3.snapshot_matches(path, snapshot)


def file_sha256(path: Path) -> str:
    """SHA-256 of a whole file (the journal's proof that a file is still as we left it)."""
    return sha256_of(Path(path))


def _check_readable(path: Path) -> None:
    if not os.path.isfile(path):
        raise ReadError(f"{path}: file not found" if not os.path.lexists(path) else f"{path}: not a file")
    if not os.access(path, os.R_OK):
        raise ReadError(f"{path}: permission denied")
