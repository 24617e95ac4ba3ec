"""Settings -> Retrain: train a model on a dataset in a separate process (gui/retrain/runner.py),
with a live accuracy curve, and offer to use it when it is done."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.retrain.runner import TrainingRunner, train_command
from gui.settings.page import Page, hint
from tagger import paths
from tagger.settings import Settings
from training import events
from training.config import default as train_default  # `genrenet train`'s defaults (torch-free)


class CurveView(QWidget):
    """Live training curves: accuracy per epoch (train and validation), drawn with QPainter."""

    SERIES = (("val_accuracy", "validation accuracy", "chart.line"),)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.points: dict[str, list[tuple[float, float]]] = {k: [] for k, _, _ in self.SERIES}
        self.epochs = 1
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def clear(self, epochs: int) -> None:
        self.points = {k: [] for k, _, _ in self.SERIES}
        self.epochs = max(1, epochs)
        self.update()

    def add(self, key: str, epoch: float, value: float) -> None:
        self.points.setdefault(key, []).append((epoch, value))
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fg = self.palette().color(self.foregroundRole())
        left, top, right, bottom = 36, 8, self.width() - 10, self.height() - 22
        p.fillRect(self.rect(), self.palette().base())
        p.setPen(QPen(theme.shade(40)))
        for k in range(0, 11, 2):
            y = bottom - (bottom - top) * k / 10
            p.drawLine(QPointF(left, y), QPointF(right, y))
            p.setPen(fg)
            p.drawText(QRectF(0, y - 8, left - 4, 16), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{k * 10}%")
            p.setPen(QPen(theme.shade(40)))
        p.setPen(fg)
        step = max(1, round(self.epochs / 10))
        for e in range(0, self.epochs + 1, step):
            x = left + (right - left) * e / self.epochs
            p.drawText(QRectF(x - 15, bottom + 2, 30, 16), Qt.AlignmentFlag.AlignCenter, str(e))
        p.drawText(QRectF(right - 60, top + 2, 60, 16), Qt.AlignmentFlag.AlignRight, "epoch →")

        def xy(epoch: float, value: float) -> QPointF:
            return QPointF(left + (right - left) * min(epoch, self.epochs) / self.epochs,
                           bottom - (bottom - top) * max(0.0, min(1.0, value)))

        lx = left + 8
        for key, name, colour_name in self.SERIES:
            color = theme.colour(colour_name)
            pts = self.points.get(key, [])
            if pts:
                path = QPainterPath(xy(0, pts[0][1]) if len(pts) == 1 else xy(*pts[0]))
                for e, v in pts[1:]:
                    path.lineTo(xy(e, v))
                p.setPen(QPen(color, 2))
                p.drawPath(path)
                for e, v in pts:
                    p.setBrush(color)
                    p.drawEllipse(xy(e, v), 2.5, 2.5)
            p.setPen(color)
            p.drawText(QPointF(lx, top + 14), f"\u25cf {name}")
            lx += 160


DATA_KINDS = (
    ("gtzan", "GTZAN folder", "The GTZAN genre collection (genres/<genre>/*.wav)"),
    ("fma", "FMA folder", "fma_small / fma_medium audio with fma_metadata next to it"),
    ("folder", "A folder per genre", "Any folder holding one sub-folder of audio per genre"),
    ("library", "My reviewed library", "Tracks you have reviewed and written in genrenet"),
)


class RetrainPage(Page):
    """Train a model from the app: choose data, architecture, epochs; watch it learn; use it."""

    title = "Retrain"
    model_ready = Signal(str)  # path of a trained model the user chose to use
    finished = Signal(int, bool)  # the trainer ended: exit code, cancelled

    def __init__(self, current_folder: Path | None = None, parent=None) -> None:
        super().__init__(parent)
        from tagger import models

        self._current_folder = current_folder
        self.kind = QComboBox()
        for key, name, tip in DATA_KINDS:
            self.kind.addItem(name, key)
            self.kind.setItemData(self.kind.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.kind_hint = hint("")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Folder with the training audio")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._on_browse)
        recommended = train_default("arch")
        self.arch = QComboBox()
        archs = [a for a in models.available() if a != "musicnn"]
        for arch in archs:
            self.arch.addItem(f"{arch} (recommended)" if arch == recommended else arch, arch)
        if recommended in archs:
            self.arch.setCurrentIndex(archs.index(recommended))
        self.arch.setToolTip("musicnn_transfer: the pretrained musicnn backbone with a new genre head; it learns "
                             "from a few hundred tracks. The others train from scratch and need thousands.")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(train_default("epochs"))
        self.epochs.setToolTip(f"Training stops earlier when {train_default('patience')} epochs in a row "
                               "bring no improvement on the validation clips.")
        self.output = QLineEdit()
        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(self._on_start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.use_button = QPushButton("Use this model")
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("Switch to the new model and classify the open folder again")
        self.use_button.clicked.connect(self._on_use)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.state = QLabel("Not running.")
        self.state.setWordWrap(True)
        self.curve = CurveView()
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setMaximumHeight(170)
        self.summary.setPlaceholderText("The evaluation summary appears here when training ends.")
        self.runner = TrainingRunner(self)
        self.runner.event.connect(self._on_event)
        self.runner.finished.connect(self._on_finished)
        self.evaluator = TrainingRunner(self)  # `genrenet evaluate` on the same data afterwards
        self.evaluator.finished.connect(self._on_evaluated)
        self._model_path: Path | None = None
        self._epochs_total = 1

        data_row = QHBoxLayout()
        data_row.addWidget(self.folder, 1)
        data_row.addWidget(self.browse)
        form = QFormLayout()
        form.addRow("Data:", self.kind)
        form.addRow("", self.kind_hint)
        form.addRow("Folder:", data_row)
        form.addRow("Architecture:", self.arch)
        form.addRow("Epochs:", self.epochs)
        form.addRow("Save model as:", self.output)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.state)
        layout.addWidget(self.curve, 1)
        layout.addWidget(self.summary)
        self._on_kind_changed()

    def load(self, settings: Settings) -> None:
        if not self.output.text():
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M")
            self.output.setText(str(paths.data_dir() / "models" / f"genrenet-{stamp}.pt"))

    def save(self) -> dict[str, Any]:
        return {}

    @property
    def running(self) -> bool:
        return self.runner.running or self.evaluator.running

    def stop(self) -> None:
        self.runner.stop()
        self.evaluator.stop()

    def train_args(self) -> list[str]:
        """Arguments for `genrenet train` from the page's choices."""
        kind = self.kind.currentData()
        args = ["--dataset", kind]
        if kind != "library":
            args.append(self.folder.text().strip())
        elif self._current_folder is not None:
            args.append(str(self._current_folder))
        args += ["--arch", self.arch.currentData(), "--epochs", str(self.epochs.value()),
                 "--out", self.output.text().strip()]
        return args

    def _on_kind_changed(self) -> None:
        self.kind_hint.setText(self.kind.itemData(self.kind.currentIndex(), Qt.ItemDataRole.ToolTipRole) or "")
        library = self.kind.currentData() == "library"
        self.folder.setEnabled(not library)
        self.browse.setEnabled(not library)

    def _on_browse(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Training data folder", self.folder.text() or str(Path.home()))
        if name:
            self.folder.setText(name)

    def _on_start(self) -> None:
        if self.kind.currentData() != "library" and not Path(self.folder.text().strip()).is_dir():
            self.state.setText("Choose a folder with training audio first.")
            return
        if not self.output.text().strip():
            self.state.setText("Choose where to save the model.")
            return
        self._model_path = Path(self.output.text().strip()).expanduser()
        self._epochs_total = self.epochs.value()
        self.curve.clear(self._epochs_total)
        self.summary.clear()
        self.progress.setRange(0, 0)
        self._done = None
        self.state.setText("Starting the trainer…")
        self.use_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.runner.start(self.train_args())

    def _on_cancel(self) -> None:
        self.state.setText("Stopping…")
        self.cancel_button.setEnabled(False)
        self.runner.stop()
        self.evaluator.stop()

    def _on_event(self, event: events.Event) -> None:
        """One progress line of the trainer (training/events.py, TRAIN)."""
        if isinstance(event, events.Start):
            self._epochs_total = event.epochs or self._epochs_total
            self.curve.clear(self._epochs_total)
            self.state.setText(f"Training {event.arch} on {event.train_clips} clips ({len(event.labels)} genres, "
                               f"{event.valid_clips} for validation) on {event.device}…")
        elif isinstance(event, events.Count):
            if event.total:
                self.progress.setRange(0, event.total)
                self.progress.setValue(event.done)
            what = ("Decoding audio into features" if isinstance(event, events.Features)
                    else "Running the pretrained backbone")
            self.state.setText(f"{what}: {event.done} of {event.total} clips")
        elif isinstance(event, events.Step):
            steps = max(1, event.steps)
            overall = ((event.epoch - 1) * steps + event.step) / (self._epochs_total * steps)
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(1.0, overall)))
            self.progress.setFormat(f"epoch {event.epoch}/{self._epochs_total}  %p%")
        elif isinstance(event, events.Epoch):
            self.curve.add("val_accuracy", event.epoch, event.val_accuracy)
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(1.0, event.epoch / max(1, self._epochs_total))))
            best = "  (best so far)" if event.best else ""
            self.state.setText(f"Epoch {event.epoch} of {self._epochs_total}: validation accuracy "
                               f"{event.val_accuracy:.1%}, loss {event.train_loss:.3f} / {event.val_loss:.3f}{best}")
        elif isinstance(event, events.Done):
            self._on_done(event)
        elif isinstance(event, events.Error):
            self.runner.tail.append(event.message)
            self.state.setText(f"Training failed: {event.message}")

    def _on_done(self, event: events.Done) -> None:
        if event.checkpoint:
            self._model_path = Path(event.checkpoint)
        self._done = event
        lines = [f"Stopped: {event.stopped}"]
        if event.val_accuracy is not None:
            lines.append(f"Validation accuracy: {event.val_accuracy:.1%} (best epoch {event.best_epoch})")
        lines.append(f"Calibration temperature: {event.temperature:.3f}")
        lines.append(f"Time: {event.seconds:.0f} s")
        lines.append(f"Model: {event.checkpoint or '(none saved)'}")
        self.summary.setPlainText("\n".join(lines))

    def _on_finished(self, code: int, cancelled: bool) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 100)
        self.progress.setFormat("%p%")
        have_model = self._model_path is not None and self._model_path.is_file()
        if cancelled:
            self.progress.setValue(0)
            self.state.setText("Training cancelled." + (" The best model so far was kept; you can use it."
                                                        if have_model else " No model was saved."))
            self.use_button.setEnabled(have_model)
        elif code == 0 and have_model:
            self.progress.setValue(100)
            if self.kind.currentData() != "library":
                self._evaluate()
                return
            self.state.setText(f"Done. Model saved as {self._model_path}")
            self.use_button.setEnabled(True)
        else:
            self.progress.setValue(0)
            tail = "\n".join(list(self.runner.tail)[-8:])
            self.state.setText(f"Training failed (exit code {code}).")
            self.summary.setPlainText(tail or "The trainer printed nothing.")
        self.finished.emit(code, cancelled)

    def _evaluate(self) -> None:
        """Measure the new model on the held-out part of the same data (`genrenet evaluate`)."""
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.state.setText("Evaluating the new model on the held-out clips…")
        self.progress.setRange(0, 0)
        args = [str(self._model_path), "--dataset", self.kind.currentData(), self.folder.text().strip(),
                "--split", "random"]
        self.evaluator.start(args, program=train_command() + ["evaluate"])

    def _on_evaluated(self, code: int, cancelled: bool) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 100)
        self.progress.setValue(100)
        lines = list(self.evaluator.tail)
        if code == 0 and lines:
            self.summary.appendPlainText("\nEvaluation (clips not trained on):\n" + "\n".join(lines))
        else:
            self.summary.appendPlainText("\nEvaluation skipped" + (": " + lines[-1] if lines else "."))
        self.state.setText(f"Done. Model saved as {self._model_path}")
        self.use_button.setEnabled(True)
        self.finished.emit(0, False)

    def _on_use(self) -> None:
        if self._model_path is not None:
            self.model_ready.emit(str(self._model_path))
