"""Decoded-feature cache: one float16 log-mel array (frames, n_mels) per clip, read with mmap.

A clip's entry is keyed by its path, file fingerprint (size, mtime) and the FeatureConfig, so a
changed file or different features never reuse a stale array. Entries live in
``<cache_dir>/features/<config hash>/<key[:2]>/<key>.npy``; a clip that fails to decode or is too
short leaves a ``.err`` file with the reason, so it is skipped (and counted) without decoding it
again. Building runs in worker processes; writes are atomic (temp file, then rename).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger import paths
from tagger.errors import FileError
from tagger.features import FeatureConfig, log_mel
from tagger.track import Fingerprint

Progress = Callable[[int, int], None]


def config_key(cfg: FeatureConfig) -> str:
    return hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class CacheReport:
    built: int = 0
    reused: int = 0
    failed: dict[Path, str] = field(default_factory=dict)


class FeatureCache:
    """Log-mel arrays of audio files for one FeatureConfig."""

    def __init__(self, cfg: FeatureConfig, root: Path | None = None, min_seconds: float | None = None):
        self.cfg = cfg
        self.root = (root or paths.cache_dir() / "features") / config_key(cfg)
        # A clip shorter than one analysis window cannot give a training crop.
        self.min_seconds = cfg.window_seconds if min_seconds is None else min_seconds

    def entry(self, path: Path) -> Path:
        """Where the array of `path` lives (without suffix); raises FileNotFoundError if absent."""
        path = Path(path).resolve()
        fp = Fingerprint.of(path)
        key = hashlib.sha1(f"{path}\0{fp.size}\0{fp.mtime_ns}".encode()).hexdigest()
        return self.root / key[:2] / key

    def load(self, path: Path) -> np.ndarray:
        """The cached (frames, n_mels) float16 array, memory-mapped read-only."""
        return np.load(self.entry(path).with_suffix(".npy"), mmap_mode="r")

    def status(self, path: Path) -> str | None:
        """'ok', the failure reason, or None when not cached."""
        base = self.entry(path)
        if base.with_suffix(".npy").is_file():
            return "ok"
        err = base.with_suffix(".err")
        if err.is_file():
            return err.read_text(encoding="utf-8") or "failed"
        return None

    def build(self, files: Sequence[Path], *, workers: int = 2, progress: Progress | None = None,
              cancel=None) -> CacheReport:
        """Make sure every file is cached (or recorded as failed). Returns counts and failures."""
        report = CacheReport()
        todo: list[Path] = []
        for file in files:
            try:
                state = self.status(file)
            except OSError as exc:
                report.failed[Path(file)] = f"cannot read: {exc.strerror or exc}"
                continue
            if state == "ok":
                report.reused += 1
            elif state is not None:
                report.failed[Path(file)] = state
            else:
                todo.append(Path(file))
        total = len(files)
        done = total - len(todo)
        if progress:
            progress(done, total)
        if not todo:
            return report
        jobs = [(str(f), str(self.entry(f)), self.cfg.to_dict(), self.min_seconds) for f in todo]
        if workers <= 1 or len(todo) == 1:
            results = ((f, _build_one(*job)) for f, job in zip(todo, jobs, strict=True))
            for file, error in results:
                done += 1
                self._record(report, file, error, progress, done, total)
                if cancel is not None and cancel.is_set():
                    break
            return report
        # spawn, not fork: the parent may hold torch/OpenMP threads that a fork would break.
        with _single_threaded_children(), ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            futures = {pool.submit(_build_one, *job): f for f, job in zip(todo, jobs, strict=True)}
            for future in as_completed(futures):
                done += 1
                self._record(report, futures[future], future.result(), progress, done, total)
                if cancel is not None and cancel.is_set():
                    for other in futures:
                        other.cancel()
                    break
        return report

    @staticmethod
    def _record(report: CacheReport, file: Path, error: str | None, progress, done: int, total: int) -> None:
        if error is None:
            report.built += 1
        else:
            report.failed[file] = error
        if progress:
            progress(done, total)


def _build_one(path: str, base: str, cfg_dict: dict, min_seconds: float) -> str | None:
    """Decode one file and write its array (worker process). Returns None or the failure reason."""
    from tagger.audio import load_audio

    cfg = FeatureConfig.from_dict(cfg_dict)
    target = Path(base)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        audio = load_audio(Path(path), cfg.sample_rate)
        seconds = len(audio) / cfg.sample_rate
        if seconds < min_seconds:
            raise FileError(f"too short ({seconds:.1f} s, need {min_seconds:.1f} s)")
        mel = log_mel(audio, cfg).astype(np.float16)
    except (FileError, OSError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        _atomic_write(target.with_suffix(".err"), lambda fh: fh.write(reason.encode()))
        return reason
    _atomic_write(target.with_suffix(".npy"), lambda fh: np.save(fh, mel))
    return None


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_children():
    """One BLAS/OpenMP thread per worker process: the pool is the parallelism."""
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    os.environ.update({k: "1" for k in THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
