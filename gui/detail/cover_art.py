"""The detail pane's cover art: read off the UI thread (tagger.tags.cover), cached per file."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel

from gui.tasks import Task

SIZE = 96
CACHED = 32


def cover_job(path: Path, *, progress, cancel) -> tuple[Path, bytes | None]:
    from tagger.tags.cover import read_cover

    return path, read_cover(path)


class CoverArt(QLabel):
    """A square picture beside the title; hidden when the track has no cover."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFixedSize(SIZE, SIZE)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip("Cover art (embedded in the file, or the folder's cover image)")
        self._cache: OrderedDict[Path, QPixmap | None] = OrderedDict()
        self._wanted: Path | None = None
        self._task: Task | None = None
        self._task_path: Path | None = None
        self.hide()

    def show_for(self, path: Path | None) -> None:
        self._wanted = path
        if path is None:
            self.hide()
            return
        if path in self._cache:
            self._cache.move_to_end(path)
            self._display(self._cache[path])
            return
        if self._task is not None and not self._task.finished:
            self._task.cancel()
        task = Task(cover_job, path, name="cover art")
        task.succeeded.connect(self._on_cover)  # bound methods: dropped with the widget
        task.failed.connect(self._on_failed)
        self._task_path = path
        self._task = task.start()

    def _on_cover(self, result: tuple[Path, bytes | None]) -> None:
        path, data = result
        pixmap = None
        if data:
            image = QPixmap()
            if image.loadFromData(data):
                pixmap = image.scaled(SIZE, SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
        self._cache[path] = pixmap
        while len(self._cache) > CACHED:
            self._cache.popitem(last=False)
        if path == self._wanted:
            self._display(pixmap)

    def _on_failed(self, _message: str) -> None:
        """read_cover gives None for what it cannot read; a failure anyway is no cover either,
        never the previous track's picture left beside this one's title."""
        if self._task_path is not None and self._task_path == self._wanted:
            self._display(None)

    def _display(self, pixmap: QPixmap | None) -> None:
        if pixmap is None:
            self.clear()
            self.hide()
        else:
            self.setPixmap(pixmap)
            self.show()
