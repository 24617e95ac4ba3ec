"""The review table's data: one Row per scanned file, a QAbstractTableModel over them, and the
filter proxy that gives the table its views (Needs review, Confident, Changed, Album, Errors).

Built for 100,000 rows: rows are plain Python objects in a list, inserted in batches (one
beginInsertRows per batch), updated with one dataChanged per contiguous range, and sorted in
the source model with Python's sort (one key per row) instead of a comparator per pair.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap

from tagger.review import album_majorities
from tagger.track import Decision, DecisionStatus, Prediction, Track

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


@dataclass(slots=True, eq=False)
class Row:
    """One file in the table: what was scanned, what the model said, what the user decided."""

    track: Track
    prediction: Prediction | None = None
    predicted: str = ""  # the prediction's top genre as a genre name
    genres: tuple[str, ...] = ()  # what will be written
    status: DecisionStatus = DecisionStatus.PENDING
    error: str | None = None
    album_note: str | None = None
    album_majority: str | None = None
    top_names: list[tuple[str, float]] = field(default_factory=list)
    confidence: float | None = None  # the prediction's confidence, kept (sorting reads it a lot)
    _hay: str | None = None
    _hay_key: tuple | None = None

    def search_text(self) -> str:
        """Lower-case text the search box matches, rebuilt only when the row changed."""
        key = (id(self.track), self.genres, self.predicted)
        if self._hay is None or key != self._hay_key:
            t = self.track
            self._hay = " ".join(x for x in (t.title, t.artist, t.album, t.current_genre, self.predicted,
                                             self.genre_text, t.path.name) if x).casefold()
            self._hay_key = key
        return self._hay

    @property
    def genre_text(self) -> str:
        return "; ".join(self.genres)

    @property
    def changes_file(self) -> bool:
        """Writing this row would change the file's genre."""
        return bool(self.genres) and tuple(self.genres) != tuple(self.track.genres)

    @property
    def to_write(self) -> bool:
        return self.status in (DecisionStatus.ACCEPTED, DecisionStatus.EDITED) and self.changes_file


STATUS_COLORS = {
    DecisionStatus.PENDING: QColor("#9e9e9e"),
    DecisionStatus.ACCEPTED: QColor("#2e7d32"),
    DecisionStatus.REJECTED: QColor("#757575"),
    DecisionStatus.EDITED: QColor("#1565c0"),
    DecisionStatus.WRITTEN: QColor("#00897b"),
    DecisionStatus.ERROR: QColor("#c62828"),
}
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
    color = STATUS_COLORS[status]
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

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._index: dict[Path, int] = {}
        self._sorted_by: tuple | None = None  # (column, order) while the rows are still in that order
        self.threshold = 0.8
        self.genres_to_write = 1
        self._namer: Callable[[str], str] = lambda label: label
        self._icons: dict[DecisionStatus, QIcon] = {}
        self._italic = QFont()
        self._italic.setItalic(True)
        self._warn_brush = QBrush(QColor("#e65100"))
        self._error_brush = QBrush(QColor("#c62828"))
        self._dim_brush = QBrush(QColor("#8a8a8a"))

    # --- Qt model interface ----------------------------------------------------------------

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

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
        if index.column() == Column.NEW and self._rows[index.row()].track.error is None:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
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
            icon = self._icons.get(row.status)
            if icon is None:
                icon = self._icons[row.status] = _status_icon(row.status)
            return icon
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.status == DecisionStatus.ERROR and col in (Column.STATUS, Column.PREDICTED):
                return self._error_brush
            if col == Column.ALBUM and row.album_note:
                return self._warn_brush
            if row.status == DecisionStatus.REJECTED:
                return self._dim_brush
            if col == Column.NEW and (not row.changes_file or row.status == DecisionStatus.PENDING):
                return self._dim_brush
            return None
        if role == Qt.ItemDataRole.FontRole and col == Column.NEW and row.status == DecisionStatus.EDITED:
            return self._italic
        return None

    def setData(self, index: _ModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != Column.NEW or role != Qt.ItemDataRole.EditRole:
            return False
        genres = split_genres(str(value or ""))
        self.set_genres([index.row()], genres)
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder rows by one key per row; selections and persistent indexes follow."""
        if not 0 <= column < len(Column) or not self._rows or self._sorted_by == (column, order):
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        rows_before = [self._rows[i.row()] for i in persistent]
        col = Column(column)
        keyed = sorted(self._rows, key=lambda r: _sort_key(r, col),
                       reverse=order == Qt.SortOrder.DescendingOrder)
        if order == Qt.SortOrder.DescendingOrder:
            # keep empty values last in both orders
            keyed = [r for r in keyed if not _is_empty(r, col)] + [r for r in keyed if _is_empty(r, col)]
        self._rows = keyed
        self._reindex()
        new_indexes = [self.index(self._index[r.track.path], i.column()) for r, i in zip(rows_before, persistent, strict=True)]
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
        return None

    def _tooltip(self, row: Row, col: int) -> str | None:
        if row.error:
            return f"{row.track.path}\n{row.error}"
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
        return self._rows[i]

    def rows(self) -> list[Row]:
        return self._rows

    def row_of(self, path: Path) -> int | None:
        return self._index.get(path)

    def needs_review(self, row: Row) -> bool:
        c = row.confidence
        return c is not None and c < self.threshold

    def decisions(self) -> list[Decision]:
        """What 'Write' writes: accepted or edited rows whose genre differs from the file's."""
        return [
            Decision(path=r.track.path, genres=r.genres, expected=r.track.fingerprint, status=r.status)
            for r in self._rows
            if r.to_write
        ]

    def counts(self) -> dict:
        """Everything the window shows as a number, in one pass over the rows.

        Keys: total, classified, review (pending and below the threshold), to_write, errors,
        one per DecisionStatus value, and "filters": {Filter: rows it shows before searching}.
        """
        statuses = Counter()
        classified = review_pending = to_write = 0
        below = above = changed = album = errors = 0
        threshold = self.threshold
        pending = DecisionStatus.PENDING
        written = DecisionStatus.WRITTEN
        for r in self._rows:
            status = r.status
            statuses[status] += 1
            c = r.confidence
            if c is not None:
                classified += 1
                if c < threshold:
                    below += 1
                    if status == pending:
                        review_pending += 1
                else:
                    above += 1
            writes = r.to_write
            if writes:
                to_write += 1
            if writes or status == written:
                changed += 1
            if r.album_note is not None:
                album += 1
            if r.error is not None:
                errors += 1
        return {
            "total": len(self._rows),
            "classified": classified,
            "review": review_pending,
            "to_write": to_write,
            "errors": statuses[DecisionStatus.ERROR],
            **{s.value: statuses[s] for s in DecisionStatus},
            "filters": {Filter.NEEDS_REVIEW: below, Filter.CONFIDENT: above, Filter.CHANGED: changed,
                        Filter.ALBUM: album, Filter.ERRORS: errors, Filter.ALL: len(self._rows)},
        }

    def filter_counts(self) -> dict[Filter, int]:
        """How many rows each filter shows (before the search text)."""
        return self.counts()["filters"]

    def genre_names(self) -> list[str]:
        """Every genre name seen in predictions and current tags, for the editor's list."""
        names: set[str] = set()
        for r in self._rows:
            names.update(name for name, _ in r.top_names)
            names.update(r.track.genres)
        return sorted(names, key=str.casefold)

    # --- changing --------------------------------------------------------------------------

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._index = {}
        self._sorted_by = None
        self.endResetModel()

    def set_tracks(self, tracks: Sequence[Track]) -> None:
        """Show a new scan: rows whose file is unchanged keep their prediction and decision."""
        old = {r.track.path: r for r in self._rows}
        self.beginResetModel()
        rows = []
        for t in tracks:
            prev = old.get(t.path)
            if prev is not None and prev.track.fingerprint == t.fingerprint and t.error is None:
                prev.track = t
                rows.append(prev)
            else:
                rows.append(self._new_row(t))
        self._rows = rows
        self._reindex()
        self._sorted_by = None
        self.endResetModel()

    def add_tracks(self, tracks: Sequence[Track]) -> None:
        """Append rows in one insert (the scan streams tracks in batches)."""
        new = [t for t in tracks if t.path not in self._index]
        if not new:
            return
        first = len(self._rows)
        self._sorted_by = None
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        for i, t in enumerate(new):
            self._rows.append(self._new_row(t))
            self._index[t.path] = first + i
        self.endInsertRows()

    def _new_row(self, t: Track) -> Row:
        row = Row(track=t)
        if t.error:
            row.status, row.error = DecisionStatus.ERROR, t.error
        return row

    def apply_results(self, results: Iterable) -> None:
        """Store classification results (objects with path, prediction, error)."""
        changed: list[int] = []
        for res in results:
            i = self._index.get(res.path)
            if i is None:
                continue
            row = self._rows[i]
            if res.prediction is not None:
                row.prediction = res.prediction
                self._name_row(row)
                if row.status in (DecisionStatus.PENDING, DecisionStatus.ERROR):
                    row.status, row.error = DecisionStatus.PENDING, None
                    row.genres = self._default_genres(row)
            else:
                row.prediction, row.predicted, row.top_names, row.confidence = None, "", [], None
                row.status, row.error = DecisionStatus.ERROR, res.error or "could not be classified"
            changed.append(i)
        self._emit_rows_changed(changed)

    def set_namer(self, namer: Callable[[str], str], genres_to_write: int | None = None) -> None:
        """New genre names (taxonomy or settings changed): pending rows follow, edits stay."""
        self._namer = namer
        if genres_to_write is not None:
            self.genres_to_write = genres_to_write
        for row in self._rows:
            if row.prediction is not None:
                self._name_row(row)
                if row.status in (DecisionStatus.PENDING, DecisionStatus.ACCEPTED):
                    row.genres = self._default_genres(row)
        self._emit_all_changed()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self._emit_all_changed()

    def _name_row(self, row: Row) -> None:
        pred = row.prediction
        assert pred is not None
        row.top_names = [(self._namer(label), p) for label, p in pred.top(5)]
        row.predicted = row.top_names[0][0]
        row.confidence = row.top_names[0][1]

    def _default_genres(self, row: Row) -> tuple[str, ...]:
        names: list[str] = []
        for name, _ in row.top_names:
            if name not in names:
                names.append(name)
            if len(names) == self.genres_to_write:
                break
        return tuple(names)

    def set_status(self, rows: Iterable[int], status: DecisionStatus) -> int:
        """Accept / reject / reset rows; rows in error or without a genre are left alone."""
        changed = []
        for i in rows:
            row = self._rows[i]
            if row.track.error is not None:
                continue
            if status == DecisionStatus.ACCEPTED and not row.genres:
                continue
            if status == DecisionStatus.PENDING:
                row.genres = self._default_genres(row) if row.prediction is not None else ()
                if row.prediction is None and row.error:
                    continue
            row.status = status
            changed.append(i)
        self._emit_rows_changed(changed)
        return len(changed)

    def set_genres(self, rows: Iterable[int], genres: Sequence[str]) -> int:
        """The user chose these genres for these rows."""
        changed = []
        for i in rows:
            row = self._rows[i]
            if row.track.error is not None:
                continue
            row.genres = tuple(genres)
            if not genres:
                row.status = DecisionStatus.PENDING
                row.genres = self._default_genres(row) if row.prediction is not None else ()
            elif row.prediction is not None and tuple(genres) == self._default_genres(row):
                row.status = DecisionStatus.ACCEPTED
            else:
                row.status = DecisionStatus.EDITED
            changed.append(i)
        self._emit_rows_changed(changed)
        return len(changed)

    def accept_confident(self) -> int:
        """'Accept all above threshold': pending rows at or above the review threshold."""
        rows = [
            i for i, r in enumerate(self._rows)
            if r.status == DecisionStatus.PENDING and r.confidence is not None and r.confidence >= self.threshold
        ]
        return self.set_status(rows, DecisionStatus.ACCEPTED)

    def use_album_majority(self, rows: Iterable[int]) -> int:
        changed = 0
        for i in rows:
            majority = self._rows[i].album_majority
            if majority:
                changed += self.set_genres([i], (majority,))
        return changed

    def mark_written(self, tracks: Sequence[Track]) -> None:
        """Files were written: their rows show the new tags and status 'written'."""
        changed = []
        for t in tracks:
            i = self._index.get(t.path)
            if i is None:
                continue
            row = self._rows[i]
            row.track = t
            row.status, row.error = DecisionStatus.WRITTEN, None
            changed.append(i)
        self._emit_rows_changed(changed)

    def mark_errors(self, errors: Sequence[tuple[Path, str]]) -> None:
        """Per-file errors of a write: the row keeps its decision and shows the reason."""
        changed = []
        for path, message in errors:
            i = self._index.get(Path(path))
            if i is None:
                continue
            self._rows[i].error = message
            changed.append(i)
        self._emit_rows_changed(changed)

    def refresh_tracks(self, tracks: Sequence[Track]) -> None:
        """Files changed on disk (undo): show their tags now; decisions go back to pending."""
        changed = []
        for t in tracks:
            i = self._index.get(t.path)
            if i is None:
                continue
            row = self._rows[i]
            row.track = t
            row.error = t.error
            if t.error:
                row.status = DecisionStatus.ERROR
            else:
                row.status = DecisionStatus.PENDING
                row.genres = self._default_genres(row) if row.prediction is not None else ()
            changed.append(i)
        self._emit_rows_changed(changed)

    def update_albums(self) -> int:
        """Flag tracks whose prediction disagrees with the majority of their album
        (tagger.review.album_majorities). Returns how many tracks are flagged."""
        verdicts = album_majorities((r.track, r.predicted, r.confidence or 0.0)
                                    for r in self._rows if r.prediction is not None)
        flagged = 0
        for r in self._rows:
            verdict = verdicts.get(r.track.path)
            r.album_majority = verdict.majority if verdict else None
            r.album_note = None
            if verdict and r.predicted != verdict.majority:
                r.album_note = (f"The album's majority genre is {verdict.majority} "
                                f"({verdict.votes} of {verdict.size} tracks); this track: {r.predicted}")
                flagged += 1
        self._emit_all_changed()
        return flagged

    # --- internals -------------------------------------------------------------------------

    def _reindex(self) -> None:
        self._index = {r.track.path: i for i, r in enumerate(self._rows)}

    def _emit_rows_changed(self, rows: list[int]) -> None:
        """One dataChanged per contiguous run of rows."""
        if not rows:
            return
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

    def _emit_all_changed(self) -> None:
        self._sorted_by = None
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(Column) - 1))


def split_genres(text: str) -> tuple[str, ...]:
    """'Rock; Pop' -> ('Rock', 'Pop'); blanks and repeats dropped."""
    out: list[str] = []
    for part in text.replace("\u0000", ";").split(";"):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return tuple(out)


_STATUS_ORDER = {s: i for i, s in enumerate(
    (DecisionStatus.ERROR, DecisionStatus.PENDING, DecisionStatus.EDITED, DecisionStatus.ACCEPTED,
     DecisionStatus.REJECTED, DecisionStatus.WRITTEN))}


def _text_key(value: str | None) -> tuple[int, str]:
    return (0, value.casefold()) if value else (1, "")


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
        return (*_text_key(t.album), str(t.path))
    if col == Column.CURRENT:
        return _text_key(t.current_genre)
    if col == Column.PREDICTED:
        return _text_key(row.predicted)
    if col == Column.CONFIDENCE:
        c = row.confidence
        return (1, 0.0) if c is None else (0, c)
    if col == Column.NEW:
        return _text_key(row.genre_text)
    return (0, str(t.path).casefold())


class Filter(IntEnum):
    NEEDS_REVIEW = 0
    CONFIDENT = 1
    CHANGED = 2
    ALBUM = 3
    ERRORS = 4
    ALL = 5


FILTER_LABELS = {
    Filter.NEEDS_REVIEW: "Needs review",
    Filter.CONFIDENT: "Confident",
    Filter.CHANGED: "Changed",
    Filter.ALBUM: "Album disagrees",
    Filter.ERRORS: "Errors",
    Filter.ALL: "All",
}

FILTER_TIPS = {
    Filter.NEEDS_REVIEW: "Predictions below the review threshold",
    Filter.CONFIDENT: "Predictions at or above the review threshold",
    Filter.CHANGED: "Rows whose genre will be (or was) written: accepted, edited or written",
    Filter.ALBUM: "Tracks whose prediction disagrees with the rest of their album",
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
        row = model._rows[source_row]
        mode = self._mode
        if mode == Filter.NEEDS_REVIEW:
            ok = model.needs_review(row)
        elif mode == Filter.CONFIDENT:
            ok = row.confidence is not None and row.confidence >= model.threshold
        elif mode == Filter.CHANGED:
            ok = row.to_write or row.status == DecisionStatus.WRITTEN
        elif mode == Filter.ALBUM:
            ok = row.album_note is not None
        elif mode == Filter.ERRORS:
            ok = row.error is not None
        else:
            ok = True
        if not ok:
            return False
        if self._needle:
            return self._needle in row.search_text()
        return True
