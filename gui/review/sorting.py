"""Sort keys of the review table: one key per row and column (Python's sort, not a comparator per
pair, so 100,000 rows sort in a blink), empty values last in both directions, and album order
(album, disc, track number) for the rows a sort leaves equal."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt

from gui.review.schema import Column, Row
from tagger.track import DecisionStatus, Track

_STATUS_ORDER = {s: i for i, s in enumerate(
    (DecisionStatus.ERROR, DecisionStatus.PENDING, DecisionStatus.EDITED, DecisionStatus.ACCEPTED,
     DecisionStatus.REJECTED, DecisionStatus.WRITTEN))}

# Sorting by these columns keeps each album together in disc and track order.
IN_ALBUM_ORDER = frozenset({Column.ARTIST, Column.ALBUM, Column.ALBUM_ARTIST})


def text_key(value: str | None) -> tuple[int, str]:
    return (0, value.casefold()) if value else (1, "")


def number_key(value: int | None) -> tuple[int, int]:
    return (0, value) if value else (1, 0)


def album_order(row: Row) -> tuple:
    """Album, disc, track number, then path: how an album's tracks are listed."""
    t = row.track
    return (text_key(t.album), number_key(t.disc_number), number_key(t.track_number), str(t.path).casefold())


def album_group_order(track: Track) -> tuple:
    """Album order with each album (its tag within one folder, as tagger.review.album_majorities
    groups them) kept together: two "Greatest Hits" in different folders do not interleave."""
    path = str(track.path).casefold()
    return (text_key(track.album), path.rpartition(os.sep)[0], number_key(track.disc_number),
            number_key(track.track_number), path)


_NUMBERS = {
    Column.TRACK: lambda t: t.track_number,
    Column.YEAR: lambda t: t.year,
    Column.DISC: lambda t: t.disc_number,
}


def sort_key(row: Row, col: Column) -> tuple:
    t = row.track
    if col == Column.STATUS:
        return (0, _STATUS_ORDER[row.status], str(t.path))
    if col == Column.TITLE:
        return text_key(t.title or t.path.stem)
    if col == Column.ARTIST:
        return text_key(t.artist)
    if col == Column.ALBUM:
        return text_key(t.album)
    if col == Column.CURRENT:
        return text_key(t.current_genre)
    if col == Column.PREDICTED:
        return text_key(row.predicted)
    if col == Column.CONFIDENCE:
        c = row.confidence
        return (1, 0.0) if c is None else (0, c)
    if col == Column.NEW:
        return text_key(row.genre_text)
    if col == Column.FORMAT:
        return (*text_key(t.format), str(t.path).casefold())
    if col in _NUMBERS:
        return (*number_key(_NUMBERS[col](t)), str(t.path).casefold())
    if col == Column.ALBUM_ARTIST:
        return text_key(t.album_artist)
    return (0, str(t.path).casefold())


def is_empty(row: Row, col: Column) -> bool:
    return sort_key(row, col)[0] == 1


def sorted_rows(rows: list[Row], col: Column, order: Qt.SortOrder) -> list[Row]:
    """`rows` sorted by `col`: rows equal in the column keep album order (stable sort) where the
    column is an album's, ascending in both directions; empty values last in both directions."""
    keyed = sorted(rows, key=album_order) if col in IN_ALBUM_ORDER else list(rows)
    descending = order == Qt.SortOrder.DescendingOrder
    keyed.sort(key=lambda r: sort_key(r, col), reverse=descending)
    if descending:
        keyed = [r for r in keyed if not is_empty(r, col)] + [r for r in keyed if is_empty(r, col)]
    return keyed
