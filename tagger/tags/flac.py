"""FLAC: the genre lives in the VORBIS_COMMENT metadata block, one GENRE field per value.

Writing does not let mutagen re-serialize the file: the metadata blocks are walked as stored and
only the Vorbis comment block is rebuilt (tagger.tags.vorbis: every other field keeps its bytes
and place). Every other block (STREAMINFO, SEEKTABLE, PICTURE, APPLICATION, CUESHEET) and the
audio frames are copied as ranges of the original, so they stay byte-identical.

Decisions:
- **Padding.** The first PADDING block absorbs the change in size, so the audio frames do not
  move. When it is too small (or there is none) the file grows, with 1 KiB of fresh padding for
  the next edit; a shrinking comment without a padding block gets one, so nothing moves either.
- **No comment block.** A new one is added right after STREAMINFO, with vendor "genrenet".
- **ID3 in front.** A FLAC file with an ID3v2 tag before "fLaC" (some rippers write one) keeps it
  verbatim; only the Vorbis comments are the genre field.
- **Refused.** Several Vorbis comment blocks (invalid), a block running past the end of the file,
  a missing STREAMINFO: a LayoutError, the file untouched.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mutagen import MutagenError
from mutagen.flac import FLAC

from tagger.errors import ReadError, WriteError
from tagger.tags import vorbis
from tagger.tags.base import Edit, LayoutError, Piece, TagInfo, read_exact, reason
from tagger.tags.fields import vorbis_fields

STREAMINFO, PADDING, VORBIS_COMMENT = 0, 1, 4
_NEW_PADDING = 1024
_MAX_BLOCK = (1 << 24) - 1
_NEW_VENDOR = b"genrenet"
_TRUNCATED = "FLAC metadata is truncated"


@dataclass(frozen=True, slots=True)
class _Block:
    type: int
    start: int  # offset of the block's data (after its 4-byte header)
    length: int


@dataclass(frozen=True, slots=True)
class _Layout:
    magic_end: int  # offset after "fLaC"
    blocks: tuple[_Block, ...]
    audio_start: int


def read_tags(path: Path) -> TagInfo:
    try:
        audio = FLAC(path)
    except (MutagenError, OSError, ValueError, EOFError, struct.error) as exc:
        raise ReadError(f"{path}: not a readable FLAC file ({reason(exc)})") from None
    tags = audio.tags
    genres: tuple[str, ...] = ()
    if tags is not None:
        genres = tuple(g.strip() for g in tags.get("genre", []) if g.strip())
    return TagInfo(title=_joined(tags, "title"), artist=_joined(tags, "artist"), album=_joined(tags, "album"),
                   genres=genres, duration=float(audio.info.length) if audio.info.length else None, format="FLAC",
                   **vorbis_fields(tags))


def plan_genres(src: BinaryIO, st: os.stat_result, genres: tuple[str, ...]) -> Edit:
    layout = _parse(src, st.st_size)
    comment_blocks = [b for b in layout.blocks if b.type == VORBIS_COMMENT]
    if len(comment_blocks) > 1:
        raise LayoutError("FLAC file with several Vorbis comment blocks (invalid); not rewritten")
    old_block = comment_blocks[0] if comment_blocks else None
    if old_block is None:
        if not genres:
            return Edit([range(0, st.st_size)])
        old = vorbis.Comments(struct.pack("<I", len(_NEW_VENDOR)) + _NEW_VENDOR, (), b"")
    else:
        old = vorbis.parse(read_exact(src, old_block.start, old_block.length, _TRUNCATED))
    data = vorbis.with_genres(old, genres).encode()
    if len(data) > _MAX_BLOCK:
        raise LayoutError("the Vorbis comment block would exceed 16 MB")

    blocks: list[tuple[int, Piece]] = [(b.type, range(b.start, b.start + b.length)) for b in layout.blocks]
    if old_block is None:
        blocks.insert(1, (VORBIS_COMMENT, data))
        delta = 4 + len(data)
    else:
        at = layout.blocks.index(old_block)
        blocks[at] = (VORBIS_COMMENT, data)
        delta = len(data) - old_block.length
    _absorb(blocks, delta)

    pieces: list[Piece] = [range(0, layout.magic_end)]
    for i, (kind, body) in enumerate(blocks):
        last = 0x80 if i == len(blocks) - 1 else 0
        pieces += [bytes([last | kind]) + len(body).to_bytes(3, "big"), body]
    pieces.append(range(layout.audio_start, st.st_size))
    return Edit(pieces, old_genre=vorbis.genre_bytes(old) if old_block else None)


def _absorb(blocks: list[tuple[int, Piece]], delta: int) -> None:
    """Resize the first padding block by -delta so the audio stays where it is, if it can."""
    at = next((i for i, (kind, _) in enumerate(blocks) if kind == PADDING), None)
    if at is not None:
        room = len(blocks[at][1]) - delta
        blocks[at] = (PADDING, bytes(room if 0 <= room <= _MAX_BLOCK else _NEW_PADDING))
    elif delta > 0:
        blocks.append((PADDING, bytes(_NEW_PADDING)))
    elif delta <= -4:
        blocks.append((PADDING, bytes(-delta - 4)))


def verify_genres(path: Path, tmp: Path, genres: tuple[str, ...]) -> None:
    try:
        with open(tmp, "rb") as f:
            _parse(f, os.fstat(f.fileno()).st_size)
        audio = FLAC(tmp)
        got = list(audio.tags.get("genre", [])) if audio.tags is not None else []
    except (MutagenError, OSError, ValueError, EOFError, struct.error, LayoutError) as exc:
        raise WriteError(f"{path}: the rewritten copy did not read back ({reason(exc)}); not written") from None
    if got != list(genres):
        raise WriteError(f"{path}: the rewritten copy did not read back as intended; not written")


def _parse(f: BinaryIO, size: int) -> _Layout:
    f.seek(0)
    head = f.read(10)
    start = 0
    if head[:3] == b"ID3" and len(head) == 10:
        start = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]) + (10 if head[5] & 0x10 else 0)
    f.seek(start)
    if f.read(4) != b"fLaC":
        raise LayoutError("not a FLAC file")
    pos = start + 4
    blocks = []
    while True:
        header = f.read(4)
        if len(header) < 4:
            raise LayoutError(_TRUNCATED)
        block = _Block(header[0] & 0x7F, pos + 4, int.from_bytes(header[1:], "big"))
        if block.start + block.length > size:
            raise LayoutError("damaged FLAC metadata (a block runs past the end of the file)")
        if block.type == 127:
            raise LayoutError("damaged FLAC metadata (invalid block type)")
        blocks.append(block)
        pos = block.start + block.length
        f.seek(pos)
        if header[0] & 0x80:
            break
    if blocks[0].type != STREAMINFO:
        raise LayoutError("damaged FLAC metadata (no STREAMINFO block first)")
    return _Layout(start + 4, tuple(blocks), pos)


def _joined(tags, key: str) -> str | None:
    if tags is None:
        return None
    values = [v for v in tags.get(key, []) if v.strip()]
    return "; ".join(values) or None
