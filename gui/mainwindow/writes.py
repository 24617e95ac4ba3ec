"""Writing genres into files and undoing writes, as the window shows them: the summary to confirm,
the outcome in the status bar, the files that could not be written, and Undo Last Write, which
asks first since it changes files on disk. The jobs themselves are the controller's.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QMessageBox

from gui.dialogs.errors import ErrorListDialog
from gui.dialogs.history import HistoryDialog
from gui.dialogs.write_summary import WriteSummaryDialog
from tagger.ops import UndoOutcome, WriteOutcome
from tagger.text import counted


class Writes:
    def __init__(self, window) -> None:
        self.window = window
        c = window.controller
        c.write_finished.connect(self.on_write_done)
        c.write_failed.connect(self.on_write_failed)
        c.undo_finished.connect(self.on_undo_done)
        c.undo_failed.connect(self.on_undo_failed)
        c.last_batch_changed.connect(self.on_last_batch_changed)
        c.history_loaded.connect(self.on_history_loaded)
        c.history_failed.connect(lambda message: QMessageBox.warning(window, "Write history", message))

    def _confirmed(self, changes: list[tuple]) -> bool:
        dialog = WriteSummaryDialog(changes, self.window.settings, self.window)
        return dialog.exec() == QDialog.DialogCode.Accepted

    def write(self) -> None:
        model = self.window.model
        decisions = model.decisions()
        if not decisions:
            QMessageBox.information(self.window, "Write genres", "Nothing to write: accept or edit some rows first.")
            return
        rows = {r.track.path: r for r in model.rows()}
        if self._confirmed([(d.path, rows[d.path].track.current_genre or "", "; ".join(d.genres))
                            for d in decisions]):
            self.start_write(decisions)

    def tidy(self) -> None:
        plans = [p for p in self.window.model.review.canonical_plans() if p.writes]
        if not plans:
            QMessageBox.information(self.window, "Tidy genre spellings",
                                    "Every genre in these files is already spelled as the genre tree spells it "
                                    "(or is one it does not know: Settings → Genres lets you merge those).")
            return
        if self._confirmed([(p.path, "; ".join(p.old), "; ".join(p.new)) for p in plans]):
            self.start_write([p.decision() for p in plans], decided=False, what="genre spellings")

    def start_write(self, decisions, decided: bool = True, what: str = "genre") -> None:
        """Write these decisions off the UI thread (the summary was confirmed); see AppController.write."""
        self.window.controller.write(decisions, decided, what)

    def on_write_done(self, outcome: WriteOutcome) -> None:
        w = self.window
        w.model.refresh_tracks(outcome.tracks)
        w.model.mark_errors(outcome.errors)
        report = outcome.report
        text = f"Wrote {counted(len(report.written), 'file')}"
        if report.batch_id is not None:
            text += f" (batch {report.batch_id}; Ctrl+Z undoes it)"
        if report.cancelled:
            text += "; cancelled before the end"
        if outcome.errors:
            text += f"; {len(outcome.errors):,} could not be written (see Problems)"
        w.end_stage(text)
        if outcome.errors and not w.quiet:
            dialog = ErrorListDialog("Some files were not written", outcome.errors, w)
            if dialog.exec() and dialog.rescan_requested and w.act_rescan.isEnabled():
                w.act_rescan.trigger()
        w.write_finished.emit()

    def on_write_failed(self, message: str) -> None:
        self.window.end_stage("")
        self.window.banner.show_problem(f"Writing stopped: {message}", None)
        self.window.write_finished.emit()

    def on_last_batch_changed(self, batch, tip: str) -> None:
        """Undo Last Write names what it would undo, and is off when there is nothing to undo."""
        act = self.window.act_undo
        if batch is None:
            act.setText("&Undo Last Write")
            act.setToolTip(tip or "Nothing written yet that could be undone")
        else:
            act.setText(f"&Undo Last Write ({counted(batch.file_count - batch.restored, 'file')})")
            act.setToolTip(f"Put back the genres of batch {batch.id}: {batch.description}")
        self.window.update_actions()

    def undo_last(self) -> None:
        """Ctrl+Z: ask first; the files on disk change."""
        batch = self.window.controller.last_batch
        if batch is None:
            return
        if not self.window.quiet:
            answer = QMessageBox.question(
                self.window, "Undo last write",
                f"Put back the genres {counted(batch.file_count - batch.restored, 'file')} had before the write of "
                f"{batch.created_at.replace('T', ' ')[:16]} ({batch.description})?\n\n"
                "Files changed since then are left alone.")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.window.controller.undo(batch.id)

    def on_undo_done(self, outcome: UndoOutcome) -> None:
        report = outcome.report
        self.window.model.refresh_tracks(outcome.tracks)
        if report is None:
            self.window.end_stage(f"Nothing undone: {outcome.message}.")
        else:
            text = f"Undid batch {report.batch_id}: {counted(len(report.restored), 'file')} restored"
            if outcome.errors:
                text += f"; {len(outcome.errors):,} refused (see Problems)"
            self.window.end_stage(text)
        self.window.undo_finished.emit()

    def on_undo_failed(self, message: str) -> None:
        self.window.end_stage("")
        self.window.banner.show_problem(f"Undo failed: {message}", None)
        self.window.undo_finished.emit()

    def history(self) -> None:
        self.window.controller.load_history()

    def on_history_loaded(self, batches) -> None:
        dialog = HistoryDialog(batches, self.window)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.chosen is not None:
            self.window.controller.undo(dialog.chosen)
