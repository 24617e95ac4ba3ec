"""Settings -> Model: which genre model file, and what it is (read off the UI thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from gui import theme
from gui.settings.page import Page, hint
from gui.tasks import Task
from tagger import paths
from tagger.settings import Settings, description


def model_summary(path: Path, *, progress, cancel) -> str:
    """Worker: a short description of a model file; raises ModelError for a bad one."""
    from tagger.checkpoint import read_checkpoint

    data = read_checkpoint(path)
    labels = data["labels"]
    metrics = data.get("metrics") or {}
    acc = next((metrics[k] for k in ("test_accuracy", "accuracy", "val_accuracy") if k in metrics), None)
    trained = data.get("trained_on") or {}
    parts = [f"{data['arch']}, {len(labels)} genres: {', '.join(labels[:12])}{'…' if len(labels) > 12 else ''}"]
    if acc is not None:
        parts.append(f"accuracy {float(acc):.1%}")
    datasets = trained.get("datasets") or []
    if datasets:
        names = [str(d.get("name") or d.get("kind")) if isinstance(d, dict) else str(d) for d in datasets]
        parts.append("trained on " + ", ".join(names))
    return "; ".join(parts)


class ModelPage(Page):
    title = "Model"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        from tagger.resources import default_model_path

        self._default = default_model_path()
        self.use_default = QRadioButton("The shipped default model")
        self.use_file = QRadioButton("A model file:")
        group = QButtonGroup(self)
        group.addButton(self.use_default)
        group.addButton(self.use_file)
        if self._default is None:
            self.use_default.setText("The shipped default model (none is shipped in this build)")
            self.use_default.setEnabled(False)
        self.path = QLineEdit()
        self.path.setPlaceholderText("/path/to/model.pt")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._problem: str | None = None
        self._task: Task | None = None
        row = QHBoxLayout()
        row.addWidget(self.use_file)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.use_default)
        layout.addLayout(row)
        layout.addWidget(self.info)
        layout.addWidget(hint(description("model_path") + " Train your own on the Retrain page."))
        layout.addStretch(1)
        self.path.editingFinished.connect(self._on_path_changed)
        self.use_file.toggled.connect(self._on_path_changed)

    def load(self, settings: Settings) -> None:
        if settings.model_path or self._default is None:
            self.use_file.setChecked(True)
            self.path.setText(settings.model_path or "")
        else:
            self.use_default.setChecked(True)
        self._on_path_changed()

    def save(self) -> dict[str, Any]:
        if self.use_file.isChecked() and self.path.text().strip():
            return {"model_path": str(Path(self.path.text().strip()).expanduser())}
        return {"model_path": None}

    def problem(self) -> str | None:
        return self._problem

    def set_path(self, path: Path) -> None:
        self.use_file.setChecked(True)
        self.path.setText(str(path))
        self._on_path_changed()

    def _on_browse(self) -> None:
        start = self.path.text() or str(paths.data_dir())
        name, _ = QFileDialog.getOpenFileName(self, "Choose a genre model", start,
                                              "genrenet models (*.pt);;All files (*)")
        if name:
            self.set_path(Path(name))

    def _on_path_changed(self) -> None:
        if self.use_default.isChecked():
            target = self._default
        else:
            text = self.path.text().strip()
            target = Path(text).expanduser() if text else None
        if target is None:
            self._problem = "Choose a model file (or train one on the Retrain page)." if self.use_file.isChecked() else None
            self.info.setText(self._problem or "")
            return
        self._problem = None
        self.info.setText("Checking the model…")
        task = Task(model_summary, target, name="model summary")
        task.succeeded.connect(self._on_summary)
        task.failed.connect(self._on_summary_failed)
        self._task = task.start()

    def _on_summary(self, text: str) -> None:
        self._problem = None
        self.info.setStyleSheet("")
        self.info.setText(text)

    def _on_summary_failed(self, message: str) -> None:
        self._problem = f"This model cannot be used: {message}"
        theme.style_label(self.info, "error")
        self.info.setText(self._problem)
