"""The review table's filters (the review's views) and the proxy that shows one of them with a
search text. Sorting is the source model's (one key per row, no comparator per pair): while
"Album disagrees" is shown the proxy asks it for album order (gui.review.album_view), and for the
order the table had once another view is chosen."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush

from gui import theme
from gui.review import album_view
from gui.review.schema import Column
from tagger.review import View

if TYPE_CHECKING:
    from gui.review.model import TrackTableModel

_ModelIndex = QModelIndex | QPersistentModelIndex

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
    Filter.ALBUM: "Tracks whose prediction disagrees with the rest of their album, grouped by album (in disc "
                  "and track order) with the album's majority; compilations (Various Artists, or the "
                  "compilation flag) are not one artist's album and have no majority",
    Filter.TAG_DISAGREES: "Confident predictions that contradict every genre the file carries: a wrong tag, "
                          "or a model to retrain (Tools -> Learn from My Tags)",
    Filter.ERRORS: "Files that could not be read, classified or written",
    Filter.ALL: "Every file",
}


class TrackFilterModel(QSortFilterProxyModel):
    """The table's view: a filter mode plus a search text. Sorting is done by the source model
    (one key per row), so this proxy never sorts by itself."""

    album_view_changed = Signal(bool)  # the album view was turned on (True) or off

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._mode = Filter.ALL
        self._needle = ""
        self.setDynamicSortFilter(True)

    @property
    def mode(self) -> Filter:
        return self._mode

    @property
    def album_view(self) -> bool:
        """Rows grouped by album, each album's majority in the Album column."""
        return self._mode is Filter.ALBUM

    def set_mode(self, mode: Filter) -> None:
        mode = Filter(mode)
        if mode == self._mode:
            return
        was_album, album = self.album_view, mode is Filter.ALBUM
        # reorder the source while the album view's few rows are shown: the proxy follows cheaply
        if was_album and not album:
            self._album_order(False)
        self._change_filter(lambda: setattr(self, "_mode", mode))
        if album and not was_album:
            self._album_order(True)
        if album != was_album:
            self.album_view_changed.emit(album)

    def _album_order(self, on: bool) -> None:
        source = self.sourceModel()
        if source is not None:
            source.set_album_order(on)

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
        """A header click sorts the source model (in the album view: once another view is chosen)."""
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

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if self._mode is not Filter.ALBUM or index.column() not in _ALBUM_VIEW_COLUMNS or not index.isValid():
            return super().data(index, role)
        row = self.sourceModel().review.items[self.mapToSource(index).row()]  # type: ignore[attr-defined]
        if index.column() == Column.ALBUM:
            if role == Qt.ItemDataRole.DisplayRole:
                return album_view.album_text(row)
            if role == Qt.ItemDataRole.ToolTipRole and not row.error:
                return album_view.album_tip(row)
        elif role == Qt.ItemDataRole.ForegroundRole and row.album_note and not row.error:
            return QBrush(theme.colour("warning"))  # the genre that disagrees
        return super().data(index, role)


_ALBUM_VIEW_COLUMNS = frozenset({Column.ALBUM, Column.PREDICTED})
