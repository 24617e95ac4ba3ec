"""Classify throughput on real mp3s: the path as it was (the baseline: whole-track decoding,
PyTorch) and exact mode (the windows' parts decoded, ONNX Runtime), in the same run, with how
far their outputs differ.

Both run tagger.classify.classify_files (decode threads + cross-track batches) with the same
windows; tracks/s is wall time, CPU-ms per track is this process's CPU time. Also prints how
one single-threaded pass of exact mode splits between decode, resample, mel and model.

    python -m bench classify -- [--sets fulltracks gtzan-mini] [--models tiny genrenet_default]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from unittest import mock

import numpy as np

from tagger.audio import load_audio
from tagger.checkpoint import LoadedModel, load_checkpoint
from tagger.classify import classify_files, load_model, usable_cores
from tagger.device import configure_cpu_threads
from tagger.features import TrackWindows, log_mel_windows, track_windows, window_starts
from tagger.resources import resource_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = {
    "fulltracks": ("fulltracks", "full-length tracks (5-7 min, stereo)", 3),
    "gtzan-mini": ("gtzan-mini", "GTZAN clips (15-30 s, mono)", 1),
}


def _files(name: str, limit: int | None) -> list[Path]:
    folder = DATA / SETS[name][0]
    files = sorted(folder.rglob("*.mp3"))
    files = files[:limit] if limit else files
    return files * SETS[name][2]  # three full tracks are too few to keep two workers busy


def _models(names: Sequence[str], workdir: Path) -> dict[str, tuple[LoadedModel, object]]:
    """name -> (the PyTorch model, today's baseline; the model as load_model gives it for the CPU)."""
    found: dict[str, tuple[LoadedModel, object]] = {}
    for name in names:
        if name == "tiny":
            from tests.helpers import train_tiny_model  # the tests' tones-vs-noise compact CNN

            path = train_tiny_model(workdir / "tiny.pt")
            name = "tiny-compact"
        else:
            path = resource_path("models", f"{name}.pt")
        if not path.is_file():
            print(f"  ({name}: {path} not there yet, skipped)")
            continue
        found[name] = (load_checkpoint(path, "cpu"), load_model(path, "cpu"))
    return found


def whole_track_windows(path: Path, cfg, max_windows: int) -> TrackWindows:
    """How tracks were decoded before audio.Segments: all of it, then the windows' frames."""
    audio = load_audio(path, cfg.sample_rate)
    starts = window_starts(1 + len(audio) // cfg.hop_length, cfg.window_frames, max_windows)
    return TrackWindows(log_mel_windows(audio, cfg, starts), tuple(cfg.frames_to_seconds(s) for s in starts),
                        len(audio) / cfg.sample_rate)


def baseline(paths: Sequence[Path], torch_model: LoadedModel, max_windows: int, workers: int,
             batch_size: int) -> tuple[int, dict[Path, np.ndarray]]:
    """Today's path before this work, kept as the baseline: whole-track decoding, PyTorch."""
    with mock.patch("tagger.classify.track_windows", whole_track_windows):
        return pipeline(paths, torch_model, max_windows, workers, batch_size)


def pipeline(paths: Sequence[Path], model, max_windows: int, workers: int,
             batch_size: int) -> tuple[int, dict[Path, np.ndarray]]:
    """How many tracks were judged (a path may be listed more than once), and each path's result."""
    results = [r for r in classify_files(paths, model, max_windows=max_windows, workers=workers,
                                         batch_size=batch_size) if r.ok]
    return len(results), {r.path: r.prediction.probabilities for r in results}


def stages(paths: Sequence[Path], model, max_windows: int) -> dict[str, float]:
    """Seconds one thread spends per step of exact mode over `paths`: getting the windows
    (decoding the parts they need, resampling, log-mel) and the model."""
    spent = {"windows": 0.0, "model": 0.0, "audio_s": 0.0, "n_windows": 0}
    with model.threads(1):
        for path in paths:
            t0 = time.perf_counter()
            tw = track_windows(path, model.features, max_windows)
            t1 = time.perf_counter()
            model.judge(tw.windows)
            spent["windows"] += t1 - t0
            spent["model"] += time.perf_counter() - t1
            spent["audio_s"] += tw.duration
            spent["n_windows"] += len(tw.windows)
    return spent


def _timed(run: Callable[[], tuple], repeat: int) -> tuple[float, float, tuple]:
    """Best wall seconds and the process CPU seconds of that run, and its result."""
    best, best_cpu, result = float("inf"), 0.0, ()
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best:
            best, best_cpu = wall, cpu
    return best, best_cpu, result


def _agreement(base: dict[Path, np.ndarray], other: dict[Path, np.ndarray]) -> str:
    paths = sorted(set(base) & set(other))
    top1 = np.mean([np.argmax(base[p]) == np.argmax(other[p]) for p in paths])
    worst = max(float(np.max(np.abs(base[p] - other[p]))) for p in paths)
    return f"top-1 agreement {top1:.1%}, largest probability difference {worst:.1e}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_classify", description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--models", nargs="+", default=["tiny", "genrenet_default"])
    parser.add_argument("--limit", type=int, default=None, help="at most this many files per set")
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs")
    args = parser.parse_args(argv)

    print("== classify throughput (tracks/s; higher is better) ==")
    if not DATA.is_dir():
        print(f"  skipped: {DATA} is absent (real mp3s are needed for this benchmark)")
        return 0
    configure_cpu_threads()
    print(f"  cores {usable_cores()}, decode workers {args.workers}, windows/track {args.windows}, "
          f"load avg {os.getloadavg()[0]:.2f}")
    print("  baseline = the pipeline as it was: whole tracks decoded, the network on PyTorch;"
          " exact = the same analysis, decoding only the windows' parts, on ONNX Runtime (what a CPU gets)")
    with tempfile.TemporaryDirectory() as tmp:
        loaded = _models(args.models, Path(tmp))
        warm = _files("gtzan-mini", 1)
        for torch_model, model in loaded.values():
            pipeline(warm, torch_model, 1, 1, 4)
            pipeline(warm, model, 1, 1, 4)
        for set_name in args.sets:
            paths = _files(set_name, args.limit)
            if not paths:
                print(f"  {set_name}: no mp3 files, skipped")
                continue
            for model_name, (torch_model, model) in loaded.items():
                spent = stages(paths, model, args.windows)
                runs = {}
                for label, run, m in (("baseline", baseline, torch_model), ("exact", pipeline, model)):
                    runs[label] = _timed(lambda run=run, m=m, p=paths: run(p, m, args.windows, args.workers,
                                                                           args.batch_size), args.repeat)
                (base_s, base_cpu, (n, base)), (fast_s, fast_cpu, (n_fast, fast)) = runs["baseline"], runs["exact"]
                total = spent["windows"] + spent["model"]
                split = ", ".join(f"{k} {spent[k] / total:.0%}" for k in ("windows", "model"))
                print(f"  {set_name:10s} {model_name:16s} {len(paths):3d} files "
                      f"({spent['audio_s'] / len(paths):.0f} s avg, {spent['n_windows'] / len(paths):.1f} windows) "
                      f"[{model.backend}]")
                print(f"      baseline {n / base_s:6.2f}/s {1000 * base_cpu / n:6.0f} CPU-ms/track   "
                      f"exact {n_fast / fast_s:6.2f}/s {1000 * fast_cpu / n_fast:6.0f} CPU-ms/track   "
                      f"ratio {base_s / fast_s:.2f}x   {_agreement(base, fast)}")
                print(f"      exact, one thread, per track {1000 * total / len(paths):.0f} ms: {split}"
                      f" (model {1000 * spent['model'] / max(1, spent['n_windows']):.1f} ms/window)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
