"""The app's background jobs: thin wrappers over core calls, run by gui.tasks.Task.

Each takes `progress` and `cancel` like the core jobs it calls. Nothing here touches Qt, and no
rule lives here: writing and undoing are tagger.ops, as for the CLI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tagger import ops
from tagger.track import Decision, Track

Progress = Callable[[int, int], None]


def scan(library, roots: Sequence[Path], *, progress: Progress, cancel: threading.Event,
         partial: Callable[[list[Track]], None] | None = None):
    """Library.scan: every audio file under roots with its tags (unchanged files from cache).

    `partial` gets each batch of tracks as it is stored (run with Task(..., partial=True))."""
    return library.scan(list(roots), progress=progress, cancel=cancel, found=partial)


def load_model(model_path: str | None, device: str, speed: str, *, progress: Progress, cancel: threading.Event):
    """The model the settings name (the fast model for Speed: fast). Raises ModelError."""
    from tagger.classify import analysis_for, load_model

    return load_model(analysis_for(speed, Path(model_path) if model_path else None).model_path, device)


def classify(library, tracks: Sequence[Track], model, max_windows: int, speed: str, *, progress: Progress,
             cancel: threading.Event) -> Iterator:
    """Stream ClassifyResults; cached predictions first, then the model's as they come."""
    from tagger.classify import adaptive_for, classify_tracks

    return classify_tracks(library, tracks, model, max_windows=max_windows, adaptive=adaptive_for(speed),
                           progress=progress, cancel=cancel)


def write(library, store, decisions: Sequence[Decision], settings, description: str, decided: bool = True,
          *, progress: Progress, cancel: threading.Event, journal=None) -> ops.WriteOutcome:
    """tagger.ops.write_decisions with the settings' ID3 version, separator and mtime rule
    (`journal`: the app's open Journal; None opens one)."""
    return ops.write_decisions(library, store, decisions, journal=journal, id3_version=settings.id3_version,
                               separator=settings.separator, keep_mtime=settings.keep_mtime,
                               description=description, progress=progress, cancel=cancel, decided=decided)


def undo(library, store, batch_id: int | None, *, progress: Progress, cancel: threading.Event,
         journal=None) -> ops.UndoOutcome:
    return ops.undo(library, store, batch_id, journal=journal, progress=progress)


def history(*, progress: Progress, cancel: threading.Event, journal=None):
    """The journal's write batches, newest first (`journal` None: open one)."""
    from tagger.journal import Journal

    if journal is not None:
        return journal.history()
    with Journal() as opened:
        return opened.history()
