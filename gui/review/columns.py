"""The review table's columns: where the ones added in later versions go, which start hidden, and
the header's right-click menu that shows or hides each. Which columns are shown is part of the
header state the window saves and restores (QHeaderView.saveState keeps hidden sections)."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QHeaderView, QMenu

from gui.review.schema import HEADERS, Column

DEFAULT_WIDTHS = {
    Column.STATUS: 90, Column.TITLE: 180, Column.ARTIST: 120, Column.ALBUM: 130, Column.CURRENT: 100,
    Column.PREDICTED: 110, Column.CONFIDENCE: 110, Column.NEW: 120, Column.FILE: 180,
    Column.FORMAT: 80, Column.TRACK: 56, Column.YEAR: 56, Column.DISC: 48, Column.ALBUM_ARTIST: 120,
}
FIRST_COLUMNS = 10  # the columns before Column.TRACK: what a header state saved without a count holds
PLACES = {  # a column added since the first version goes before this one
    Column.TRACK: Column.TITLE,
    Column.YEAR: Column.CURRENT,
    Column.DISC: Column.TRACK,
    Column.ALBUM_ARTIST: Column.ALBUM,
}
HIDDEN_AT_FIRST = frozenset({Column.DISC, Column.ALBUM_ARTIST})  # offered in the menu


def place_new_columns(header: QHeaderView, since: int = FIRST_COLUMNS) -> None:
    """Put the columns numbered `since` and up in their PLACES, at their default width, shown or
    hidden as at first. (A header state from before they existed restores them at the end, shown.)"""
    for col in Column:
        if col < since:
            continue
        if col in PLACES:
            header.moveSection(header.visualIndex(col), header.visualIndex(PLACES[col]))
        header.resizeSection(col, DEFAULT_WIDTHS[col])
        header.setSectionHidden(col, col in HIDDEN_AT_FIRST)


def column_menu(header: QHeaderView) -> QMenu:
    """A checkable entry per column in the header's order; the only column shown cannot be hidden."""
    menu = QMenu(header)
    shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
    for visual in range(header.count()):
        logical = header.logicalIndex(visual)
        action = menu.addAction(HEADERS[Column(logical)])
        action.setCheckable(True)
        action.setChecked(logical in shown)
        action.setEnabled(shown != [logical])
        action.toggled.connect(partial(_show, header, logical))
    return menu


def install_column_chooser(header: QHeaderView) -> None:
    """Right-click on the header: the column menu."""
    header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    header.customContextMenuRequested.connect(partial(_on_header_menu, header))


def _on_header_menu(header: QHeaderView, pos: QPoint) -> None:
    menu = column_menu(header)
    menu.exec(header.mapToGlobal(pos))
    menu.deleteLater()


def _show(header: QHeaderView, logical: int, shown: bool) -> None:
    header.setSectionHidden(logical, not shown)
