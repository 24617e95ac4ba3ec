"""The main window's dialogs and tables: the write summary, write history and error lists, About
and the keyboard shortcuts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    Qt,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from tagger.journal import CHANGED_SINCE_SCAN
from tagger.settings import Settings


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
        head = QLabel(f"<b>{n:,} file{'s' if n != 1 else ''}</b> will get a new genre tag "
                      f"(MP3 files without a tag get ID3 v2.{settings.id3_version}). Only the genre field changes; "
                      "you can undo this write from the Tags menu.")
        head.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.write_button = buttons.addButton(f"Write {n:,} file{'s' if n != 1 else ''}",
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
        label = QLabel(f"{len(errors):,} file{'s' if len(errors) != 1 else ''} could not be written; "
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
        from PySide6.QtGui import QStandardItem, QStandardItemModel

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


def show_shortcuts(parent: QWidget, shortcuts: list[tuple[str, str]]) -> None:
    """The keyboard shortcuts, (keys, what they do), in a table."""
    rows = "".join(f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{what}</td></tr>" for keys, what in shortcuts)
    QMessageBox.information(parent, "Keyboard shortcuts", f"<table>{rows}</table>")


def show_about(parent: QWidget) -> None:
    from tagger import __version__

    QMessageBox.about(parent, "About genrenet",
                      f"<b>genrenet {__version__}</b><br>Consistent genre tags for your music collection, computed on your "
                      "own machine from the audio itself.<br><br>Review the uncertain predictions, write "
                      "the genres, undo any write.")
