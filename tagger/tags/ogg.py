"""The genre fields of Ogg Vorbis and Opus files: the Vorbis comment header, re-laid in its own pages.

An Ogg file is a chain of pages (27-byte header, a lacing table of up to 255 segment lengths,
data, a CRC over the page). A Vorbis stream starts with three header packets: identification
(alone on page 0), comment (b"\\x03vorbis" + comments + framing byte) and setup (b"\\x05vorbis");
an Opus stream with two: OpusHead (page 0) and OpusTags (b"OpusTags" + comments + optional
binary data). In both codecs audio starts on a fresh page. The comments are edited with
tagger.tags.vorbis (only the GENRE fields change; every other field, the vendor string and the
bytes after the last field keep their bytes and place).

Decisions:
- **Same pages, so the audio is not touched.** Every page carries a sequence number, so a
  comment header that needed one page more would force rewriting every audio page after it
  (what mutagen does). Instead the new comment packet (and, for Vorbis, the setup packet,
  unchanged) is laid into exactly as many pages as the old header pages; each keeps its
  version, flags, serial, sequence number and granule position (as stored), and gets a new
  lacing table, continued-packet flag and CRC (computed by mutagen's OggPage). A page holds up to
  255 * 255 bytes, so a header page usually has ample room. Each page keeps its old number of
  lacing values where it can; growth is taken by the last pages first (up to 255 each), a
  shrink is taken from the last pages first (down to one value). The rest of the file (audio
  pages, chained streams) is one verbatim range. When the new header does not fit, the write is
  refused: "needs more Ogg pages than the old one". Granule positions stay as stored even where
  growth moves a packet's end onto a page that ended none (-1): decoders ignore header granules.
- **Padding kept.** Bytes after the last comment field (Vorbis: the framing byte and any zero
  padding mutagen left; Opus: binary data or padding) are kept verbatim, not spent on growth.
- **Refused rather than guessed.** Only a file whose first page is a Vorbis or Opus
  identification header is written (the first logical stream, so a chained file's later streams
  are just copied). Multiplexed files (another stream's page, or a second stream start, among
  the header pages), pages that are cut off, out of order or fail their CRC, header packets
  that are incomplete or lack their signature, and audio sharing a page with the header are
  refused with the reason; the file is left as it was. Only the header pages are checked: the
  audio pages are copied, not inspected, so a file cut off in its audio keeps its cut-off tail.
- **Reading** goes through mutagen (OggVorbis, OggOpus); the codec is taken from the first page,
  and any other codec (FLAC in Ogg, Speex, Theora, ...) is reported by name.
- **Verify.** The finished copy's header pages are walked again (CRCs included) and both that
  walk and mutagen must find exactly the requested GENRE values.
"""

from __future__ import annotations

import copy
import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mutagen import MutagenError
from mutagen.ogg import OggPage
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from tagger.errors import ReadError, WriteError
from tagger.tags import vorbis
from tagger.tags.base import Edit, LayoutError, TagInfo, reason
from tagger.tags.fields import vorbis_fields

VORBIS, OPUS = "Ogg Vorbis", "Opus"
_ID_HEADER = {VORBIS: b"\x01vorbis", OPUS: b"OpusHead"}
_COMMENT_HEADER = {VORBIS: b"\x03vorbis", OPUS: b"OpusTags"}
_SETUP_HEADER = b"\x05vorbis"
_OTHER_CODECS = (
    (b"\x7fFLAC", "FLAC"), (b"fLaC", "FLAC"), (b"Speex   ", "Speex"), (b"\x80theora", "Theora"),
    (b"fishead\x00", "Ogg Skeleton"), (b"CELT    ", "CELT"), (b"\x80kate", "Kate"), (b"PCM     ", "PCM"),
)
_MAX_LACING = 255  # lacing values per page; each segment holds up to 255 bytes
_MUTAGEN_ERRORS = (MutagenError, OSError, ValueError, EOFError, struct.error, IndexError)


class _Unsupported(LayoutError):
    """An Ogg file of another codec."""


class _BadPage(LayoutError):
    """Bytes that are not one whole, intact Ogg page."""

    def __init__(self, why: str) -> None:
        super().__init__(f"damaged Ogg page ({why})")
        self.why = why


# ---------------------------------------------------------------------------------- reading


def read_tags(path: Path) -> TagInfo:
    """Title, artist, album, genres, duration and codec of an Ogg Vorbis or Opus file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            first = _page(f, check_crc=False)
        if first is None:
            raise _BadPage("the file is empty")
        codec = _codec(first)
        audio = (OggVorbis if codec == VORBIS else OggOpus)(path)
    except _Unsupported as exc:
        raise ReadError(f"{path}: {exc}") from None
    except _BadPage as exc:
        raise ReadError(f"{path}: not a readable Ogg file ({exc.why})") from None
    except _MUTAGEN_ERRORS as exc:
        raise ReadError(f"{path}: not a readable Ogg file ({reason(exc)})") from None
    tags = audio.tags or {}

    def text(key: str) -> str | None:
        return "; ".join(v for v in tags.get(key, []) if v) or None

    genres = tuple(g.strip() for g in tags.get("genre", []) if g.strip())
    length = getattr(audio.info, "length", None)
    return TagInfo(title=text("title"), artist=text("artist"), album=text("album"), genres=genres,
                   duration=float(length) if length else None, format=codec, **vorbis_fields(audio.tags))


def _codec(first: OggPage) -> str:
    packet = first.packets[0] if first.packets else b""
    for codec, signature in _ID_HEADER.items():
        if packet.startswith(signature):
            return codec
    name = next((n for signature, n in _OTHER_CODECS if packet.startswith(signature)), "unknown")
    raise _Unsupported(f"Ogg file with a codec genrenet does not support ({name})")


def _page(f: BinaryIO, *, check_crc: bool = True) -> OggPage | None:
    """The page at f's position (None at the end of the file); f moves past it."""
    head = f.read(27)
    if not head:
        return None
    if not b"OggS".startswith(head[:4]):
        raise _BadPage("no page header where a page should start")
    if len(head) < 27:
        raise _BadPage("truncated")
    if head[4] != 0:
        raise _BadPage(f"unknown page version {head[4]}")
    lacing = f.read(head[26])
    body = f.read(sum(lacing))
    if len(lacing) != head[26] or len(body) != sum(lacing):
        raise _BadPage("truncated")
    raw = head + lacing + body
    page = OggPage(io.BytesIO(raw))
    if check_crc and page.write() != raw:  # mutagen writes what it read, with the correct CRC
        raise _BadPage("bad checksum")
    return page


# ------------------------------------------------------------------------------ header pages


@dataclass(frozen=True, slots=True)
class _Headers:
    codec: str
    start: int  # where page 0 ends and the comment header's pages begin
    pages: list[tuple[OggPage, int]]  # those pages as read, with their number of lacing values
    packets: list[bytes]  # the comment packet (Vorbis: and the setup packet), whole
    comments: vorbis.Comments
    end: int  # where the header pages end: the first audio page (or the end of the file)


def _read_headers(f: BinaryIO) -> _Headers:
    """The first logical stream's header pages, checked; LayoutError for anything we refuse."""
    f.seek(0)
    first = _page(f)
    if first is None:
        raise LayoutError("the file is empty")
    codec = _codec(first)
    if not first.first:
        raise LayoutError("damaged Ogg stream (the first page does not start a stream)")
    if len(first.packets) != 1 or not first.complete:
        raise LayoutError(f"damaged {codec} stream (the identification header is not alone on the first page)")
    start = f.tell()
    wanted = 2 if codec == VORBIS else 1
    pages: list[tuple[OggPage, int]] = []
    packets: list[bytes] = []
    partial: bytes | None = None  # a packet begun on an earlier page
    while len(packets) < wanted:
        page = _page(f)
        if page is None:
            raise LayoutError(f"damaged {codec} stream (the file ends before its header packets do)")
        if page.first or page.serial != first.serial:
            raise LayoutError("Ogg file with several multiplexed streams (a page of another stream among the "
                              "header pages); genrenet does not rewrite those")
        if page.sequence != first.sequence + 1 + len(pages):
            raise LayoutError(f"damaged {codec} stream (a header page is missing or out of order)")
        if page.continued != (partial is not None):
            raise LayoutError(f"damaged {codec} stream (a header packet is cut off)")
        pages.append((page, page.size - 27 - sum(map(len, page.packets))))  # its lacing values
        for i, chunk in enumerate(page.packets):
            if len(packets) == wanted:
                raise LayoutError(f"{codec} audio shares a page with the comment header; genrenet does not "
                                  "rewrite such files")
            data = partial + chunk if i == 0 and partial is not None else chunk
            partial = None
            if i < len(page.packets) - 1 or page.complete:
                packets.append(data)
            else:
                partial = data
    signature = _COMMENT_HEADER[codec]
    if not packets[0].startswith(signature):
        raise LayoutError(f"damaged {codec} stream (no comment header where it belongs)")
    if codec == VORBIS and not packets[1].startswith(_SETUP_HEADER):
        raise LayoutError("damaged Ogg Vorbis stream (no setup header where it belongs)")
    comments = vorbis.parse(packets[0][len(signature):])
    if codec == VORBIS and not (comments.trailer[:1] and comments.trailer[0] & 1):
        raise LayoutError("damaged Vorbis comment header (its framing bit is missing)")
    return _Headers(codec, start, pages, packets, comments, f.tell())


def _lay_out(packets: list[bytes], old: list[tuple[OggPage, int]]) -> bytes:
    """`packets` laid into as many pages as `old`, each keeping the old page's fields."""
    segments = [(n, s, min(s + 255, len(p))) for n, p in enumerate(packets)
                for s in range(0, len(p) // 255 * 255 + 1, 255)]  # (packet, start, stop) per lacing value
    counts = _fit([count for _page, count in old], len(segments))
    out, at, open_packet = [], 0, False
    for (page, _count), count in zip(old, counts, strict=True):
        new = copy.copy(page)  # version, flags, granule position, serial, sequence as stored
        new.continued = open_packet
        new.packets = []
        piece: list[int] | None = None  # [packet, start, stop] of the packet's bytes on this page
        for n, s, e in segments[at:at + count]:
            if piece is None:
                piece = [n, s, e]
            piece[2] = e
            if e - s < 255:  # the packet ends here
                new.packets.append(packets[n][piece[1]:piece[2]])
                piece = None
        if piece is not None:
            new.packets.append(packets[piece[0]][piece[1]:piece[2]])
        open_packet = piece is not None or (count == 0 and open_packet)
        new.complete = not open_packet
        at += count
        out.append(new.write())
    return b"".join(out)


def _fit(old: list[int], total: int) -> list[int]:
    """Lacing values per page for `total` values: the old counts, the difference taken up by the
    last pages first (at most 255 a page, at least one on a page that had any)."""
    counts = list(old)
    left = total - sum(counts)
    for i in reversed(range(len(counts))):
        step = max(min(left, _MAX_LACING - counts[i]), min(1, old[i]) - counts[i])
        counts[i] += step
        left -= step
    if left > 0:
        raise LayoutError("the new comment header needs more Ogg pages than the old one; not written")
    if left < 0:
        raise LayoutError("the new comment header is too short to fill the old one's Ogg pages; not written")
    return counts


# ---------------------------------------------------------------------------------- writing


def plan_genres(src: BinaryIO, st: os.stat_result, genres: tuple[str, ...]) -> Edit:
    """The file with its GENRE fields replaced by `genres` (empty: removed): page 0, the new
    header pages, then the original from the first audio page on."""
    headers = _read_headers(src)
    comments = vorbis.with_genres(headers.comments, genres)
    packets = [_COMMENT_HEADER[headers.codec] + comments.encode(), *headers.packets[1:]]
    pages = _lay_out(packets, headers.pages)
    return Edit([range(0, headers.start), pages, range(headers.end, st.st_size)],
                old_genre=vorbis.genre_bytes(headers.comments))


def verify_genres(path: Path, tmp: Path, genres: tuple[str, ...]) -> None:
    """Re-read the finished copy: its pages and mutagen must both give exactly `genres`."""
    try:
        with open(tmp, "rb") as f:
            headers = _read_headers(f)
        stored = [field.split(b"=", 1)[1].decode("utf-8") for field in headers.comments.genre_fields()]
        audio = (OggVorbis if headers.codec == VORBIS else OggOpus)(tmp)
        seen = list(audio.tags.get("genre", [])) if audio.tags is not None else []
    except (LayoutError, UnicodeDecodeError, *_MUTAGEN_ERRORS):
        seen = stored = None
    if stored != list(genres) or seen != list(genres):
        raise WriteError(f"{path}: the rewritten copy did not read back as intended; not written")
