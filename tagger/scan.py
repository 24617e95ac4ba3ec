"""Find audio files under music folders and read each one into a Track.

The walk is os.scandir based (one directory read per folder, no stat per plain file), sorted so
that every run lists files in the same order (the order of `sorted()` on the paths), follows
symlinked folders without ever looping, skips hidden files and folders, and reports folders it
cannot read instead of failing. Change detection (size + mtime) and the cache live in library.py.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from tagger.errors import FileError, ReadError, without_path
from tagger.tags import SUPPORTED_EXTENSIONS, TEMP_PREFIX, TEMP_SUFFIX, read_tags
from tagger.track import Fingerprint, Track

# Suffixes (lower case) of the files we list: those tagger.tags can read and write.
AUDIO_EXTENSIONS: frozenset[str] = SUPPORTED_EXTENSIONS
# Audio that a music folder may hold but genrenet does not read or write: counted and named in the
# scan's report ("3 files skipped: .wma (not supported)"), never silently passed over.
UNSUPPORTED_AUDIO: frozenset[str] = frozenset({
    ".wma", ".wav", ".aif", ".aiff", ".aifc", ".ape", ".wv", ".mpc", ".aac", ".ac3", ".dts", ".dsf", ".dff",
    ".mka", ".m4b", ".m4p", ".mp2", ".mp4", ".alac", ".tta", ".shn", ".spx", ".au", ".ra", ".rm", ".mid", ".midi",
    ".webm", ".caf", ".amr", ".3gp",
})

_WINDOWS = sys.platform == "win32"
LEFTOVER_TEMP = ("temporary copy left by an interrupted genrenet write; the next genrenet write or undo "
                 "removes it (the track itself is intact)")


def is_audio_name(name: str) -> bool:
    """True for a file name with one of AUDIO_EXTENSIONS, whatever its case (".mp3" alone is a
    hidden file, not an extension)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in AUDIO_EXTENSIONS


def unsupported_suffix(name: str) -> str | None:
    """The lower-case suffix of an audio file genrenet does not handle, else None."""
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""
    return suffix if suffix in UNSUPPORTED_AUDIO else None


def _is_hidden_on_windows(entry: os.DirEntry) -> bool:
    try:
        attributes = entry.stat(follow_symlinks=False).st_file_attributes
    except OSError:
        return False
    return bool(attributes & stat.FILE_ATTRIBUTE_HIDDEN)


def _reason(error: OSError, what: str) -> str:
    detail = error.strerror or str(error)
    return f"{what}: {detail[0].lower()}{detail[1:]}" if detail else what


def _list_dir(path: str, errors: list[tuple[Path, str]]) -> list[os.DirEntry] | None:
    """The folder's visible entries sorted by name, or None (and an error) when unreadable.

    Hidden: dotfiles everywhere (also macOS '._' resource forks), the hidden attribute on Windows.
    Sorted like Path comparison sorts: by name, ignoring case on Windows.
    """
    try:
        with os.scandir(path) as it:
            entries = []
            for e in it:
                if e.name[0] != ".":
                    entries.append(e)
                elif e.name.startswith(TEMP_PREFIX) and e.name.endswith(TEMP_SUFFIX):
                    errors.append((Path(e.path), LEFTOVER_TEMP))
    except FileNotFoundError:
        errors.append((Path(path), "folder not found"))
        return None
    except OSError as e:
        errors.append((Path(path), _reason(e, "cannot read folder")))
        return None
    if _WINDOWS:
        entries = [e for e in entries if not _is_hidden_on_windows(e)]
        entries.sort(key=lambda e: os.path.normcase(e.name))
    else:
        entries.sort(key=_name)
    return entries


def _name(entry: os.DirEntry) -> str:
    return entry.name


def _dir_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)  # follows links; DirEntry.stat() has no inode on Windows
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def path_order_key(path: str) -> list[str]:
    """Sort key for path strings that orders them as Path objects compare (parts, normcase)."""
    return os.path.normcase(path).split(os.sep)


def iter_audio_files(roots: Sequence[Path], errors: list[tuple[Path, str]],
                     skipped: Counter | None = None) -> Iterator[Path]:
    """Yield every audio file under `roots` (folders or single files), in sorted path order.

    Symlinked folders are followed, but a folder already walked (same device and inode) is not
    walked again, so links that point back up the tree cannot loop, and two links to one folder
    list its files once. Hidden entries are skipped. Folders that cannot be read, missing roots
    and dangling links are appended to `errors` as (path, reason); the walk goes on.
    """
    for path in iter_audio_paths(roots, errors, skipped):
        yield Path(path)


def iter_audio_paths(roots: Sequence[Path | str], errors: list[tuple[Path, str]],
                     skipped: Counter | None = None) -> Iterator[str]:
    """iter_audio_files yielding plain strings: no Path object per file (100,000 files).

    `skipped`, when given, counts the audio files of unsupported types by suffix."""
    visited: set[tuple[int, int]] = set()
    root_strs = sorted({os.fspath(r) for r in roots}, key=path_order_key)
    folder_roots = [r.rstrip(os.sep) + os.sep for r in root_strs if os.path.isdir(r)]

    for root in root_strs:
        if os.path.isdir(root):
            root_id = _dir_id(root)
            if root_id is None or root_id in visited:
                continue
            visited.add(root_id)
            entries = _list_dir(root, errors)
            if entries is not None:
                yield from _walk(entries, visited, errors, skipped)
        elif os.path.isfile(root):
            if root.startswith(tuple(folder_roots)):
                continue
            if is_audio_name(os.path.basename(root)):
                yield root
            elif skipped is not None:
                skipped[unsupported_suffix(os.path.basename(root)) or _suffix(root)] += 1
        elif os.path.lexists(root):
            errors.append((Path(root), _dangling_reason(root)))
        else:
            errors.append((Path(root), "folder not found"))


def _dangling_reason(path: str) -> str:
    try:
        os.stat(path)
    except OSError as e:
        return _reason(e, "broken link")
    return "not a file or folder"


def _suffix(name: str) -> str:
    dot = os.path.basename(name).rfind(".")
    return os.path.basename(name)[dot:].lower() if dot > 0 else "(no extension)"


def _walk(
    entries: list[os.DirEntry], visited: set[tuple[int, int]], errors: list[tuple[Path, str]],
    skipped: Counter | None = None,
) -> Iterator[str]:
    """Depth first with an explicit stack: each folder's sorted entries, descending in place."""
    stack: list[Iterator[os.DirEntry]] = [iter(entries)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        try:
            is_file, is_dir = entry.is_file(), entry.is_dir()
        except OSError as e:  # a symlink loop, a vanished entry
            errors.append((Path(entry.path), _reason(e, "cannot read")))
            continue
        if is_audio_name(entry.name) and is_file:
            yield entry.path
        elif is_file and skipped is not None and (suffix := unsupported_suffix(entry.name)):
            skipped[suffix] += 1
        elif is_dir:
            dir_id = _dir_id(entry.path)
            if dir_id is None or dir_id in visited:
                continue
            visited.add(dir_id)
            children = _list_dir(entry.path, errors)
            if children:
                stack.append(iter(children))
        elif entry.is_symlink() and not os.path.exists(entry.path):
            errors.append((Path(entry.path), _dangling_reason(entry.path)))


# --- reading one file --------------------------------------------------------------------------


def read_track(path: Path, fingerprint: Fingerprint | None = None) -> Track:
    """Read one file's tags into a Track.

    A file whose tags cannot be read still gives a Track, with `error` set. `fingerprint` is the
    stat taken before reading (taken here when None; FileError if the file cannot be stat'ed).
    Stat first, read second: if the file changes in between, the stored fingerprint is the old
    one, so the next scan sees a change and reads it again.
    """
    if fingerprint is None:
        try:
            fingerprint = Fingerprint.of(path)
        except OSError as e:
            raise FileError(_reason(e, "cannot read file")) from e
    try:
        info = read_tags(path)
    except ReadError as e:
        return Track(path, fingerprint, error=without_path(str(e), path) or "cannot read tags")
    except Exception as e:  # a batch job never stops for one odd file
        return Track(path, fingerprint, error=f"cannot read tags: {type(e).__name__}: {e}")
    return Track(
        path,
        fingerprint,
        title=info.title or None,
        artist=info.artist or None,
        album=info.album or None,
        genres=tuple(info.genres),
        duration=info.duration,
        format=info.format,
        track_number=info.track_number,
        track_total=info.track_total,
        disc_number=info.disc_number,
        year=info.year,
        album_artist=info.album_artist or None,
        compilation=info.compilation,
    )
