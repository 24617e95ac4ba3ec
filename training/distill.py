"""Distil a genre model into a small network: the fast model of "Speed: fast".

The student (tagger/models/student.py) learns to reproduce the teacher's pooled embedding and
carries the teacher's own genre head, frozen, on top of it; it is trained on the embedding
(mean squared error) and on the teacher's calibrated probabilities (KL divergence at the
teacher's temperature). Labels are not needed, so any audio serves: every window on a grid over
every file (one every `grid_seconds`), judged once by the teacher and kept in the cache. Half
of every batch is instead a mix of two windows (log-mel a weighted sum of the pair's) that the
teacher judges as it trains ("function matching", Beyer et al. 2022): the student learns the
teacher's function around the music it saw, not only at those windows. Files are split by a
hash of their name: the held-out files never reach the student, and the agreement reported (and
written into the checkpoint) is measured on them with the app's analysis: the same 8 windows per
track, the mean of the window probabilities, top-1 of student against top-1 of teacher.

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
from torch import nn

from tagger import models
from tagger.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from tagger.errors import ModelError
from tagger.features import FeatureConfig, cut_windows, window_starts
from tagger.resources import default_model_path
from tagger.windows import track_probabilities
from training.cache import FeatureCache
from training.datasets import is_audio
from training.train import default_cache_dir, windows_per_pass

Emit = Callable[[str], None]


class DistillError(ValueError):
    """A teacher this recipe cannot distil, or nothing to distil from."""


@dataclass
class DistillConfig:
    sources: list[Path]
    out: Path
    teacher: Path | None = None  # None: the shipped default model
    arch: str = "pooled_student"
    arch_kwargs: dict = field(default_factory=lambda: {"width": 16, "mid": 128})
    grid_seconds: float = 1.0
    held_out: float = 0.2  # share of files the student never sees
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    mixed_share: float = 0.5  # of each batch: mixed windows the teacher judges live
    kl_weight: float = 1.0  # of the probabilities' KL divergence beside the embedding's error
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
    epochs: list[dict[str, float]] = field(default_factory=list)  # per epoch: the training losses


class Teacher:
    """A musicnn transfer model with a linear head on its pooled embedding, as the recipe needs
    it: the embedding and the logits of windows, on the CPU, a few windows a pass."""

    def __init__(self, loaded: LoadedModel):
        model = loaded.model
        head = getattr(model, "head", None)
        linear = [m for m in head.modules() if isinstance(m, nn.Linear)] if head is not None else []
        if loaded.arch != "musicnn_transfer" or getattr(model, "embedding", None) != "pooled" or len(linear) != 1:
            raise DistillError(f"{Path(loaded.path).name if loaded.path else 'the teacher'} cannot be distilled: "
                               "the recipe needs a musicnn_transfer model with a linear head on the pooled "
                               "embedding (the default model, or one made by genrenet learn)")
        self.loaded = loaded
        self.model = model.eval()
        self.head = linear[0]
        self.per_pass = windows_per_pass(loaded.device)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(pooled embedding (batch, D), logits (batch, n_labels)) of windows (batch, frames, mel)."""
        with torch.inference_mode():
            z = torch.cat([self.model.embed(x[i:i + self.per_pass]) for i in range(0, len(x), self.per_pass)])
            return z, self.head(z)


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
    """The teacher's pooled embeddings and logits on a file's grid windows, cached beside the
    features."""

    def __init__(self, teacher: Teacher, cache: FeatureCache, step: int):
        self.teacher = teacher
        self.cache = cache
        self.step = step
        self.root = cache.root.parent / "teacher" / f"{teacher.loaded.model_id}-{step}-pooled"

    def get(self, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, pooled embeddings (n_windows, D), logits (n_windows, n_labels)) for `path`'s grid."""
        entry = self.root / (self.cache.entry(path).name + ".npz")
        try:
            with np.load(entry) as stored:
                return stored["starts"], stored["pooled"], stored["logits"]
        except (OSError, KeyError, ValueError):
            pass
        mel = np.asarray(self.cache.load(path), dtype=np.float32)
        width = self.teacher.loaded.features.window_frames
        starts = np.array(grid_starts(len(mel), width, self.step))
        pooled, logits = (t.numpy() for t in self.teacher(torch.from_numpy(cut_windows(mel, list(starts), width))))
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(entry.name + ".tmp.npz")
        np.savez(tmp, starts=starts, pooled=pooled, logits=logits)
        tmp.replace(entry)
        return starts, pooled, logits


def analysis_windows(mel: np.ndarray, cfg: FeatureConfig, count: int) -> np.ndarray:
    """The windows exact mode judges a track by (tagger.features.track_windows' positions)."""
    return cut_windows(mel, window_starts(len(mel), cfg.window_frames, count), cfg.window_frames)


def distill(config: DistillConfig, emit: Emit = print) -> DistillReport:
    started = time.monotonic()
    if not 0.0 <= config.mixed_share <= 1.0 or config.kl_weight < 0:
        raise DistillError("the mixed share is a fraction of each batch (0 to 1) and the KL weight is 0 or more")
    teacher_file = config.teacher or default_model_path()
    if teacher_file is None:
        raise DistillError("no default model is shipped with this version: name the teacher with --teacher")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    teacher = Teacher(load_checkpoint(teacher_file, "cpu"))
    cfg, temperature = teacher.loaded.features, teacher.loaded.temperature
    files = audio_files(config.sources)
    cache = FeatureCache(cfg, default_cache_dir())
    emit(f"decoding {len(files)} files (cached after the first run)")
    report = cache.build(files, workers=config.workers)
    files = [f for f in files if f not in report.failed]
    split = {"held_out": [f for f in files if is_held_out(f, config.held_out)]}
    split["train"] = [f for f in files if f not in set(split["held_out"])]
    if not split["train"]:
        raise DistillError("no audio to distil from: every file failed to decode or is held out")
    step = max(1, round(config.grid_seconds * cfg.sample_rate / cfg.hop_length))
    targets = TeacherTargets(teacher, cache, step)
    emit(f"teacher {Path(teacher.loaded.path).name} on a {config.grid_seconds:g} s grid "
         f"({len(split['train'])} training files, {len(split['held_out'])} held out)")
    with ThreadPoolExecutor(config.workers) as pool:
        train_targets = list(pool.map(targets.get, split["train"]))
    mels = [np.asarray(cache.load(f), dtype=np.float32) for f in split["train"]]
    index = [(i, int(s)) for i, (starts, _, _) in enumerate(train_targets) for s in starts]
    pooled = torch.from_numpy(np.concatenate([z for _, z, _ in train_targets]).astype(np.float32, copy=False))
    logits = torch.from_numpy(np.concatenate([lg for _, _, lg in train_targets]).astype(np.float32, copy=False))
    del train_targets  # the embeddings are the bulk of the memory: keep one copy
    emit(f"{len(index)} training windows")
    judged = {name: Judged(teacher.loaded, cache, part, config.analysis_windows) for name, part in split.items()}

    arch_kwargs = {"n_labels": len(teacher.loaded.labels), "n_mels": cfg.n_mels,
                   "embedding_dim": pooled.shape[1], **config.arch_kwargs}
    student = models.build(config.arch, **arch_kwargs)
    student.head.load_state_dict(teacher.head.state_dict())
    student.head.requires_grad_(False)
    trained = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=1e-4)
    steps_per_epoch = -(-len(index) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.epochs * steps_per_epoch)
    width = cfg.window_frames

    def windows(rows) -> torch.Tensor:
        return torch.from_numpy(np.stack([_window(mels[index[r][0]], index[r][1], width) for r in rows]))

    history: list[dict[str, float]] = []
    for epoch in range(1, config.epochs + 1):
        student.train()
        order = rng.permutation(len(index))
        totals = np.zeros(2)
        for b in range(0, len(order), config.batch_size):
            rows = order[b:b + config.batch_size]
            x, z_target, logit_target = windows(rows), pooled[rows], logits[rows]
            mixed = int(round(len(rows) * config.mixed_share))
            if mixed:
                lam = torch.from_numpy(rng.uniform(0, 1, (mixed, 1, 1)).astype(np.float32))
                x[:mixed] = lam * x[:mixed] + (1 - lam) * windows(rng.integers(0, len(index), mixed))
                z_mixed, logits_mixed = teacher(x[:mixed])
                z_target = torch.cat([z_mixed, z_target[mixed:]])
                logit_target = torch.cat([logits_mixed, logit_target[mixed:]])
            z = student.embed(x)
            embedding_error = F.mse_loss(z, z_target)
            kl = F.kl_div(F.log_softmax(student.head(z) / temperature, dim=-1),
                          F.log_softmax(logit_target / temperature, dim=-1), log_target=True, reduction="batchmean")
            loss = embedding_error + config.kl_weight * kl
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            totals += np.array([embedding_error.item(), kl.item()]) * len(rows)
        mse, kl_mean = totals / len(order)
        history.append({"embedding_mse": float(mse), "kl": float(kl_mean)})
        emit(f"epoch {epoch}/{config.epochs}: embedding MSE {mse:.4f}, KL {kl_mean:.4f}, "
             f"held-out agreement {judged['held_out'].agreement(student, temperature)[0]:.3f}")

    result = {name: judge.agreement(student, temperature) for name, judge in judged.items()}
    out = DistillReport(
        files={k: len(v) for k, v in split.items()},
        windows={"train": len(index)},
        agreement={k: v[0] for k, v in result.items()},
        label_accuracy={f"{k}_{who}": acc for k, v in result.items() for who, acc in v[1].items()},
        cost={},
        seconds=time.monotonic() - started,
        epochs=history,
    )
    _save(config, student, arch_kwargs, teacher.loaded, out)
    out.cost = window_cost(config.out, teacher.loaded)
    _save(config, student, arch_kwargs, teacher.loaded, out)  # again, with the measured cost in its card data
    return out


def _save(config: DistillConfig, student: torch.nn.Module, arch_kwargs: dict, teacher: LoadedModel,
          report: DistillReport) -> None:
    save_checkpoint(
        config.out, model=student.eval(), arch=config.arch, arch_kwargs=arch_kwargs,
        labels=teacher.labels, features=teacher.features, output="softmax", temperature=teacher.temperature,
        metrics={"distilled": asdict(report)},
        trained_on={"distilled_from": {"file": Path(teacher.path).name, "model_id": teacher.model_id},
                    "sources": [str(s) for s in config.sources], "grid_seconds": config.grid_seconds,
                    "held_out_share": config.held_out, "epochs": config.epochs, "seed": config.seed,
                    "mixed_share": config.mixed_share, "kl_weight": config.kl_weight,
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

    def agreement(self, student: torch.nn.Module, temperature: float) -> tuple[float, dict[str, float]]:
        """Top-1 agreement of student and teacher, and each one's accuracy against the folder
        names that are teacher labels."""
        if not self.files:
            return float("nan"), {}
        student.eval()
        with torch.inference_mode():
            tops = [int(track_probabilities(torch.softmax(student(torch.from_numpy(w)) / temperature, dim=-1)).argmax())
                    for w in self.windows]
        same = np.mean([s == t for s, t in zip(tops, self.teacher_top, strict=True)])
        known = [(s, t, y) for s, t, y in zip(tops, self.teacher_top, self.labels, strict=True) if y is not None]
        if not known:
            return float(same), {}
        return float(same), {"student": float(np.mean([s == y for s, _, y in known])),
                             "teacher": float(np.mean([t == y for _, t, y in known]))}


def multiply_adds(model: torch.nn.Module, cfg: FeatureConfig) -> int:
    """Multiply-adds of one window through the convolutions and matrix products (the rest is
    small), as PyTorch's FLOP counter sees them run: half its FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model.eval()(torch.zeros(1, cfg.window_frames, cfg.n_mels))
    return counter.get_total_flops() // 2


def window_cost(student_file: Path, teacher: LoadedModel) -> dict[str, float]:
    """Multiply-adds per window and measured milliseconds per window (one thread, best of 20
    passes of CPU_BATCH windows, each model as the app runs it on a CPU), student against teacher."""
    from tagger.classify import CPU_BATCH, load_model

    cfg = teacher.features
    x = np.zeros((CPU_BATCH, cfg.window_frames, cfg.n_mels), dtype=np.float32)
    cost: dict[str, float] = {}
    for name, path in (("student", student_file), ("teacher", Path(teacher.path))):
        model = load_model(path, "cpu")
        cost[f"{name}_multiply_adds"] = multiply_adds(load_checkpoint(path, "cpu").model, cfg)
        with model.threads(1):
            model.judge(x)
            best = float("inf")
            for _ in range(20):
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
    parser.add_argument("--kl-weight", type=float, default=defaults.kl_weight)
    parser.add_argument("--mixed-share", type=float, default=defaults.mixed_share)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    config = DistillConfig(sources=args.sources, out=args.out, teacher=args.teacher, epochs=args.epochs,
                           grid_seconds=args.grid_seconds, seed=args.seed, kl_weight=args.kl_weight,
                           mixed_share=args.mixed_share, arch_kwargs={**defaults.arch_kwargs, "width": args.width})
    try:
        report = distill(config, emit=lambda line: print(line, flush=True))
    except (DistillError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
