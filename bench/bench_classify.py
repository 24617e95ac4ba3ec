"""Classify throughput on real mp3s: the pipeline against a naive loop measured in the same run.

Baseline: one thread (torch too), per track decode -> resample -> whole-track log-mel -> model.
Pipeline: tagger.classify.classify_files (decode threads + cross-track batches).
Also prints how one pass of the baseline splits between decode, resample, mel and model.

    python -m bench.bench_classify [--sets fulltracks gtzan-mini] [--models tiny msd_musicnn]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import librosa
import soundfile as sf
import torch

from tagger.audio import _mono, load_audio
from tagger.checkpoint import LoadedModel
from tagger.classify import _Plan, classify_files, load_model, usable_cores
from tagger.device import configure_cpu_threads
from tagger.errors import FileError
from tagger.features import cut_windows, log_mel, log_mel_windows, window_starts
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


def _models(names: Sequence[str], workdir: Path) -> dict[str, LoadedModel]:
    found: dict[str, LoadedModel] = {}
    for name in names:
        if name == "tiny":
            from tests.helpers import train_tiny_model  # the tests' tones-vs-noise compact CNN

            found["tiny-compact"] = load_model(train_tiny_model(workdir / "tiny.pt"), "cpu")
            continue
        path = resource_path("models", f"{name}.pt")
        if not path.is_file():
            print(f"  ({name}: {path} not there yet, skipped)")
            continue
        found[name] = load_model(path, "cpu")
    return found


def naive(paths: Sequence[Path], model: LoadedModel, max_windows: int) -> int:
    """The baseline: one thread (torch too); each track decoded, its whole log-mel computed and
    its windows judged before the next file is opened."""
    cfg = model.features
    ok = 0
    with _torch_threads(1):
        for path in paths:
            try:
                audio = load_audio(path, cfg.sample_rate)
            except FileError:
                continue
            mel = log_mel(audio, cfg)
            x = cut_windows(mel, window_starts(len(mel), cfg.window_frames, max_windows), cfg.window_frames)
            with torch.inference_mode():
                model.probabilities(model.model(torch.from_numpy(x)))
            ok += 1
    return ok


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pipeline(paths: Sequence[Path], model: LoadedModel, max_windows: int, workers: int,
             batch_size: int) -> int:
    return sum(r.ok for r in classify_files(paths, model, max_windows=max_windows,
                                            workers=workers, batch_size=batch_size))


def stages(paths: Sequence[Path], model: LoadedModel, max_windows: int) -> dict[str, float]:
    """Seconds spent in each step over `paths`, one thread, the steps classify_files takes."""
    cfg = model.features
    spent = dict.fromkeys(("decode", "resample", "mel", "model", "whole_mel"), 0.0)
    audio_seconds = 0.0
    windows = 0
    with _torch_threads(1):
        for path in paths:
            t0 = time.perf_counter()
            data, rate = sf.read(str(path), dtype="float32", always_2d=True)
            mono = _mono(data)
            t1 = time.perf_counter()
            audio = librosa.resample(mono, orig_sr=rate, target_sr=cfg.sample_rate, res_type="soxr_hq")
            t2 = time.perf_counter()
            starts = window_starts(1 + len(audio) // cfg.hop_length, cfg.window_frames, max_windows)
            x = log_mel_windows(audio, cfg, starts)
            t3 = time.perf_counter()
            with torch.inference_mode():
                model.probabilities(model.model(torch.from_numpy(x)))
            t4 = time.perf_counter()
            log_mel(audio, cfg)  # the whole-track log-mel the naive loop computes, for comparison
            t5 = time.perf_counter()
            for key, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                spent[key] += dt
            audio_seconds += len(mono) / rate
            windows += len(x)
    spent["audio_s"] = audio_seconds
    spent["windows"] = windows
    return spent


def _timed(run: Callable[[], int], repeat: int) -> tuple[float, int]:
    best = float("inf")
    done = 0
    for _ in range(repeat):
        t = time.perf_counter()
        done = run()
        best = min(best, time.perf_counter() - t)
    return best, done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_classify", description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--models", nargs="+", default=["tiny", "msd_musicnn"])
    parser.add_argument("--limit", type=int, default=None, help="at most this many files per set")
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--torch-threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs")
    args = parser.parse_args(argv)

    print("== classify throughput (tracks/s; higher is better) ==")
    if not DATA.is_dir():
        print(f"  skipped: {DATA} is absent (real mp3s are needed for this benchmark)")
        return 0
    configure_cpu_threads(args.torch_threads)
    plan = _Plan.for_device(torch.device("cpu"), args.batch_size)
    print(f"  cores {usable_cores()}, decode workers {args.workers}, model threads {plan.model_threads} "
          f"x torch threads {plan.torch_threads}, batch {plan.batch_size} windows (asked {args.batch_size}), "
          f"windows/track {args.windows}, load avg {os.getloadavg()[0]:.2f}")
    print("  naive = one thread (torch too): decode, whole-track log-mel, model, file after file")
    with tempfile.TemporaryDirectory() as tmp:
        loaded = _models(args.models, Path(tmp))
        # Warm up once (librosa's resampler and torch both pay a first-call cost).
        warm = _files("gtzan-mini", 1)
        for model in loaded.values():
            naive(warm, model, 1)
        for set_name in args.sets:
            paths = _files(set_name, args.limit)
            if not paths:
                print(f"  {set_name}: no mp3 files, skipped")
                continue
            for model_name, model in loaded.items():
                spent = stages(paths, model, args.windows)
                base_s, base_n = _timed(lambda m=model, p=paths: naive(p, m, args.windows), args.repeat)
                pipe_s, pipe_n = _timed(lambda m=model, p=paths: pipeline(p, m, args.windows, args.workers,
                                                                 args.batch_size), args.repeat)
                assert base_n == pipe_n, (base_n, pipe_n)
                total = sum(spent[k] for k in ("decode", "resample", "mel", "model"))
                split = ", ".join(f"{k} {spent[k] / total:.0%}" for k in ("decode", "resample", "mel", "model"))
                print(f"  {set_name:10s} {model_name:13s} {len(paths):3d} files "
                      f"({spent['audio_s'] / len(paths):.0f} s avg, {spent['windows'] / len(paths):.1f} windows): "
                      f"naive {base_n / base_s:6.2f}/s  pipeline {pipe_n / pipe_s:6.2f}/s  "
                      f"ratio {base_s / pipe_s:.2f}x")
                print(f"  {'':10s} {'':13s} one thread, per track {1000 * total / len(paths):.0f} ms: {split}"
                      f" (model {1000 * spent['model'] / max(1, spent['windows']):.1f} ms/window;"
                      f" windowed mel {1000 * spent['mel'] / len(paths):.0f} ms vs whole-track"
                      f" {1000 * spent['whole_mel'] / len(paths):.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
