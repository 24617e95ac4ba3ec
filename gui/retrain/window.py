"""The Retrain window: train a model on a dataset in a separate process (gui/retrain/runner.py)
with a live accuracy curve, measure it against the model in use on the same clips
(gui/retrain/compare.py) and offer "Use this model" with that comparison.

A top-level, non-modal window: reviewing goes on in the main window while it trains. It never
overwrites a model file silently, and stopping never waits on the trainer in the UI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.retrain.ask import Confirm, ask
from gui.retrain.compare import Measurement, Score, comparison_text, verdict
from gui.retrain.curve import CurveView
from gui.retrain.output import default_output, free_name, remove_leftovers, stamp
from gui.retrain.runner import TrainingRunner
from tagger import resources
from training import events
from training.config import default as train_default  # `genrenet train`'s defaults (torch-free)

DATA_KINDS = (
    ("gtzan", "GTZAN folder", "The GTZAN genre collection (genres/<genre>/*.wav)"),
    ("fma", "FMA folder", "fma_small / fma_medium audio with fma_metadata next to it"),
    ("folder", "A folder per genre", "Any folder holding one sub-folder of audio per genre"),
    ("library", "My reviewed library", "Tracks you have reviewed and written in genrenet"),
)
REPLACE, OTHER_NAME, CANCEL = "Replace", "Choose another name", "Cancel"
STOP_AND_CLOSE, KEEP_TRAINING = "Stop and close", "Keep training"
USE_ANYWAY, KEEP_CURRENT = "Use it anyway", "Keep the current model"


class RetrainWindow(QWidget):
    """Train a model from the app: choose data, architecture, epochs; watch it learn; compare; use it."""

    model_chosen = Signal(str)  # path of the trained model the user chose to use
    finished = Signal(int, bool)  # a run ended (after its evaluation): exit code, stopped

    def __init__(self, current_folder: Path | None, current_model: Path | None, parent=None,
                 confirm: Confirm | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Retrain – genrenet")
        self.confirm: Confirm = confirm or (lambda *question: ask(self, *question))
        self.set_current(current_folder, current_model)
        self._model_path: Path | None = None
        self._before: tuple[float, int] | None = None
        self._done: events.Done | None = None
        self._epochs_total = 1
        self._comparison = ""
        self._verdict = "unknown"
        self._close_after_stop = False
        self.train_program: list[str] | None = None  # default: `genrenet train ... --progress-json`
        self.runner = TrainingRunner(self)
        self.runner.event.connect(self._on_event)
        self.runner.finished.connect(self._on_trained)
        self.measure = Measurement(self)  # `genrenet evaluate` of each model, one after the other
        self.measure.progress.connect(self._on_measuring)
        self.measure.finished.connect(self._on_measured)
        self._build()
        self.resize(760, 640)

    # ---- building

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_form())
        layout.addLayout(self._build_buttons())
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.state = QLabel("Not running.")
        self.state.setWordWrap(True)
        self.curve = CurveView()
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        theme.style_label(self.details, "muted")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(140)
        self.log.hide()
        for w in (self.progress, self.state):
            layout.addWidget(w)
        layout.addWidget(self.curve, 1)
        for w in (self.result, self.details, self.log):
            layout.addWidget(w)
        self._on_kind_changed()

    def _build_form(self) -> QFormLayout:
        from tagger import models

        self.kind = QComboBox()
        for key, name, tip in DATA_KINDS:
            self.kind.addItem(name, key)
            self.kind.setItemData(self.kind.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.kind_hint = QLabel("")
        theme.style_label(self.kind_hint, "muted")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Folder with the training audio")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._on_browse)
        recommended = train_default("arch")
        self.arch = QComboBox()
        # musicnn is the pretrained tagger itself, pooled_student the fast model's network (it
        # learns from a teacher: python -m training.distill), neither a genre model to train here
        for arch in (a for a in models.available() if a not in ("musicnn", "pooled_student")):
            self.arch.addItem(f"{arch} (recommended)" if arch == recommended else arch, arch)
        self.arch.setCurrentIndex(max(0, self.arch.findData(recommended)))
        self.arch.setToolTip("musicnn_transfer: the pretrained musicnn backbone with a new genre head; it "
                             "learns from a few hundred tracks. The others train from scratch and need thousands.")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(train_default("epochs"))
        self.epochs.setToolTip(f"Training stops earlier when {train_default('patience')} epochs in a row "
                               "bring no improvement on the validation clips.")
        self.output = QLineEdit(str(default_output()))
        self.output.setToolTip("A new file: an existing one is replaced only when you say so.")
        self.in_use = QLabel(f"Model in use now: {self._current_name}")
        theme.style_label(self.in_use, "muted")
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
        form.addRow("", self.in_use)
        return form

    def _build_buttons(self) -> QHBoxLayout:
        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(self._on_start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.use_button = QPushButton("Use this model")
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("Switch to the new model and classify the open folder again")
        self.use_button.clicked.connect(self._on_use)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        row.addStretch(1)
        row.addWidget(self.use_button)
        return row

    # ---- what the main window uses

    @property
    def running(self) -> bool:
        return self.runner.running or self.measure.running

    @property
    def closing(self) -> bool:
        """Asked to close while running: stopping, and closes itself once stopped."""
        return self._close_after_stop

    def set_current(self, current_folder: Path | None, current_model: Path | None) -> None:
        """The open folder (the library data) and the model in use (None: the shipped default)."""
        self._current_folder = current_folder
        self._current_model = Path(current_model) if current_model else resources.default_model_path()
        self._current_name = Path(current_model).name if current_model else "the shipped default"
        if hasattr(self, "in_use"):
            self.in_use.setText(f"Model in use now: {self._current_name}")

    def stop(self) -> None:
        """Ask the trainer (or evaluator) to end; returns at once, `finished` follows."""
        if not self.running:
            return
        self.state.setText("Stopping…")
        self.stop_button.setEnabled(False)
        self.runner.stop()
        self.measure.stop()

    def closeEvent(self, event) -> None:
        if not self.running:
            event.accept()
            return
        event.ignore()
        if self.confirm("Stop training?", "Training is still running. Stop it and close this window? "
                        "The best model so far is kept.", (STOP_AND_CLOSE, KEEP_TRAINING)) == STOP_AND_CLOSE:
            self._close_after_stop = True
            self.stop()

    def train_args(self) -> list[str]:
        """Arguments for `genrenet train` from the window's choices."""
        args = ["--dataset", *self._data()]
        args += ["--arch", self.arch.currentData(), "--epochs", str(self.epochs.value()),
                 "--out", self.output.text().strip()]
        return args

    def _data(self) -> list[str]:
        kind = self.kind.currentData()
        if kind != "library":
            return [kind, self.folder.text().strip()]
        return [kind] + ([str(self._current_folder)] if self._current_folder is not None else [])

    # ---- starting

    def _on_kind_changed(self) -> None:
        self.kind_hint.setText(self.kind.itemData(self.kind.currentIndex(), Qt.ItemDataRole.ToolTipRole) or "")
        library = self.kind.currentData() == "library"
        self.folder.setEnabled(not library)
        self.browse.setEnabled(not library)

    def _on_browse(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Training data folder", self.folder.text() or str(Path.home()))
        if name:
            self.folder.setText(name)

    def _output_ok(self, out: Path) -> bool:
        """Whether training may write `out`: a new file, or one the user agreed to replace."""
        if self._current_model is not None and out.exists() and out.resolve() == self._current_model.resolve():
            self.state.setText("That is the model genrenet uses now: choose another name.")
            return False
        if not out.exists():
            return True
        choice = self.confirm("Replace the model file?", f"{out} already exists. Training would overwrite "
                              "it with the new model.", (REPLACE, OTHER_NAME, CANCEL))
        if choice == OTHER_NAME:
            self.output.setText(str(free_name(out)))
            self.output.setFocus()
            self.output.selectAll()
            self.state.setText("A free name is filled in: change it if you like, then start again.")
        return choice == REPLACE

    def _on_start(self) -> None:
        if self.kind.currentData() != "library" and not Path(self.folder.text().strip()).is_dir():
            self.state.setText("Choose a folder with training audio first.")
            return
        if not self.output.text().strip():
            self.state.setText("Choose where to save the model.")
            return
        out = Path(self.output.text().strip()).expanduser()
        if not self._output_ok(out):
            return
        self.output.setText(str(out))
        self._model_path, self._done, self._comparison, self._verdict = out, None, "", "unknown"
        self._before = stamp(out)
        self._epochs_total = self.epochs.value()
        self.curve.clear(self._epochs_total)
        for label in (self.result, self.details):
            label.clear()
        self.log.hide()
        self.progress.setRange(0, 0)
        self.state.setText("Starting the trainer…")
        self._set_busy(True)
        self.use_button.setEnabled(False)
        self.runner.start(self.train_args(), program=self.train_program)

    def _set_busy(self, busy: bool) -> None:
        self.start_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        for w in (self.kind, self.folder, self.browse, self.arch, self.epochs, self.output):
            w.setEnabled(not busy)
        if not busy:
            self._on_kind_changed()

    # ---- training

    def _on_event(self, event: events.Event) -> None:
        """One progress line of the trainer (training/events.py, TRAIN)."""
        if isinstance(event, events.Start):
            self._epochs_total = event.epochs or self._epochs_total
            self.curve.clear(self._epochs_total)
            self.state.setText(f"Training {event.arch} on {event.train_clips} clips ({len(event.labels)} genres, "
                               f"{event.valid_clips} held back for validation) on {event.device}…")
        elif isinstance(event, events.Count):
            if event.total:
                self.progress.setRange(0, event.total)
                self.progress.setValue(event.done)
            what = ("Decoding audio into features" if isinstance(event, events.Features)
                    else "Running the pretrained backbone")
            self.state.setText(f"{what}: {event.done} of {event.total} clips")
        elif isinstance(event, events.Step):
            steps = max(1, event.steps)
            self._set_progress(((event.epoch - 1) * steps + event.step) / (self._epochs_total * steps))
            self.progress.setFormat(f"epoch {event.epoch}/{self._epochs_total}  %p%")
        elif isinstance(event, events.Epoch):
            self.curve.add("val_accuracy", event.epoch, event.val_accuracy)
            self._set_progress(event.epoch / max(1, self._epochs_total))
            best = "  (best so far)" if event.best else ""
            self.state.setText(f"Epoch {event.epoch} of {self._epochs_total}: validation accuracy "
                               f"{event.val_accuracy:.1%}, loss {event.train_loss:.3f} / {event.val_loss:.3f}{best}")
        elif isinstance(event, events.Done):
            self._on_done(event)
        elif isinstance(event, events.Error):
            self.runner.tail.append(event.message)
            self.state.setText(f"Training failed: {event.message}")

    def _set_progress(self, share: float) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * min(1.0, share)))

    def _on_done(self, event: events.Done) -> None:
        self._done = event
        if event.checkpoint:
            self._model_path = Path(event.checkpoint)
        parts = [f"Training ended: {event.stopped}, {event.seconds:.0f} s."]
        if event.val_accuracy is not None:
            parts.append(f"Best validation accuracy {event.val_accuracy:.1%} (epoch {event.best_epoch}), "
                         f"calibration temperature {event.temperature:.2f}.")
        parts.append(f"Model: {event.checkpoint or '(none saved)'}")
        self.details.setText(" ".join(parts))

    def _new_model(self) -> Path | None:
        """The model this run wrote, if it wrote one (not a file that was there before)."""
        path = self._model_path
        if path is None or not path.is_file():
            return None
        wrote = (self._done is not None and bool(self._done.checkpoint)) or stamp(path) != self._before
        return path if wrote else None

    def _on_trained(self, code: int, stopped: bool) -> None:
        model = self._new_model()
        if stopped:
            remove_leftovers(self._model_path)
            self._end(code, True, "Stopped." + (" The best model so far was kept; you can use it."
                                               if model else " No model was saved."), model)
        elif code == 0 and model is not None:
            models = [("new", model, "the new model")]
            if self._current_model is not None:
                models.append(("current", self._current_model, f"the model you use now ({self._current_name})"))
            data = self._data()
            self.measure.start(models, data[0], Path(data[1]) if len(data) > 1 else None)
        else:
            self.log.setPlainText("\n".join(list(self.runner.tail)[-8:]) or "The trainer printed nothing.")
            self.log.show()
            self._end(code, False, f"Training failed (exit code {code}).", None)

    # ---- measuring

    def _on_measuring(self, who: str) -> None:
        self.state.setText(f"Measuring {who} on the clips held back from training…")
        self.progress.setRange(0, 0)

    def _on_measured(self, scores: dict, stopped: bool) -> None:
        if stopped:
            self._end(1, True, "Stopped. The new model was kept but not measured; you can still use it.",
                      self._model_path)
            return
        new, current = scores.get("new"), scores.get("current")
        if not isinstance(new, Score):
            self.result.setText(f"The new model could not be measured: {new or 'no result'}.")
            self._end(0, False, f"Done. Model saved as {self._model_path}", self._model_path)
            return
        why_not = current if isinstance(current, str) else ("" if current else "no model is in use")
        current_score = current if isinstance(current, Score) else None
        self._comparison = comparison_text(new, current_score, self._current_name, why_not,
                                           library=self.kind.currentData() == "library")
        self.result.setText(self._comparison)
        self._verdict = verdict(new, current_score)
        self._end(0, False, f"Done. Model saved as {self._model_path}", self._model_path)

    def _end(self, code: int, stopped: bool, text: str, model: Path | None) -> None:
        self._set_busy(False)
        self.progress.setRange(0, 100)
        self.progress.setFormat("%p%")
        self.progress.setValue(100 if model is not None and not stopped else 0)
        self.state.setText(text)
        self._model_path = model
        if model is not None:  # the next run goes to a new file too
            self.output.setText(str(free_name(model)))
        self.use_button.setEnabled(model is not None)
        worse = self._comparison and self._verdict == "worse"
        self.use_button.setDefault(bool(model is not None and not worse))
        if model is not None and not worse:
            self.use_button.setFocus()
        self.finished.emit(code, stopped)
        if self._close_after_stop:
            self._close_after_stop = False
            self.close()

    def _on_use(self) -> None:
        if self._model_path is None:
            return
        if self._comparison and self._verdict == "worse" and self.confirm(
                "Use the new model?", f"{self._comparison}\n\nUse the new model anyway?",
                (KEEP_CURRENT, USE_ANYWAY)) != USE_ANYWAY:
            return
        self.model_chosen.emit(str(self._model_path))

