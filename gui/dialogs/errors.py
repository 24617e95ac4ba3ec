"""Problems a user can act on: the problems panel's table and the list of files a write could not change."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTableView, QVBoxLayout

from tagger.journal import CHANGED_SINCE_SCAN
from tagger.text import counted


class ErrorsModel(QAbstractTableModel):
    """Problems a user can act on: path and reason (folders, files, the model)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list[tuple[str, str, str]] = []  # (what, path, reason)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Step", "Path", "Reason")[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if index.isValid() and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.items[index.row()][index.column()]
        return None

    def add(self, what: str, entries: list[tuple[Path | str, str]]) -> None:
        if not entries:
            return
        first = len(self.items)
        self.beginInsertRows(QModelIndex(), first, first + len(entries) - 1)
        self.items.extend((what, str(p), reason) for p, reason in entries)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.items = []
        self.endResetModel()


class ErrorListDialog(QDialog):
    """The files a write could not change, and why. When some changed on disk since the scan,
    it offers to rescan the folder (`rescan_requested`), after which they can be written."""

    RESCAN = "Rescan Folder"

    def __init__(self, title: str, errors: list[tuple[Path, str]], parent=None) -> None:
        super().__init__(parent)
        self.rescan_requested = False
        self.setWindowTitle(title)
        self.resize(760, 360)
        model = ErrorsModel(self)
        model.add("", errors)
        view = QTableView()
        view.setModel(model)
        view.hideColumn(0)
        view.verticalHeader().hide()
        view.setColumnWidth(1, 420)
        view.horizontalHeader().setStretchLastSection(True)
        label = QLabel(f"{counted(len(errors), 'file')} could not be written; "
                       "the others were. These files are unchanged:")
        label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        changed = sum(1 for _, reason in errors if CHANGED_SINCE_SCAN in reason)
        if changed:
            label.setText(label.text() + f" {changed:,} of them changed on disk after the scan (another program "
                          "edited them): rescan to see them as they are now, then review and write them again.")
            self.rescan_button = buttons.addButton(self.RESCAN, QDialogButtonBox.ButtonRole.AcceptRole)
            self.rescan_button.clicked.connect(self._on_rescan)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(view, 1)
        layout.addWidget(buttons)


    def _on_rescan(self) -> None:
        self.rescan_requested = True
        self.accept()
