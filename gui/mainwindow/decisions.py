"""The review's commands on the table's selection: accept, reject, reset, edit, accept all above
the threshold, the album's majority, undo a decision, and the table's context menu.

Every rule is the core's (tagger/review.py through the table model); this only finds the rows the
user means, tells them what happened, and moves on to the next row as a reviewer works down a list.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMenu

from gui.mainwindow.actions import TABLE_MENU, fill
from gui.review.model import Column
from tagger.review import Skip
from tagger.text import counted

_SELECT_ROW = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows


class Decisions:
    def __init__(self, window) -> None:
        self.window = window

    @property
    def model(self):
        return self.window.model

    def _say(self, text: str, ms: int = 4000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def selected_rows(self) -> list[int]:
        """The selected rows as the table model's row numbers, in order."""
        table, proxy = self.window.table, self.window.proxy
        sel = table.selectionModel()
        if sel is None:
            return []
        rows = {proxy.mapToSource(i).row() for i in sel.selectedRows()}
        return sorted(r for r in rows if r >= 0)

    def select(self, proxy_row: int, column: int = Column.TITLE) -> None:
        table = self.window.table
        index = self.window.proxy.index(proxy_row, column)
        table.selectionModel().setCurrentIndex(index, _SELECT_ROW)
        table.scrollTo(index)

    def _advance(self, rows: list[int]) -> None:
        """After deciding one row, move to the next one."""
        current = self.window.table.currentIndex()
        if len(rows) == 1 and current.isValid() and current.row() + 1 < self.window.proxy.rowCount():
            self.select(current.row() + 1, current.column())

    def accept(self) -> None:
        rows = self.selected_rows()
        self._say(f"Accepted {counted(self.model.accept(rows), 'row')}", 3000)
        self._advance(rows)

    def reject(self) -> None:
        rows = self.selected_rows()
        self._say(f"Rejected {counted(self.model.reject(rows), 'row')}: their files stay as they are", 3000)
        self._advance(rows)

    def reset(self) -> None:
        self.model.reset(self.selected_rows())

    def edit(self) -> None:
        """F2: edit the genre of the current row; the genre delegate gives the choice to every
        selected row."""
        table = self.window.table
        index = table.currentIndex()
        if index.isValid():
            table.edit(self.window.proxy.index(index.row(), Column.NEW))

    def accept_confident(self) -> None:
        n = self.model.accept_confident()
        kept = sum(1 for plan in self.model.review.plans() if plan.skip is Skip.KEEPS_GENRE)
        text = f"Accepted {counted(n, 'prediction')} at or above {self.model.threshold:.0%}"
        if kept:
            text += (f"; {counted(kept, 'confident file')} already having a genre stay pending "
                     f"(write policy: {self.window.settings.write_policy}; accept them one by one to replace)")
        self._say(text, 8000)

    def use_album_majority(self) -> None:
        n = self.model.use_album_majority(self.selected_rows())
        if n == 0:
            self._say("The selected tracks have no album majority (an album needs two or more classified tracks "
                      "with the same album tag in one folder)", 6000)
        else:
            self._say(f"{counted(n, 'track')} set to the album's majority genre")

    def undo(self) -> None:
        text = self.model.review.undo_text
        if text is None:
            return
        self.model.undo_decision()
        self._say(f"Undone: {text}")
        self.window.update_actions()

    def table_menu(self, pos) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        menu = QMenu(self.window)
        fill(menu, self.window, TABLE_MENU)
        menu.addSeparator()
        paths = [self.model.row_at(r).track.path for r in rows]
        menu.addAction("Open Containing Folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths[0].parent))))
        menu.addAction("Copy Path", lambda: QApplication.clipboard().setText("\n".join(map(str, paths))))
        menu.exec(self.window.table.viewport().mapToGlobal(pos))
