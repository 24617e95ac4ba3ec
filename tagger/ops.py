"""Writing genres and undoing writes: the one implementation the app and the CLI call.

A write goes through the journal (tagger.journal), then every written file is re-read into the
library, its cached predictions following it (a genre write leaves the audio as it was, so the
next scan classifies nothing again), and its review decision becomes `written` at the file's
new fingerprint. Undo restores through the journal, then does the same, the decision going back
to pending with a note.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tagger.errors import FileError
from tagger.journal import Journal, JournalError, UndoReport, WriteReport
from tagger.library import Library
from tagger.review import ReviewRecord, undone
from tagger.review_store import ReviewStore
from tagger.track import Decision, DecisionStatus, Fingerprint, Track

Progress = Callable[[int, int], None]


@dataclass
class WriteOutcome:
    report: WriteReport
    tracks: list[Track] = field(default_factory=list)  # the written files, as re-read
    errors: list[tuple[Path, str]] = field(default_factory=list)  # per file: write and re-read


@dataclass
class UndoOutcome:
    report: UndoReport | None  # None when there was nothing to undo
    tracks: list[Track] = field(default_factory=list)  # the restored files, as re-read
    errors: list[tuple[Path, str]] = field(default_factory=list)
    message: str = ""  # why nothing was undone


def write_decisions(
    library: Library,
    store: ReviewStore,
    decisions: Sequence[Decision],
    *,
    journal: Journal | None = None,
    id3_version: int = 3,
    separator: str | None = None,
    force: bool = False,
    keep_mtime: bool = False,
    description: str = "",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    decided: bool = True,
) -> WriteOutcome:
    """Write each decision's genres (journaled), then bring library and review up to date.

    A file that already holds the decision's genres counts as written for the review (it is as
    the user decided) but is not journaled: there is nothing to undo. With `decided` False (a
    tidy-up, not a review decision: `apply --canonicalize`) a file's review record stays as it
    was and only follows the file to its new fingerprint."""
    journal = journal or Journal()
    report = journal.write_batch(decisions, id3_version=id3_version, separator=separator, force=force,
                                 keep_mtime=keep_mtime, description=description, progress=progress,
                                 cancel=cancel)
    outcome = WriteOutcome(report=report, errors=list(report.errors))
    by_path = {Path(d.path): d for d in decisions}
    done = report.written + report.unchanged
    previous = store.get_many(done)
    now = time.time()
    written: list[tuple[Path, ReviewRecord]] = []
    for path in done:
        decision = by_path[path]
        track = _refresh(library, path, decision.expected, outcome.errors)
        if track is None:
            continue
        outcome.tracks.append(track)
        old = previous.get(path)
        if not decided:
            if old is not None and old.fingerprint == decision.expected:
                written.append((path, replace(old, fingerprint=track.fingerprint)))
            continue
        record = ReviewRecord(DecisionStatus.WRITTEN, tuple(decision.genres), track.fingerprint, now,
                              batch_id=report.batch_id if path in report.written else None)
        if old is not None:  # keep what the decision was made on
            record = replace(record, model_id=old.model_id, predicted=old.predicted, confidence=old.confidence)
        written.append((path, record))
    store.put_many(written)
    return outcome


def undo(
    library: Library,
    store: ReviewStore,
    batch_id: int | None = None,
    *,
    journal: Journal | None = None,
    progress: Progress | None = None,
) -> UndoOutcome:
    """Undo one write batch (None: the last one not undone), then refresh library and review."""
    journal = journal or Journal()
    try:
        report = journal.undo(batch_id, progress=progress)
    except JournalError as exc:
        return UndoOutcome(report=None, message=str(exc))
    return _after_undo(library, store, report)


def undo_all(library: Library, store: ReviewStore, *, journal: Journal | None = None) -> list[UndoOutcome]:
    """Undo every batch not yet undone, newest first."""
    journal = journal or Journal()
    return [_after_undo(library, store, report) for report in journal.undo_all()]


def _after_undo(library: Library, store: ReviewStore, report: UndoReport) -> UndoOutcome:
    outcome = UndoOutcome(report=report, errors=list(report.errors))
    records = store.get_many(report.restored)
    now = time.time()
    pending: list[tuple[Path, ReviewRecord]] = []
    for path in report.restored:
        known = library.track(path)
        track = _refresh(library, path, known.fingerprint if known else None, outcome.errors)
        if track is None:
            continue
        outcome.tracks.append(track)
        record = records.get(path)
        if record is not None and record.status == DecisionStatus.WRITTEN and record.batch_id == report.batch_id:
            pending.append((path, undone(record, track.fingerprint, now)))
        elif record is not None and known is not None and record.fingerprint == known.fingerprint:
            pending.append((path, replace(record, fingerprint=track.fingerprint)))  # it followed the write
    store.put_many(pending)
    return outcome


def _refresh(library: Library, path: Path, fingerprint: Fingerprint | None,
             errors: list[tuple[Path, str]]) -> Track | None:
    """Re-read a written or restored file into the library. A genre write leaves the audio as it
    was, so predictions made at the file's previous `fingerprint` follow it; with no previous
    fingerprint there is nothing to carry over."""
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
