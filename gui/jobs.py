"""The app's background jobs: thin compositions of core calls, run by gui.tasks.Task.

Each takes `progress` and `cancel` like the core jobs it calls. Nothing here touches Qt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tagger.errors import FileError
from tagger.track import Decision, Track

Progress = Callable[[int, int], None]


def scan_job(library, roots: Sequence[Path], *, progress: Progress, cancel: threading.Event,
             partial: Callable[[list[Track]], None] | None = None):
    """Library.scan: every audio file under roots with its tags (unchanged files from cache).

    `partial` gets each batch of tracks as it is stored (run with Task(..., partial=True))."""
    return library.scan(list(roots), progress=progress, cancel=cancel, found=partial)


def load_model_job(model_path: str | None, device: str, *, progress: Progress, cancel: threading.Event):
    from tagger.classify import load_model

    return load_model(Path(model_path) if model_path else None, device)


def classify_job(library, tracks: Sequence[Track], model, max_windows: int, *, progress: Progress,
                 cancel: threading.Event) -> Iterator:
    """Stream ClassifyResults; cached predictions first, then the model's as they come."""
    from tagger.classify import classify_tracks

    return classify_tracks(library, tracks, model, max_windows=max_windows, progress=progress, cancel=cancel)


@dataclass
class WriteOutcome:
    report: object  # tagger.journal.WriteReport
    tracks: list[Track] = field(default_factory=list)  # written files, re-read
    errors: list[tuple[Path, str]] = field(default_factory=list)  # per-file, write and re-read


def write_job(library, decisions: Sequence[Decision], id3_version: int, separator: str, description: str,
              *, progress: Progress, cancel: threading.Event) -> WriteOutcome:
    """Write genres through the journal, then refresh the written files in the library."""
    from tagger.journal import Journal

    report = Journal().write_batch(decisions, id3_version=id3_version, separator=separator,
                                   description=description, progress=progress, cancel=cancel)
    outcome = WriteOutcome(report=report, errors=list(report.errors))
    before = {d.path: d.expected for d in decisions}
    for path in report.written:
        outcome.tracks.append(_refresh(library, path, before.get(path), outcome.errors))
    outcome.tracks = [t for t in outcome.tracks if t is not None]
    return outcome


@dataclass
class UndoOutcome:
    report: object | None  # tagger.journal.UndoReport; None when there was nothing to undo
    tracks: list[Track] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    message: str = ""  # why nothing was undone


def undo_job(library, batch_id: int | None, known: dict[Path, Track], *, progress: Progress,
             cancel: threading.Event) -> UndoOutcome:
    """Undo one write batch (None: the last), then refresh the restored files.

    `known` holds the tracks as the app last saw them, so cached predictions follow the files.
    """
    from tagger.journal import Journal, JournalError

    try:
        report = Journal().undo(batch_id)
    except JournalError as exc:
        return UndoOutcome(report=None, message=str(exc))
    outcome = UndoOutcome(report=report, errors=list(report.errors))
    for path in report.restored:
        seen = known.get(path)
        track = _refresh(library, path, seen.fingerprint if seen else None, outcome.errors)
        if track is not None:
            outcome.tracks.append(track)
    return outcome


def history_job(*, progress: Progress, cancel: threading.Event):
    from tagger.journal import Journal

    return Journal().history()


def _refresh(library, path: Path, fingerprint, errors: list[tuple[Path, str]]) -> Track | None:
    """Re-read a written or restored file into the library. A genre write leaves the audio as it
    was, so predictions made at the file's previous `fingerprint` follow it; with no previous
    fingerprint there is nothing to carry over."""
    import sqlite3

    from tagger.track import Fingerprint

    try:
        if fingerprint is None:
            return library.update_track(Track(path, Fingerprint.of(path)), keep_predictions=False)
        return library.update_track(Track(path, fingerprint))
    except FileError as exc:
        errors.append((path, str(exc)))
    except FileNotFoundError:
        errors.append((path, "the file vanished after it was written"))
    except sqlite3.Error as exc:
        errors.append((path, f"written, but the library cache could not be updated ({exc})"))
    return None
