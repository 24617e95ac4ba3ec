"""Batched inference over whole tracks: decode workers feed windows to the model as they come.

Decoding, resampling and the log-mel run in decode threads (libsndfile, soxr, numpy's FFT and
BLAS release the GIL; measured on 2 cores, threads beat processes, whose start-up alone costs
seconds). The caller's thread gathers the windows of several tracks into batches (a batch may
span tracks) and hands them to model threads (see _Plan: on CPU one per core, one torch thread
each, small batches; on a GPU one thread, full batches). A track's result is yielded as soon as
all its windows have been judged, so results come in completion order, not input order.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import logging
import os
import platform
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from tagger.errors import FileError, ModelError
from tagger.features import FeatureConfig, TrackWindows, track_windows
from tagger.onnx_model import ExportError, OrtModel, load_onnx
from tagger.resources import default_model_path, fast_model_path
from tagger.track import Prediction, Track
from tagger.windows import track_probabilities

if TYPE_CHECKING:
    from tagger.checkpoint import LoadedModel
    from tagger.library import Library

    Model = LoadedModel | OrtModel

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)

WORKER_NAME = "genrenet-decode"  # thread name prefixes: tests check that none is left running
MODEL_THREAD_NAME = "genrenet-model"
CPU_BATCH = 1  # windows per forward pass on CPU (see _Plan)
MAX_CPU_MODEL_THREADS = 4
_POLL_S = 0.05  # how often waiting threads look at the cancel flag


@dataclass(frozen=True, slots=True)
class ClassifyResult:
    """The outcome for one file: a prediction, or the reason there is none."""

    path: Path
    prediction: Prediction | None
    error: str | None = None
    cached: bool = False  # the prediction came from the library cache, not from the model

    @property
    def ok(self) -> bool:
        return self.prediction is not None


@dataclass(frozen=True, slots=True)
class Adaptive:
    """Adaptive mode: judge a track by `first` of its windows (spread over the track:
    window_order), and by all of them only when those do not settle it.

    Settled means: every judged window gives the same genre, each with probability at least
    `window_floor`. A settled track's confidence is then at least the floor, far from any review
    threshold below it. More windows can never settle a track the first ones did not (a window
    below the floor stays below it), so the rest come in one go. The values were chosen on the
    per-window outputs of the default model on the 383 real tracks of ../shared/data
    (bench/bench_classify.py measures the agreement with exact mode): first=3, floor 0.98 gave the
    same genre on all of them and a confidence within 0.05 of exact mode's on 98.2%, with 6.4 of
    8 windows judged on average. A rule that stops earlier (2 windows, or a lower floor) missed
    the 0.05 on 5-8% of them.
    """

    first: int = 3
    window_floor: float = 0.98

    def settled(self, probabilities: np.ndarray) -> bool:
        """Whether windows judged so far (n, n_labels) settle the track."""
        if len(probabilities) < self.first:
            return False
        top = int(track_probabilities(probabilities).argmax())
        return bool((probabilities.argmax(axis=1) == top).all() and probabilities[:, top].min() >= self.window_floor)


def window_order(count: int) -> list[int]:
    """The order adaptive mode judges `count` windows in: the middle one, then always the one
    farthest from those already chosen (the earlier on a tie), so a few cover the whole track."""
    order = [count // 2]
    while len(order) < count:
        rest = [i for i in range(count) if i not in order]
        order.append(max(rest, key=lambda i: (min(abs(i - c) for c in order), -i)))
    return order


SPEEDS = ("exact", "adaptive", "fast")


@dataclass(frozen=True, slots=True)
class Analysis:
    """What a speed setting means: which model file (None: the default) and which window rule."""

    model_path: Path | None
    adaptive: Adaptive | None


def analysis_for(speed: str, model_path: Path | None) -> Analysis:
    """The analysis for a speed (exact|adaptive|fast) and the model chosen, if any.

    Fast is the shipped fast model, which stands in for the default model; with a model of the
    user's own it is refused rather than silently running another model. Raises ModelError."""
    if speed != "fast":
        return Analysis(model_path, adaptive_for(speed))
    if model_path is not None:
        raise ModelError(f"speed 'fast' runs genrenet's own fast model, not {Path(model_path).name}: "
                         "choose exact or adaptive for a model of your own")
    fast = fast_model_path()
    if fast is None:
        raise ModelError("no fast model is shipped with this version; choose exact or adaptive")
    return Analysis(fast, None)


def adaptive_for(speed: str) -> Adaptive | None:
    """The window rule of a speed: adaptive's, or None (every window). Raises ModelError."""
    if speed not in SPEEDS:
        raise ModelError(f"unknown speed {speed!r}: choose {', '.join(SPEEDS)}")
    return Adaptive() if speed == "adaptive" else None


def load_model(path: Path | None, device: str = "auto") -> Model:
    """Load a checkpoint (None = the shipped default) on `device` (auto|cpu|cuda|mps).

    Raises ModelError with a one-line reason: no default shipped, unusable file, bad device.
    """
    if path is None:
        path = default_model_path()
        if path is None:
            raise ModelError("no default model is shipped yet; pass --model FILE")
    if _runs_on_cpu(device) and os.environ.get("GENRENET_BACKEND", "") != "torch":
        try:
            return load_onnx(Path(path))
        except ExportError as exc:  # PyTorch runs it instead
            log.info("%s: %s; using PyTorch", Path(path).name, exc)
    from tagger.checkpoint import load_checkpoint
    from tagger.device import resolve_device

    try:
        chosen = resolve_device(device)
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    return load_checkpoint(Path(path), chosen)


def _runs_on_cpu(device: str) -> bool:
    """Whether `device` means the CPU here, decided without importing torch: `auto` means the CPU
    unless the machine may have CUDA (an NVIDIA driver) or Apple MPS (Apple silicon)."""
    if device == "cpu":
        return True
    if device != "auto":
        return False
    if sys.platform == "darwin":
        return platform.machine() != "arm64"
    return not (os.path.exists("/proc/driver/nvidia/version") or ctypes.util.find_library("cuda"))


def classify_files(
    paths: Sequence[Path],
    model: Model,
    *,
    max_windows: int = 8,
    batch_size: int = 32,
    workers: int = 2,
    adaptive: Adaptive | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[ClassifyResult]:
    """Classify files, yielding one ClassifyResult per file as soon as it is done.

    Every track is judged by up to `max_windows` windows (exact mode), or, with `adaptive`, by as
    many of them as its rule needs. A file that cannot be decoded (or is silent) gives a result
    with `error`; the others go on.
    `progress(done, total)` is called before each result is yielded. Setting `cancel` stops
    promptly: no new file is decoded, the workers are joined and the generator ends. Closing the
    generator early (break) does the same.
    """
    if max_windows < 1 or batch_size < 1 or workers < 1:
        raise ValueError("max_windows, batch_size and workers must be at least 1")
    paths = [Path(p) for p in paths]
    total = len(paths)
    if total == 0 or _cancelled(cancel):
        return
    done = 0
    plan = _Plan.for_model(model, batch_size)
    pool = _DecodePool(paths, model.features, max_windows, workers,
                       capacity=max(2 * workers, -(-batch_size // max_windows) + workers), cancel=cancel)
    batcher = _Batcher(model, analysis_id(model, max_windows, adaptive), adaptive)
    runner = ThreadPoolExecutor(plan.model_threads, thread_name_prefix=MODEL_THREAD_NAME)
    running: dict[Future[np.ndarray], _Batch] = {}
    held: _Decoded | _Failed | None = None  # an entry we waited for, handled next time round
    try:
        with _single_threaded_blas(workers), model.threads(plan.model_thread_width):
            pool.start()
            while done < total:
                if _cancelled(cancel):
                    return
                finished: list[ClassifyResult] = []
                # Results of the model first: they free a model thread and may finish tracks.
                for future in [f for f in running if f.done()]:
                    finished += batcher.complete(running.pop(future), future.result())
                # Then take what the decoders have ready, up to one batch ahead.
                entry, held = held, None
                if entry is None and batcher.pending < batch_size:
                    entry = pool.next_ready(wait=False)
                if isinstance(entry, _Failed):
                    finished.append(ClassifyResult(entry.path, None, entry.error))
                elif entry is not None:
                    batcher.add(entry)
                # Feed idle model threads: a full batch, or whatever is queued when nothing more
                # is ready right now.
                while (len(running) < plan.model_threads and batcher.pending
                       and (batcher.pending >= plan.batch_size or entry is None)):
                    batch = batcher.take(plan.batch_size)
                    running[runner.submit(_judge, model, batch.windows)] = batch
                for result in finished:
                    done += 1
                    if progress is not None:
                        progress(done, total)
                    yield result
                    if _cancelled(cancel):
                        return
                if finished or entry is not None:
                    continue
                if running:  # wait for the model or, briefly, for a decoder
                    wait(running, timeout=_POLL_S / 5, return_when=FIRST_COMPLETED)
                else:
                    held = pool.next_ready(wait=True)
                    if held is None and pool.exhausted() and not _cancelled(cancel):
                        raise RuntimeError("decode workers stopped before every file was handled")
    finally:
        pool.stop()
        runner.shutdown(wait=True, cancel_futures=True)


def analysis_id(model: Model, max_windows: int, adaptive: Adaptive | None = None) -> str:
    """What a prediction was made with: the model file, how many windows judged the track and
    the adaptive rule, if any. Cached predictions are reused only for the same analysis."""
    rule = "" if adaptive is None else f"-adaptive{adaptive.first}-{adaptive.window_floor:g}"
    return f"{model.model_id}-w{max_windows}{rule}"


def classify_tracks(
    library: Library,
    tracks: Sequence[Track],
    model: Model,
    *,
    max_windows: int = 8,
    batch_size: int = 32,
    workers: int = 2,
    adaptive: Adaptive | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[ClassifyResult]:
    """classify_files for scanned tracks, reusing the library's cached predictions.

    Tracks whose fingerprint and model match a cached prediction are yielded first (cached=True)
    without decoding; the others are classified and their predictions stored in the library.
    """
    total = len(tracks)
    todo: list[Track] = []
    done = 0
    for track in tracks:
        if _cancelled(cancel):
            return
        cached = library.cached_prediction(track, analysis_id(model, max_windows, adaptive))
        if cached is None:
            todo.append(track)
            continue
        done += 1
        if progress is not None:
            progress(done, total)
        yield ClassifyResult(track.path, cached, None, cached=True)
    if not todo:
        return
    by_path = {t.path: t for t in todo}
    offset = done

    def shifted(n: int, _total: int) -> None:
        if progress is not None:
            progress(offset + n, total)

    for result in classify_files([t.path for t in todo], model, max_windows=max_windows,
                                 batch_size=batch_size, workers=workers, adaptive=adaptive,
                                 progress=shifted, cancel=cancel):
        if result.prediction is not None:
            library.store_prediction(by_path[result.path], result.prediction)
        yield result


# --- decode workers -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Failed:
    path: Path
    error: str


@dataclass(slots=True)
class _Decoded:
    path: Path
    windows: TrackWindows


class _DecodePool:
    """Worker threads that turn paths into windows; results wait in a bounded queue."""

    def __init__(self, paths: list[Path], cfg: FeatureConfig, max_windows: int, workers: int,
                 capacity: int, cancel: threading.Event | None):
        self._todo: queue.SimpleQueue[Path] = queue.SimpleQueue()
        for path in paths:
            self._todo.put(path)
        self._ready: queue.Queue[_Decoded | _Failed] = queue.Queue(maxsize=capacity)
        self._cfg = cfg
        self._max_windows = max_windows
        self._cancel = cancel
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"{WORKER_NAME}-{i}", daemon=True)
            for i in range(min(workers, len(paths)))
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Ask the workers to finish the file in hand and take no other; wait for them."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()

    def exhausted(self) -> bool:
        return self._ready.empty() and not any(t.is_alive() for t in self._threads)

    def next_ready(self, wait: bool) -> _Decoded | _Failed | None:
        """The next decoded file; None if none is ready (after a short wait when `wait`)."""
        try:
            return self._ready.get(timeout=_POLL_S) if wait else self._ready.get_nowait()
        except queue.Empty:
            return None

    def _stopping(self) -> bool:
        return self._stop.is_set() or _cancelled(self._cancel)

    def _work(self) -> None:
        while not self._stopping():
            try:
                path = self._todo.get_nowait()
            except queue.Empty:
                return
            entry = _decode(path, self._cfg, self._max_windows)
            while not self._stopping():
                try:
                    self._ready.put(entry, timeout=_POLL_S)
                    break
                except queue.Full:
                    continue


def _decode(path: Path, cfg: FeatureConfig, max_windows: int) -> _Decoded | _Failed:
    try:
        return _Decoded(path, track_windows(path, cfg, max_windows))
    except FileError as exc:
        return _Failed(path, str(exc))
    except Exception as exc:  # one bad file must not stop the batch
        return _Failed(path, f"unexpected error while decoding: {type(exc).__name__}: {exc}")


# --- batching -----------------------------------------------------------------------------------


class _Job:
    """One track's windows on their way through the model, in the order they are judged."""

    __slots__ = ("path", "windows", "order", "allowed", "probabilities", "tags", "sent", "judged")

    def __init__(self, decoded: _Decoded, n_labels: int, n_tags: int, adaptive: Adaptive | None):
        self.path = decoded.path
        self.windows = decoded.windows
        n = len(decoded.windows.windows)
        self.order = window_order(n) if adaptive else list(range(n))
        self.allowed = min(n, adaptive.first) if adaptive else n  # windows it may be judged by so far
        self.probabilities = np.empty((n, n_labels), dtype=np.float32)
        self.tags = np.empty((n, n_tags), dtype=np.float32) if n_tags else None
        self.sent = 0  # windows (in `order`) handed to a batch
        self.judged = 0  # windows whose probabilities are back

    @property
    def size(self) -> int:
        return len(self.probabilities)

    def judged_windows(self) -> list[int]:
        return sorted(self.order[: self.judged])


@dataclass(slots=True)
class _Batch:
    pieces: list[tuple[_Job, int, int]]  # (track, first, end) positions in the track's order
    windows: np.ndarray  # (batch, frames, n_mels) float32


class _Batcher:
    """Queues windows of several tracks, hands them out in batches and maps results back.

    In adaptive mode a track whose first windows do not settle it is queued again, in front,
    with all its windows allowed."""

    def __init__(self, model: Model, analysis: str, adaptive: Adaptive | None = None):
        self.model = model
        self.analysis = analysis
        self.adaptive = adaptive
        self._jobs: deque[_Job] = deque()
        self.pending = 0  # windows queued, not yet handed out

    def add(self, decoded: _Decoded) -> None:
        job = _Job(decoded, len(self.model.labels), len(self.model.tag_labels), self.adaptive)
        self._jobs.append(job)
        self.pending += job.allowed

    def take(self, limit: int) -> _Batch:
        """Up to `limit` queued windows, oldest first; a batch may span several tracks."""
        pieces: list[tuple[_Job, int, int]] = []
        room = limit
        while room and self._jobs:
            job = self._jobs[0]
            take = min(room, job.allowed - job.sent)
            pieces.append((job, job.sent, job.sent + take))
            job.sent += take
            room -= take
            if job.sent == job.allowed:
                self._jobs.popleft()
        arrays = [job.windows.windows[job.order[a:b]] if self.adaptive else job.windows.windows[a:b]
                  for job, a, b in pieces]
        x = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)  # (batch, frames, n_mels)
        self.pending -= len(x)
        return _Batch(pieces, x)

    def complete(self, batch: _Batch, judged: tuple[np.ndarray, np.ndarray | None]) -> list[ClassifyResult]:
        """Store a batch's probabilities (batch, n_labels) and tag probabilities (batch, n_tags)
        or None; results of the tracks it finishes."""
        probs, tags = judged
        finished = []
        row = 0
        for job, a, b in batch.pieces:
            job.probabilities[job.order[a:b]] = probs[row : row + b - a]
            if job.tags is not None:
                job.tags[job.order[a:b]] = tags[row : row + b - a]
            row += b - a
            job.judged += b - a
            if job.judged < job.allowed:
                continue
            if job.allowed == job.size or self.adaptive.settled(job.probabilities[job.judged_windows()]):
                finished.append(ClassifyResult(job.path, self._prediction(job), None))
            else:  # not settled by its first windows: the rest, in front of the queue
                self.pending += job.size - job.allowed
                job.allowed = job.size
                self._jobs.appendleft(job)
        return finished

    def _prediction(self, job: _Job) -> Prediction:
        judged = job.judged_windows()
        window_probs = job.probabilities[judged]
        return Prediction(
            path=job.path,
            model_id=self.analysis,
            labels=self.model.labels,
            probabilities=track_probabilities(window_probs).astype(np.float32),  # tagger.windows
            window_probabilities=window_probs,
            window_starts=tuple(job.windows.starts_seconds[i] for i in judged),
            tag_labels=tuple(self.model.tag_labels),
            tag_probabilities=None if job.tags is None else track_probabilities(job.tags[judged]).astype(np.float32),
        )


def _judge(model: Model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Calibrated probabilities (batch, n_labels) of windows x (batch, frames, n_mels), and the
    tag probabilities (batch, n_tags) of a model with tags (else None)."""
    probs, tags = model.judge_all(x)
    if not np.isfinite(probs).all() or (tags is not None and not np.isfinite(tags).all()):
        name = model.path.name if model.path else "the model"
        raise ModelError(f"{name} gave NaN or infinite outputs; the model is broken and nothing was judged by it")
    return probs, tags


@dataclass(frozen=True, slots=True)
class _Plan:
    """How the model runs: how many batches at once, torch threads each, windows per batch.

    On CPU, several model threads with one torch thread each (forward passes release the GIL)
    keep every core busy whether decoding or the model is the slow part, without OpenMP
    threads spinning against the decoders (measured on 2 cores: musicnn went from 47 ms to
    over 200 ms per window with two torch threads beside other work). One window a pass is
    also the cheapest there: a window's front-end activations (~25 MB) fit the cache, a batch's
    do not. Measured on one core of an AMD EPYC (AVX-512): ONNX Runtime 13.7 ms a window in
    passes of 1 and 14.3 in passes of 4; PyTorch 20.6 and 31.8; the whole pipeline did 13.4
    full tracks/s instead of 12.3 (bench/bench_classify.py). On a GPU one thread feeds full
    batches.
    """

    model_threads: int
    model_thread_width: int  # threads each forward pass may use (torch's intra-op threads)
    batch_size: int

    @classmethod
    def for_model(cls, model, batch_size: int) -> _Plan:
        cores = usable_cores()
        if model.device.type != "cpu":
            return cls(1, cores, batch_size)
        model_threads = max(1, min(cores, MAX_CPU_MODEL_THREADS))
        return cls(model_threads, max(1, cores // model_threads), min(batch_size, CPU_BATCH))


# --- helpers ------------------------------------------------------------------------------------


def _cancelled(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@contextlib.contextmanager
def _single_threaded_blas(workers: int) -> Iterator[None]:
    """Keep numpy's BLAS to one thread while several decode workers call it.

    OpenBLAS threads spin-wait between calls; beside two decode workers on two cores they only
    steal time (measured: 80 clips in 1.11 s with BLAS threads, 0.66 s without).
    """
    if workers < 2:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
