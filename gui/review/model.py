"""The review table: a QAbstractTableModel over a core tagger.review.Review (one row per
ReviewItem) and the filter proxy that shows its views (Needs review, Confident, Changed, Album,
Errors). Every rule (what needs review, what is written, what a decision does) is the core's;
this module only displays, sorts and forwards.

Built for 100,000 rows: rows are plain Python objects in a list, inserted in batches (one
beginInsertRows per batch), updated with one dataChanged per contiguous range, and sorted in
the source model with Python's sort (one key per row) instead of a comparator per pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap

from gui import theme
from tagger.review import Review, ReviewCounts, ReviewItem, View, clean_genres
from tagger.track import Decision, DecisionStatus, Track

_ModelIndex = QModelIndex | QPersistentModelIndex


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


def status_colour(status: DecisionStatus) -> QColor:
    return theme.colour(f"status.{status.value}")


STATUS_GLYPHS = {
    DecisionStatus.PENDING: "",
    DecisionStatus.ACCEPTED: "\u2713",
    DecisionStatus.REJECTED: "\u2715",
    DecisionStatus.EDITED: "\u270e",
    DecisionStatus.WRITTEN: "\u2714",
    DecisionStatus.ERROR: "!",
}


def _status_icon(status: DecisionStatus) -> QIcon:
    size = 14
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = status_colour(status)
    if status == DecisionStatus.PENDING:
        p.setPen(color)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(2, 2, size - 4, size - 4)
    else:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawEllipse(1, 1, size - 2, size - 2)
        p.setPen(QColor("white"))
        font = QFont()
        font.setPixelSize(10)
        font.setBold(True)
        p.setFont(font)
        p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, STATUS_GLYPHS[status])
    p.end()
    return QIcon(pix)


class TrackTableModel(QAbstractTableModel):
    """Rows of the review table. Mutations go through methods that say what they mean."""

    problem = Signal(str)  # an edit that was refused, and why

    def __init__(self, review: Review, parent=None) -> None:
        super().__init__(parent)
        self.review = review
        self._sorted_by: tuple | None = None  # (column, order) while the rows are still in that order
        self._icons: dict[tuple[DecisionStatus, bool], QIcon] = {}  # (status, dark palette)
        self._italic = QFont()
        self._italic.setItalic(True)

    # --- Qt model interface ----------------------------------------------------------------

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.review.items)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(Column):
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[Column(section)]
            if role == Qt.ItemDataRole.ToolTipRole:
                return HEADER_TIPS.get(Column(section))
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return section + 1
        return None

    def flags(self, index: _ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if index.column() == Column.NEW and self.review.items[index.row()].track.error is None:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.review.items[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == Role.ROW:
            return row
        if role == Role.SORT:
            return _sort_key(row, Column(col))
        if role == Role.CONFIDENCE:
            return row.confidence
        if role == Role.STATUS:
            return row.status
        if role == Role.PATH:
            return row.track.path
        if role == Role.NEEDS_REVIEW:
            return self.needs_review(row)
        if role == Role.ALBUM_NOTE:
            return row.album_note
        if role == Qt.ItemDataRole.EditRole and col == Column.NEW:
            return row.genre_text
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.DecorationRole and col == Column.STATUS:
            key = (row.status, theme.is_dark())
            icon = self._icons.get(key)
            if icon is None:
                icon = self._icons[key] = _status_icon(row.status)
            return icon
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.status == DecisionStatus.ERROR and col in (Column.STATUS, Column.PREDICTED):
                return QBrush(theme.colour("error"))
            if col == Column.ALBUM and row.album_note:
                return QBrush(theme.colour("warning"))
            if row.status == DecisionStatus.REJECTED:
                return QBrush(theme.colour("dim"))
            if col == Column.NEW and (not row.changes_file or row.status == DecisionStatus.PENDING):
                return QBrush(theme.colour("dim"))
            return None
        if role == Qt.ItemDataRole.FontRole and col == Column.NEW and row.status == DecisionStatus.EDITED:
            return self._italic
        return None

    def setData(self, index: _ModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != Column.NEW or role != Qt.ItemDataRole.EditRole:
            return False
        genres = split_genres(str(value or ""))
        try:
            self.set_genres([index.row()], genres)
        except ValueError as exc:  # a name taggers would misread: say why, change nothing
            self.problem.emit(str(exc))
            return False
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder rows by one key per row; selections and persistent indexes follow."""
        items = self.review.items
        if not 0 <= column < len(Column) or not items or self._sorted_by == (column, order):
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        rows_before = [items[i.row()] for i in persistent]
        col = Column(column)
        # rows equal in the column keep album order (stable sort), ascending in both directions
        keyed = sorted(items, key=_album_order) if col in _IN_ALBUM_ORDER else list(items)
        keyed.sort(key=lambda r: _sort_key(r, col), reverse=order == Qt.SortOrder.DescendingOrder)
        if order == Qt.SortOrder.DescendingOrder:
            # keep empty values last in both orders
            keyed = [r for r in keyed if not _is_empty(r, col)] + [r for r in keyed if _is_empty(r, col)]
        items[:] = keyed
        self.review.reindex()
        new_indexes = [self.index(self.review.index_of(r.track.path), i.column()) for r, i in zip(rows_before, persistent, strict=True)]
        self.changePersistentIndexList(persistent, new_indexes)
        self.layoutChanged.emit()
        self._sorted_by = (column, order)

    # --- display ---------------------------------------------------------------------------

    def _display(self, row: Row, col: int):
        t = row.track
        if col == Column.STATUS:
            return row.status.value
        if col == Column.TITLE:
            return t.title or t.path.stem
        if col == Column.ARTIST:
            return t.artist or ""
        if col == Column.ALBUM:
            return ("\u26a0 " if row.album_note else "") + (t.album or "")
        if col == Column.CURRENT:
            return t.current_genre or ""
        if col == Column.PREDICTED:
            if row.prediction is None:
                return "error" if row.error else ""
            return row.predicted
        if col == Column.CONFIDENCE:
            c = row.confidence
            return "" if c is None else f"{c:.0%}"
        if col == Column.NEW:
            return row.genre_text
        if col == Column.FILE:
            return t.path.name
        if col == Column.FORMAT:
            return t.format
        if col == Column.TRACK:
            return _track_text(t)
        if col == Column.YEAR:
            return str(t.year) if t.year else ""
        if col == Column.DISC:
            return str(t.disc_number) if t.disc_number else ""
        if col == Column.ALBUM_ARTIST:
            return t.album_artist or ""
        return None

    def _tooltip(self, row: Row, col: int) -> str | None:
        if row.error:
            return f"{row.track.path}\n{row.error}"
        if row.note and col in (Column.STATUS, Column.NEW):
            return f"Pending again: {row.note}"
        if col == Column.ALBUM and row.album_note:
            return row.album_note
        if col == Column.FILE:
            return str(row.track.path)
        if col in (Column.PREDICTED, Column.CONFIDENCE) and row.top_names:
            return "\n".join(f"{p:6.1%}  {name}" for name, p in row.top_names)
        if col == Column.NEW and row.status == DecisionStatus.EDITED and row.predicted:
            return f"Edited; the model predicted {row.predicted}"
        return None

    # --- reading ---------------------------------------------------------------------------

    def row_at(self, i: int) -> Row:
        return self.review.items[i]

    def rows(self) -> list[Row]:
        return self.review.items

    def row_of(self, path: Path) -> int | None:
        return self.review.index_of(path)

    @property
    def threshold(self) -> float:
        return self.review.threshold

    def needs_review(self, row: Row) -> bool:
        return row.needs_review(self.review.threshold)

    def decisions(self) -> list[Decision]:
        """What 'Write' writes: the decisions not on disk yet (tagger.review)."""
        return self.review.decisions()

    def counts(self) -> ReviewCounts:
        return self.review.counts()

    def genre_names(self) -> list[str]:
        """Every genre name seen in predictions and current tags, for the editor's list."""
        names: set[str] = set()
        for r in self.review.items:
            names.update(name for name, _ in r.top_names)
            names.update(r.track.genres)
        return sorted(names, key=str.casefold)

    def namer(self, label: str) -> str:
        return self.review.namer(label)

    # --- changing: each forwards to the core and repaints what changed ----------------------

    def clear(self) -> None:
        self.beginResetModel()
        self.review.clear()
        self._sorted_by = None
        self.endResetModel()

    def set_tracks(self, tracks: Sequence[Track]) -> None:
        """Show a new scan: rows whose file is unchanged keep their prediction; every row shows
        its stored decision."""
        self.beginResetModel()
        self.review.set_tracks(tracks)
        self._sorted_by = None
        self.endResetModel()

    def add_tracks(self, tracks: Sequence[Track]) -> None:
        """Append rows in one insert (the scan streams tracks in batches)."""
        new = [t for t in tracks if self.review.index_of(t.path) is None]
        if not new:
            return
        first = len(self.review.items)
        self._sorted_by = None
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self.review.add_tracks(new)
        self.endInsertRows()

    def apply_results(self, results: Iterable) -> None:
        self._changed(self.review.apply_results(results))

    def configure(self, **settings) -> None:
        """Threshold, policy, genre names or count changed (tagger.review.Review.configure)."""
        self.review.configure(**settings)
        self._emit_all_changed()

    def accept(self, rows: Iterable[int]) -> int:
        return self._changed(self.review.accept(rows))

    def reject(self, rows: Iterable[int]) -> int:
        return self._changed(self.review.reject(rows))

    def reset(self, rows: Iterable[int]) -> int:
        return self._changed(self.review.reset(rows))

    def set_genres(self, rows: Iterable[int], genres: Sequence[str]) -> int:
        return self._changed(self.review.set_genres(rows, genres))

    def accept_confident(self) -> int:
        return self._changed(self.review.accept_confident())

    def use_album_majority(self, rows: Iterable[int]) -> int:
        return self._changed(self.review.use_album_majority(rows))

    def undo_decision(self) -> int:
        return self._changed(self.review.undo())

    def refresh_tracks(self, tracks: Sequence[Track]) -> None:
        """Files were written or restored: show their tags and stored decisions now."""
        self._changed(self.review.refresh(tracks))

    def mark_errors(self, errors: Sequence[tuple[Path, str]]) -> None:
        self._changed(self.review.mark_errors(errors))

    def update_albums(self) -> int:
        flagged = self.review.update_albums()
        self._emit_all_changed()
        return flagged

    # --- internals -------------------------------------------------------------------------

    def _changed(self, rows: list[int]) -> int:
        """One dataChanged per contiguous run of rows; returns how many rows changed."""
        if not rows:
            return 0
        self._sorted_by = None
        rows = sorted(set(rows))
        last_col = len(Column) - 1
        start = prev = rows[0]
        for i in rows[1:] + [None]:
            if i is not None and i == prev + 1:
                prev = i
                continue
            self.dataChanged.emit(self.index(start, 0), self.index(prev, last_col))
            if i is not None:
                start = prev = i
        return len(rows)

    def _emit_all_changed(self) -> None:
        self._sorted_by = None
        if self.review.items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.review.items) - 1, len(Column) - 1))


def split_genres(text: str) -> tuple[str, ...]:
    """'Rock; Pop' -> ('Rock', 'Pop'); blanks and repeats dropped (tagger.review.clean_genres)."""
    return clean_genres(text.replace("\u0000", ";").split(";"))


_STATUS_ORDER = {s: i for i, s in enumerate(
    (DecisionStatus.ERROR, DecisionStatus.PENDING, DecisionStatus.EDITED, DecisionStatus.ACCEPTED,
     DecisionStatus.REJECTED, DecisionStatus.WRITTEN))}


def _text_key(value: str | None) -> tuple[int, str]:
    return (0, value.casefold()) if value else (1, "")


def _number_key(value: int | None) -> tuple[int, int]:
    return (0, value) if value else (1, 0)


def _track_text(t: Track) -> str:
    if not t.track_number:
        return ""
    return f"{t.track_number}/{t.track_total}" if t.track_total else str(t.track_number)


# Sorting by these columns keeps each album together in disc and track order.
_IN_ALBUM_ORDER = frozenset({Column.ARTIST, Column.ALBUM, Column.ALBUM_ARTIST})


def _album_order(row: Row) -> tuple:
    t = row.track
    return (_text_key(t.album), _number_key(t.disc_number), _number_key(t.track_number), str(t.path).casefold())


def _is_empty(row: Row, col: Column) -> bool:
    return _sort_key(row, col)[0] == 1


def _sort_key(row: Row, col: Column) -> tuple:
    t = row.track
    if col == Column.STATUS:
        return (0, _STATUS_ORDER[row.status], str(t.path))
    if col == Column.TITLE:
        return _text_key(t.title or t.path.stem)
    if col == Column.ARTIST:
        return _text_key(t.artist)
    if col == Column.ALBUM:
        return _text_key(t.album)
    if col == Column.CURRENT:
        return _text_key(t.current_genre)
    if col == Column.PREDICTED:
        return _text_key(row.predicted)
    if col == Column.CONFIDENCE:
        c = row.confidence
        return (1, 0.0) if c is None else (0, c)
    if col == Column.NEW:
        return _text_key(row.genre_text)
    if col == Column.FORMAT:
        return (*_text_key(t.format), str(t.path).casefold())
    if col in _NUMBERS:
        return (*_number_key(_NUMBERS[col](t)), str(t.path).casefold())
    if col == Column.ALBUM_ARTIST:
        return _text_key(t.album_artist)
    return (0, str(t.path).casefold())


_NUMBERS = {
    Column.TRACK: lambda t: t.track_number,
    Column.YEAR: lambda t: t.year,
    Column.DISC: lambda t: t.disc_number,
}


Filter = View  # the table's filters are the review's views

FILTER_LABELS = {
    Filter.NEEDS_REVIEW: "Needs review",
    Filter.CONFIDENT: "Confident",
    Filter.CHANGED: "Changed",
    Filter.ALBUM: "Album disagrees",
    Filter.TAG_DISAGREES: "Tag disagrees",
    Filter.ERRORS: "Errors",
    Filter.ALL: "All",
}

FILTER_TIPS = {
    Filter.NEEDS_REVIEW: "Pending predictions below the review threshold, least confident first",
    Filter.CONFIDENT: "Predictions at or above the review threshold",
    Filter.CHANGED: "Rows whose genre will be (or was) written: accepted, edited or written",
    Filter.ALBUM: "Tracks whose prediction disagrees with the rest of their album",
    Filter.TAG_DISAGREES: "Confident predictions that contradict every genre the file carries: a wrong tag, "
                          "or a model to retrain (Tools -> Learn from My Tags)",
    Filter.ERRORS: "Files that could not be read, classified or written",
    Filter.ALL: "Every file",
}


class TrackFilterModel(QSortFilterProxyModel):
    """The table's view: a filter mode plus a search text. Sorting is done by the source model
    (one key per row), so this proxy never sorts by itself."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._mode = Filter.ALL
        self._needle = ""
        self.setDynamicSortFilter(True)

    @property
    def mode(self) -> Filter:
        return self._mode

    def set_mode(self, mode: Filter) -> None:
        if mode != self._mode:
            self._change_filter(lambda: setattr(self, "_mode", Filter(mode)))

    def set_search(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle != self._needle:
            self._change_filter(lambda: setattr(self, "_needle", needle))

    def refilter(self) -> None:
        self._change_filter(lambda: None)

    def _change_filter(self, change: Callable[[], None]) -> None:
        self.beginFilterChange()
        change()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)

    def source_rows(self, proxy_rows: Iterable[int]) -> list[int]:
        return [self.mapToSource(self.index(r, 0)).row() for r in proxy_rows]

    def filterAcceptsRow(self, source_row: int, source_parent: _ModelIndex) -> bool:
        model: TrackTableModel = self.sourceModel()  # type: ignore[assignment]
        row = model.review.items[source_row]
        if not self._mode.matches(row, model.review.threshold):
            return False
        if self._needle:
            return self._needle in row.search_text()
        return True
