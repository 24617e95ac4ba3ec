"""How every tag format's write reaches the disk: a new copy made of pieces, swapped in atomically.

A format module describes the new file as `pieces`: literal bytes (a new tag, a new header) and
ranges of the original file (audio, pictures, every block it leaves alone), in order. `rewrite`
copies them into a temporary file in the same folder, fsyncs it, gives it the original's mode,
owner, group and extended attributes, lets the format re-read it (verify), checks that the
original did not change meanwhile, and renames the copy over the original. On any error the
copy is removed and the original is untouched. A symlink is followed (the target is updated).

Undo: for formats without a snapshot of their own, `pieces_snapshot` records the old file as
pieces over the *new* one: ranges of what the write kept, and the few bytes it replaced (old
tag blocks, padding as a count of zeros). With the new file unchanged since, `restore_pieces`
rebuilds the old file byte for byte and checks it against the old file's SHA-256 before the swap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mutagen._constants import GENRES

from tagger.errors import WriteError

TEMP_PREFIX, TEMP_SUFFIX = ".genrenet-", ".tmp"  # the temporary copy beside a file being written
COPY_CHUNK = 1 << 20
DEFAULT_SEPARATOR = "; "  # joins several genres where a format has one text field (ID3v2.3)

Piece = bytes | range  # literal bytes, or a range of the original file


class LayoutError(Exception):
    """The file's tag or container is damaged or uses a layout genrenet will not rewrite."""


@dataclass(frozen=True, slots=True)
class TagInfo:
    """The tags of one file as the scanner shows them."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genres: tuple[str, ...] = ()
    duration: float | None = None
    id3_version: int | None = None  # 2, 3 or 4 (ID3v2.x), None without an ID3v2 tag
    format: str = "MP3"  # as shown to the user: MP3, FLAC, Ogg Vorbis, Opus, AAC, ALAC
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    year: int | None = None  # the 4-digit year of the file's date field
    album_artist: str | None = None
    compilation: bool = False  # the compilation flag (ID3 TCMP, Vorbis COMPILATION, MP4 cpil)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write left on disk: the old genre field as stored, the old file's snapshot (see
    restore_snapshot), the old modification time, and the new file's fingerprint."""

    old_frame: bytes | None
    size: int
    mtime_ns: int
    sha256: str
    changed: bool  # False when the file already held exactly this and was not rewritten
    snapshot: str = ""
    old_mtime_ns: int | None = None


@dataclass(slots=True)
class Edit:
    """A format's plan for the new file. `snapshot` None: rewrite records pieces_snapshot."""

    pieces: list[Piece]
    old_genre: bytes | None = None
    snapshot: str | None = None


Plan = Callable[[BinaryIO, os.stat_result], Edit]
Verify = Callable[[Path, str], None]  # (the finished copy, its SHA-256): raise WriteError if wrong


def rewrite(
    path: Path,
    plan: Plan,
    verify: Verify,
    *,
    keep_mtime: bool = False,
    mtime_ns: int | None = None,
    before_replace: Callable[[WriteResult], None] | None = None,
    on_temp: Callable[[Path], None] | None = None,
    snapshot: bool = True,
) -> WriteResult:
    """Write a copy of `path` made of the pieces `plan` gives for it, then swap it in.

    The copy gets the modification time `mtime_ns`, or the original's with `keep_mtime`.
    `before_replace` is called once with the result after the copy is complete and before it
    replaces the original (or when the file already is so and is left alone); if it raises,
    nothing is replaced. `on_temp` is told the temporary file's path before it is created.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        raise WriteError(f"{path}: file not found") from None
    except OSError as exc:
        raise WriteError(f"{path}: {reason(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise WriteError(f"{path}: not a regular file")
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK):
        raise WriteError(f"{path}: file is read-only")
    tmp: str | None = None
    try:
        with open(real, "rb") as src:
            try:
                edit = plan(src, st)
            except (LayoutError, OSError, WriteError):
                raise
            except Exception as exc:  # a layout no format module foresaw: refuse it, never a traceback
                raise LayoutError(f"cannot rewrite this file ({type(exc).__name__}: {exc})") from None
            pieces = _merged(edit.pieces)
            snap = edit.snapshot
            if _same_as_source(src, pieces, st.st_size):  # already so: leave the file alone (nothing to undo)
                result = WriteResult(edit.old_genre, st.st_size, st.st_mtime_ns, sha256_of(real), changed=False,
                                     snapshot=snap or "", old_mtime_ns=st.st_mtime_ns)
                if before_replace is not None:
                    before_replace(result)
                return result
            if snap is None and snapshot:  # reads the whole old file once, for its SHA-256
                snap = pieces_snapshot(src, pieces, st.st_size)
            tmp = str(real.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}")
            if on_temp is not None:
                on_temp(Path(tmp))
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            except PermissionError:
                tmp = None
                raise WriteError(f"{path}: the folder is not writable") from None
            with os.fdopen(fd, "wb") as out:
                digest = _copy_pieces(src, pieces, out, path)
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        _keep_owner(tmp, st)
        _copy_xattrs(real, tmp)
        _check_copy(verify, path, Path(tmp), digest)
        if keep_mtime or mtime_ns is not None:
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns if mtime_ns is None else mtime_ns))
        now = os.stat(real)
        if (now.st_size, now.st_mtime_ns, now.st_ino) != (st.st_size, st.st_mtime_ns, st.st_ino):
            raise WriteError(f"{path}: the file changed while it was being written; nothing was changed")
        tst = os.stat(tmp)
        result = WriteResult(edit.old_genre, tst.st_size, tst.st_mtime_ns, digest, changed=True,
                             snapshot=snap or "", old_mtime_ns=st.st_mtime_ns)
        if before_replace is not None:
            before_replace(result)
        os.replace(tmp, real)
        tmp = None
        _fsync_dir(real.parent)
        return result
    except LayoutError as exc:
        raise WriteError(f"{path}: {exc}") from None
    except FileNotFoundError:
        raise WriteError(f"{path}: file not found (it vanished during the write)") from None
    except OSError as exc:
        raise WriteError(f"{path}: {reason(exc)}; the file was not changed") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _check_copy(verify: Verify, path: Path, tmp: Path, digest: str) -> None:
    """The format re-reads the finished copy (a separate step, so a test can stop a write here)."""
    verify(tmp, digest)


def _merged(pieces: Sequence[Piece]) -> list[Piece]:
    """The same pieces with empty ones dropped and neighbours joined (adjacent ranges, literals)."""
    out: list[Piece] = []
    for p in pieces:
        if len(p) == 0:
            continue
        if out and isinstance(p, range) and isinstance(out[-1], range) and out[-1].stop == p.start:
            out[-1] = range(out[-1].start, p.stop)
        elif out and isinstance(p, bytes) and isinstance(out[-1], bytes):
            out[-1] = out[-1] + p
        else:
            out.append(p if isinstance(p, range) else bytes(p))
    return out


def _same_as_source(src: BinaryIO, pieces: Sequence[Piece], size: int) -> bool:
    if sum(map(len, pieces)) != size:
        return False
    at = 0
    for p in pieces:
        if isinstance(p, range):
            if p.start != at:
                return False
        else:
            src.seek(at)
            if src.read(len(p)) != p:
                return False
        at += len(p)
    return True


def _copy_pieces(src: BinaryIO, pieces: Sequence[Piece], out: BinaryIO, path: Path) -> str:
    digest = hashlib.sha256()
    for p in pieces:
        if isinstance(p, bytes):
            out.write(p)
            digest.update(p)
            continue
        src.seek(p.start)
        left = len(p)
        while left:
            chunk = src.read(min(left, COPY_CHUNK))
            if not chunk:
                raise WriteError(f"{path}: the file changed while it was being written; nothing was changed")
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------- pieces snapshots


def pieces_snapshot(src: BinaryIO, new: Sequence[Piece], size: int) -> str:
    """The original file (open as `src`, `size` bytes) described as pieces over the new file."""
    at, kept = 0, []
    for p in new:
        if isinstance(p, range):
            kept.append((p.start, p.stop, at))  # old [start, stop) sits at new offset `at`
        at += len(p)
    kept.sort()
    pieces: list[list] = []
    pos = 0
    for start, stop, new_at in kept:
        if stop <= pos:
            continue  # these old bytes are used twice in the new file; once is enough
        if start > pos:
            pieces.append(_literal(src, pos, start))
        skip = max(0, pos - start)
        pieces.append(["r", new_at + skip, stop - start - skip])
        pos = stop
    if pos < size:
        pieces.append(_literal(src, pos, size))
    return json.dumps({"v": 1, "kind": "pieces", "size": size, "sha256": _sha256_open(src),
                       "new_size": at, "pieces": pieces})


def _literal(src: BinaryIO, start: int, stop: int) -> list:
    src.seek(start)
    data = src.read(stop - start)
    if len(data) != stop - start:
        raise LayoutError("the file is shorter than it was a moment ago")
    return ["z", len(data)] if not any(data) else ["b", data.hex()]


def is_pieces_snapshot(snap: object) -> bool:
    return isinstance(snap, dict) and snap.get("kind") == "pieces"


def restore_pieces(path: Path, snap: dict, *, mtime_ns: int | None = None,
                   on_temp: Callable[[Path], None] | None = None) -> WriteResult:
    """Rebuild the old file that `snap` (pieces_snapshot) records from the file genrenet wrote."""
    try:
        want_size, want_sha, new_size = int(snap["size"]), str(snap["sha256"]), int(snap["new_size"])
        pieces: list[Piece] = []
        for p in snap["pieces"]:
            if p[0] == "r":
                pieces.append(range(int(p[1]), int(p[1]) + int(p[2])))
            elif p[0] == "z":
                pieces.append(bytes(int(p[1])))
            else:
                pieces.append(bytes.fromhex(p[1]))
    except (KeyError, TypeError, ValueError, IndexError):
        raise WriteError(f"{path}: the journal's record of the old file is damaged") from None

    def plan(src: BinaryIO, st: os.stat_result) -> Edit:
        if st.st_size != new_size or sum(map(len, pieces)) != want_size:
            raise LayoutError("the file is not the one genrenet wrote; not restored")
        return Edit(pieces)

    def verify(tmp: Path, digest: str) -> None:
        if digest != want_sha:
            raise WriteError(f"{path}: the rebuilt file does not match the original; not restored")

    return rewrite(path, plan, verify, mtime_ns=mtime_ns, on_temp=on_temp, snapshot=False)


def pieces_match(path: Path, snap: dict) -> bool:
    """Whether the file already is the old file `snap` records."""
    try:
        return os.path.getsize(path) == int(snap["size"]) and sha256_of(Path(path)) == snap["sha256"]
    except (OSError, KeyError, TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------------- helpers


_ID3_CODE = re.compile(r"\((\d+|RX|CR)\)|(\d+|RX|CR)$")
_SPECIAL_CODES = {"RX": "Remix", "CR": "Cover"}


def genre_problem(name: str) -> str | None:
    """Why this genre name cannot be written so that taggers show it as typed, or None."""
    name = name.strip()
    if not name or "\x00" in name:
        return "a genre name must be non-empty text"
    match = _ID3_CODE.match(name)
    if match is None:
        return None
    code = match.group(1) or match.group(2)
    meaning = _SPECIAL_CODES.get(code) or (GENRES[int(code)] if int(code) < len(GENRES) else "unknown genre")
    return (f"{name!r} would be read by other taggers as the ID3 genre code {code} ({meaning}), "
            "not as you typed it; write the genre's name instead")


def clean_genres(genres: Sequence[str]) -> list[str]:
    if isinstance(genres, str):
        raise ValueError("genres must be a sequence of names, not one string")
    cleaned = [str(g).strip() for g in genres]
    for g in cleaned:
        problem = genre_problem(g)
        if problem:
            raise ValueError(problem)
    return cleaned


def read_exact(src: BinaryIO, at: int, n: int, why: str, error: type[LayoutError] = LayoutError) -> bytes:
    """`n` bytes at offset `at`; raises error(why) when the file ends first."""
    src.seek(at)
    data = src.read(n)
    if len(data) != n:
        raise error(why)
    return data


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return _sha256_open(f)


def _sha256_open(f: BinaryIO) -> str:
    digest = hashlib.sha256()
    f.seek(0)
    while chunk := f.read(COPY_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _keep_owner(tmp: str, st: os.stat_result) -> None:
    """Give the copy the original's owner and group where this process may (root may give a file
    away; an owner may give it to a group they are in); else the copy stays ours."""
    if not hasattr(os, "chown") or (st.st_uid, st.st_gid) == (os.getuid(), os.getgid()):
        return
    for uid, gid in ((st.st_uid, st.st_gid), (-1, st.st_gid)):
        try:
            os.chown(tmp, uid, gid)
            return
        except OSError:
            continue


def _copy_xattrs(src: Path, dst: str) -> None:
    """Carry extended attributes (desktop tags, comments, labels) over to the copy, where we can."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(dst, name, os.getxattr(src, name))
        except OSError:
            pass  # e.g. security.* attributes only root may set


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() and exc.strerror[1:2].islower() else exc.strerror
    return str(exc) or type(exc).__name__
