"""Tools -> Learn from My Tags: `genrenet learn FOLDER --progress-json` in its own process, with
progress, Cancel, the comparison with the model in use, and "Use this model". The window is not
modal: the review goes on while it learns; closing it stops the learning (nothing is written)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from gui.retrain.runner import TrainingRunner, train_command
from tagger import paths
from training import events


def learned_model_path(now: _dt.datetime | None = None) -> Path:
    """Where a new learned model goes: the user data folder, one file per run."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return paths.data_dir() / "models" / f"learned-{stamp}.pt"


class LearnDialog(QDialog):
    model_chosen = Signal(str)  # the learned checkpoint's path, when the user takes it
    learn_finished = Signal(bool)  # True when a model was written

    def __init__(self, folder: Path, parent=None, out: Path | None = None, min_tracks: int = 5) -> None:
        super().__init__(parent)
        self.setWindowTitle("Learn from my tags")
        self.resize(560, 260)
        self.folder, self.out, self.min_tracks = Path(folder), out or learned_model_path(), min_tracks
        self.report: events.Learned | None = None
        self._close_when_stopped = False
        self.intro = QLabel(f"genrenet trains a genre model on the genres the files in <b>{self.folder}</b> "
                            "already carry (and your review decisions), in your own spelling, and measures it "
                            "with cross-validation by album before you use it.")
        self.intro.setWordWrap(True)
        self.status = QLabel("Starting…")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = QPushButton("Use This Model")
        self.use_button.setEnabled(False)
        self.buttons.addButton(self.use_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.rejected.connect(self._on_cancel)
        self.use_button.clicked.connect(self._on_use)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.status, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self.runner = TrainingRunner(self, schema=events.LEARN)
        self.runner.event.connect(self._on_event)
        self.runner.finished.connect(self._on_finished)

    def start(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.runner.start([str(self.folder), "--out", str(self.out), "--min-tracks", str(self.min_tracks),
                           "--progress-json"], program=train_command() + ["learn"])

    def _on_event(self, event: events.Event) -> None:
        """One progress line of `genrenet learn` (training/events.py, LEARN)."""
        if isinstance(event, events.LearnStart):
            self.status.setText(f"Learning {len(event.labels)} genres from {event.tracks:,} tracks "
                                f"({event.folds}-fold cross-validation)…")
        elif isinstance(event, events.Count):
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
            what = "Reading" if isinstance(event, events.Features) else "Listening to"
            self.status.setText(f"{what} tracks: {event.done:,} of {event.total:,}")
        elif isinstance(event, events.Fold):
            self.status.setText(f"Cross-validation fold {event.fold}: {event.accuracy:.0%} right on "
                                f"{event.test_clips:,} tracks it never saw")
        elif isinstance(event, events.Learned):
            self.report = event

    def _on_finished(self, code: int, cancelled: bool) -> None:
        if self._close_when_stopped:
            super().reject()
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
        if cancelled:
            self.status.setText("Cancelled; no model was written.")
        elif code != 0 or self.report is None or not self.report.checkpoint:
            reason = next((line for line in reversed(self.runner.tail) if line.startswith("error")),
                          self.runner.tail[-1] if self.runner.tail else f"exit status {code}")
            self.status.setText(f"No model was learned: {reason}")
        else:
            self.status.setText(self.summary_text(self.report))
            self.use_button.setEnabled(True)
        self.learn_finished.emit(self.use_button.isEnabled())

    @staticmethod
    def summary_text(report: events.Learned) -> str:
        counts = ", ".join(f"{label} ({n})" for label, n in report.tracks.items())
        default = report.default_model_accuracy
        compare = ("" if default is None else
                   f"; the model you use now gets {default:.0%} of the same tracks right")
        verdict = ("" if default is None else
                   " It is better on your music." if report.cross_validated_accuracy > default else
                   " It is not better than the model you use now: keep that one unless you want its genres.")
        return (f"Learned {len(report.labels)} genres: {counts}. On tracks it never saw it was right "
                f"{report.cross_validated_accuracy:.0%} of the time{compare}.{verdict}")

    def _on_use(self) -> None:
        if self.report and self.report.checkpoint:
            self.model_chosen.emit(self.report.checkpoint)
        self.accept()

    def _on_cancel(self) -> None:
        if self.runner.running:
            self.runner.stop()
        else:
            self.reject()

    def reject(self) -> None:
        """Closing the window (Esc, its close button) while it learns stops the learning first."""
        if self.runner.running:
            self._close_when_stopped = True
            self.status.setText("Stopping…")
            self.runner.stop()
            return
        super().reject()
