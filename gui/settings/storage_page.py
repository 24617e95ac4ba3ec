"""Settings -> Storage: where the cache lives, and clearing it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import (
    QDesktopServices,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

from gui import theme
from gui.settings.page import Page, hint
from gui.tasks import Task
from tagger import paths
from tagger.settings import Settings, description


def clear_cache_job(*, progress, cancel) -> None:
    from tagger.library import Library

    with Library() as library:
        library.clear()


class StoragePage(Page):
    """Where the cache lives (the ``cache_dir`` setting), clearing it, and the other folders.

    The cache folder is edited here and saved with the other settings; the main window reopens its
    Library at the new place for the next scan. The write journal never moves with it.
    """

    title = "Storage"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cache = QLineEdit()
        self.cache.setPlaceholderText(f"Default: {paths.default_cache_dir()}")
        self.cache.setToolTip(description("cache_dir"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse)
        self.reset = QPushButton("Reset to default")
        self.reset.clicked.connect(lambda: self.cache.setText(""))
        open_cache = QPushButton("Open")
        open_cache.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.cache_dir()))))
        self.env_note = QLabel()
        self.env_note.setWordWrap(True)
        theme.style_label(self.env_note, "error")
        self.data = QLabel(str(paths.data_dir()))
        self.data.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.config = QLabel(str(paths.config_dir()))
        self.config.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.clear = QPushButton("Clear cache")
        self.clear.setToolTip("Forget scanned tags and predictions; the next scan reads and classifies everything again. "
                              "The write journal (undo) is kept.")
        self.clear.clicked.connect(self._on_clear)
        self.status = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.cache, 1)
        row.addWidget(browse)
        row.addWidget(self.reset)
        row.addWidget(open_cache)
        form = QFormLayout(self)
        form.addRow("Cache (scans, predictions):", row)
        form.addRow(hint(description("cache_dir")))
        form.addRow(self.env_note)
        form.addRow("", self.clear)
        form.addRow("", self.status)
        form.addRow("Write journal (undo):", self.data)
        form.addRow("Settings:", self.config)
        form.addRow(hint("Set GENRENET_DATA_DIR or GENRENET_CONFIG_DIR before starting genrenet to keep "
                          "these elsewhere. The write journal stays where it is when the cache moves."))
        self._task: Task | None = None

    def load(self, settings: Settings) -> None:
        self.cache.setText(settings.cache_dir or "")
        env = os.environ.get("GENRENET_CACHE_DIR")
        self.env_note.setText(f"GENRENET_CACHE_DIR is set, so {env} is used instead while it is." if env else "")
        self.env_note.setVisible(bool(env))

    def save(self) -> dict[str, Any]:
        text = self.cache.text().strip()
        return {"cache_dir": str(Path(text).expanduser()) if text else None}

    def problem(self) -> str | None:
        text = self.cache.text().strip()
        if text and Path(text).expanduser().exists() and not Path(text).expanduser().is_dir():
            return f"The cache folder {text} is a file, not a folder."
        return None

    def _on_browse(self) -> None:
        start = self.cache.text().strip() or str(paths.cache_dir())
        name = QFileDialog.getExistingDirectory(self, "Choose a folder for the cache", start)
        if name:
            self.cache.setText(name)

    def _on_clear(self) -> None:
        self.clear.setEnabled(False)
        self.status.setText("Clearing…")
        task = Task(clear_cache_job, name="clear cache")
        task.succeeded.connect(lambda _: self.status.setText("Cache cleared."))
        task.failed.connect(lambda msg: self.status.setText(f"Could not clear the cache: {msg}"))
        task.done.connect(lambda _c: self.clear.setEnabled(True))
        self._task = task.start()
