"""Classify throughput on real mp3s: the pipeline on PyTorch (the baseline) and on ONNX
Runtime (exact mode, what a CPU gets), in the same run, with how far their outputs differ.

Both run tagger.classify.classify_files (decode threads + cross-track batches), the same
windows and features; tracks/s is wall time, CPU-ms per track is this process's CPU time.
Also prints how one pass splits between decode, resample, mel and model.

    python -m bench classify -- [--sets fulltracks gtzan-mini] [--models tiny genrenet_default]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from tagger.audio import _mono, resample
from tagger.checkpoint import LoadedModel, load_checkpoint
from tagger.classify import classify_files, load_model, usable_cores
from tagger.device import configure_cpu_threads
from tagger.features import log_mel_windows, window_starts
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


def pipeline(paths: Sequence[Path], model, max_windows: int, workers: int,
             batch_size: int) -> tuple[int, dict[Path, np.ndarray]]:
    """How many tracks were judged (a path may be listed more than once), and each path's result."""
    results = [r for r in classify_files(paths, model, max_windows=max_windows, workers=workers,
                                         batch_size=batch_size) if r.ok]
    return len(results), {r.path: r.prediction.probabilities for r in results}


def stages(paths: Sequence[Path], model, max_windows: int) -> dict[str, float]:
    """Seconds spent in each step over `paths`, one thread, the steps classify_files takes."""
    cfg = model.features
    spent = dict.fromkeys(("decode", "resample", "mel", "model"), 0.0)
    audio_seconds = 0.0
    windows = 0
    with model.threads(1):
        for path in paths:
            t0 = time.perf_counter()
            data, rate = sf.read(str(path), dtype="float32", always_2d=True)
            mono = _mono(data)
            t1 = time.perf_counter()
            audio = resample(mono, rate, cfg.sample_rate)
            t2 = time.perf_counter()
            starts = window_starts(1 + len(audio) // cfg.hop_length, cfg.window_frames, max_windows)
            x = log_mel_windows(audio, cfg, starts)
            t3 = time.perf_counter()
            model.judge(x)
            t4 = time.perf_counter()
            for key, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                spent[key] += dt
            audio_seconds += len(mono) / rate
            windows += len(x)
    spent["audio_s"] = audio_seconds
    spent["windows"] = windows
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
    print("  baseline = the pipeline with the network on PyTorch (the path before ONNX Runtime);"
          " exact = the same analysis on ONNX Runtime (what load_model gives on a CPU)")
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
                for label, m in (("baseline", torch_model), ("exact", model)):
                    runs[label] = _timed(lambda m=m, p=paths: pipeline(p, m, args.windows, args.workers,
                                                                     args.batch_size), args.repeat)
                (base_s, base_cpu, (n, base)), (fast_s, fast_cpu, (n_fast, fast)) = runs["baseline"], runs["exact"]
                total = sum(spent[k] for k in ("decode", "resample", "mel", "model"))
                split = ", ".join(f"{k} {spent[k] / total:.0%}" for k in ("decode", "resample", "mel", "model"))
                print(f"  {set_name:10s} {model_name:16s} {len(paths):3d} files "
                      f"({spent['audio_s'] / len(paths):.0f} s avg, {spent['windows'] / len(paths):.1f} windows) "
                      f"[{model.backend}]")
                print(f"      baseline {n / base_s:6.2f}/s {1000 * base_cpu / n:6.0f} CPU-ms/track   "
                      f"exact {n_fast / fast_s:6.2f}/s {1000 * fast_cpu / n_fast:6.0f} CPU-ms/track   "
                      f"ratio {base_s / fast_s:.2f}x   {_agreement(base, fast)}")
                print(f"      exact, one thread, per track {1000 * total / len(paths):.0f} ms: {split}"
                      f" (model {1000 * spent['model'] / max(1, spent['windows']):.1f} ms/window)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
