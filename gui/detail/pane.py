"""The detail pane: what the model heard in the selected track, so a reviewer can judge it.

One selected row: its cover, top-genre probability bars, styles, the spectrogram of the whole
track with each analysis window's prediction on the same time axis (gui.detail.timeline), and
playback with a playhead (gui.detail.player). Several rows: a summary of them instead
(gui.detail.selection). None: a note saying what appears here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui import theme
from gui.detail.bars import Legend, ProbabilityBars, color_for
from gui.detail.cover_art import CoverArt
from gui.detail.player import Player
from gui.detail.selection import SelectionSummary
from gui.detail.timeline import SpectrogramLoader, TimelineView
from gui.review.model import Row, status_colour
from tagger.features import FeatureConfig

PLAY_ONE = "Select one track to listen to it"


def _label(bold: bool = False, muted: bool = False) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    if bold:
        label.setStyleSheet("font-weight: bold;")
    if muted:
        theme.style_label(label, "muted")
    return label


class DetailPane(QFrame):
    """Everything about the selected rows. Holds no logic: it shows Rows and plays a file."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("DetailPane")
        self._rows: list[Row] = []
        self._build_header()
        self._build_track_view()
        self.summary = SelectionSummary()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(self._header)
        layout.addWidget(self.track_view)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        self.set_row(None)
        # Qt Multimedia initialises its backend on first use; do it now, on the UI thread before
        # any worker runs (a first initialisation racing with worker threads was seen to hang)
        self.player.ensure()

    def _build_header(self) -> None:
        self.title = _label()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() + 2)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = _label()
        self.cover = CoverArt()
        names = QVBoxLayout()
        names.addWidget(self.title)
        names.addWidget(self.subtitle)
        names.addStretch(1)
        self._header = QHBoxLayout()
        self._header.addWidget(self.cover, 0, Qt.AlignmentFlag.AlignTop)
        self._header.addLayout(names, 1)

    def _build_track_view(self) -> None:
        self.track_view = QWidget()
        self.path = _label(muted=True)
        self.path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.change = _label()
        self.change.setTextFormat(Qt.TextFormat.RichText)
        self.error = _label()
        theme.style_label(self.error, "error")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bars = ProbabilityBars()
        self.styles = _label()
        self.styles.setToolTip("Styles beneath the top genre, from the musicnn tagger's last.fm tags "
                               "(Settings \u2192 Review and writing chooses whether they are written)")
        self.timeline = TimelineView()
        self.spectrogram = SpectrogramLoader(self.timeline, self)
        self.legend = Legend()
        self.player = Player()
        self.play_button = self.player.play_button
        self.player.position_changed.connect(self.timeline.set_playhead)
        self.player.problem.connect(self._show_problem)
        self.timeline.seek_requested.connect(self.player.seek)
        heading, timeline_heading = _label(bold=True), _label(bold=True)
        heading.setText("Top genres")
        timeline_heading.setText("Across the track")

        layout = QVBoxLayout(self.track_view)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.path, self.change, self.error, 6, heading, self.bars, self.styles, 6, timeline_heading,
                  self.timeline, self.legend, self.player):
            if isinstance(w, int):
                layout.addSpacing(w)
            else:
                layout.addWidget(w)

    # --- public ----------------------------------------------------------------------------

    def set_feature_config(self, cfg: FeatureConfig) -> None:
        self.spectrogram.set_features(cfg)

    def current_row(self) -> Row | None:
        """The one row shown; None when nothing or several rows are selected."""
        return self._rows[0] if len(self._rows) == 1 else None

    def current_rows(self) -> list[Row]:
        """Every row shown: none, the one track, or the multi-selection summarised."""
        return list(self._rows)

    def spectrogram_ready(self) -> bool:
        row = self.current_row()
        return self.spectrogram.ready(None if row is None else row.track.path)

    def toggle_playback(self) -> None:
        if len(self._rows) > 1:
            self.summary.show_note(PLAY_ONE)
            return
        self.player.toggle()

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show the selection: one row as a track, several as their summary, none as the empty state."""
        rows = list(rows)
        if len(rows) <= 1:
            self.set_row(rows[0] if rows else None)
            return
        self._rows = rows
        self.player.set_path(None)  # stops what plays
        self.spectrogram.cancel()
        self.cover.show_for(None)
        self.track_view.hide()
        self.summary.show()
        facts = self.summary.set_rows(rows)
        self.title.setText(facts.title_text())
        self.subtitle.setText(facts.subtitle_text())

    def set_row(self, row: Row | None) -> None:
        """Show a row (None: nothing selected)."""
        previous = self.current_row()
        same_file = row is not None and previous is not None and row.track.path == previous.track.path
        self._rows = [] if row is None else [row]
        self.summary.hide()
        self.track_view.show()
        if row is None:
            self._show_empty()
            return
        t = row.track
        self.player.set_path(t.path if t.error is None else None)
        self.cover.show_for(None if t.error else t.path)
        self._show_names(row)
        colors: dict[str, QColor] = {}
        for name, _ in row.top_names:
            colors.setdefault(name, color_for(len(colors)))
        self.bars.set_top(row.top_names, colors)
        self.styles.setText(_styles_text(row))
        self.styles.setVisible(bool(self.styles.text()))
        self._show_windows(row, colors)
        if not same_file:
            self.spectrogram.show(t.path, readable=t.error is None)

    # --- one track -------------------------------------------------------------------------

    def _show_empty(self) -> None:
        self.player.set_path(None)
        self.spectrogram.cancel()
        self.cover.show_for(None)
        self.title.setText("No track selected")
        self.subtitle.setText("Select a row to see what the model heard, and to listen to it.")
        for w in (self.path, self.change, self.error):
            w.clear()
            w.hide()
        self.bars.set_top([], {})
        self.styles.clear()
        self.timeline.set_windows(0, 3, (), None, [], {})
        self.timeline.set_message("The spectrogram of the selected track appears here")
        self.legend.set_items([])

    def _show_names(self, row: Row) -> None:
        t = row.track
        self.title.setText(t.title or t.path.stem)
        self.subtitle.setText(" \u2014 ".join(x for x in (t.artist, t.album) if x) or "No artist or album tag")
        self.path.setText(f"{t.path} \u00b7 {t.format}" if t.format else str(t.path))
        self.path.show()
        self.change.show()
        status_color = status_colour(row.status).name()
        self.change.setText(f"{_html(t.current_genre or '(no genre)')} \u2192 "
                            f"<b>{_html(row.genre_text) or '(nothing)'}</b> &nbsp;"
                            f"<span style='color:{status_color}'>[{row.status.value}]</span>")
        problem = row.error or (f"Pending again: {row.note}" if row.note else "")
        self.error.setText(problem)
        self.error.setVisible(bool(problem))

    def _show_windows(self, row: Row, colors: dict[str, QColor]) -> None:
        pred, duration = row.prediction, row.track.duration or 0.0
        seconds = self.spectrogram.features.window_seconds
        if pred is None:
            self.timeline.set_windows(duration, seconds, (), None, [], {})
            self.legend.set_items([])
            return
        order = np.argsort(-pred.probabilities, kind="stable")[:3]
        shown = [(int(i), row.top_names[k][0]) for k, i in enumerate(order) if k < len(row.top_names)]
        self.timeline.set_windows(duration, seconds, pred.window_starts, pred.window_probabilities, shown, colors)
        self.legend.set_items([(name, colors[name]) for _, name in shown] + [("other", theme.colour("genre.other"))])

    def _show_problem(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    # --- what tests and older callers read ---------------------------------------------------

    @property
    def _player(self):
        """The QMediaPlayer, None while Qt Multimedia is unavailable."""
        return self.player.media

    @property
    def _player_error(self) -> str | None:
        return self.player.error_text

    def _stop_playback(self) -> None:
        self.player.stop()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _styles_text(row: Row) -> str:
    """'Styles: Hard Rock 62 %, Punk 31 %' beneath the top genre."""
    if row.prediction is None or not row.prediction.tag_labels:
        return ""  # a model without tags judges no styles: nothing to say
    if not row.styles:
        return f"Styles: none beneath {row.predicted} stood out"
    return "Styles: " + ", ".join(f"{name} {p:.0%}" for name, p in row.styles)
