"""The review table's view: a QTableView over the filter proxy, set up for reviewing (rows,
least confident first, the column chooser, the confidence and genre delegates) with the note
it shows when a view or a search leaves it empty."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout
from shiboken6 import isValid

from gui.review.columns import DEFAULT_WIDTHS, install_column_chooser, place_new_columns
from gui.review.delegates import ConfidenceDelegate, GenreDelegate
from gui.review.schema import Column


def build_review_table(proxy: QSortFilterProxyModel, threshold: Callable[[], float],
                       genre_choices: Callable[[], list[str]]
                       ) -> tuple[QTableView, ConfidenceDelegate, GenreDelegate, QLabel]:
    """The table, its two delegates and its (hidden) empty note."""
    t = QTableView()
    t.setModel(proxy)
    t.setObjectName("ReviewTable")
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    t.setSortingEnabled(True)
    # Review order: least confident first (re-applied when classification ends).
    t.horizontalHeader().setSortIndicator(Column.CONFIDENCE, Qt.SortOrder.AscendingOrder)
    t.setAlternatingRowColors(True)
    t.setWordWrap(False)
    t.setShowGrid(False)
    t.setTextElideMode(Qt.TextElideMode.ElideRight)
    t.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
                      | QAbstractItemView.EditTrigger.SelectedClicked)
    vh = t.verticalHeader()
    vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vh.setDefaultSectionSize(max(24, t.fontMetrics().height() + 8))
    vh.hide()
    hh = t.horizontalHeader()
    hh.setSectionsMovable(True)
    hh.setStretchLastSection(True)
    hh.setHighlightSections(False)
    for col, width in DEFAULT_WIDTHS.items():
        t.setColumnWidth(col, width)
    place_new_columns(hh)
    install_column_chooser(hh)
    confidence_delegate = ConfidenceDelegate(threshold, t)
    t.setItemDelegateForColumn(Column.CONFIDENCE, confidence_delegate)
    genre_delegate = GenreDelegate(genre_choices, t)
    t.setItemDelegateForColumn(Column.NEW, genre_delegate)
    t.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    album_view_changed = getattr(proxy, "album_view_changed", None)
    if album_view_changed is not None:
        # the album view lists rows in album order whatever the header says: no arrow meanwhile
        # (a header click still sorts, and shows once another view is chosen)
        album_view_changed.connect(partial(_hide_sort_arrow, hh))
    # said in the table when a view or a search shows nothing, so an empty table is never a puzzle
    empty_note = QLabel(t.viewport())
    empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
    empty_note.setWordWrap(True)
    empty_note.setEnabled(False)  # drawn in the palette's disabled (dimmed) text colour
    note_layout = QVBoxLayout(t.viewport())
    note_layout.addWidget(empty_note)
    empty_note.hide()
    return t, confidence_delegate, genre_delegate, empty_note


def _hide_sort_arrow(header: QHeaderView, hide: bool) -> None:
    if isValid(header):  # the proxy may outlive its table
        header.setSortIndicatorShown(not hide)
