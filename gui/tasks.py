"""The one background-task helper: run a plain function off the UI thread.

`Task(fn, *args, **kwargs)` calls `fn(*args, progress=..., cancel=..., **kwargs)` in a worker
thread. `progress(done, total)` and `cancel` (a threading.Event) are what every job in tagger/
takes. Everything the job reports arrives on the UI thread through Qt signals:

- `progress(done, total)`   throttled to a few updates a second (the last one always comes)
- `items(list)`             with `stream=True`, the job's return value is iterated in the worker
                            and its items arrive in batches (one signal per ~100 ms, not per item);
                            with `partial=True`, the job also gets `partial(list)` to hand over
                            results before it returns (Library.scan's `found`): the same batching
- `succeeded(object)`       the return value (with `stream=True`: how many items were produced);
                            every `items` batch comes before it
- `failed(str)`             the exception as a one-line message a user can read
- `done(bool)`              always last; True when the job was cancelled

The UI thread never waits on a Task; it connects slots and goes on.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.05  # seconds between progress signals
BATCH_INTERVAL = 0.1  # seconds between item batches

_pool: QThreadPool | None = None
_alive: set[Task] = set()  # a running Task must outlive the caller's reference to it


def pool() -> QThreadPool:
    """The app's worker pool (separate from the global one so shutdown can wait for it)."""
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setMaxThreadCount(4)
    return _pool


class Task(QObject):
    """One background job; see the module docstring."""

    progress = Signal(int, int)
    items = Signal(list)
    succeeded = Signal(object)
    failed = Signal(str)
    done = Signal(bool)

    def __init__(self, fn: Callable[..., Any], *args: Any, stream: bool = False, partial: bool = False,
                 name: str = "", **kwargs: Any) -> None:
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.stream = stream
        self.partial = partial
        self._pending: list[Any] = []
        self._last_batch = 0.0  # the first batch goes out at once: rows show up as soon as any exist
        self.name = name or getattr(fn, "__name__", "task")
        self.cancel_event = threading.Event()
        self.running = False
        self.finished = False
        self._last_progress = 0.0

    # --- UI thread -------------------------------------------------------------------------

    def start(self) -> Task:
        """Queue the job on the worker pool and return self (for chaining connects first)."""
        self.running = True
        _alive.add(self)
        self.done.connect(self._on_done)
        pool().start(_Runner(self))
        return self

    def cancel(self) -> None:
        """Ask the job to stop; it stops at its next check and `done(True)` follows."""
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def _on_done(self, _cancelled: bool) -> None:
        _alive.discard(self)

    # --- worker thread ---------------------------------------------------------------------

    def _report_progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self.progress.emit(int(done), int(total))

    def _add_items(self, items: list[Any]) -> None:
        """Queue results for the UI; one `items` signal per BATCH_INTERVAL at most."""
        self._pending.extend(items)
        now = time.monotonic()
        if self._pending and now - self._last_batch >= BATCH_INTERVAL:
            self._flush_items(now)

    def _flush_items(self, now: float | None = None) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self._last_batch = time.monotonic() if now is None else now
            self.items.emit(batch)

    def _run(self) -> None:
        ok, value = True, None
        extra = {"partial": self._add_items} if self.partial else {}
        try:
            value = self.fn(*self.args, progress=self._report_progress, cancel=self.cancel_event,
                            **extra, **self.kwargs)
            if self.stream:
                value = self._drain(value)
        except Exception as exc:  # the job's error is the user's to read, never a crash
            log.debug("task %s failed:\n%s", self.name, traceback.format_exc())
            ok, value = False, error_text(exc)
        finally:
            self._flush_items()  # what was handed over before a failure or cancel still arrives
            # flags before any signal: slots (on the UI thread) must already see the task as over
            self.running = False
            self.finished = True
        try:
            if ok:
                self.succeeded.emit(value)
            else:
                self.failed.emit(value)
            self.done.emit(self.cancel_event.is_set())
        except RuntimeError:  # the Qt side of this task is gone (the app is closing): nobody to tell
            log.debug("task %s finished after its signals were deleted", self.name)

    def _drain(self, iterable: Iterable[Any]) -> int:
        count = 0
        for item in iterable:
            self._add_items([item])
            count += 1
        return count


class _Runner(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task

    def run(self) -> None:
        self.task._run()


def error_text(exc: BaseException) -> str:
    """A one-line message for a user: the exception's text, or its type when it has none."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def shutdown(timeout_ms: int = 5000) -> bool:
    """Cancel every running task and wait for the workers; True when all stopped in time."""
    for task in list(_alive):
        task.cancel()
    return pool().waitForDone(timeout_ms)


class Eta:
    """Estimate of the time left from progress so far (rate over the whole run)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.first_done: int | None = None

    def restart(self) -> None:
        self.start = time.monotonic()
        self.first_done = None

    def text(self, done: int, total: int) -> str:
        """'about 2 min left', or '' while there is too little to go on."""
        if self.first_done is None:
            self.first_done, self.start = done, time.monotonic()
            return ""
        elapsed = time.monotonic() - self.start
        progressed = done - self.first_done
        if progressed <= 0 or elapsed < 1.0 or total <= done:
            return ""
        left = (total - done) * elapsed / progressed
        return f"about {format_duration(left)} left"


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{max(seconds, 1)} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s" if minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
