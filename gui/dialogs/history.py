"""Earlier write batches; any one can be undone."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableView,
    QVBoxLayout,
)


def _batch_state(batch) -> str:
    if batch.undone:
        return "  (undone)"
    if batch.partly_undone:
        return (f"  (partly undone: {batch.restored} of {batch.file_count} restored; "
                "Undo tries the others again)")
    return ""


class HistoryDialog(QDialog):
    """Earlier write batches; 'Undo' restores the chosen one."""

    def __init__(self, batches, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Write history")
        self.resize(700, 360)
        self.chosen: int | None = None
        self.batches = list(batches)
        model = QStandardItemModel(0, 4, self)
        model.setHorizontalHeaderLabels(["Batch", "When", "Files", "What"])
        for b in self.batches:
            items = [QStandardItem(str(b.id)), QStandardItem(str(b.created_at)),
                     QStandardItem(str(b.file_count)),
                     QStandardItem(b.description + _batch_state(b))]
            for it in items:
                it.setEditable(False)
                if b.undone:
                    it.setForeground(Qt.GlobalColor.gray)
            model.appendRow(items)
        self.view = QTableView()
        self.view.setModel(model)
        self.view.verticalHeader().hide()
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setColumnWidth(1, 170)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.undo_button = buttons.addButton("Undo This Write", QDialogButtonBox.ButtonRole.AcceptRole)
        self.undo_button.setEnabled(False)
        buttons.accepted.connect(self._on_undo)
        buttons.rejected.connect(self.reject)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        layout = QVBoxLayout(self)
        if not self.batches:
            layout.addWidget(QLabel("Nothing has been written yet."))
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)

    def _on_selection(self, *args) -> None:
        rows = self.view.selectionModel().selectedRows()
        self.undo_button.setEnabled(bool(rows) and not self.batches[rows[0].row()].undone)

    def _on_undo(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        if rows:
            self.chosen = self.batches[rows[0].row()].id
            self.accept()
