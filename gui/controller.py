"""AppController: the app's state and jobs, without a widget.

It owns the settings (saved on change, recent folders), the Library, ReviewStore and Journal
(opened once, closed by close()), the loaded model, the scan -> load model -> classify pipeline
and write/undo. Every slow step runs as a gui.tasks.Task over a gui.operations job; what happens
reaches the views only through the signals below, so it runs (and is tested) headless.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from gui import operations
from gui.tasks import Task
from tagger.errors import GenrenetError
from tagger.ops import UndoOutcome, WriteOutcome
from tagger.review_store import ReviewStore, ReviewStoreError
from tagger.settings import Settings, load_settings, save_settings
from tagger.tags import SUPPORTED_FORMATS

log = logging.getLogger(__name__)

MAX_RECENT = 10


class AppController(QObject):
    """See the module docstring. Signals, in the order a job sends them:"""

    folder_opened = Signal(object)  # Path: views clear what they show of the previous folder
    stage_started = Signal(str, str)  # stage ("Scanning", "Loading model", "Classifying", "Writing",
    #                                   "Undoing") and the status text to show
    progress = Signal(int, int)  # done, total of the running stage
    stage_finished = Signal(str)  # a pipeline stage ended: the summary ("" when a problem says it)
    tracks_found = Signal(list)  # a batch of tracks while the scan runs (rows to append)
    tracks_loaded = Signal(list)  # the scan's whole list, when the batches did not already give it
    scan_finished = Signal(object)  # the ScanReport
    errors = Signal(str, list)  # source ("scan", "classify", "model", "write", "undo"), [(path, message)]
    problem = Signal(str, bool)  # what stopped the work; True when Settings can fix it
    model_loaded = Signal(object)  # the LoadedModel
    model_failed = Signal(str)
    results = Signal(list)  # ClassifyResults as they come (cached first)
    classify_finished = Signal(bool)  # True when cancelled
    pipeline_finished = Signal()  # scan -> classify is over: done, cancelled, failed or nothing to do
    write_finished = Signal(object)  # WriteOutcome
    write_failed = Signal(str)
    undo_finished = Signal(object)  # UndoOutcome
    undo_failed = Signal(str)
    last_batch_changed = Signal(object, str)  # newest batch not fully undone (or None), why None if unusable
    history_loaded = Signal(list)  # BatchInfo, newest first
    history_failed = Signal(str)
    jobs_changed = Signal()  # a job started or ended: busy / writing may have changed

    def __init__(self, settings: Settings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or load_settings()
        self.folder: Path | None = None
        self.tracks: list = []  # what the views were given of the folder's tracks
        self.scan_summary = ""
        self.loaded_model = None
        self._model_key: tuple | None = None
        self._library = None
        self._journal = None
        self._task: Task | None = None  # the scan/classify job in flight
        self._write_task: Task | None = None  # write or undo
        self._history_task: Task | None = None
        self._streamed_scan = False
        self.last_batch = None  # the newest write batch not fully undone (journal), for Undo
        self._closed = False
        self.review_store, self.store_problem = _open_review_store()

    # --- stores --------------------------------------------------------------------------

    @property
    def library(self):
        if self._library is None:
            from tagger.library import Library

            self._library = Library()
        return self._library

    def _reopen_library(self) -> None:
        """The cache folder changed: the next job opens the Library at paths.cache_dir() anew.

        A job still running keeps its own reference to the old Library and finishes there (its
        connection closes when the last reference goes); nothing is copied from the old cache (the
        next scan reads the folder again).
        """
        self._library = None

    def _open_journal(self):
        """The write journal, opened once; raises GenrenetError when it cannot be opened."""
        if self._journal is None:
            from tagger.journal import Journal

            self._journal = Journal()
        return self._journal

    def _journal_or_none(self):
        """The journal for a job, or None: the job then opens it and reports why it cannot."""
        try:
            return self._open_journal()
        except GenrenetError:
            return None

    def close(self) -> None:
        """Stop the jobs (waiting up to 10 s) and close the stores; called once on quit."""
        if self._closed:
            return
        self._closed = True
        self._cancel_running()
        if self._write_task is not None:
            self._write_task.cancel()
        from gui import tasks

        tasks.shutdown(10000)
        self.review_store.close()
        if self._library is not None:
            self._library.close()
            self._library = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    # --- state ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._task is not None and self._task.running

    @property
    def writing(self) -> bool:
        return self._write_task is not None and self._write_task.running

    def apply_settings(self, new: Settings) -> bool:
        """Save settings and follow them: the cache folder (reopened for the next scan) and the
        model (dropped). True when the model changed: the views then call reclassify()."""
        old = self.settings
        self.settings = new
        save_settings(new)
        if old.cache_dir != new.cache_dir:
            self._reopen_library()
        model_changed = (old.model_path, old.device, old.windows_per_track, old.speed) != (
            new.model_path, new.device, new.windows_per_track, new.speed)
        if model_changed:
            self.loaded_model = None
            self._model_key = None
        return model_changed

    def review_options(self) -> dict:
        """The review's configuration from the settings (TrackTableModel.configure's arguments):
        threshold, write policy and the genre tree's naming (plain names if genres.toml is broken)."""
        from tagger.taxonomy import Taxonomy

        try:
            taxonomy = Taxonomy.load(self.settings.genre_map, merges=self.settings.genre_merges)
            namer, tidy, related, styles = taxonomy.name_for, taxonomy.tidy, taxonomy.related, taxonomy.styles
        except Exception as exc:  # a broken genres.toml must not stop the app
            log.warning("taxonomy unavailable: %s", exc)
            namer = tidy = str
            related = styles = None
        return dict(threshold=self.settings.review_threshold, policy=self.settings.write_policy,
                    genres_to_write=self.settings.genres_to_write, namer=namer, tidy=tidy,
                    related=related, styles=styles, style_mode=self.settings.styles)

    def reclassify(self) -> None:
        """Scan the open folder again and classify it with the current model (after a change)."""
        if self.folder is not None and not self.writing:
            self._cancel_running()
            self._start_scan()

    def _remember_recent(self, folder: Path) -> None:
        recent = [str(folder)] + [f for f in self.settings.recent_folders if f != str(folder)]
        self.settings = self.settings.with_changes(recent_folders=tuple(recent[:MAX_RECENT]))
        try:
            save_settings(self.settings)
        except OSError as exc:
            log.warning("could not save recent folders: %s", exc)

    # --- opening and scanning ------------------------------------------------------------

    def open_folder(self, folder: Path) -> None:
        """Open a folder (a directory: the views check): scan it, then classify what needs it."""
        self._cancel_running()
        self.folder = Path(folder).resolve()
        self._remember_recent(self.folder)
        self.tracks = []
        self.folder_opened.emit(self.folder)
        self._start_scan()

    def rescan(self) -> None:
        """Scan the open folder again; only new or changed files are classified again."""
        if self.folder is not None and not self.busy and not self.writing:
            self._start_scan()

    def _start_scan(self) -> None:
        assert self.folder is not None
        try:
            library = self.library
        except GenrenetError as exc:  # the cache cannot be opened: say where, list nothing
            self.problem.emit(f"Cannot scan: {exc}. Choose another cache folder in Settings \u25b8 Storage.", True)
            self.pipeline_finished.emit()
            return
        self.stage_started.emit("Scanning", f"Scanning {self.folder}…")
        self._streamed_scan = not self.tracks
        task = Task(operations.scan, library, [self.folder], partial=True, name="scan")
        task.progress.connect(self.progress)
        task.items.connect(lambda tracks, t=task: self._on_scan_tracks(t, tracks))
        task.succeeded.connect(self._on_scan_done)
        task.failed.connect(self._on_scan_failed)
        task.done.connect(self._on_task_done)
        self._task = task.start()
        self.jobs_changed.emit()

    def _on_scan_tracks(self, task: Task, tracks: list) -> None:
        """Rows while the scan runs: each batch Library.scan stored, in one insert."""
        if task is self._task:
            self.tracks.extend(tracks)
            self.tracks_found.emit(tracks)

    def _on_scan_done(self, report) -> None:
        streamed = self._streamed_scan and len({t.path for t in self.tracks}) == len(report.tracks)
        self.tracks = list(report.tracks)
        if not streamed:  # a rescan over shown rows: keep their predictions, drop removed files
            self.tracks_loaded.emit(self.tracks)
        unreadable = [(t.path, t.error) for t in report.tracks if t.error]
        track_paths = {t.path for t in report.tracks}
        self._emit_errors("scan", [(p, e) for p, e in report.errors if p not in track_paths] + unreadable)
        self.scan_finished.emit(report)
        if report.cancelled:
            self.stage_finished.emit(f"Scan cancelled: {len(report.tracks)} files listed.")
            self.pipeline_finished.emit()
            return
        found = len(report.tracks)
        skipped = report.skipped_summary()
        if found == 0:
            self.stage_finished.emit("")
            self.problem.emit(f"No supported audio files in {self.folder} (genrenet reads {SUPPORTED_FORMATS})."
                              + (f" {skipped}." if skipped else ""), False)
            self.pipeline_finished.emit()
            return
        self.scan_summary = (f"{found:,} files ({report.new:,} new, {report.changed:,} changed, "
                             f"{report.unchanged:,} unchanged)" + (f"; {skipped}" if skipped else ""))
        self._start_classify()

    def _on_scan_failed(self, message: str) -> None:
        self.stage_finished.emit("")
        self.problem.emit(f"Could not scan {self.folder}: {message}", False)
        self.pipeline_finished.emit()

    # --- classification ------------------------------------------------------------------

    def _start_classify(self) -> None:
        key = (self.settings.model_path, self.settings.device, self.settings.speed)
        if self.loaded_model is not None and self._model_key == key:
            self._classify_with(self.loaded_model)
            return
        self.stage_started.emit("Loading model", "Loading the genre model…")
        task = Task(operations.load_model, self.settings.model_path, self.settings.device, self.settings.speed,
                    name="load model")
        task.succeeded.connect(lambda model, key=key, task=task: self._on_model_loaded(model, key, task))
        task.failed.connect(self._on_model_failed)
        task.done.connect(self._on_task_done)
        self._task = task.start()

    def _on_model_loaded(self, model, key, task: Task | None = None) -> None:
        self.loaded_model, self._model_key = model, key
        self.model_loaded.emit(model)
        if task is not None and task.cancelled:
            self.stage_finished.emit("Cancelled before classifying. Rescan (F5) to classify.")
            self.pipeline_finished.emit()
            return
        # the model-load task is done; start classifying on the next turn of the event loop
        QTimer.singleShot(0, lambda: self._classify_with(model))

    def _on_model_failed(self, message: str) -> None:
        self.loaded_model = None
        self.model_failed.emit(message)
        self.stage_finished.emit("")
        self.problem.emit(f"The genre model could not be loaded: {message}\n"
                          "Choose a model file in Settings \u25b8 Model, or train one in Settings \u25b8 Retrain. "
                          "The files are listed; nothing is written.", True)
        self._emit_errors("model", [(self.settings.model_path or "(default model)", message)])
        self.pipeline_finished.emit()

    def _classify_with(self, model) -> None:
        tracks = [t for t in self.tracks if t.error is None]
        self.stage_started.emit("Classifying", f"Classifying {len(tracks):,} files…")
        task = Task(operations.classify, self.library, tracks, model, self.settings.windows_per_track,
                    self.settings.speed, stream=True, name="classify")
        task.progress.connect(self.progress)
        task.items.connect(self._on_results)
        task.failed.connect(self._on_classify_failed)
        task.done.connect(self._on_classify_done)
        task.done.connect(self._on_task_done)
        self._task = task.start()
        self.jobs_changed.emit()

    def _on_results(self, results: list) -> None:
        self.results.emit(results)
        self._emit_errors("classify", [(r.path, r.error) for r in results if r.error])

    def _on_classify_failed(self, message: str) -> None:
        self.problem.emit(f"Classification stopped: {message}", False)

    def _on_classify_done(self, cancelled: bool) -> None:
        self.classify_finished.emit(cancelled)
        self.pipeline_finished.emit()

    def _on_task_done(self, _cancelled: bool) -> None:
        self.jobs_changed.emit()

    def _emit_errors(self, source: str, entries: list) -> None:
        if entries:
            self.errors.emit(source, entries)

    def cancel(self) -> bool:
        """Stop the running scan/classification and write or undo; True when a scan or
        classification was running (it ends with its usual signals, cancelled)."""
        running = self.busy
        if running:
            self._task.cancel()
        if self.writing:
            self._write_task.cancel()
        return running

    def _cancel_running(self) -> None:
        """Stop the pipeline job and forget it: none of its signals reach the views any more."""
        if self._task is not None and self._task.running:
            task = self._task
            task.cancel()
            for sig in (task.succeeded, task.items, task.progress, task.failed, task.done):
                try:
                    sig.disconnect()
                except (RuntimeError, TypeError):
                    pass
            task.done.connect(task._on_done)
        self._task = None

    # --- write and undo ------------------------------------------------------------------

    def write(self, decisions, decided: bool = True, what: str = "genre") -> None:
        """Write these decisions off the UI thread (the summary was confirmed). `decided` False:
        a tidy-up, which leaves the review's decisions as they are (tagger.ops.write_decisions)."""
        n = len(decisions)
        self.stage_started.emit("Writing", f"Writing {n:,} files…")
        desc = f"{n} {what}{'s' if n != 1 and what == 'genre' else ''} in {self.folder.name if self.folder else 'files'}"
        task = Task(operations.write, self.library, self.review_store, decisions, self.settings, desc, decided,
                    journal=self._journal_or_none(), name="write")
        task.progress.connect(self.progress)
        self._start_file_job(task, "write", self.write_finished, self.write_failed)

    def undo(self, batch_id: int | None = None) -> None:
        """Undo one write batch off the UI thread (None: the last one not yet undone)."""
        if self.writing or self.busy:
            return
        self.stage_started.emit("Undoing", "Putting back the genres of the last write…")
        task = Task(operations.undo, self.library, self.review_store, batch_id, journal=self._journal_or_none(),
                    name="undo")
        self._start_file_job(task, "undo", self.undo_finished, self.undo_failed)

    def _start_file_job(self, task: Task, source: str, finished, failed) -> None:
        """Run a write or an undo (one at a time): its problems, the new last batch, then `finished`."""
        task.succeeded.connect(lambda outcome: self._on_file_job_done(source, outcome, finished))
        task.failed.connect(failed)
        task.done.connect(self._on_task_done)
        self._write_task = task.start()
        self.jobs_changed.emit()

    def _on_file_job_done(self, source: str, outcome: WriteOutcome | UndoOutcome, finished) -> None:
        self._emit_errors(source, outcome.errors)
        self.refresh_last_batch()
        finished.emit(outcome)

    def refresh_last_batch(self) -> None:
        """Find the newest write batch not fully undone (one small journal query)."""
        try:
            self.last_batch = next((b for b in self._open_journal().history() if not b.undone), None)
            tip = ""
        except GenrenetError as exc:
            self.last_batch, tip = None, str(exc)
        self.last_batch_changed.emit(self.last_batch, tip)

    def load_history(self) -> None:
        """The journal's batches, off the UI thread: history_loaded or history_failed follows."""
        task = Task(operations.history, journal=self._journal_or_none(), name="history")
        task.succeeded.connect(self.history_loaded)
        task.failed.connect(self.history_failed)
        self._history_task = task.start()


def _open_review_store() -> tuple[ReviewStore, str]:
    """The stored review, or (when its file is unusable) one in memory and the reason to show."""
    try:
        return ReviewStore(), ""
    except ReviewStoreError as exc:
        log.warning("%s", exc)
        return ReviewStore(":memory:"), f"Review decisions will not be kept after you quit: {exc}"
