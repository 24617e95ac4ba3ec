"""The review table: a QAbstractTableModel over a core tagger.review.Review (one row per
ReviewItem) and the filter proxy that shows its views (Needs review, Confident, Changed, Album,
Errors). Every rule (what needs review, what is written, what a decision does) is the core's;
this module only displays, sorts and forwards.

Built for 100,000 rows: rows are plain Python objects in a list, inserted in batches (one
beginInsertRows per batch), updated with one dataChanged per contiguous range, and sorted in
the source model with Python's sort (one key per row) instead of a comparator per pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QFont, QIcon

from gui import theme
from gui.review.filters import FILTER_LABELS, FILTER_TIPS, Filter, TrackFilterModel
from gui.review.schema import HEADER_TIPS, HEADERS, Column, Role, Row
from gui.review.sorting import album_group_order, sort_key, sorted_rows
from gui.review.status import STATUS_GLYPHS, status_colour, status_icon
from tagger.review import Review, ReviewCounts, clean_genres
from tagger.track import Decision, DecisionStatus, Track

# Where the window, the detail pane and the tests import them from (their own modules since the split).
__all__ = [
    "FILTER_LABELS", "FILTER_TIPS", "HEADERS", "HEADER_TIPS", "STATUS_GLYPHS", "Column", "Filter", "Role", "Row",
    "TrackFilterModel", "TrackTableModel", "split_genres", "status_colour",
]

_ModelIndex = QModelIndex | QPersistentModelIndex
_MAX_RUNS = 64  # dataChanged signals per change at most (TrackTableModel._changed)


class TrackTableModel(QAbstractTableModel):
    """Rows of the review table. Mutations go through methods that say what they mean."""

    problem = Signal(str)  # an edit that was refused, and why

    def __init__(self, review: Review, parent=None) -> None:
        super().__init__(parent)
        self.review = review
        self._sorted_by: tuple | None = None  # (column, order) while the rows are still in that order
        self._before_albums: dict[Path, int] | None = None  # in album order: each row's place before
        self._asked_sort: tuple | None = None  # (column, order) asked for while in album order
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
            return sort_key(row, Column(col))
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
                icon = self._icons[key] = status_icon(row.status)
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
        """Reorder rows by one key per row; selections and persistent indexes follow. In album
        order (set_album_order) the rows stay grouped by album and the sort waits for its end."""
        if not 0 <= column < len(Column):
            return
        if self._before_albums is not None:
            self._asked_sort = (column, order)
            return
        if self.review.items and self._sorted_by != (column, order):
            self._reorder(sorted_rows(self.review.items, Column(column), order))
            self._sorted_by = (column, order)

    def set_album_order(self, on: bool) -> None:
        """While on (the album view, gui.review.album_view), rows are listed album by album in disc
        and track order whatever sort is asked; off again, the last sort asked meanwhile is done,
        else the rows come back in the order they had before."""
        if on == (self._before_albums is not None):
            return
        if on:
            self._before_albums = {r.track.path: i for i, r in enumerate(self.review.items)}
            self._asked_sort = None
            self._keep_album_order()
            return
        rank, asked = self._before_albums, self._asked_sort
        self._before_albums = self._asked_sort = self._sorted_by = None
        if asked is not None:
            self.sort(*asked)
        elif self.review.items:
            last = len(rank)  # rows added meanwhile: after the others, as they were added
            self._reorder(sorted(self.review.items, key=lambda r: rank.get(r.track.path, last)))

    def _keep_album_order(self) -> None:
        """In album order: put the rows (new, or with new tags) back in it."""
        if self._before_albums is not None and self.review.items:
            self._sorted_by = None  # in no column's order
            self._reorder(sorted(self.review.items, key=lambda r: album_group_order(r.track)))

    def _reorder(self, items: list[Row]) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        rows_before = [self.review.items[i.row()] for i in persistent]
        self.review.items[:] = items
        self.review.reindex()
        new_indexes = [self.index(self.review.index_of(r.track.path), i.column())
                       for r, i in zip(rows_before, persistent, strict=True)]
        self.changePersistentIndexList(persistent, new_indexes)
        self.layoutChanged.emit()

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
        self._keep_album_order()

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
        if self._changed(self.review.refresh(tracks)):
            self._keep_album_order()  # an album, disc or track number may be new

    def mark_errors(self, errors: Sequence[tuple[Path, str]]) -> None:
        self._changed(self.review.mark_errors(errors))

    def update_albums(self) -> int:
        flagged = self.review.update_albums()
        self._emit_all_changed()
        self._keep_album_order()  # rows added since are in it now
        return flagged

    # --- internals -------------------------------------------------------------------------

    def _changed(self, rows: list[int]) -> int:
        """One dataChanged per contiguous run of rows (one for their whole span past _MAX_RUNS
        runs: each Python emit costs, and PySide 6.12 on Python 3.11 drops a reference to True
        per emit); returns how many rows changed."""
        if not rows:
            return 0
        self._sorted_by = None
        rows = sorted(set(rows))
        last_col = len(Column) - 1
        runs = [(rows[0], rows[0])]
        for i in rows[1:]:
            if i == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((i, i))
        if len(runs) > _MAX_RUNS:
            runs = [(rows[0], rows[-1])]
        for start, end in runs:
            self.dataChanged.emit(self.index(start, 0), self.index(end, last_col))
        return len(rows)

    def _emit_all_changed(self) -> None:
        self._sorted_by = None
        if self.review.items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.review.items) - 1, len(Column) - 1))


def split_genres(text: str) -> tuple[str, ...]:
    """'Rock; Pop' -> ('Rock', 'Pop'); blanks and repeats dropped (tagger.review.clean_genres)."""
    return clean_genres(text.replace("\u0000", ";").split(";"))


def _track_text(t: Track) -> str:
    if not t.track_number:
        return ""
    return f"{t.track_number}/{t.track_total}" if t.track_total else str(t.track_number)
