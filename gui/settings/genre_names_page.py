"""Settings -> Genre names: the name written for each of the model's labels."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from gui.settings.page import Page, hint
from tagger.settings import Settings


class GenreNamesPage(Page):
    title = "Genre names"

    def __init__(self, labels: list[str], parent=None) -> None:
        super().__init__(parent)
        from tagger.taxonomy import Taxonomy

        self._base = Taxonomy.load({})
        self._labels = list(dict.fromkeys(list(labels) + list(self._base.names)))
        self.table_model = QStandardItemModel(0, 3, self)
        self.table_model.setHorizontalHeaderLabels(["Model label", "Default name", "Write as"])
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        reset = QPushButton("Reset all to defaults")
        reset.clicked.connect(self._on_reset)
        layout = QVBoxLayout(self)
        layout.addWidget(hint("The genre name written into your files for each model label. "
                               "Leave 'Write as' empty to use the default name."))
        layout.addWidget(self.table, 1)
        layout.addWidget(reset, 0, Qt.AlignmentFlag.AlignRight)

    def load(self, settings: Settings) -> None:
        self.table_model.removeRows(0, self.table_model.rowCount())
        extra = [k for k in settings.genre_map if k not in self._labels]
        for label in self._labels + extra:
            items = [QStandardItem(label), QStandardItem(self._base.name_for(label)),
                     QStandardItem(settings.genre_map.get(label, ""))]
            for item in items[:2]:
                item.setEditable(False)
            self.table_model.appendRow(items)

    def save(self) -> dict[str, Any]:
        mapping = {}
        for r in range(self.table_model.rowCount()):
            label = self.table_model.item(r, 0).text()
            name = self.table_model.item(r, 2).text().strip()
            if name and name != self._base.name_for(label):
                mapping[label] = name
        return {"genre_map": mapping}

    def _on_reset(self) -> None:
        for r in range(self.table_model.rowCount()):
            self.table_model.item(r, 2).setText("")
