"""The values that flow through the core: a scanned Track, a model's Prediction, a user's Decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from tagger.windows import confidence

# album artists that name no one artist (compared case-insensitively): a compilation
VARIOUS_ARTISTS = frozenset({"various artists", "various", "va"})


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a file looked like when we last saw it; any difference means 'changed'."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class Track:
    """One audio file as scanned: where it is, its fingerprint and the tags it carries today."""

    path: Path
    fingerprint: Fingerprint
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genres: tuple[str, ...] = ()
    duration: float | None = None
    error: str | None = None  # tags could not be read; the file is still listed
    format: str = ""  # MP3, FLAC, Ogg Vorbis, Opus, AAC, ALAC (tagger.tags); "" when unreadable
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    year: int | None = None
    album_artist: str | None = None
    compilation: bool = False  # the file's compilation flag

    @property
    def current_genre(self) -> str | None:
        return "; ".join(self.genres) if self.genres else None

    @property
    def is_compilation(self) -> bool:
        """Part of a various-artists album: flagged so, or its album artist says so."""
        return self.compilation or (self.album_artist or "").strip().casefold() in VARIOUS_ARTISTS


@dataclass(frozen=True, slots=True)
class Prediction:
    """A model's judgement of one whole track.

    `probabilities` is the aggregate over windows, by the one definition in tagger.windows (the
    mean of the windows' calibrated probabilities; sums to 1 for genre models), and `confidence`
    its top genre's share, as training, calibration and evaluation compute them;
    `window_probabilities` keeps each window's row so a viewer can show how the genre changes
    across the track; `window_starts` are the windows' start times in seconds. A model on the
    musicnn tagger's backbone also judges its last.fm tags (tagger.tag_head): `tag_probabilities`
    is their mean over the same windows, the source of the track's styles (tagger.styles).
    """

    path: Path
    model_id: str  # the model file and analysis settings (classify.analysis_id)
    labels: tuple[str, ...]
    probabilities: np.ndarray  # (n_labels,) float32
    window_probabilities: np.ndarray  # (n_windows, n_labels) float32
    window_starts: tuple[float, ...] = ()
    tag_labels: tuple[str, ...] = ()
    tag_probabilities: np.ndarray | None = None  # (n_tags,) float32, each tag's own probability

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(self.labels[i], float(self.probabilities[i])) for i in order]

    @property
    def genre(self) -> str:
        return self.top(1)[0][0]

    @property
    def confidence(self) -> float:
        return confidence(self.probabilities)


class DecisionStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EDITED = "edited"
    WRITTEN = "written"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to write into one file: the genres, and the fingerprint the user reviewed it at.

    `expected` is the file's fingerprint at scan time; the writer refuses a file that no longer
    matches it unless forced (the file changed after the user looked at it).
    """

    path: Path
    genres: tuple[str, ...]
    expected: Fingerprint | None = None
    status: DecisionStatus = DecisionStatus.ACCEPTED
    note: str = field(default="", compare=False)
