"""Read tags and write the genre frame (TCON) of MP3 files without touching anything else.

Reading goes through mutagen. Writing does not let mutagen re-serialize the tag: loading a v2.3
tag makes mutagen upgrade every frame to v2.4 internally, and saving converts them back (a
TYER+TDAT+TIME date becomes a TDRC frame that v2.3 does not even define, frames are reordered,
unknown frames may be dropped). Instead the ID3v2 tag is split into its frames as stored, only the
TCON frame(s) are replaced, and every other frame is copied back byte for byte, in its place.

Decisions:
- **Version.** A file that already has an ID3v2.3 or v2.4 tag keeps its own version: converting
  would rewrite every other frame. `id3_version` (3 = default, or 4) applies to files without a
  tag. ID3v2.2 tags and tags using unsynchronisation or an extended header (all rare today) are
  refused with a WriteError rather than converted: we never rewrite what we cannot keep intact.
- **Several genres.** v2.4 stores them null-separated, as the standard says. v2.3 has a single
  string; they are joined with `separator`, which defaults to "; " (DEFAULT_SEPARATOR), not
  mutagen's "/": slashes occur in real genre names ("Hip-Hop/Rap", "R&B/Soul"), so a reader could
  not split them back. `read_tags` splits v2.3 genres on the same separator.
- **Text.** v2.4 frames are UTF-8; v2.3 frames are Latin-1 when the text fits, else UTF-16 with
  a BOM. Genres are written as typed, with no "((" escape: other readers (mutagen, eyeD3) show
  "(Custom) genre" as typed, and an escaped "((" shows up literally in eyeD3. A name that every
  reader takes for an ID3v1 genre code ("13", "(13)...", "RX", "CR") cannot be stored as typed
  and is refused (genre_problem says why).
- **Atomic write.** The new file is written to a temporary file in the same folder (tag, then
  the untouched rest of the original: audio, ID3v1, APE, ...), flushed and fsynced, checked with
  mutagen, given the original's permission bits, and renamed over the original with os.replace.
  On any error the temporary file is removed and the original is untouched. A symlink is
  followed (the target is updated, the link stays). Hard links to the file keep the old content.
- **Read-only.** A file without any write permission bit is refused even where the process could
  replace it (rename needs only a writable folder, and root ignores modes): the user said so.
- **Other tags.** An ID3v1 tag, APEv2 tag or anything else after the ID3v2 tag is part of "the
  rest of the file" and copied unchanged (its own genre byte is left alone). An ID3v1-only file
  gets a new ID3v2 tag of `id3_version`.
- **Odd tags.** A tag holding two TCON frames (ID3 allows one) gets one; the journal keeps both
  old frames and a restore puts both back, next to each other. Bytes after the last frame that
  are not zero padding are kept verbatim. iTunes-style v2.4 tags with plain (not syncsafe) frame
  sizes are recognised and the new frame is written the same way.
- **Padding.** When the new frame fits in the old tag's padding the tag keeps its size, so the
  audio does not move; otherwise the tag grows with 1 KiB of fresh padding.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mutagen import MutagenError
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from tagger.errors import ReadError, WriteError
from tagger.tags import fields
from tagger.tags.base import (
    DEFAULT_SEPARATOR,
    Edit,
    LayoutError,
    TagInfo,
    WriteResult,
    clean_genres,
    reason,
    rewrite,
)

_NEW_PADDING = 1024
_MAX_TAG = (1 << 28) - 1
_FRAME_ID = re.compile(rb"[A-Z0-9]{4}")
_COPY_CHUNK = 1 << 20


# ---------------------------------------------------------------------------------- reading


def read_tags(path: Path, *, separator: str | None = None) -> TagInfo:
    """Title, artist, album, genres, duration and ID3 version of one MP3 file.

    Raises ReadError when the file is missing, unreadable, or not MP3 audio. A file without a tag
    gives empty fields.
    """
    path = Path(path)
    try:
        if not os.path.isfile(path):
            raise ReadError(f"{path}: file not found" if not os.path.lexists(path) else f"{path}: not a file")
        if not os.access(path, os.R_OK):
            raise ReadError(f"{path}: permission denied")
        audio = MP3(path)
    except FileNotFoundError:
        raise ReadError(f"{path}: file not found") from None
    except PermissionError:
        raise ReadError(f"{path}: permission denied") from None
    except (MutagenError, OSError, ValueError, EOFError) as exc:
        raise ReadError(f"{path}: not a readable MP3 file ({reason(exc)})") from None
    tags = audio.tags
    duration = float(audio.info.length) if audio.info and audio.info.length else None
    if tags is None:
        return TagInfo(duration=duration)
    # mutagen reports an ID3v1-only file as version (1, 1): there is no ID3v2 tag (None)
    version = tags.version[1] if tags.version[0] == 2 else 1
    sep = separator or DEFAULT_SEPARATOR
    genres: list[str] = []
    tcon = tags.get("TCON")
    if tcon is not None and version == 3:
        # mutagen's v2.3 -> v2.4 upgrade re-parses TCON and loses the "((" escape: read it as stored
        try:
            tcon = ID3(path, translate=False).get("TCON", tcon)
        except (MutagenError, OSError):
            pass
    if tcon is not None:
        for genre in tcon.genres:
            parts = genre.split(sep) if version < 4 else [genre]
            genres += [p.strip() for p in parts if p.strip()]
    return TagInfo(
        title=_text(tags, "TIT2"),
        artist=_text(tags, "TPE1"),
        album=_text(tags, "TALB"),
        genres=tuple(genres),
        duration=duration,
        id3_version=version if version != 1 else None,
        **_album_fields(tags),
    )


def _album_fields(tags) -> dict:
    track, track_total = fields.number_pair(_text(tags, "TRCK"))
    return {
        "track_number": track,
        "track_total": track_total,
        "disc_number": fields.number(_text(tags, "TPOS")),
        "year": fields.year(_text(tags, "TDRC")),  # mutagen reads a v2.3 TYER (and ID3v1's year) as TDRC
        "album_artist": _text(tags, "TPE2"),
        "compilation": fields.flag(_text(tags, "TCMP")),
    }


def read_genre_frame(path: Path) -> bytes | None:
    """The file's TCON frame(s) exactly as stored (frame headers included), None when it has none.

    This is what the journal keeps so that undo can put back the exact previous state.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            tag = _parse_tag(f, os.fstat(f.fileno()).st_size)
    except FileNotFoundError:
        raise ReadError(f"{path}: file not found") from None
    except _LayoutError as exc:
        raise ReadError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ReadError(f"{path}: {reason(exc)}") from None
    if tag is None:
        return None
    frames = [f for f in tag.frames if f[:4] == b"TCON"]
    return b"".join(frames) if frames else None


# ---------------------------------------------------------------------------------- writing


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
    """Set the file's genres (empty: remove the genre frame), touching nothing else.

    `id3_version` applies only to a file without a tag (see the module docstring). With
    `keep_mtime` the file keeps its modification time (Picard's "preserve timestamps").
    `before_replace` is called once with the old frame and the new fingerprint, after the new file
    is complete and before it replaces the original (or when the file already holds exactly this
    and is left alone); if it raises, nothing is replaced. The journal commits its record there.
    `on_temp` is told the temporary file's path before the file is created, so that a journal
    can remove it after a crash.
    Raises WriteError (ValueError for bad arguments) with the original left intact.
    """
    if id3_version not in (3, 4):
        raise ValueError(f"id3_version must be 3 or 4, not {id3_version!r}")
    cleaned = clean_genres(genres)
    sep = separator or DEFAULT_SEPARATOR

    def plan(tag: _Tag | None) -> _NewTag:
        version = tag.version if tag else id3_version
        sizer = tag.sizer if tag else _size_bytes(version)
        tcon = _tcon_frame(cleaned, version, sep, sizer)
        return _NewTag(_build_tag(tag, version, tcon, drop_empty_tag=False), version, tcon)

    return _rewrite(Path(path), plan, keep_mtime=keep_mtime, before_replace=before_replace, on_temp=on_temp)


def restore_genre_frame(path: Path, frame: bytes | None, *, id3_version: int = 3) -> WriteResult:
    """Put back genre frame bytes from read_genre_frame (None: no genre frame), atomically.

    When restoring "no frame" leaves a tag with no frames at all, the tag is removed: that is how
    a file that had no tag gets its exact bytes back. `id3_version` is used only if the file has
    lost its tag since. Raises WriteError when `frame` is not a genre frame for this tag.
    """
    path = Path(path)

    def plan(tag: _Tag | None) -> _NewTag:
        version = tag.version if tag else id3_version
        tcon = b""
        if frame is not None:
            sizer = tag.sizer if tag else _size_bytes(version)
            parsed = _walk(frame, _size_reader(sizer))
            if not (parsed and parsed[1] == len(frame) and parsed[0] and all(f[:4] == b"TCON" for f in parsed[0])):
                raise _LayoutError("the bytes to restore are not a genre frame for this tag")
            tcon = frame
        return _NewTag(_build_tag(tag, version, tcon, drop_empty_tag=frame is None), version, tcon)

    return _rewrite(path, plan)


def restore_snapshot(path: Path, snapshot: str, *, mtime_ns: int | None = None,
                     on_temp: Callable[[Path], None] | None = None) -> WriteResult:
    """Give the file back the exact ID3v2 tag bytes it had before genrenet wrote it.

    `snapshot` is WriteResult.snapshot of that write: the old header, the old genre frame(s) at
    their old places, the old padding or trailing bytes (every other frame is taken from the
    file, where the write kept it byte for byte). `mtime_ns` puts back the old modification time.
    Raises WriteError when the file's tag is not one genrenet's write can have left.
    """
    path = Path(path)
    try:
        snap = json.loads(snapshot)
    except ValueError:
        raise WriteError(f"{path}: the journal's record of the old tag is damaged") from None
    return _rewrite(path, lambda tag: _restored_tag(tag, snap), mtime_ns=mtime_ns, on_temp=on_temp)


def snapshot_matches(path: Path, snapshot: str) -> bool:
    """Whether the file's tag already is the one `snapshot` records (restored, or never replaced)."""
    try:
        snap = json.loads(snapshot)
        with open(path, "rb") as f:
            tag = _parse_tag(f, os.fstat(f.fileno()).st_size)
            want = _restored_tag(tag, snap).data
            f.seek(0)
            return f.read(tag.end if tag else 0) == want
    except (OSError, ValueError, KeyError, TypeError, _LayoutError):
        return False


def _snapshot(tag: _Tag | None) -> str:
    """What restore_snapshot needs to rebuild `tag` exactly from the tag genrenet writes over it."""
    if tag is None:
        return json.dumps({"v": 1, "tag": False})
    tcon = [[i, f.hex()] for i, f in enumerate(tag.frames) if f[:4] == b"TCON"]
    tail: object = {"zeros": len(tag.tail)} if not any(tag.tail) else tag.tail.hex()
    return json.dumps({"v": 1, "tag": True, "header": tag.header.hex(), "frames": len(tag.frames),
                       "tcon": tcon, "tail": tail})


def _restored_tag(tag: _Tag | None, snap: dict) -> _NewTag:
    if not isinstance(snap, dict) or snap.get("v") != 1:
        raise _LayoutError("the journal's record of the old tag is of an unknown kind")
    if not snap["tag"]:
        return _NewTag(b"", None, b"")  # there was no ID3v2 tag: remove the one genrenet made
    if tag is None:
        raise _LayoutError("the file has lost the ID3 tag genrenet wrote")
    header = bytes.fromhex(snap["header"])
    old_tcon = {int(i): bytes.fromhex(h) for i, h in snap["tcon"]}
    others = [f for f in tag.frames if f[:4] != b"TCON"]
    count = int(snap["frames"])
    if len(others) + len(old_tcon) != count:
        raise _LayoutError("the tag's frames are not the ones genrenet wrote; not restored")
    kept = iter(others)
    frames = [old_tcon[i] if i in old_tcon else next(kept) for i in range(count)]
    tail = bytes(snap["tail"]["zeros"]) if isinstance(snap["tail"], dict) else bytes.fromhex(snap["tail"])
    body = b"".join(frames) + tail
    if len(body) != (header[6] << 21) | (header[7] << 14) | (header[8] << 7) | header[9]:
        raise _LayoutError("the old tag does not fit its recorded size; not restored")
    footer = b"3DI" + header[3:] if header[3] == 4 and header[5] & 0x10 else b""
    return _NewTag(header + body + footer, header[3], b"".join(old_tcon[i] for i in sorted(old_tcon)))


# ---------------------------------------------------------------------------------- internals


_LayoutError = LayoutError


@dataclass(slots=True)
class _NewTag:
    """The tag bytes a rewrite puts in front of the audio, and what the copy must read back as."""

    data: bytes  # b"": no ID3v2 tag at all
    version: int | None
    tcon: bytes


@dataclass(slots=True)
class _Tag:
    header: bytes  # the 10 header bytes as stored
    version: int  # 3 or 4
    revision: int
    flags: int
    frames: list[bytes]  # raw frames, header included, in file order
    tail: bytes  # what follows the last frame inside the tag: padding (or junk, kept verbatim)
    end: int  # offset of the first byte after the tag (footer included)
    sizer: Callable[[int], bytes]  # how this tag encodes frame sizes


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def _plain(n: int) -> bytes:
    return n.to_bytes(4, "big")


def _size_bytes(version: int) -> Callable[[int], bytes]:
    return _syncsafe if version == 4 else _plain


def _size_reader(sizer: Callable[[int], bytes]) -> Callable[[bytes], int | None]:
    if sizer is _syncsafe:
        return lambda b: None if any(x & 0x80 for x in b) else (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]
    return lambda b: int.from_bytes(b, "big")


def _walk(body: bytes, read_size: Callable[[bytes], int | None]) -> tuple[list[bytes], int] | None:
    """Split `body` into raw frames; returns (frames, offset after the last) or None if one overruns."""
    frames: list[bytes] = []
    pos = 0
    while pos + 10 <= len(body) and _FRAME_ID.fullmatch(body[pos : pos + 4]):
        size = read_size(body[pos + 4 : pos + 8])
        if size is None or pos + 10 + size > len(body):
            return None
        frames.append(body[pos : pos + 10 + size])
        pos += 10 + size
    return frames, pos


def _parse_tag(f, file_size: int) -> _Tag | None:
    """The ID3v2 tag at the start of the open file `f`, None when there is none."""
    f.seek(0)
    head = f.read(10)
    if len(head) < 10 or head[:3] != b"ID3":
        return None
    major, revision, flags = head[3], head[4], head[5]
    if any(b & 0x80 for b in head[6:10]):
        raise _LayoutError("damaged ID3 tag header")
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    if major == 2:
        raise _LayoutError("ID3v2.2 tag: genrenet does not convert it (convert the tag to v2.3 first)")
    if major not in (3, 4):
        raise _LayoutError(f"unknown ID3v2.{major} tag")
    if flags & 0x80:
        raise _LayoutError("ID3 tag uses unsynchronisation, which genrenet does not rewrite")
    if flags & 0x40:
        raise _LayoutError("ID3 tag has an extended header, which genrenet does not rewrite")
    footer = 10 if major == 4 and flags & 0x10 else 0
    if 10 + size + footer > file_size:
        raise _LayoutError("ID3 tag is truncated (it claims more bytes than the file has)")
    body = f.read(size)
    candidates = [_syncsafe, _plain] if major == 4 else [_plain]
    best: tuple[list[bytes], int, Callable[[int], bytes]] | None = None
    for sizer in candidates:  # iTunes wrote v2.4 tags with plain sizes: take the reading that fits
        walked = _walk(body, _size_reader(sizer))
        if walked is None:
            continue
        if not any(body[walked[1] :]):
            best = (walked[0], walked[1], sizer)
            break
        if best is None:
            best = (walked[0], walked[1], sizer)
    if best is None:
        raise _LayoutError("damaged ID3 tag (a frame runs past the end of the tag)")
    frames, end, sizer = best
    return _Tag(head, major, revision, flags, frames, body[end:], 10 + size + footer, sizer)


def _build_tag(tag: _Tag | None, version: int, tcon: bytes, drop_empty_tag: bool) -> bytes:
    """The new tag bytes (header, frames, padding, footer); b"" for no tag at all."""
    if tag is None:
        if not tcon:
            return b""
        body = tcon + bytes(_NEW_PADDING)
        return b"ID3" + bytes([version, 0, 0]) + _syncsafe(len(body)) + body
    frames = list(tag.frames)
    positions = [i for i, fr in enumerate(frames) if fr[:4] == b"TCON"]
    at = positions[0] if positions else len(frames)
    frames = [fr for fr in frames if fr[:4] != b"TCON"]
    if tcon:
        frames.insert(at, tcon)
    if drop_empty_tag and not frames and not any(tag.tail):
        return b""
    data = b"".join(frames)
    if any(tag.tail):
        tail = tag.tail  # not padding: keep it verbatim
    else:
        room = sum(map(len, tag.frames)) + len(tag.tail) - len(data)
        tail = bytes(room if room >= 0 else _NEW_PADDING)
    body = data + tail
    if len(body) > _MAX_TAG:
        raise _LayoutError("the ID3 tag would exceed 256 MB")
    rest = bytes([tag.version, tag.revision, tag.flags]) + _syncsafe(len(body))
    footer = b"3DI" + rest if tag.version == 4 and tag.flags & 0x10 else b""
    return b"ID3" + rest + body + footer


def _tcon_frame(genres: Sequence[str], version: int, separator: str, sizer: Callable[[int], bytes]) -> bytes:
    if not genres:
        return b""
    values = list(genres)
    if version == 4:
        payload = b"\x03" + "\x00".join(values).encode("utf-8")
    else:
        text = separator.join(values)
        try:
            payload = b"\x00" + text.encode("latin-1")
        except UnicodeEncodeError:
            payload = b"\x01" + b"\xff\xfe" + text.encode("utf-16-le")
    return b"TCON" + sizer(len(payload)) + b"\x00\x00" + payload


def _rewrite(
    path: Path,
    plan_tag: Callable[[_Tag | None], _NewTag],
    *,
    keep_mtime: bool = False,
    mtime_ns: int | None = None,
    before_replace: Callable[[WriteResult], None] | None = None,
    on_temp: Callable[[Path], None] | None = None,
) -> WriteResult:
    """Swap in a copy of `path` with the tag `plan_tag` makes of the current one, then the
    untouched rest of the file (see tagger.tags._files.rewrite)."""
    planned: list[_NewTag] = []

    def plan(src, st: os.stat_result) -> Edit:
        tag = _parse_tag(src, st.st_size)
        new = plan_tag(tag)
        planned.append(new)
        _check_mp3(path, Path(os.path.realpath(path)))
        return Edit([new.data, range(tag.end if tag else 0, st.st_size)], _genre_bytes(tag), _snapshot(tag))

    return rewrite(path, plan, lambda tmp, _digest: _verify(path, tmp, planned[0]), keep_mtime=keep_mtime,
                   mtime_ns=mtime_ns, before_replace=before_replace, on_temp=on_temp)


def _check_mp3(path: Path, real: Path) -> None:
    try:
        MP3(real)
    except (MutagenError, ValueError, EOFError) as exc:
        raise WriteError(f"{path}: not a readable MP3 file ({reason(exc)}); not written") from None


def _verify(path: Path, tmp: Path, new: _NewTag) -> None:
    """Re-read the finished copy: it must be MP3 audio whose genre frame is the one we meant."""
    try:
        MP3(tmp)
        with open(tmp, "rb") as f:
            tag = _parse_tag(f, os.fstat(f.fileno()).st_size)
    except (MutagenError, ValueError, EOFError, _LayoutError) as exc:
        raise WriteError(f"{path}: the rewritten copy did not read back ({reason(exc)}); not written") from None
    got = _genre_bytes(tag) or b""
    if got != new.tcon or (tag is not None and tag.version != new.version):
        raise WriteError(f"{path}: the rewritten copy did not read back as intended; not written")


def _genre_bytes(tag: _Tag | None) -> bytes | None:
    if tag is None:
        return None
    frames = [f for f in tag.frames if f[:4] == b"TCON"]
    return b"".join(frames) if frames else None






def _text(tags, key: str) -> str | None:
    frame = tags.get(key)
    if frame is None:
        return None
    text = "; ".join(str(t) for t in frame.text if str(t))
    return text or None
