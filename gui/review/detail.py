"""The detail pane: what the model heard in the selected track, so a reviewer can judge it.

Top-genre probability bars, the log-mel spectrogram of the whole track (computed off the UI
thread with the core's feature function), the prediction of each analysis window laid out
on the same time axis, and a play button (QtMultimedia) with a playhead on the spectrogram.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.review.cover_art import CoverArt
from gui.review.model import Row, status_colour
from gui.tasks import Task
from tagger.features import FeatureConfig

log = logging.getLogger(__name__)

MAX_COLUMNS = 2400  # spectrogram columns kept for display


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


def color_for(index: int) -> QColor:
    return theme.SERIES[index % len(theme.SERIES)]


class ProbabilityBars(QWidget):
    """Horizontal bars of the top genres' probabilities."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._top: list[tuple[str, float]] = []
        self._colors: dict[str, QColor] = {}
        self.setFixedHeight(24)

    def set_top(self, top: list[tuple[str, float]], colors: dict[str, QColor]) -> None:
        self._top = top[:5]
        self._colors = colors
        self.setFixedHeight(max(1, len(self._top)) * 20 + 4)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(300, 5 * 20 + 4)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = p.fontMetrics()
        if not self._top:
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No prediction")
            return
        name_w = min(max(fm.horizontalAdvance(n) for n, _ in self._top) + 10, self.width() // 3)
        pct_w = fm.horizontalAdvance("100.0%") + 6
        row_h = 20
        for i, (name, prob) in enumerate(self._top):
            y = 2 + i * row_h
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(QRect(0, y, name_w - 6, row_h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                       fm.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 6))
            bar_w = self.width() - name_w - pct_w
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.shade(25))
            p.drawRoundedRect(QRectF(name_w, y + 4, bar_w, row_h - 8), 3, 3)
            p.setBrush(self._colors.get(name, theme.colour("genre.other")))
            p.drawRoundedRect(QRectF(name_w, y + 4, max(2.0, bar_w * prob), row_h - 8), 3, 3)
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(QRect(name_w + bar_w, y, pct_w, row_h),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"{prob:.1%}")


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

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        w = self.width()
        spec = QRect(0, 0, w, self.SPEC_H)
        p.fillRect(spec, theme.colour("spectrogram.background"))
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(spec, self._image)
        else:
            p.setPen(theme.colour("spectrogram.text"))
            p.drawText(spec, Qt.AlignmentFlag.AlignCenter, self._message)
        # window extents on the spectrogram
        p.setPen(QPen(QColor(255, 255, 255, 120), 1, Qt.PenStyle.DashLine))
        for start in self._starts:
            x0, x1 = self._x(start), self._x(start + self._window_seconds)
            p.drawLine(QPointF(x0, 0), QPointF(x0, self.SPEC_H))
            p.drawLine(QPointF(x1, 0), QPointF(x1, self.SPEC_H))
        # time axis
        fg = self.palette().color(self.foregroundRole())
        p.setPen(fg)
        font = QFont(p.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() - 1.5))
        p.setFont(font)
        if self._duration > 0.001:
            step = _nice_step(self._duration, max(1, w // 70))
            t = 0.0
            while t <= self._duration + 1e-6:
                x = self._x(t)
                p.drawLine(QPointF(x, self.SPEC_H), QPointF(x, self.SPEC_H + 3))
                p.drawText(QRectF(x + 2, self.SPEC_H, 60, self.AXIS_H), Qt.AlignmentFlag.AlignLeft,
                           _clock(t))
                t += step
        # per-window predictions: stacked columns of the coloured genres, grey for the rest
        top = self.SPEC_H + self.AXIS_H + 4
        p.fillRect(QRect(0, top, w, self.WIN_H), theme.shade(18))
        probs = self._window_probs
        if probs is not None and len(self._starts) == len(probs):
            # each window's column reaches halfway to its neighbours, so the strip reads as
            # "the genre over time"; the windows' true extents are dashed on the spectrogram
            centers = [s + self._window_seconds / 2 for s in self._starts]
            edges = [0.0] + [(a + b) / 2 for a, b in zip(centers, centers[1:], strict=False)] + [self._duration]
            for i, row in enumerate(probs):
                x0 = self._x(edges[i]) + (1 if i else 0)
                x1 = max(x0 + 2, self._x(edges[i + 1]) - 1)
                y = float(top + self.WIN_H)
                shown = 0.0
                for idx, name in self._labels:
                    h = float(row[idx]) * self.WIN_H
                    p.fillRect(QRectF(x0, y - h, x1 - x0, h), self._colors.get(name, theme.colour("genre.other")))
                    y -= h
                    shown += float(row[idx])
                h = max(0.0, 1.0 - shown) * self.WIN_H
                p.fillRect(QRectF(x0, y - h, x1 - x0, h), theme.colour("genre.other"))
        if self._playhead is not None and self._duration > 0.001:
            x = self._x(self._playhead)
            p.setPen(QPen(theme.colour("spectrogram.cursor"), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, top + self.WIN_H))


def _nice_step(duration: float, ticks: int) -> float:
    raw = duration / ticks
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200):
        if step >= raw:
            return float(step)
    return 1800.0


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


class Legend(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._items: list[tuple[str, QColor]] = []
        self.setFixedHeight(18)

    def set_items(self, items: list[tuple[str, QColor]]) -> None:
        self._items = items
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        fm = p.fontMetrics()
        x = 0
        for name, color in self._items:
            p.fillRect(QRect(x, 4, 10, 10), color)
            x += 14
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(QRect(x, 0, fm.horizontalAdvance(name) + 2, 18), Qt.AlignmentFlag.AlignVCenter, name)
            x += fm.horizontalAdvance(name) + 14


class DetailPane(QFrame):
    """Everything about the selected row. Holds no logic: it shows a Row and plays its file."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("DetailPane")
        self._row: Row | None = None
        self._features = FeatureConfig()
        self._spec_task: Task | None = None
        self._spec_path: Path | None = None
        self._cache: OrderedDict[Path, QImage] = OrderedDict()
        self._player = None
        self._audio = None
        self._player_error: str | None = None

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() + 2)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        self.path = QLabel()
        self.path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        theme.style_label(self.path, "muted")
        self.path.setWordWrap(True)
        self.change = QLabel()
        self.change.setTextFormat(Qt.TextFormat.RichText)
        self.change.setWordWrap(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        theme.style_label(self.error, "error")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bars = ProbabilityBars()
        self.styles = QLabel()
        self.styles.setWordWrap(True)
        self.styles.setToolTip("Styles beneath the top genre, from the musicnn tagger's last.fm tags "
                               "(Settings \u2192 Review and writing chooses whether they are written)")
        self.timeline = TimelineView()
        self.legend = Legend()

        self.play_button = QPushButton()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setText("Play")
        self.play_button.setToolTip("Listen to the track (Space in the table)")
        self.play_button.clicked.connect(self._on_play_clicked)
        self.position = QSlider(Qt.Orientation.Horizontal)
        self.position.setEnabled(False)
        self.position.sliderMoved.connect(self._on_slider_moved)
        self.clock = QLabel("0:00 / 0:00")
        self.timeline.seek_requested.connect(self._on_seek_requested)

        heading = QLabel("Top genres")
        heading.setStyleSheet("font-weight: bold;")
        timeline_heading = QLabel("Across the track")
        timeline_heading.setStyleSheet("font-weight: bold;")

        player = QHBoxLayout()
        player.addWidget(self.play_button)
        player.addWidget(self.position, 1)
        player.addWidget(self.clock)

        self.cover = CoverArt()
        names = QVBoxLayout()
        names.addWidget(self.title)
        names.addWidget(self.subtitle)
        names.addStretch(1)
        header = QHBoxLayout()
        header.addWidget(self.cover, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(names, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(header)
        layout.addWidget(self.path)
        layout.addWidget(self.change)
        layout.addWidget(self.error)
        layout.addSpacing(6)
        layout.addWidget(heading)
        layout.addWidget(self.bars)
        layout.addWidget(self.styles)
        layout.addSpacing(6)
        layout.addWidget(timeline_heading)
        layout.addWidget(self.timeline)
        layout.addWidget(self.legend)
        layout.addLayout(player)
        layout.addStretch(1)
        self.set_row(None)
        # Qt Multimedia initialises its backend on first use; do it now, on the UI thread before
        # any worker runs (a first initialisation racing with worker threads was seen to hang)
        self._ensure_player()

    # --- public ----------------------------------------------------------------------------

    def set_feature_config(self, cfg: FeatureConfig) -> None:
        if cfg != self._features:
            self._features = cfg
            self._cache.clear()

    def current_row(self) -> Row | None:
        return self._row

    def spectrogram_ready(self) -> bool:
        return self._row is None or self._row.track.path in self._cache or bool(
            self._spec_task is None or self._spec_task.finished)

    def set_row(self, row: Row | None) -> None:
        """Show a row (None: nothing selected)."""
        same_file = row is not None and self._row is not None and row.track.path == self._row.track.path
        self._row = row
        if not same_file:
            self._stop_playback()
        self.cover.show_for(None if row is None or row.track.error else row.track.path)
        if row is None:
            self.title.setText("No track selected")
            self.subtitle.setText("Select a row to see what the model heard, and to listen to it.")
            for w in (self.path, self.change, self.error):
                w.clear()
            self.error.hide()
            self.bars.set_top([], {})
            self.styles.clear()
            self.timeline.set_windows(0, 3, (), None, [], {})
            self.timeline.set_message("The spectrogram of the selected track appears here")
            self.legend.set_items([])
            self.play_button.setEnabled(False)
            return
        t = row.track
        self.title.setText(t.title or t.path.stem)
        self.subtitle.setText(" \u2014 ".join(x for x in (t.artist, t.album) if x) or "No artist or album tag")
        self.path.setText(f"{t.path} \u00b7 {t.format}" if t.format else str(t.path))
        status_color = status_colour(row.status).name()
        self.change.setText(f"{_html(t.current_genre or '(no genre)')} \u2192 "
                            f"<b>{_html(row.genre_text) or '(nothing)'}</b> &nbsp;"
                            f"<span style='color:{status_color}'>[{row.status.value}]</span>")
        problem = row.error or (f"Pending again: {row.note}" if row.note else "")
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        self.play_button.setEnabled(t.error is None)

        colors: dict[str, QColor] = {}
        for name, _ in row.top_names:
            colors.setdefault(name, color_for(len(colors)))
        self.bars.set_top(row.top_names, colors)
        self.styles.setText(_styles_text(row))
        self.styles.setVisible(bool(self.styles.text()))
        pred = row.prediction
        if pred is not None:
            order = np.argsort(-pred.probabilities, kind="stable")[:3]
            shown = [(int(i), row.top_names[k][0]) for k, i in enumerate(order) if k < len(row.top_names)]
            self.timeline.set_windows(t.duration or 0.0, self._features.window_seconds, pred.window_starts,
                                      pred.window_probabilities, shown, colors)
            legend = [(name, colors[name]) for _, name in shown] + [("other", theme.colour("genre.other"))]
            self.legend.set_items(legend)
        else:
            self.timeline.set_windows(t.duration or 0.0, self._features.window_seconds, (), None, [], {})
            self.legend.set_items([])
        if not same_file:
            self._load_spectrogram(t.path, readable=t.error is None)

    # --- spectrogram -----------------------------------------------------------------------

    def _load_spectrogram(self, path: Path, readable: bool) -> None:
        if self._spec_task is not None and not self._spec_task.finished:
            self._spec_task.cancel()
            self._spec_task = None
        if path in self._cache:
            self._cache.move_to_end(path)
            self.timeline.set_image(self._cache[path])
            return
        if not readable:
            self.timeline.set_message("The file cannot be read")
            return
        self.timeline.set_message("Computing spectrogram\u2026")
        task = Task(spectrogram_job, path, self._features, name="spectrogram")
        # bound methods, not lambdas: Qt drops the connection if the pane is gone first
        task.succeeded.connect(self._on_spectrogram)
        task.failed.connect(self._on_spectrogram_failed)
        self._spec_path = path
        self._spec_task = task.start()

    def _on_spectrogram(self, result: tuple[Path, np.ndarray]) -> None:
        path, arr = result
        if arr.size <= 1:
            return
        image = array_to_image(arr)
        self._cache[path] = image
        while len(self._cache) > 12:
            self._cache.popitem(last=False)
        if self._row is not None and self._row.track.path == path:
            self.timeline.set_image(image)

    def _on_spectrogram_failed(self, message: str) -> None:
        if self._row is not None and self._row.track.path == self._spec_path:
            self.timeline.set_message(f"No spectrogram: {message}")

    # --- playback --------------------------------------------------------------------------

    def _ensure_player(self) -> bool:
        if self._player is not None:
            return True
        if self._player_error:
            return False
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        except ImportError as exc:  # Qt Multimedia or its system libraries are missing
            self._player_error = f"Playback is unavailable: {exc}"
            self.play_button.setToolTip(self._player_error)
            return False
        self._audio = QAudioOutput(self)
        self._player = QMediaPlayer(self)
        self._player.setAudioOutput(self._audio)
        self._player.positionChanged.connect(self._on_position_changed)
        self._player.durationChanged.connect(self._on_duration_changed)
        self._player.playbackStateChanged.connect(self._on_playback_state_changed)
        self._player.errorOccurred.connect(self._on_player_error)
        return True

    def toggle_playback(self) -> None:
        self._on_play_clicked()

    def _on_play_clicked(self) -> None:
        if self._row is None or not self._ensure_player():
            if self._player_error:
                self.error.setText(self._player_error)
                self.error.show()
            return
        from PySide6.QtMultimedia import QMediaPlayer

        player = self._player
        source = QUrl.fromLocalFile(str(self._row.track.path))
        if player.source() != source:
            player.setSource(source)
        if player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            player.pause()
        else:
            player.play()

    def _on_seek_requested(self, seconds: float) -> None:
        if self._row is None or not self._ensure_player():
            return
        from PySide6.QtMultimedia import QMediaPlayer

        source = QUrl.fromLocalFile(str(self._row.track.path))
        if self._player.source() != source:
            self._player.setSource(source)
        self._player.setPosition(int(seconds * 1000))
        if self._player.playbackState() != QMediaPlayer.PlaybackState.PlayingState:
            self._player.play()

    def _on_slider_moved(self, ms: int) -> None:
        if self._player is not None:
            self._player.setPosition(ms)

    def _on_position_changed(self, ms: int) -> None:
        if not self.position.isSliderDown():
            self.position.setValue(ms)
        self.timeline.set_playhead(ms / 1000.0)
        self.clock.setText(f"{_clock(ms / 1000)} / {_clock(self.position.maximum() / 1000)}")

    def _on_duration_changed(self, ms: int) -> None:
        self.position.setRange(0, ms)
        self.position.setEnabled(ms > 0)

    def _on_playback_state_changed(self, state) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        playing = state == QMediaPlayer.PlaybackState.PlayingState
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Pause" if playing else "Play")

    def _on_player_error(self, _error, message: str) -> None:
        if message:
            self.error.setText(f"Cannot play this file: {message}")
            self.error.show()

    def _stop_playback(self) -> None:
        if self._player is not None:
            self._player.stop()
            self._player.setSource(QUrl())
        self.position.setValue(0)
        self.position.setEnabled(False)
        self.clock.setText("0:00 / 0:00")
        self.timeline.set_playhead(None)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _styles_text(row: Row) -> str:
    """'Styles: Hard Rock 62 %, Punk 31 %' beneath the top genre."""
    if row.prediction is None or not row.prediction.tag_labels:
        return ""  # a model without tags judges no styles: nothing to say
    if not row.styles:
        return f"Styles: none beneath {row.predicted} stood out"
    return "Styles: " + ", ".join(f"{name} {p:.0%}" for name, p in row.styles)
