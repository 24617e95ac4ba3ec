"""Train a genre model: the loop behind `genrenet train` and the app's Retrain.

    train(TrainConfig(...), progress=callback, cancel=threading.Event()) -> TrainResult

Recipe: random crops of one analysis window from each clip's cached log-mel, SpecAugment (time
and frequency masks), mixup, class-weighted cross-entropy, AdamW with a one-cycle schedule,
mixed precision on CUDA, early stopping on clip-level validation accuracy, fixed seeds, and
temperature calibration of the confidence on the validation clips (stored in the checkpoint's
`calibration`). A frozen musicnn_transfer backbone is run once per clip and its embeddings are
cached, so only the head trains (seconds). The best model is written with
tagger.checkpoint.save_checkpoint each time validation improves; `<out>.state.pt` holds the
optimiser state after every epoch so a run can `--resume`. Under torchrun (WORLD_SIZE > 1) the
same loop runs DistributedDataParallel (gloo on CPU, nccl on CUDA); rank 0 writes and reports.

Progress events (`progress(event)` in Python; one JSON object per line on stdout with
`--progress-json`). Every event has "event"; the others:

Decoding comes first, so "features" events precede "start" (whose counts exclude clips that
failed to decode); a frozen backbone's "embeddings" events follow "features".

- {"event": "start", "arch": str, "labels": [str], "train_clips": int, "valid_clips": int,
   "test_clips": int, "epochs": int, "steps_per_epoch": int, "device": str, "skipped": int,
   "first_epoch": int (> 1 when resumed)}
- {"event": "features", "done": int, "total": int}        decoding clips into the cache
- {"event": "embeddings", "done": int, "total": int}      frozen backbone, once per clip
- {"event": "step", "epoch": int, "step": int, "steps": int, "loss": float, "lr": float}
- {"event": "epoch", "epoch": int, "epochs": int, "train_loss": float, "val_loss": float,
   "val_accuracy": float, "lr": float, "seconds": float, "best": bool}
- {"event": "done", "stopped": "completed"|"early_stop"|"cancelled"|"max_steps",
   "checkpoint": str|null, "best_epoch": int|null, "val_accuracy": float|null,
   "temperature": float, "seconds": float}
- {"event": "error", "message": str}                      (CLI only; exit status 1)
Epochs and steps count from 1.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tagger import models, paths
from tagger.checkpoint import file_id, save_checkpoint
from tagger.device import resolve_device
from tagger.features import FeatureConfig, cut_windows, window_starts
from training.cache import FeatureCache
from training.datasets import Dataset, DatasetError, Example, merge, read_dataset, read_folder
from training.splitting import Split, make_split

Progress = Callable[[dict[str, Any]], None]
STATE_FORMAT = "genrenet-train-state/1"


@dataclass(frozen=True)
class Source:
    """One dataset to read: kind (gtzan, fma, folder, library), its folder, FMA subset."""

    kind: str
    path: Path | None = None
    subset: str | None = None
    name: str | None = None  # folder datasets: the dataset name reported per dataset


@dataclass
class TrainConfig:
    sources: list[Source]
    out: Path = Path("genrenet_model.pt")
    arch: str = "compact_cnn"
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] | None = None  # fixed label set (default: the datasets' labels)
    split: str = "random"
    seed: int = 0
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-2
    patience: int = 8  # epochs without validation improvement before stopping
    mixup: float = 0.2  # Beta(alpha, alpha); 0 disables
    spec_augment: bool = True
    class_weights: bool = True
    crops_per_clip: int = 4  # random training windows per clip per epoch
    eval_windows: int = 8  # windows per clip for validation (as classify judges a track)
    pretrained: str = "msd"  # musicnn_transfer: the backbone's weights ("msd", "mtt" or a path)
    device: str = "auto"
    workers: int = 2
    resume: bool = False
    max_steps: int | None = None  # stop after this many optimiser steps (tests, smoke runs)
    save_state: bool = True  # write <out>.state.pt after each epoch (what --resume reads)
    cache_dir: Path | None = None
    features: FeatureConfig = field(default_factory=FeatureConfig)


@dataclass
class TrainResult:
    checkpoint: Path | None
    stopped: str
    best_epoch: int | None
    val_accuracy: float | None
    temperature: float
    epochs_run: int
    seconds: float
    history: list[dict[str, float]]
    split_sizes: dict[str, int]
    skipped: list[tuple[str, str]]


# --------------------------------------------------------------------------------------------
# Data


def load_sources(config: TrainConfig) -> Dataset:
    datasets = []
    for src in config.sources:
        if src.kind == "folder" and src.path is not None:
            datasets.append(read_folder(src.path, config.labels, name=src.name))
        else:
            datasets.append(read_dataset(src.kind, src.path, subset=src.subset, labels=config.labels))
    return datasets[0] if len(datasets) == 1 and not config.labels else merge(datasets, config.labels)


@dataclass
class Clips:
    """Cached log-mel arrays (memory-mapped) and label indices of a list of examples."""

    examples: list[Example]
    mels: list[np.ndarray]
    targets: np.ndarray  # (n,) int64


def clips_for(examples: Sequence[Example], cache: FeatureCache, label_index: dict[str, int]) -> Clips:
    mels = [cache.load(e.path) for e in examples]
    return Clips(list(examples), mels, np.array([label_index[e.label] for e in examples], dtype=np.int64))


def random_crops(clips: Clips, order: np.ndarray, frames: int, rng: np.random.Generator) -> torch.Tensor:
    """One random window per clip index in `order`: (batch, frames, n_mels) float32."""
    n_mels = clips.mels[0].shape[1]
    out = np.zeros((len(order), frames, n_mels), dtype=np.float32)
    for i, c in enumerate(order):
        mel = clips.mels[c]
        start = int(rng.integers(0, max(1, len(mel) - frames + 1)))
        piece = mel[start : start + frames]
        out[i, : len(piece)] = piece
    return torch.from_numpy(out)


def eval_windows(mel: np.ndarray, frames: int, count: int) -> np.ndarray:
    """The windows classify would judge this clip by: (n_windows, frames, n_mels) float32."""
    return cut_windows(np.asarray(mel, dtype=np.float32), window_starts(len(mel), frames, count), frames)


def spec_augment(x: torch.Tensor, gen: torch.Generator, time_masks: int = 2, time_width: int = 20,
                 freq_masks: int = 2, freq_width: int = 12) -> torch.Tensor:
    """SpecAugment (Park et al. 2019) without warping: zero random time and mel bands per sample."""
    batch, frames, n_mels = x.shape  # (batch, frames, mel)
    x = x.clone()
    for b in range(batch):
        for _ in range(time_masks):
            w = int(torch.randint(0, time_width + 1, (1,), generator=gen))
            t0 = int(torch.randint(0, max(1, frames - w), (1,), generator=gen))
            x[b, t0 : t0 + w, :] = 0.0
        for _ in range(freq_masks):
            w = int(torch.randint(0, freq_width + 1, (1,), generator=gen))
            f0 = int(torch.randint(0, max(1, n_mels - w), (1,), generator=gen))
            x[b, :, f0 : f0 + w] = 0.0
    return x


def class_weights(targets: np.ndarray, n_labels: int) -> torch.Tensor:
    """Inverse-frequency weights, mean 1 over the present classes."""
    counts = np.bincount(targets, minlength=n_labels).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / max(1, (counts > 0).sum()), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


# --------------------------------------------------------------------------------------------
# Calibration and clip-level prediction


def clip_probabilities(window_logits: Sequence[torch.Tensor], temperature: float = 1.0) -> torch.Tensor:
    """Mean of the window probabilities per clip, as classify aggregates: (n_clips, n_labels)."""
    return torch.stack([torch.softmax(w.float() / temperature, dim=-1).mean(dim=0) for w in window_logits])


def clip_nll(window_logits: Sequence[torch.Tensor], targets: torch.Tensor, temperature: float) -> float:
    probs = clip_probabilities(window_logits, temperature).clamp_min(1e-7)
    return float(F.nll_loss(probs.log(), targets))


def fit_temperature(window_logits: Sequence[torch.Tensor], targets: np.ndarray) -> float:
    """The temperature that minimises the clip-level NLL on validation (log-grid, then refined)."""
    if not window_logits:
        return 1.0
    y = torch.as_tensor(targets)
    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 61))
    best = min(grid, key=lambda t: clip_nll(window_logits, y, float(t)))
    fine = best * np.exp(np.linspace(-0.1, 0.1, 21))
    return float(min(fine, key=lambda t: clip_nll(window_logits, y, float(t))))


@torch.no_grad()
def window_logits_for(model: nn.Module, windows: Sequence[np.ndarray], device: torch.device,
                      batch_size: int = 64) -> list[torch.Tensor]:
    """Logits of each clip's windows: a list of (n_windows, n_labels) CPU tensors."""
    model.eval()
    flat = np.concatenate(windows) if windows else np.zeros((0,))
    sizes = [len(w) for w in windows]
    outs = []
    for i in range(0, len(flat), batch_size):
        outs.append(model(torch.from_numpy(flat[i : i + batch_size]).to(device)).float().cpu())
    logits = torch.cat(outs) if outs else torch.zeros((0,))
    return list(torch.split(logits, sizes)) if sizes else []


# --------------------------------------------------------------------------------------------
# Frozen-backbone embeddings


def is_frozen_transfer(model: nn.Module) -> bool:
    return hasattr(model, "embed") and hasattr(model, "head") and getattr(model, "fine_tune_from", 0) is None


class EmbeddingCache:
    """Backbone embeddings per clip, of the windows classify would judge it by.

    The head trains on these same windows (up to `eval_windows` per clip, spread over the clip):
    running the backbone once per window is the cost that matters on a CPU.
    """

    def __init__(self, model: nn.Module, tag: str, cache: FeatureCache, device: torch.device,
                 root: Path | None = None):
        self.model, self.cache, self.device = model, cache, device
        self.root = (root or cache.root.parent.parent / "embeddings") / tag

    def _file(self, example: Example, kind: str) -> Path:
        key = self.cache.entry(example.path).name
        return self.root / key[:2] / f"{key}.{kind}.npy"

    def get(self, examples: Sequence[Example], count: int, progress: Progress | None = None) -> list[np.ndarray]:
        """(n_windows, D) float32 embeddings per example, computed once and kept on disk."""
        frames = self.cache.cfg.window_frames
        out = []
        for i, e in enumerate(examples):
            file = self._file(e, f"w{count}")
            if file.is_file():
                stored = np.load(file)
            else:
                mel = np.asarray(self.cache.load(e.path), dtype=np.float32)
                windows = cut_windows(mel, window_starts(len(mel), frames, count), frames)
                with torch.no_grad():
                    self.model.eval()
                    stored = torch.cat([self._all_embeddings(torch.from_numpy(windows[j : j + 64]).to(self.device))
                                        for j in range(0, len(windows), 64)]).numpy().astype(np.float32)
                file.parent.mkdir(parents=True, exist_ok=True)
                tmp = file.with_suffix(f".tmp{os.getpid()}.npy")
                np.save(tmp, stored)
                os.replace(tmp, file)
            out.append(self._select(stored))
            if progress:
                progress({"event": "embeddings", "done": i + 1, "total": len(examples)})
        return out

    # musicnn's backbone gives every embedding in one pass: keep them all, so trying another
    # embedding (penultimate, pooled) reuses the same backbone run.
    STORED = ("penultimate", "pooled")

    def _all_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        backbone = getattr(self.model, "backbone", None)
        if backbone is not None:
            outputs = backbone(x)
            if all(k in outputs for k in self.STORED):
                return torch.cat([outputs[k] for k in self.STORED], dim=1).cpu()  # (batch, 200 + 1506)
        return self.model.embed(x).cpu()  # (batch, D)

    def _select(self, stored: np.ndarray) -> np.ndarray:
        name = getattr(self.model, "embedding", None)
        dims = getattr(self.model, "embedding_dim", stored.shape[1])
        if stored.shape[1] == dims or name not in self.STORED:
            return stored
        start = 0 if name == self.STORED[0] else stored.shape[1] - dims
        return np.ascontiguousarray(stored[:, start : start + dims])


def embedding_cache_for(config: TrainConfig, model: nn.Module, device: torch.device) -> EmbeddingCache:
    """The embedding cache of this backbone (pretrained weights, embedding, features, windows)."""
    key = [_pretrained_id(config.pretrained), config.features.to_dict(), config.eval_windows]
    tag = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return EmbeddingCache(model, tag, FeatureCache(config.features, root=config.cache_dir), device)


# --------------------------------------------------------------------------------------------
# Distributed helpers


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def any(self, flag: bool) -> bool:
        """True on every rank when any rank says True (keeps ranks in step on cancel)."""
        if self.world == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0])
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)


def init_distributed(device_name: str) -> tuple[Dist, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), resolve_device(device_name)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name in ("auto", "cuda") and torch.cuda.is_available()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
        device = torch.device("cpu")
    return Dist(rank, world, local), device


# --------------------------------------------------------------------------------------------
# The loop


def build_model(config: TrainConfig, n_labels: int) -> tuple[nn.Module, dict[str, Any]]:
    kwargs = {"n_labels": n_labels, **config.arch_kwargs}
    if config.arch not in ("musicnn", "musicnn_transfer"):
        kwargs.setdefault("n_mels", config.features.n_mels)
    if config.arch == "musicnn_transfer":
        from tagger.models.musicnn import MusicnnTransfer

        models.check_arguments(config.arch, kwargs)
        return MusicnnTransfer.from_pretrained(config.pretrained, **kwargs), kwargs
    return models.build(config.arch, **kwargs), kwargs


def train(config: TrainConfig, progress: Progress | None = None,
          cancel: threading.Event | None = None) -> TrainResult:
    """Read the data, split it, train, calibrate and save the best checkpoint to config.out."""
    started = time.monotonic()
    dist, device = init_distributed(config.device)
    emit = progress if (progress is not None and dist.main) else None
    dataset = load_sources(config)
    split = make_split(dataset, config.split, config.seed)
    trained_on = {
        "datasets": [{"kind": s.kind, "name": s.name or s.kind, "path": str(s.path) if s.path else None,
                      "subset": s.subset} for s in config.sources],
        "split": config.split,
        "seed": config.seed,
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return fit(config, dataset.labels, split, trained_on=trained_on, progress=emit, cancel=cancel,
               dist=dist, device=device, started=started, skipped=dataset.skipped)


def fit(config: TrainConfig, labels: Sequence[str], split: Split, *, trained_on: dict[str, Any] | None = None,
        progress: Progress | None = None, cancel: threading.Event | None = None, dist: Dist | None = None,
        device: torch.device | None = None, started: float | None = None,
        skipped: Sequence[tuple[Path, str]] = ()) -> TrainResult:
    """Train on split.train, select and calibrate on split.valid; write config.out (unless None)."""
    started = time.monotonic() if started is None else started
    dist = dist or Dist()
    device = device or resolve_device(config.device)
    cancel = cancel or threading.Event()
    emit = progress or (lambda event: None)
    labels = tuple(labels)
    label_index = {lab: i for i, lab in enumerate(labels)}
    cfg = config.features
    torch.manual_seed(config.seed)

    # Features: decode once into the cache (rank 0), skipping clips that fail or are too short.
    cache = FeatureCache(cfg, root=config.cache_dir)
    every = split.train + split.valid + split.test
    failed: dict[Path, str] = {}
    if dist.main:
        report = cache.build([e.path for e in every], workers=config.workers, cancel=cancel,
                             progress=lambda d, t: emit({"event": "features", "done": d, "total": t}))
        failed = report.failed
    dist.barrier()
    if not dist.main:
        failed = {e.path: s for e in every if (s := cache.status(e.path)) not in ("ok", None)}
    skipped = [(str(p), r) for p, r in skipped] + [(str(p), r) for p, r in failed.items()]
    if dist.any(cancel.is_set()):
        emit({"event": "done", "stopped": "cancelled", "checkpoint": None, "best_epoch": None,
              "val_accuracy": None, "temperature": 1.0, "seconds": time.monotonic() - started})
        return TrainResult(None, "cancelled", None, None, 1.0, 0, time.monotonic() - started, [],
                           split.sizes(), skipped)
    keep = [[e for e in part if e.path not in failed] for part in (split.train, split.valid, split.test)]
    split = Split(split.name, *keep)
    if not split.train or not split.valid:
        raise DatasetError("no training or validation clips left after decoding")
    train_clips = clips_for(split.train, cache, label_index)
    valid_clips = clips_for(split.valid, cache, label_index)

    model, arch_kwargs = build_model(config, len(labels))
    model.to(device)
    frozen = is_frozen_transfer(model)
    if frozen:
        emb = embedding_cache_for(config, model, device)
        if dist.main:
            both = emb.get(split.train + split.valid, config.eval_windows, emit)
        dist.barrier()
        if not dist.main:
            both = emb.get(split.train + split.valid, config.eval_windows)
        train_emb, valid_emb = both[: len(split.train)], both[len(split.train) :]
        # Training items: every cached window of every clip, with the clip's label.
        train_x = torch.from_numpy(np.concatenate(train_emb))
        train_y = torch.from_numpy(np.concatenate([np.full(len(e), t) for e, t in zip(
            train_emb, train_clips.targets, strict=True)]))
        trainable: nn.Module = model.head
        items = len(train_x)
    else:
        trainable = model
        items = len(train_clips.examples) * config.crops_per_clip
    params = [p for p in trainable.parameters() if p.requires_grad]
    wrapped: nn.Module = trainable
    if dist.world > 1:
        wrapped = nn.parallel.DistributedDataParallel(trainable, device_ids=[device.index] if device.type == "cuda" else None)
    per_rank = items // dist.world
    steps_per_epoch = max(1, math.ceil(per_rank / config.batch_size))
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, epochs=config.epochs,
                                                    steps_per_epoch=steps_per_epoch, pct_start=0.3)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    weights = class_weights(train_clips.targets, len(labels)).to(device) if config.class_weights else None

    out = Path(config.out) if config.out is not None else None
    state_file = out.with_name(out.name + ".state.pt") if out is not None else None
    history: list[dict[str, float]] = []
    best: tuple[float, float] | None = None
    best_epoch: int | None = None
    best_acc: float | None = None
    temperature = 1.0
    bad_epochs = 0
    first_epoch = 1
    total_steps = 0
    if config.resume and state_file is not None and state_file.is_file():
        state = torch.load(state_file, map_location="cpu", weights_only=True)
        if state.get("format") != STATE_FORMAT or state.get("arch") != config.arch or tuple(state["labels"]) != labels:
            raise DatasetError(f"{state_file.name} belongs to a different run (arch or labels differ)")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history = list(state["history"])
        best = tuple(state["best"]) if state["best"] is not None else None
        best_epoch, best_acc = state["best_epoch"], state["best_acc"]
        temperature, bad_epochs = state["temperature"], state["bad_epochs"]
        first_epoch, total_steps = state["epoch"] + 1, state["total_steps"]

    emit({"event": "start", "arch": config.arch, "labels": list(labels), "train_clips": len(split.train),
          "valid_clips": len(split.valid), "test_clips": len(split.test), "epochs": config.epochs,
          "steps_per_epoch": steps_per_epoch, "device": str(device), "skipped": len(skipped),
          "first_epoch": first_epoch})

    stopped = "completed"
    frames = cfg.window_frames
    for epoch in range(first_epoch, config.epochs + 1):
        t0 = time.monotonic()
        rng = np.random.default_rng([config.seed, epoch])
        gen = torch.Generator().manual_seed(config.seed * 100003 + epoch)
        order = rng.permutation(items)[dist.rank :: dist.world][:per_rank]
        trainable.train()
        model.train()
        losses = []
        interrupted = False
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            if frozen:
                x, y = train_x[idx], train_y[idx]
            else:
                clip_idx = idx % len(train_clips.examples)
                x = random_crops(train_clips, clip_idx, frames, rng)
                if config.spec_augment:
                    x = spec_augment(x, gen)
                y = torch.from_numpy(train_clips.targets[clip_idx])
            x, y = x.to(device), y.to(device)
            lam, perm = 1.0, None
            if config.mixup > 0 and len(x) > 1:
                lam = float(rng.beta(config.mixup, config.mixup))
                perm = torch.from_numpy(rng.permutation(len(x))).to(device)
                x = lam * x + (1 - lam) * x[perm]
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                logits = wrapped(x)
                loss = F.cross_entropy(logits.float(), y, weight=weights)
                if perm is not None:
                    loss = lam * loss + (1 - lam) * F.cross_entropy(logits.float(), y[perm], weight=weights)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if scheduler.last_epoch + 1 < scheduler.total_steps:
                scheduler.step()
            total_steps += 1
            losses.append(float(loss.detach()))
            emit({"event": "step", "epoch": epoch, "step": step + 1, "steps": steps_per_epoch,
                  "loss": losses[-1], "lr": optimizer.param_groups[0]["lr"]})
            if dist.any(cancel.is_set()):
                interrupted, stopped = True, "cancelled"
                break
            if config.max_steps is not None and total_steps >= config.max_steps:
                stopped = "max_steps"
                break
        if interrupted:
            break

        # Validation: clip-level, from the windows classify would use.
        if frozen:
            model.head.eval()
            with torch.no_grad():
                v_logits = [model.head(torch.from_numpy(e).to(device)).float().cpu() for e in valid_emb]
        else:
            v_logits = window_logits_for(model, [eval_windows(m, frames, config.eval_windows)
                                                 for m in valid_clips.mels], device)
        v_targets = torch.from_numpy(valid_clips.targets)
        probs = clip_probabilities(v_logits)
        val_acc = float((probs.argmax(dim=1) == v_targets).float().mean())
        val_loss = clip_nll(v_logits, v_targets, 1.0)
        train_loss = float(np.mean(losses)) if losses else float("nan")
        score = (val_acc, -val_loss)
        improved = best is None or score > best
        if improved:
            best, best_epoch, best_acc, bad_epochs = score, epoch, val_acc, 0
            temperature = fit_temperature(v_logits, valid_clips.targets)
            if dist.main and out is not None:
                metrics = {"val_accuracy": val_acc, "val_loss": val_loss, "epoch": epoch,
                           "val_nll_calibrated": clip_nll(v_logits, v_targets, temperature),
                           "history": history + [_epoch_row(epoch, train_loss, val_loss, val_acc, optimizer)],
                           "split_sizes": {"train": len(split.train), "valid": len(split.valid),
                                           "test": len(split.test)}}
                save_checkpoint(out, model=model, arch=config.arch, arch_kwargs=arch_kwargs, labels=labels,
                                features=cfg, temperature=temperature, metrics=metrics,
                                trained_on=dict(trained_on or {}, labels=list(labels)))
        else:
            bad_epochs += 1
        history.append(_epoch_row(epoch, train_loss, val_loss, val_acc, optimizer))
        emit({"event": "epoch", "epoch": epoch, "epochs": config.epochs, "train_loss": train_loss,
              "val_loss": val_loss, "val_accuracy": val_acc, "lr": optimizer.param_groups[0]["lr"],
              "seconds": time.monotonic() - t0, "best": improved})
        if dist.main and state_file is not None and config.save_state:
            _save_state(state_file, {
                "format": STATE_FORMAT, "arch": config.arch, "labels": list(labels), "epoch": epoch,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "history": history,
                "best": list(best) if best else None, "best_epoch": best_epoch, "best_acc": best_acc,
                "temperature": temperature, "bad_epochs": bad_epochs, "total_steps": total_steps})
        if stopped == "max_steps":
            break
        if bad_epochs >= config.patience:
            stopped = "early_stop"
            break
        if dist.any(cancel.is_set()):
            stopped = "cancelled"
            break

    checkpoint = out if (out is not None and best_epoch is not None and out.is_file()) else None
    seconds = time.monotonic() - started
    emit({"event": "done", "stopped": stopped, "checkpoint": str(checkpoint) if checkpoint else None,
          "best_epoch": best_epoch, "val_accuracy": best_acc, "temperature": temperature, "seconds": seconds})
    result = TrainResult(checkpoint, stopped, best_epoch, best_acc, temperature, len(history), seconds,
                         history, {"train": len(split.train), "valid": len(split.valid), "test": len(split.test)},
                         list(skipped))
    return result


def _epoch_row(epoch: int, train_loss: float, val_loss: float, val_acc: float, optimizer) -> dict[str, float]:
    return {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_acc,
            "lr": optimizer.param_groups[0]["lr"]}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _pretrained_id(pretrained: str) -> str:
    from tagger.models.musicnn import pretrained_path

    path = pretrained_path(pretrained)
    return file_id(path) if path.is_file() else str(pretrained)


def default_cache_dir() -> Path:
    return paths.cache_dir() / "features"


def config_dict(config: TrainConfig) -> dict[str, Any]:
    data = asdict(config)
    data["features"] = config.features.to_dict()
    return json.loads(json.dumps(data, default=str))
