"""Classify throughput on real mp3s, every speed in the same run: the path as it was (the
baseline: whole-track decoding, PyTorch), exact mode (the windows' parts decoded, ONNX Runtime),
adaptive mode (the same, stopping once a track's first windows settle it) and fast mode (the
distilled model), with how far each one's outputs are from exact mode's.

All run tagger.classify.classify_files (decode threads + cross-track batches) with the same
windows; tracks/s is wall time, CPU-ms per track is this process's CPU time. Also prints how
one single-threaded pass of exact mode splits between getting the windows and the model.

    python -m bench classify -- [--sets fulltracks clips] [--models genrenet_default tiny] [--fast FILE]
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
from tagger.classify import Adaptive, classify_files, load_model, usable_cores
from tagger.device import configure_cpu_threads
from tagger.features import TrackWindows, log_mel_windows, track_windows, window_starts
from tagger.resources import fast_model_path, resource_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = {  # name: (folders, what they are, how many times each file is listed)
    "fulltracks": (("fulltracks",), "full-length tracks (5-7 min, stereo)", 3),
    "clips": (("gtzan-mini", "emotify"), "GTZAN and Emotify clips (15-30 s)", 1),
}


def _files(name: str, limit: int | None) -> list[Path]:
    files = sorted(f for folder in SETS[name][0] for f in (DATA / folder).rglob("*.mp3"))
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


Outputs = dict[Path, tuple[np.ndarray, int]]  # path -> (track probabilities, windows judged)


def baseline(paths: Sequence[Path], torch_model: LoadedModel, max_windows: int, workers: int,
             batch_size: int) -> tuple[int, Outputs]:
    """Today's path before this work, kept as the baseline: whole-track decoding, PyTorch, four
    windows a forward pass."""
    with mock.patch("tagger.classify.track_windows", whole_track_windows), mock.patch("tagger.classify.CPU_BATCH", 4):
        return pipeline(paths, torch_model, max_windows, workers, batch_size)


def pipeline(paths: Sequence[Path], model, max_windows: int, workers: int, batch_size: int,
             adaptive: Adaptive | None = None) -> tuple[int, Outputs]:
    """How many tracks were judged (a path may be listed more than once), and each path's result."""
    results = [r for r in classify_files(paths, model, max_windows=max_windows, workers=workers,
                                         batch_size=batch_size, adaptive=adaptive) if r.ok]
    return len(results), {r.path: (r.prediction.probabilities, len(r.prediction.window_probabilities))
                          for r in results}


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


def _agreement(exact: Outputs, other: Outputs, same_labels: bool) -> str:
    paths = sorted(set(exact) & set(other))
    top1 = [np.argmax(exact[p][0]) == np.argmax(other[p][0]) for p in paths]
    text = f"top-1 agreement {np.mean(top1):6.1%}"
    if same_labels:
        gaps = [abs(float(np.max(exact[p][0]) - np.max(other[p][0]))) for p in paths]
        close = np.mean([t and g <= 0.05 for t, g in zip(top1, gaps, strict=True)])
        worst = max(float(np.max(np.abs(exact[p][0] - other[p][0]))) for p in paths)
        text += f", same top-1 and confidence within 0.05 {close:6.1%}, largest probability difference {worst:.1e}"
    return text


def _modes(loaded: dict, fast) -> list[tuple[str, str, Callable]]:
    """(model name, mode, run(paths, args) -> (n, outputs)) for every model and speed measured."""
    modes = []
    for name, (torch_model, model) in loaded.items():
        modes += [
            (name, "baseline", lambda p, a, m=torch_model: baseline(p, m, a.windows, a.workers, a.batch_size)),
            (name, "exact", lambda p, a, m=model: pipeline(p, m, a.windows, a.workers, a.batch_size)),
            (name, "adaptive", lambda p, a, m=model: pipeline(p, m, a.windows, a.workers, a.batch_size, Adaptive())),
        ]
        if name == "genrenet_default" and fast is not None:
            modes.append((name, "fast", lambda p, a, m=fast: pipeline(p, m, a.windows, a.workers, a.batch_size)))
    return modes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_classify", description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--models", nargs="+", default=["genrenet_default"])
    parser.add_argument("--fast", type=Path, default=None, help="fast model file (default: the shipped one)")
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
    print("  baseline = the pipeline as it was (whole tracks decoded, PyTorch); exact = the same analysis,"
          " decoding only the windows' parts, on ONNX Runtime; adaptive = exact, stopping once a track's"
          " first windows settle it; fast = the distilled model, exact analysis. Agreement is with exact.")
    fast_file = args.fast or fast_model_path()
    with tempfile.TemporaryDirectory() as tmp:
        loaded = _models(args.models, Path(tmp))
        fast = load_model(fast_file, "cpu") if fast_file else None
        if fast is None:
            print("  (no fast model shipped and none given with --fast: fast mode not measured)")
        warm = _files("clips", 1)
        for model in [m for pair in loaded.values() for m in pair] + ([fast] if fast else []):
            pipeline(warm, model, 1, 1, 4)
        for set_name in args.sets:
            paths = _files(set_name, args.limit)
            if not paths:
                print(f"  {set_name}: no mp3 files, skipped")
                continue
            for model_name, (_, model) in loaded.items():
                spent = stages(paths, model, args.windows)
                total = spent["windows"] + spent["model"]
                split = ", ".join(f"{k} {spent[k] / total:.0%}" for k in ("windows", "model"))
                print(f"  {set_name} ({SETS[set_name][1]}), {model_name}: {len(paths)} files, "
                      f"{spent['audio_s'] / len(paths):.0f} s on average; exact on one thread "
                      f"{1000 * total / len(paths):.0f} ms per track: {split} "
                      f"(model {1000 * spent['model'] / max(1, spent['n_windows']):.1f} ms/window)")
            results: dict[tuple[str, str], tuple[float, float, tuple[int, Outputs]]] = {}
            for model_name, mode, run in _modes(loaded, fast):
                results[model_name, mode] = _timed(lambda run=run, p=paths: run(p, args), args.repeat)
            for (model_name, mode), (seconds, cpu, (n, outputs)) in results.items():
                base_s = results[model_name, "baseline"][0]
                exact = results[model_name, "exact"][2][1]
                windows = np.mean([w for _, w in outputs.values()])
                line = (f"    {model_name:16s} {mode:8s} {n / seconds:6.2f} tracks/s {1000 * cpu / n:6.0f} CPU-ms/track"
                        f"  {base_s / seconds:5.2f}x baseline  {windows:4.1f} windows/track")
                if mode != "exact":
                    line += "  " + _agreement(exact, outputs, same_labels=mode != "fast")
                print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
