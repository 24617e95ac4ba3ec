"""The detail pane for several selected rows: what they are and what deciding them would do.

`SelectionFacts.of(rows)` counts in one pass (a Ctrl+A over 100,000 rows stays quick); the
`*_text` methods say it in words; `SelectionSummary` shows them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from gui import theme
from gui.detail.bars import ProbabilityBars, color_for
from gui.review.model import Row, status_colour
from tagger.text import counted
from tagger.track import DecisionStatus

NAMES = 3  # albums and artists named before "and N more"
GENRES = 8  # genres named before "and N more"
STATUS_ORDER = (DecisionStatus.PENDING, DecisionStatus.ACCEPTED, DecisionStatus.EDITED, DecisionStatus.REJECTED,
                DecisionStatus.WRITTEN)


def _most_first(counter: Counter) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0].casefold()))


def _named(items: list[tuple[str, int]], limit: int, counts: bool) -> str:
    # a count stays on the line of its (short) genre name
    shown = [f"{name}\u00a0{n}".replace(" ", "\u00a0") if counts else name for name, n in items[:limit]]
    if len(items) > limit:
        shown.append(f"and {len(items) - limit} more")
    return ", ".join(shown)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class SelectionFacts:
    count: int
    genres: list[tuple[str, int]]  # predicted genre -> tracks, most first
    unclassified: int
    confidence: tuple[float, float] | None  # lowest, highest
    statuses: dict[DecisionStatus, int]
    errors: int  # unreadable, unclassifiable or not written: the Errors view's rows
    albums: list[tuple[str, int]]
    artists: list[tuple[str, int]]
    untagged_albums: int
    writes: list[tuple[str, int]]  # genre text a write puts in -> files, most first
    pending_changes: int  # pending rows whose suggestion would change their file once accepted

    @classmethod
    def of(cls, rows: Sequence[Row]) -> SelectionFacts:
        genres, statuses, albums, artists, writes = Counter(), Counter(), Counter(), Counter(), Counter()
        confidences: list[float] = []
        pending_changes = errors = 0
        for row in rows:
            t, status = row.track, row.status
            statuses[status] += 1
            errors += row.error is not None or t.error is not None
            if row.confidence is not None:
                confidences.append(row.confidence)
                genres[row.predicted or "?"] += 1
            albums[t.album or ""] += 1
            if t.artist:
                artists[t.artist] += 1
            if row.changes_file:
                if status in (DecisionStatus.ACCEPTED, DecisionStatus.EDITED):
                    writes[row.genre_text] += 1
                elif status is DecisionStatus.PENDING:
                    pending_changes += 1
        untagged = albums.pop("", 0)
        return cls(count=len(rows), genres=_most_first(genres), unclassified=len(rows) - len(confidences),
                   confidence=(min(confidences), max(confidences)) if confidences else None,
                   statuses=dict(statuses), errors=errors, albums=_most_first(albums), artists=_most_first(artists),
                   untagged_albums=untagged, writes=_most_first(writes), pending_changes=pending_changes)

    def title_text(self) -> str:
        return f"{self.count} tracks selected"

    def subtitle_text(self) -> str:
        albums = counted(len(self.albums), "album") if self.albums else "no album tag"
        artists = counted(len(self.artists), "artist") if self.artists else "no artist tag"
        return f"From {albums}, by {artists}"

    def genres_text(self) -> str:
        text = _named(self.genres, GENRES, counts=True) or "None classified yet"
        if self.genres and self.unclassified:
            text += f"; {self.unclassified} not classified"
        return text

    def confidence_text(self) -> str:
        if self.confidence is None:
            return "\u2014"
        lo, hi = self.confidence
        return f"{lo:.0%}" if round(lo * 100) == round(hi * 100) else f"{lo:.0%} to {hi:.0%}"

    def _status_parts(self) -> list[tuple[DecisionStatus, str]]:
        parts = [(s, f"{self.statuses[s]} {s.value}") for s in STATUS_ORDER if self.statuses.get(s)]
        if self.errors:
            parts.append((DecisionStatus.ERROR, f"{self.errors} with {'an error' if self.errors == 1 else 'errors'}"))
        return parts

    def status_text(self) -> str:
        """'7 pending, 3 accepted, 1 edited, 1 with an error' (an error is not a decision: a row
        can be pending or accepted and still have one)."""
        return ", ".join(text for _, text in self._status_parts())

    def status_html(self) -> str:
        """status_text with each count after a dot of its status colour (as the table's icons)."""
        return " &nbsp; ".join(f"<span style='color:{status_colour(s).name()}'>\u25cf</span>&nbsp;{_html(text).replace(' ', '&nbsp;')}"
                               for s, text in self._status_parts())

    def albums_text(self) -> str:
        text = _named(self.albums, NAMES, counts=False)
        if self.untagged_albums:
            text += ("; " if text else "") + f"{self.untagged_albums} without an album tag"
        return text

    def artists_text(self) -> str:
        return _named(self.artists, NAMES, counts=False) or "No artist tag"

    def write_text(self) -> str:
        files = sum(n for _, n in self.writes)
        if files:
            text = f"Write would change {counted(files, 'file')}: {_named(self.writes, NAMES, counts=True)}"
        else:
            text = "Write would change none of them"
        if self.pending_changes:
            text += f".\n{self.pending_changes} pending would change theirs once accepted"
        return text

    def hint_text(self) -> str:
        return (f"Edit (F2) sets the genre of all {self.count}; Accept (A) and Reject (R) decide them all. "
                "Select one track to see its spectrogram and listen to it.")


class SelectionSummary(QWidget):
    """What a multi-selection holds: its genres, confidence, decisions, albums and the write."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.facts: SelectionFacts | None = None
        self.bars = ProbabilityBars()
        self.bars.empty_text = "None classified yet"
        self.bars.setToolTip("How many of the selected tracks the model gave each genre")
        self.genres, self.confidence, self.status = QLabel(), QLabel(), QLabel()
        self.albums, self.artists, self.write = QLabel(), QLabel(), QLabel()
        self.hint = QLabel()
        self.note = QLabel()  # a refused action, e.g. playing several tracks
        for label in (self.genres, self.confidence, self.status, self.albums, self.artists, self.write,
                      self.hint, self.note):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        theme.style_label(self.hint, "muted")
        theme.style_label(self.note, "warning")
        self.note.hide()

        heading = QLabel("Predicted genres")
        heading.setStyleSheet("font-weight: bold;")
        # a grid, not a QFormLayout: the form clips word-wrapped values to one line's height
        form = QGridLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setColumnStretch(1, 1)
        form.setVerticalSpacing(6)
        for i, (name, label) in enumerate((("Genres", self.genres), ("Confidence", self.confidence),
                                           ("Decisions", self.status), ("Albums", self.albums),
                                           ("Artists", self.artists), ("Writing", self.write))):
            form.addWidget(QLabel(f"{name}:"), i, 0, Qt.AlignmentFlag.AlignTop)
            form.addWidget(label, i, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(heading)
        layout.addWidget(self.bars)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(self.hint)
        layout.addWidget(self.note)

    def set_rows(self, rows: Sequence[Row]) -> SelectionFacts:
        facts = self.facts = SelectionFacts.of(rows)
        colors = {name: color_for(i) for i, (name, _) in enumerate(facts.genres)}
        self.bars.set_top([(name, n / facts.count) for name, n in facts.genres], colors,
                          [str(n) for _, n in facts.genres])
        self.genres.setText(facts.genres_text())
        self.confidence.setText(facts.confidence_text())
        self.status.setText(facts.status_html())
        self.albums.setText(facts.albums_text())
        self.artists.setText(facts.artists_text())
        self.write.setText(facts.write_text())
        self.hint.setText(facts.hint_text())
        self.note.hide()
        return facts

    def show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.show()
