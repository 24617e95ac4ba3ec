"""What the review table is made of: its columns (numbered for good: a saved header state keeps
meaning the same columns), their headers and tips, and the data roles views, delegates and the
filter proxy read rows through."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import Qt

from tagger.review import ReviewItem


class Column(IntEnum):
    STATUS = 0
    TITLE = 1
    ARTIST = 2
    ALBUM = 3
    CURRENT = 4
    PREDICTED = 5
    CONFIDENCE = 6
    NEW = 7
    FILE = 8
    FORMAT = 9
    # appended, so a saved header state keeps meaning the same columns (gui.review.columns)
    TRACK = 10
    YEAR = 11
    DISC = 12
    ALBUM_ARTIST = 13


HEADERS = {
    Column.STATUS: "Status",
    Column.TITLE: "Title",
    Column.ARTIST: "Artist",
    Column.ALBUM: "Album",
    Column.CURRENT: "Current genre",
    Column.PREDICTED: "Predicted genre",
    Column.CONFIDENCE: "Confidence",
    Column.NEW: "Genre to write",
    Column.FILE: "File",
    Column.FORMAT: "Format",
    Column.TRACK: "Track",
    Column.YEAR: "Year",
    Column.DISC: "Disc",
    Column.ALBUM_ARTIST: "Album artist",
}

HEADER_TIPS = {
    Column.CURRENT: "The genre the file carries today",
    Column.PREDICTED: "What the model hears, with its confidence in the next column",
    Column.NEW: "What will be written when you accept the row (double-click or F2 to edit)",
    Column.STATUS: "pending, accepted, rejected, edited, written or error",
}


class Role(IntEnum):
    """Custom data roles; views, delegates and the proxy read rows through these."""

    ROW = Qt.ItemDataRole.UserRole + 1  # the Row object
    SORT = Qt.ItemDataRole.UserRole + 2  # a sort key for the column
    CONFIDENCE = Qt.ItemDataRole.UserRole + 3  # float or None
    STATUS = Qt.ItemDataRole.UserRole + 4  # DecisionStatus
    PATH = Qt.ItemDataRole.UserRole + 5  # Path
    NEEDS_REVIEW = Qt.ItemDataRole.UserRole + 6  # bool
    ALBUM_NOTE = Qt.ItemDataRole.UserRole + 7  # str or None: disagrees with its album


Row = ReviewItem  # one table row
