"""Before writing: every file with its genre now and the genre it will get."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableView,
    QVBoxLayout,
)

from tagger.settings import Settings
from tagger.text import counted


class WriteSummaryDialog(QDialog):
    """Before writing: every file with its genre now and the genre it will get."""

    def __init__(self, changes: list[tuple[Path, str, str]], settings: Settings, parent=None) -> None:
        super().__init__(parent)
        n = len(changes)
        self.setWindowTitle(f"Write {n} genre{'s' if n != 1 else ''}")
        self.resize(820, 480)
        model = _SummaryModel(changes, self)
        view = QTableView()
        view.setModel(model)
        view.verticalHeader().hide()
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setWordWrap(False)
        view.setColumnWidth(0, 420)
        view.setColumnWidth(1, 150)
        view.horizontalHeader().setStretchLastSection(True)
        view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
        head = QLabel(f"<b>{counted(n, 'file')}</b> will get a new genre tag "
                      f"(MP3 files without a tag get ID3 v2.{settings.id3_version}). Only the genre field changes; "
                      "you can undo this write from the Tags menu.")
        head.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.write_button = buttons.addButton(f"Write {counted(n, 'file')}",
                                              QDialogButtonBox.ButtonRole.AcceptRole)
        self.write_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(view, 1)
        layout.addWidget(buttons)
        self.view = view


class _SummaryModel(QAbstractTableModel):
    def __init__(self, changes: list[tuple[Path, str, str]], parent=None) -> None:
        super().__init__(parent)
        self.changes = changes

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.changes)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("File", "Genre now", "\u2192 New genre")[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        path, old, new = self.changes[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(path), old or "(none)", new)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0:
            return str(path)
        return None
