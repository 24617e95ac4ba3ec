"""Vorbis comments (FLAC's VORBIS_COMMENT block, Ogg Vorbis and Opus comment headers), edited raw.

Layout: vendor length (u32 LE) + vendor string, field count (u32 LE), then each field as length
(u32 LE) + "KEY=value" in UTF-8; Opus allows bytes after the last field, kept verbatim. Only the
GENRE fields (the key compares case-insensitively) are replaced, one field per value, where the
first old GENRE field was (or after the last field); every other field keeps its bytes and place.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from tagger.tags.base import LayoutError

GENRE_KEY = b"GENRE"


@dataclass(frozen=True, slots=True)
class Comments:
    vendor: bytes  # length + vendor string, as stored
    fields: tuple[bytes, ...]  # each field's "KEY=value" bytes
    trailer: bytes  # what follows the last field (Opus: binary data; FLAC, Vorbis: empty)

    def genre_fields(self) -> list[bytes]:
        return [f for f in self.fields if _key(f) == GENRE_KEY]

    def genres(self) -> list[str]:
        return [v for v in (f.split(b"=", 1)[1].decode("utf-8", "replace").strip() for f in self.genre_fields()) if v]

    def encode(self) -> bytes:
        body = b"".join(struct.pack("<I", len(f)) + f for f in self.fields)
        return self.vendor + struct.pack("<I", len(self.fields)) + body + self.trailer


def parse(data: bytes) -> Comments:
    """The comments in `data` (no packet signature, no framing bit); LayoutError when damaged."""
    try:
        (vendor_len,) = struct.unpack_from("<I", data, 0)
        pos = 4 + vendor_len
        (count,) = struct.unpack_from("<I", data, pos)
        pos += 4
        fields = []
        for _ in range(count):
            (length,) = struct.unpack_from("<I", data, pos)
            pos += 4
            if pos + length > len(data):
                raise struct.error
            fields.append(data[pos : pos + length])
            pos += length
    except struct.error:
        raise LayoutError("damaged Vorbis comment (a field runs past its end)") from None
    if pos > len(data) or vendor_len > len(data):
        raise LayoutError("damaged Vorbis comment (a field runs past its end)")
    return Comments(data[: 4 + vendor_len], tuple(fields), data[pos:])


def with_genres(comments: Comments, genres: Sequence[str]) -> Comments:
    """The same comments with the GENRE fields replaced by one field per genre."""
    old = comments.genre_fields()
    key = old[0].split(b"=", 1)[0] if old else GENRE_KEY  # keep the file's own spelling of the key
    new = [key + b"=" + g.encode("utf-8") for g in genres]
    fields = list(comments.fields)
    at = next((i for i, f in enumerate(fields) if _key(f) == GENRE_KEY), len(fields))
    fields = [f for f in fields if _key(f) != GENRE_KEY]
    fields[at:at] = new
    return Comments(comments.vendor, tuple(fields), comments.trailer)


def genre_bytes(comments: Comments) -> bytes | None:
    """The GENRE fields as stored (length-prefixed), what the journal keeps as the old value."""
    old = comments.genre_fields()
    return b"".join(struct.pack("<I", len(f)) + f for f in old) if old else None


def _key(field: bytes) -> bytes:
    return field.split(b"=", 1)[0].upper() if b"=" in field else b""
