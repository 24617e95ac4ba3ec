"""The detail pane's playback: a play button, a position slider and a clock over one QMediaPlayer.

Qt Multimedia can be missing pieces on a desktop (its PulseAudio client library, a sound server,
any output device); each case says so in words instead of a button that silently does nothing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QWidget

from gui.detail.timeline import clock

NO_DEVICE = ("No sound output device was found, so the track plays without sound: is a sound server "
             "(PipeWire or PulseAudio) running, and a device enabled?")


def unavailable_reason(exc: BaseException) -> str:
    """Why Qt Multimedia could not be loaded, in words a user can act on."""
    text = str(exc)
    if "libpulse" in text:
        return ("Playback is unavailable: Qt Multimedia needs the PulseAudio client library (libpulse.so.0), "
                "even under PipeWire. Install it (libpulse0 on Debian and Ubuntu, pulseaudio-libs on Fedora) "
                "and restart genrenet.")
    return f"Playback is unavailable: Qt Multimedia could not be loaded ({text})"


def has_output_device() -> bool:
    from PySide6.QtMultimedia import QMediaDevices

    return bool(QMediaDevices.audioOutputs())


class Player(QWidget):
    """Plays one file at a time; `set_path` chooses it (None: nothing to play)."""

    position_changed = Signal(object)  # seconds, or None when stopped
    problem = Signal(str)  # something the user should read: playback unavailable, file unplayable

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.media = None  # QMediaPlayer once Qt Multimedia loaded
        self._audio = None
        self.error_text: str | None = None  # why there is no player
        self._path: Path | None = None

        self.play_button = QPushButton()
        self.play_button.setToolTip("Listen to the track (Space in the table)")
        self.play_button.clicked.connect(self.toggle)
        self.position = QSlider(Qt.Orientation.Horizontal)
        self.position.setEnabled(False)
        self.position.sliderMoved.connect(self._on_slider_moved)
        self.clock = QLabel("0:00 / 0:00")
        self._show_state(playing=False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.position, 1)
        layout.addWidget(self.clock)
        self.set_path(None)

    def ensure(self) -> bool:
        """Load Qt Multimedia and make the player (once); False, with `error_text`, when it cannot."""
        if self.media is not None:
            return True
        if self.error_text:
            return False
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        except ImportError as exc:  # Qt Multimedia or its system libraries are missing
            self.error_text = unavailable_reason(exc)
            self.play_button.setToolTip(self.error_text)
            return False
        self._audio = QAudioOutput(self)
        self.media = QMediaPlayer(self)
        self.media.setAudioOutput(self._audio)
        self.media.positionChanged.connect(self._on_position_changed)
        self.media.durationChanged.connect(self._on_duration_changed)
        self.media.playbackStateChanged.connect(self._on_playback_state_changed)
        self.media.errorOccurred.connect(self._on_player_error)
        return True

    def set_path(self, path: Path | None) -> None:
        """The file to play; another file stops what plays."""
        if path != self._path:
            self.stop()
        self._path = path
        self.play_button.setEnabled(path is not None)

    def path(self) -> Path | None:
        return self._path

    def is_playing(self) -> bool:
        if self.media is None:
            return False
        from PySide6.QtMultimedia import QMediaPlayer

        return self.media.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def toggle(self) -> None:
        if self._path is None:
            return
        if not self.ensure():
            self.problem.emit(self.error_text or "Playback is unavailable")
            return
        self._load()
        if self.is_playing():
            self.media.pause()
        else:
            self._play()

    def seek(self, seconds: float) -> None:
        if self._path is None or not self.ensure():
            return
        self._load()
        self.media.setPosition(int(seconds * 1000))
        if not self.is_playing():
            self._play()

    def stop(self) -> None:
        if self.media is not None:
            self.media.stop()
            self.media.setSource(QUrl())
        self.position.setValue(0)
        self.position.setEnabled(False)
        self.clock.setText("0:00 / 0:00")
        self.position_changed.emit(None)

    def _load(self) -> None:
        source = QUrl.fromLocalFile(str(self._path))
        if self.media.source() != source:
            self.media.setSource(source)

    def _play(self) -> None:
        if not has_output_device():
            self.problem.emit(NO_DEVICE)
        self.media.play()

    def _on_slider_moved(self, ms: int) -> None:
        if self.media is not None:
            self.media.setPosition(ms)

    def _on_position_changed(self, ms: int) -> None:
        if not self.position.isSliderDown():
            self.position.setValue(ms)
        self.position_changed.emit(ms / 1000.0)
        self.clock.setText(f"{clock(ms / 1000)} / {clock(self.position.maximum() / 1000)}")

    def _on_duration_changed(self, ms: int) -> None:
        self.position.setRange(0, ms)
        self.position.setEnabled(ms > 0)

    def _on_playback_state_changed(self, _state) -> None:
        self._show_state(self.is_playing())

    def _show_state(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Pause" if playing else "Play")

    def _on_player_error(self, _error, message: str) -> None:
        if not message:
            return
        if not has_output_device():
            message = f"{message}. {NO_DEVICE}"
        self.problem.emit(f"Cannot play this file: {message}")
