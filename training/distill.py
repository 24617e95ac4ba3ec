"""Distil a genre model into a small network: the fast model of "Speed: fast".

The student learns the teacher's calibrated window probabilities, not the dataset's labels, so
any audio serves (labelled or not): every window on a grid over every file (one every
`grid_seconds`), judged once by the teacher and kept in the cache, then the student is trained
on those windows with SpecAugment masks on its input only. Files are split by a hash of their
name: the held-out files never reach the student, and the agreement reported (and written into
the checkpoint) is measured on them with the app's analysis: the same 8 windows per track, the
mean of the window probabilities, top-1 of student against top-1 of teacher.

    python -m training.distill DIR... --out resources/models/genrenet_fast.pt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tagger import models
from tagger.checkpoint import save_checkpoint
from tagger.classify import load_model
from tagger.features import FeatureConfig, cut_windows, window_starts
from tagger.windows import track_probabilities
from training.cache import FeatureCache
from training.datasets import is_audio
from training.train import default_cache_dir, spec_augment

Emit = Callable[[str], None]


@dataclass
class DistillConfig:
    sources: list[Path]
    out: Path
    teacher: Path | None = None  # None: the shipped default model
    arch: str = "compact_cnn"
    arch_kwargs: dict = field(default_factory=lambda: {"width": 16, "dropout": 0.1})
    grid_seconds: float = 1.0
    held_out: float = 0.2  # share of files the student never sees
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    analysis_windows: int = 8  # how the app judges a track (exact mode)
    workers: int = 2


@dataclass
class DistillReport:
    files: dict[str, int]
    windows: dict[str, int]
    agreement: dict[str, float]  # top-1 agreement with the teacher, per split
    label_accuracy: dict[str, float]  # against the folder names, where they are the teacher's labels
    cost: dict[str, float]
    seconds: float


def audio_files(sources: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        source = Path(source)
        files += [source] if source.is_file() else sorted(p for p in source.rglob("*") if is_audio(p))
    return sorted(set(files))


def is_held_out(path: Path, share: float) -> bool:
    """A stable split by file name (not by path, so moving the collection keeps it)."""
    digest = hashlib.sha1(f"{path.parent.name}/{path.name}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def grid_starts(n_frames: int, width: int, step: int) -> list[int]:
    if n_frames <= width:
        return [0]
    return list(range(0, n_frames - width + 1, step))


class TeacherTargets:
    """The teacher's probabilities on a file's grid windows, cached beside the features."""

    def __init__(self, teacher, cache: FeatureCache, step: int):
        self.teacher = teacher
        self.cache = cache
        self.step = step
        self.root = cache.root.parent / "teacher" / f"{teacher.model_id}-{step}"

    def get(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        """(starts, probabilities (n_windows, n_labels)) for `path`'s grid."""
        entry = self.root / (self.cache.entry(path).name + ".npz")
        try:
            with np.load(entry) as stored:
                return stored["starts"], stored["probs"]
        except (OSError, KeyError, ValueError):
            pass
        mel = np.asarray(self.cache.load(path), dtype=np.float32)
        width = self.teacher.features.window_frames
        starts = np.array(grid_starts(len(mel), width, self.step))
        windows = cut_windows(mel, list(starts), width)
        probs = np.concatenate([self.teacher.judge(windows[i:i + 8]) for i in range(0, len(windows), 8)])
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(entry.name + ".tmp.npz")
        np.savez(tmp, starts=starts, probs=probs)
        tmp.replace(entry)
        return starts, probs


def analysis_windows(mel: np.ndarray, cfg: FeatureConfig, count: int) -> np.ndarray:
    """The windows exact mode judges a track by (tagger.features.track_windows' positions)."""
    return cut_windows(mel, window_starts(len(mel), cfg.window_frames, count), cfg.window_frames)


def distill(config: DistillConfig, emit: Emit = print) -> DistillReport:
    started = time.monotonic()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    teacher = load_model(config.teacher, "cpu")
    cfg = teacher.features
    files = audio_files(config.sources)
    cache = FeatureCache(cfg, default_cache_dir())
    emit(f"decoding {len(files)} files (cached after the first run)")
    report = cache.build(files, workers=config.workers)
    files = [f for f in files if f not in report.failed]
    split = {"held_out": [f for f in files if is_held_out(f, config.held_out)]}
    split["train"] = [f for f in files if f not in set(split["held_out"])]
    step = max(1, round(config.grid_seconds * cfg.sample_rate / cfg.hop_length))
    targets = TeacherTargets(teacher, cache, step)
    emit(f"teacher {Path(teacher.path).name} on a {config.grid_seconds:g} s grid "
         f"({len(split['train'])} training files, {len(split['held_out'])} held out)")
    with ThreadPoolExecutor(config.workers) as pool:
        train_targets = list(pool.map(targets.get, split["train"]))
    mels = [np.asarray(cache.load(f), dtype=np.float32) for f in split["train"]]
    index = [(i, int(s)) for i, (starts, _) in enumerate(train_targets) for s in starts]
    probs = np.concatenate([p for _, p in train_targets]).astype(np.float32)
    emit(f"{len(index)} training windows")
    judged = {name: Judged(teacher, cache, part, config.analysis_windows) for name, part in split.items()}

    arch_kwargs = {"n_labels": len(teacher.labels), "n_mels": cfg.n_mels, **config.arch_kwargs}
    student = models.build(config.arch, **arch_kwargs)
    optimizer = torch.optim.AdamW(student.parameters(), lr=config.lr, weight_decay=1e-4)
    steps_per_epoch = -(-len(index) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(config.seed)
    width = cfg.window_frames
    for epoch in range(1, config.epochs + 1):
        student.train()
        order = rng.permutation(len(index))
        total = 0.0
        for b in range(0, len(order), config.batch_size):
            rows = order[b:b + config.batch_size]
            x = torch.from_numpy(np.stack([_window(mels[index[r][0]], index[r][1], width) for r in rows]))
            x = spec_augment(x, gen)
            target = torch.from_numpy(probs[rows])
            loss = F.kl_div(F.log_softmax(student(x), dim=-1), target, reduction="batchmean")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(rows)
        emit(f"epoch {epoch}/{config.epochs}: KL {total / len(order):.4f}, "
             f"held-out agreement {judged['held_out'].agreement(student)[0]:.3f}")

    result = {name: judge.agreement(student) for name, judge in judged.items()}
    out = DistillReport(
        files={k: len(v) for k, v in split.items()},
        windows={"train": len(index)},
        agreement={k: v[0] for k, v in result.items()},
        label_accuracy={f"{k}_{who}": acc for k, v in result.items() for who, acc in v[1].items()},
        cost={},
        seconds=time.monotonic() - started,
    )
    _save(config, student, arch_kwargs, teacher, out)
    out.cost = window_cost(config.out, teacher)
    _save(config, student, arch_kwargs, teacher, out)  # again, with the measured cost in its card data
    return out


def _save(config: DistillConfig, student: torch.nn.Module, arch_kwargs: dict, teacher,
          report: DistillReport) -> None:
    cfg = teacher.features
    save_checkpoint(
        config.out, model=student.eval(), arch=config.arch, arch_kwargs=arch_kwargs,
        labels=teacher.labels, features=cfg, output="softmax", temperature=1.0,
        metrics={"distilled": asdict(report)},
        trained_on={"distilled_from": {"file": Path(teacher.path).name, "model_id": teacher.model_id},
                    "sources": [str(s) for s in config.sources], "grid_seconds": config.grid_seconds,
                    "held_out_share": config.held_out, "epochs": config.epochs, "seed": config.seed,
                    "labels": list(teacher.labels)})


def _window(mel: np.ndarray, start: int, width: int) -> np.ndarray:
    piece = mel[start:start + width]
    if len(piece) == width:
        return piece
    out = np.zeros((width, mel.shape[1]), dtype=np.float32)
    out[:len(piece)] = piece
    return out


class Judged:
    """The teacher's verdict on whole tracks as the app judges them (computed once per file)."""

    def __init__(self, teacher, cache: FeatureCache, files: Sequence[Path], count: int):
        self.teacher = teacher
        self.files = list(files)
        self.windows = [analysis_windows(np.asarray(cache.load(f), dtype=np.float32), teacher.features, count)
                        for f in self.files]
        self.teacher_top = [int(track_probabilities(teacher.judge(w)).argmax()) for w in self.windows]
        by_name = {label.lower().replace("-", ""): i for i, label in enumerate(teacher.labels)}
        self.labels = [by_name.get(f.parent.name.lower().replace("-", "")) for f in self.files]

    def agreement(self, student: torch.nn.Module) -> tuple[float, dict[str, float]]:
        """Top-1 agreement of student and teacher, and each one's accuracy against the folder
        names that are teacher labels."""
        if not self.files:
            return float("nan"), {}
        student.eval()
        with torch.inference_mode():
            tops = [int(track_probabilities(torch.softmax(student(torch.from_numpy(w)), dim=-1)).argmax())
                    for w in self.windows]
        same = np.mean([s == t for s, t in zip(tops, self.teacher_top, strict=True)])
        known = [(s, t, y) for s, t, y in zip(tops, self.teacher_top, self.labels, strict=True) if y is not None]
        if not known:
            return float(same), {}
        return float(same), {"student": float(np.mean([s == y for s, _, y in known])),
                             "teacher": float(np.mean([t == y for _, t, y in known]))}


def multiply_adds(model: torch.nn.Module, cfg: FeatureConfig) -> int:
    """Multiply-adds of one window through the convolutions and dense layers (the rest is small)."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Linear):
            total += module.in_features * module.out_features * (output.numel() // module.out_features)
        else:  # a convolution: every output element is a dot product over its kernel
            total += output.numel() * (module.in_channels // module.groups) * int(np.prod(module.kernel_size))

    kinds = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)
    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, kinds)]
    try:
        with torch.inference_mode():
            model.eval()(torch.zeros(1, cfg.window_frames, cfg.n_mels))
    finally:
        for hook in hooks:
            hook.remove()
    return total


def window_cost(student_file: Path, teacher) -> dict[str, float]:
    """Multiply-adds per window and measured milliseconds per window (one thread, best of 5
    batches of 4, each model as the app runs it on a CPU), student against teacher."""
    from tagger.checkpoint import load_checkpoint

    student = load_model(student_file, "cpu")
    cfg = teacher.features
    x = np.zeros((4, cfg.window_frames, cfg.n_mels), dtype=np.float32)
    cost: dict[str, float] = {}
    for name, model in (("student", student), ("teacher", teacher)):
        cost[f"{name}_multiply_adds"] = multiply_adds(load_checkpoint(Path(model.path), "cpu").model, cfg)
        with model.threads(1):
            model.judge(x)
            best = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                model.judge(x)
                best = min(best, time.perf_counter() - t0)
        cost[f"{name}_ms_per_window"] = 1000 * best / len(x)
    cost["cheaper_by_multiply_adds"] = cost["teacher_multiply_adds"] / cost["student_multiply_adds"]
    cost["faster_per_window"] = cost["teacher_ms_per_window"] / cost["student_ms_per_window"]
    return cost


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.distill", description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="folders or files of audio (labels not needed)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--teacher", type=Path, default=None, help="model to distil (default: the shipped one)")
    defaults = DistillConfig(sources=[], out=Path())
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--grid-seconds", type=float, default=defaults.grid_seconds)
    parser.add_argument("--width", type=int, default=defaults.arch_kwargs["width"])
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    config = DistillConfig(sources=args.sources, out=args.out, teacher=args.teacher, epochs=args.epochs,
                           grid_seconds=args.grid_seconds, seed=args.seed,
                           arch_kwargs={**defaults.arch_kwargs, "width": args.width})
    report = distill(config, emit=lambda line: print(line, flush=True))
    print(json.dumps(asdict(report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
