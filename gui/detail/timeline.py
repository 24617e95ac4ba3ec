"""The detail pane's timeline: the track's log-mel spectrogram (computed off the UI thread with the
core's feature function, cached per file) and, on the same time axis, what each analysis window
was judged to be, with the playhead."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui import theme
from gui.tasks import Task
from tagger.features import FeatureConfig

MAX_COLUMNS = 2400  # spectrogram columns kept for display
CACHED = 12  # spectrograms kept in memory


def spectrogram_job(path: Path, cfg: FeatureConfig, *, progress, cancel) -> tuple[Path, np.ndarray]:
    """The track's log-mel spectrogram as an RGB32 image array (n_mels, columns) uint32.

    Runs in a worker: decoding and the mel transform use the same core functions the model
    is fed by, so the picture shows what the model heard.
    """
    from matplotlib import colormaps

    from tagger.audio import load_audio
    from tagger.features import log_mel

    audio = load_audio(path, cfg.sample_rate)
    if cancel.is_set():
        return path, np.zeros((1, 1), np.uint32)
    mel = log_mel(audio, cfg)  # (frames, n_mels)
    if len(mel) > MAX_COLUMNS:
        step = int(np.ceil(len(mel) / MAX_COLUMNS))
        usable = len(mel) // step * step
        mel = mel[:usable].reshape(-1, step, mel.shape[1]).mean(axis=1)
    lo, hi = np.percentile(mel, [2, 99.5])
    scaled = np.clip((mel - lo) / max(hi - lo, 1e-6), 0, 1)
    lut = (colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint32)
    lut32 = (0xFF << 24) | (lut[:, 0] << 16) | (lut[:, 1] << 8) | lut[:, 2]
    img = lut32[(scaled * 255).astype(np.uint8)]  # (frames, n_mels)
    return path, np.ascontiguousarray(img.T[::-1])  # (n_mels, frames), low frequencies at the bottom


def array_to_image(rgb32: np.ndarray) -> QImage:
    h, w = rgb32.shape
    return QImage(rgb32.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()


def nice_step(duration: float, ticks: int) -> float:
    raw = duration / ticks
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200):
        if step >= raw:
            return float(step)
    return 1800.0


def clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


class TimelineView(QWidget):
    """The spectrogram over the whole track, and under it the prediction of each analysis
    window as a stacked column on the same time axis. Click to move the playhead."""

    seek_requested = Signal(float)  # seconds

    SPEC_H = 110
    AXIS_H = 14
    WIN_H = 56

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._message = ""
        self._duration = 0.0
        self._window_seconds = 3.0
        self._starts: tuple[float, ...] = ()
        self._window_probs: np.ndarray | None = None
        self._labels: list[tuple[int, str]] = []  # (label index, genre name) drawn in colour
        self._colors: dict[str, QColor] = {}
        self._playhead: float | None = None
        self.setMinimumHeight(self.SPEC_H + self.AXIS_H + self.WIN_H + 8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Log-mel spectrogram of the whole track; below it, what each analysis "
                        "window was judged to be. Click to play from there.")

    def sizeHint(self) -> QSize:
        return QSize(400, self.minimumHeight())

    def set_message(self, message: str) -> None:
        self._image, self._message = None, message
        self.update()

    def set_image(self, image: QImage) -> None:
        self._image, self._message = image, ""
        self.update()

    def set_windows(self, duration: float, window_seconds: float, starts: tuple[float, ...],
                    window_probs: np.ndarray | None, labels: list[tuple[int, str]],
                    colors: dict[str, QColor]) -> None:
        self._duration = max(duration, (starts[-1] + window_seconds) if starts else 0.0, 0.001)
        self._window_seconds = window_seconds
        self._starts = starts
        self._window_probs = window_probs
        self._labels = labels
        self._colors = colors
        self._playhead = None
        self.update()

    def set_playhead(self, seconds: float | None) -> None:
        self._playhead = seconds
        self.update()

    def _x(self, seconds: float) -> float:
        return seconds / self._duration * self.width()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._duration > 0.001:
            self.seek_requested.emit(max(0.0, event.position().x() / self.width() * self._duration))

    # --- painting --------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        self._paint_spectrogram(p)
        self._paint_axis(p)
        top = self.SPEC_H + self.AXIS_H + 4
        self._paint_windows(p, top)
        if self._playhead is not None and self._duration > 0.001:
            x = self._x(self._playhead)
            p.setPen(QPen(theme.colour("spectrogram.cursor"), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, top + self.WIN_H))

    def _paint_spectrogram(self, p: QPainter) -> None:
        spec = QRect(0, 0, self.width(), self.SPEC_H)
        p.fillRect(spec, theme.colour("spectrogram.background"))
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(spec, self._image)
        else:
            p.setPen(theme.colour("spectrogram.text"))
            p.drawText(spec, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
        # the windows' true extents, dashed on the spectrogram
        p.setPen(QPen(QColor(255, 255, 255, 120), 1, Qt.PenStyle.DashLine))
        for start in self._starts:
            x0, x1 = self._x(start), self._x(start + self._window_seconds)
            p.drawLine(QPointF(x0, 0), QPointF(x0, self.SPEC_H))
            p.drawLine(QPointF(x1, 0), QPointF(x1, self.SPEC_H))

    def _paint_axis(self, p: QPainter) -> None:
        p.setPen(self.palette().color(self.foregroundRole()))
        font = QFont(p.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() - 1.5))
        p.setFont(font)
        if self._duration <= 0.001:
            return
        step = nice_step(self._duration, max(1, self.width() // 70))
        t = 0.0
        while t <= self._duration + 1e-6:
            x = self._x(t)
            p.drawLine(QPointF(x, self.SPEC_H), QPointF(x, self.SPEC_H + 3))
            p.drawText(QRectF(x + 2, self.SPEC_H, 60, self.AXIS_H), Qt.AlignmentFlag.AlignLeft, clock(t))
            t += step

    def _paint_windows(self, p: QPainter, top: int) -> None:
        """Per-window predictions: stacked columns of the coloured genres, grey for the rest.

        Each window's column reaches halfway to its neighbours, so the strip reads as "the genre
        over time"; the windows' true extents are dashed on the spectrogram."""
        p.fillRect(QRect(0, top, self.width(), self.WIN_H), theme.shade(18))
        probs = self._window_probs
        if probs is None or len(self._starts) != len(probs):
            return
        other = theme.colour("genre.other")
        centers = [s + self._window_seconds / 2 for s in self._starts]
        edges = [0.0] + [(a + b) / 2 for a, b in zip(centers, centers[1:], strict=False)] + [self._duration]
        for i, row in enumerate(probs):
            x0 = self._x(edges[i]) + (1 if i else 0)
            x1 = max(x0 + 2, self._x(edges[i + 1]) - 1)
            y = float(top + self.WIN_H)
            shown = 0.0
            for idx, name in self._labels:
                h = float(row[idx]) * self.WIN_H
                p.fillRect(QRectF(x0, y - h, x1 - x0, h), self._colors.get(name, other))
                y -= h
                shown += float(row[idx])
            h = max(0.0, 1.0 - shown) * self.WIN_H
            p.fillRect(QRectF(x0, y - h, x1 - x0, h), other)


class SpectrogramLoader(QObject):
    """Puts the spectrogram of the wanted file on a TimelineView: from its cache, else computed
    by a worker (one at a time; asking for another file cancels the one in flight)."""

    def __init__(self, timeline: TimelineView, parent=None) -> None:
        super().__init__(parent)
        self.timeline = timeline
        self.features = FeatureConfig()
        self._cache: OrderedDict[Path, QImage] = OrderedDict()
        self._task: Task | None = None
        self._task_path: Path | None = None
        self._wanted: Path | None = None

    def set_features(self, cfg: FeatureConfig) -> None:
        if cfg != self.features:
            self.features = cfg
            self._cache.clear()

    def ready(self, path: Path | None) -> bool:
        """Nothing left to compute for the file (shown, failed, or none asked for)."""
        return path is None or path in self._cache or self._task is None or self._task.finished

    def cancel(self) -> None:
        self._wanted = None
        if self._task is not None and not self._task.finished:
            self._task.cancel()
        self._task = None

    def show(self, path: Path, readable: bool) -> None:
        self.cancel()
        self._wanted = path
        if path in self._cache:
            self._cache.move_to_end(path)
            self.timeline.set_image(self._cache[path])
            return
        if not readable:
            self.timeline.set_message("The file cannot be read")
            return
        self.timeline.set_message("Computing spectrogram\u2026")
        task = Task(spectrogram_job, path, self.features, name="spectrogram")
        # bound methods, not lambdas: Qt drops the connection if the loader is gone first
        task.succeeded.connect(self._on_done)
        task.failed.connect(self._on_failed)
        self._task_path = path
        self._task = task.start()

    def _on_done(self, result: tuple[Path, np.ndarray]) -> None:
        path, arr = result
        if arr.size <= 1:  # cancelled
            return
        image = array_to_image(arr)
        self._cache[path] = image
        while len(self._cache) > CACHED:
            self._cache.popitem(last=False)
        if path == self._wanted:
            self.timeline.set_image(image)

    def _on_failed(self, message: str) -> None:
        if self._wanted is not None and self._wanted == self._task_path:
            self.timeline.set_message(f"No spectrogram: {message}")
