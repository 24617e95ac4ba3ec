"""The album fields beside title, artist and album: track and disc number, year, album artist,
compilation. Every format stores them as text of a few spellings ("3/12", "2004-05-01", "1");
they are parsed here once, for the readers of every format."""

from __future__ import annotations

import re
from typing import Any

_NUMBER = re.compile(r"\s*(\d+)")
_YEAR = re.compile(r"\s*(\d{4})")
_TRUE = frozenset({"1", "true", "yes"})

# Vorbis comment keys (FLAC, Ogg Vorbis, Opus) in the order they are tried; mutagen matches keys
# whatever their case. The alternatives are what foobar2000 and older taggers write.
_VORBIS_KEYS = {
    "track_total": ("TRACKTOTAL", "TOTALTRACKS"),
    "year": ("DATE", "YEAR"),
    "album_artist": ("ALBUMARTIST", "ALBUM ARTIST"),
}


def number(text: object) -> int | None:
    """The leading number of '3', '03' or '3/12' (3); None for no number or 0 (not set)."""
    return _leading(_NUMBER, text)


def number_pair(text: object) -> tuple[int | None, int | None]:
    """'3/12' -> (3, 12); '3' -> (3, None)."""
    if text is None:
        return None, None
    head, _, total = str(text).partition("/")
    return number(head), number(total)


def year(text: object) -> int | None:
    """The 4-digit year a date field starts with: '2004-05-01' -> 2004; None for no year."""
    return _leading(_YEAR, text)


def flag(text: object) -> bool:
    """A compilation field's truth: '1' (what taggers write), 'true', 'yes'."""
    return text is not None and str(text).strip().casefold() in _TRUE


def _leading(pattern: re.Pattern[str], text: object) -> int | None:
    match = pattern.match(str(text)) if text is not None else None
    return (int(match.group(1)) or None) if match else None


def vorbis_fields(tags: Any) -> dict[str, Any]:
    """TagInfo's album fields from Vorbis comments (a mutagen VComment, or None)."""
    def values(*keys: str) -> list[str]:
        """The non-blank values of the first of these keys that has any."""
        for key in keys:
            found = [v.strip() for v in (tags.get(key) or []) if v.strip()] if tags is not None else []
            if found:
                return found
        return []

    def first(*keys: str) -> str | None:
        return next(iter(values(*keys)), None)

    track, track_total = number_pair(first("TRACKNUMBER"))
    return {
        "track_number": track,
        "track_total": track_total or number(first(*_VORBIS_KEYS["track_total"])),
        "disc_number": number(first("DISCNUMBER")),
        "year": year(first(*_VORBIS_KEYS["year"])),
        "album_artist": "; ".join(values(*_VORBIS_KEYS["album_artist"])) or None,  # as the artist is shown
        "compilation": flag(first("COMPILATION")),
    }
