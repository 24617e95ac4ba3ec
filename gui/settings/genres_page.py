"""Settings -> Genres: the genres found in the library, their canonical form, and merges."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import (
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
)

from gui import theme
from gui.settings.page import Page, hint
from tagger.settings import Settings


class GenresPage(Page):
    """The genre values found in the open folder's tags, as genrenet spells them, with "Merge into"."""

    title = "Genres"
    VALUE, FILES, SHOWN, MERGE = range(4)

    def __init__(self, genre_lists: list[tuple[str, ...]], parent=None) -> None:
        super().__init__(parent)
        self._genre_lists = genre_lists
        self._merges: dict[str, str] = {}
        self.table_model = QStandardItemModel(0, 4, self)
        self.table_model.setHorizontalHeaderLabels(["In your files", "Files", "genrenet writes", "Merge into"])
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.verticalHeader().hide()
        self.table.setSortingEnabled(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(self.FILES, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(hint("Every genre value in the open folder's tags. genrenet shows and writes each one as "
                               "'genrenet writes' says (its genre tree knows spelling variants such as "
                               "'hip hop' for Hip-Hop). Type a name under 'Merge into' to choose your own: "
                               "for genres the tree does not know, or to prefer another spelling. "
                               "Tags → Tidy Genre Spellings rewrites the files (undoable)."))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)

    def load(self, settings: Settings) -> None:
        from tagger.taxonomy import GenreTree, census, genre_key

        self._merges = dict(settings.genre_merges)
        tree = GenreTree.load(self._merges)
        values = census(self._genre_lists, tree)
        merged = {genre_key(k): v for k, v in self._merges.items()}
        self.table_model.removeRows(0, self.table_model.rowCount())
        for v in values:
            shown = QStandardItem(v.canonical + ("" if v.known else "  (not in the genre tree)"))
            items = [QStandardItem(v.value), QStandardItem(f"{v.count:,}"), shown,
                     QStandardItem(merged.get(genre_key(v.value), ""))]
            for item in items[:3]:
                item.setEditable(False)
            if v.is_variant:
                shown.setForeground(theme.colour("link"))
            self.table_model.appendRow(items)
        variants = sum(1 for v in values if v.is_variant)
        unknown = sum(1 for v in values if not v.known)
        self.summary.setText(f"{len(values):,} genre values: {variants:,} spelling variants of known genres, "
                             f"{unknown:,} the genre tree does not know." if values else
                             "Open a folder to see the genres its files carry.")

    def save(self) -> dict[str, Any]:
        from tagger.taxonomy import genre_key

        merges = dict(self._merges)
        for r in range(self.table_model.rowCount()):
            value = self.table_model.item(r, self.VALUE).text()
            target = self.table_model.item(r, self.MERGE).text().strip()
            for old in [k for k in merges if genre_key(k) == genre_key(value)]:
                del merges[old]
            if target and target != value:
                merges[value] = target
        return {"genre_merges": merges}
