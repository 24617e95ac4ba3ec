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

Progress: `progress(event)` gets each event of training/events.py (the TRAIN schema: features,
embeddings, start, step, epoch, done) as a dict; `genrenet train --progress-json` prints them as
JSON lines, which the app reads back with the same schema. Fit is the Trainer class, one short
method per part of the run.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
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
from tagger.features import cut_windows, window_starts
from tagger.windows import tracks_probabilities
from training import events
from training.cache import FeatureCache
from training.config import Source, TrainConfig  # noqa: F401  (Source: re-exported, as before)
from training.datasets import Dataset, DatasetError, Example, merge, read_dataset, read_folder
from training.splitting import Split, make_split

Progress = Callable[[dict[str, Any]], None]
STATE_FORMAT = "genrenet-train-state/1"


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
    # The trained model at its best epoch, in memory, where the run kept it there (a head on
    # cached embeddings without a state file): cross-validation reads it, not its checkpoint.
    model: nn.Module | None = field(default=None, repr=False, compare=False)


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


def clips_for(examples: Sequence[Example], cache: FeatureCache, label_index: dict[str, int],
              mels: bool = True) -> Clips:
    """The clips of `examples`; without `mels` only their labels (a head trained on embeddings)."""
    mels = [cache.load(e.path) for e in examples] if mels else []
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


class WindowLogits:
    """The window logits of several clips, stacked once: `flat` (sum(sizes), n_labels) and each
    clip's window count, so that clip probabilities at any temperature are one softmax and one
    segment mean (tagger.windows), not a loop over clips."""

    __slots__ = ("flat", "sizes")

    def __init__(self, flat: torch.Tensor, sizes: Sequence[int]):
        self.flat, self.sizes = flat.float(), [int(s) for s in sizes]

    @classmethod
    def of(cls, window_logits: WindowLogits | Sequence[torch.Tensor]) -> WindowLogits:
        if isinstance(window_logits, WindowLogits):
            return window_logits
        if not len(window_logits):
            return cls(torch.zeros((0, 0)), [])
        return cls(torch.cat(list(window_logits)), [len(w) for w in window_logits])

    def __len__(self) -> int:
        return len(self.sizes)


def clip_probabilities(window_logits: WindowLogits | Sequence[torch.Tensor], temperature: float = 1.0) -> torch.Tensor:
    """Each clip's probabilities (n_clips, n_labels) as classify makes a track's: the calibrated
    softmax of every window, then tagger.windows.tracks_probabilities (the mean over the clip's
    windows), all clips in one pass. `window_logits`: per clip (n_windows, n_labels), or stacked."""
    stacked = WindowLogits.of(window_logits)
    if not len(stacked):
        return torch.zeros((0, stacked.flat.shape[-1]))
    return tracks_probabilities(torch.softmax(stacked.flat / temperature, dim=-1), stacked.sizes)


def clip_nll(window_logits: WindowLogits | Sequence[torch.Tensor], targets: torch.Tensor, temperature: float) -> float:
    probs = clip_probabilities(window_logits, temperature).clamp_min(1e-7)
    return float(F.nll_loss(probs.log(), targets))


def fit_temperature(window_logits: WindowLogits | Sequence[torch.Tensor], targets: np.ndarray) -> float:
    """The temperature that minimises the clip-level NLL on validation (log-grid, then refined);
    the logits are stacked once, so each temperature tried is one softmax over every window."""
    stacked = WindowLogits.of(window_logits)
    if not len(stacked):
        return 1.0
    y = torch.as_tensor(targets)
    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 61))
    best = min(grid, key=lambda t: clip_nll(stacked, y, float(t)))
    fine = best * np.exp(np.linspace(-0.1, 0.1, 21))
    return float(min(fine, key=lambda t: clip_nll(stacked, y, float(t))))


@torch.no_grad()
def window_logits_for(model: nn.Module, windows: Sequence[np.ndarray], device: torch.device,
                      batch_size: int | None = None) -> list[torch.Tensor]:
    """Logits of each clip's windows: a list of (n_windows, n_labels) CPU tensors; `batch_size`
    windows a pass (default: windows_per_pass(device))."""
    batch_size = batch_size or windows_per_pass(device)
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


# Windows per backbone pass on a CPU: a small pass's front-end activations fit the cache. musicnn
# on this project's 2-core machine (AMD EPYC), ms a window in passes of 2 / 4 / 8 (8: a clip's eval
# windows, the pass before): 10.1 / 13.0 / 20.6 on two threads, 18.3 / 23.0 / 36.0 on one.
EMBED_BATCH = 2


def windows_per_pass(device: torch.device) -> int:
    """How many windows a network judges in one forward pass on `device` (EMBED_BATCH on a CPU)."""
    return EMBED_BATCH if device.type == "cpu" else 64


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

    def get(self, examples: Sequence[Example], count: int, progress: Progress | None = None,
            hop: int | None = None) -> list[np.ndarray]:
        """(n_windows, D) float32 embeddings per example, computed once and kept on disk: of the
        `count` windows classify would judge it by, or with `hop` (frames) of grid_starts' grid."""
        frames = self.cache.cfg.window_frames
        out = []
        for i, e in enumerate(examples):
            file = self._file(e, f"w{count}" if hop is None else f"h{hop}")
            if file.is_file():
                stored = np.load(file)
            else:
                mel = np.asarray(self.cache.load(e.path), dtype=np.float32)
                starts = window_starts(len(mel), frames, count) if hop is None else grid_starts(len(mel), frames, hop)
                windows = cut_windows(mel, starts, frames)
                with torch.no_grad():
                    self.model.eval()
                    step = windows_per_pass(self.device)
                    stored = torch.cat([self._all_embeddings(torch.from_numpy(windows[j : j + step]).to(self.device))
                                        for j in range(0, len(windows), step)]).numpy().astype(np.float32)
                file.parent.mkdir(parents=True, exist_ok=True)
                tmp = file.with_suffix(f".tmp{os.getpid()}.npy")
                np.save(tmp, stored)
                os.replace(tmp, file)
            out.append(self._select(stored))
            if progress:
                progress(events.Embeddings(done=i + 1, total=len(examples)).to_dict())
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


def grid_starts(n_frames: int, window_frames: int, hop: int) -> list[int]:
    """Start frames of every window `hop` frames apart from the start of a track (a head's
    training windows, TrainConfig.train_hop): windows overlap when hop < window_frames; a track
    shorter than one window gets one window at 0 (padded by cut_windows)."""
    return list(range(0, max(1, n_frames - window_frames + 1), max(1, int(hop))))


def train_hop_frames(config: TrainConfig) -> int | None:
    """config.train_hop in feature frames (None when the head trains on the eval windows)."""
    if config.train_hop is None:
        return None
    if config.train_hop <= 0:
        raise ValueError("train_hop must be a positive number of seconds")
    cfg = config.features
    return max(1, round(config.train_hop * cfg.sample_rate / cfg.hop_length))


def embedding_cache_for(config: TrainConfig, model: nn.Module, device: torch.device) -> EmbeddingCache:
    """The embedding cache of this backbone (pretrained weights, embedding, features, windows)."""
    key = [_pretrained_id(config.pretrained), config.features.to_dict(), config.eval_windows]
    tag = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return EmbeddingCache(model, tag, FeatureCache(config.features, root=config.cache_dir), device)


HEAD_STEPS = 32  # a head on cached embeddings: at most this many optimiser steps an epoch,
HEAD_BATCH = 512  # of at most this many windows each


def head_epoch(items: int, batch_size: int) -> tuple[int, int]:
    """(batch size, steps per epoch) of a head trained on cached embeddings (`items` windows).
    Up to HEAD_STEPS batches of `batch_size` (every library of up to ~300 tracks at the default
    64), an epoch is every window once in batches of `batch_size`, as ever. A larger library
    grows the batch (the learning rate by its square root) instead of the number of steps, up
    to HEAD_BATCH; beyond HEAD_STEPS * HEAD_BATCH windows (~2,000 tracks of 8 windows) an epoch
    is a fresh random HEAD_STEPS * HEAD_BATCH of them, so an epoch's cost stops growing with
    the library while the head (a few thousand weights) still sees ~650,000 windows in 40 epochs."""
    batch = max(batch_size, min(math.ceil(items / HEAD_STEPS), HEAD_BATCH))
    return batch, max(1, min(math.ceil(items / batch), HEAD_STEPS))


def mix_in_place(x: torch.Tensor, mixup: float, rng: np.random.Generator,
                 scale: float = 1.0) -> tuple[torch.Tensor, float, torch.Tensor | None]:
    """Mixup of a batch with a permutation of itself, in place, times `scale`:
    (scale * (lam * x + (1 - lam) * x[perm]), lam, perm); (scale * x, 1.0, None) without it."""
    if mixup > 0 and len(x) > 1:
        lam = float(rng.beta(mixup, mixup))
        perm = torch.from_numpy(rng.permutation(len(x))).to(x.device)
        partner = x[perm]  # gathered before x is scaled in place
        return x.mul_(lam * scale).add_(partner, alpha=(1 - lam) * scale), lam, perm
    return (x.mul_(scale) if scale != 1.0 else x), 1.0, None


def _leading_half_dropout(head: nn.Module) -> bool:
    """Whether the head starts with Dropout(0.5) (musicnn_transfer's head does)."""
    return (isinstance(head, nn.Sequential) and len(head) > 1 and type(head[0]) is nn.Dropout
            and head[0].p == 0.5 and not head[0].inplace)


def _half_mask(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """The keep-mask of Dropout(0.5) for x (batch, dims): 0 or 1 (uint8), each element kept with
    probability 1/2 (the caller doubles what is kept). One random bit per element, unpacked
    from random bytes: torch's Bernoulli sampling costs ~15 ns an element on a CPU, most of a
    step of a head on 1,506-dim embeddings; this ~0.2 ns."""
    n, dims = x.shape
    bits = np.unpackbits(rng.integers(0, 256, (n, (dims + 7) // 8), dtype=np.uint8), axis=1, count=dims)
    return torch.from_numpy(bits).to(x.device)


# --------------------------------------------------------------------------------------------
# Distributed helpers


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False  # init_distributed started the process group: close() ends it

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def close(self) -> None:
        """End the process group this run started, as PyTorch asks before a process exits (the
        exit itself: training.cli.end_distributed)."""
        if self.owns_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()

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
    owns_group = not torch.distributed.is_initialized()
    if owns_group:
        torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
        device = torch.device("cpu")
    return Dist(rank, world, local, owns_group), device


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
    try:
        return fit(config, dataset.labels, split, trained_on=trained_on, progress=emit, cancel=cancel,
                   dist=dist, device=device, started=started, skipped=dataset.skipped)
    finally:
        dist.close()


def fit(config: TrainConfig, labels: Sequence[str], split: Split, *, trained_on: dict[str, Any] | None = None,
        progress: Progress | None = None, cancel: threading.Event | None = None, dist: Dist | None = None,
        device: torch.device | None = None, started: float | None = None,
        skipped: Sequence[tuple[Path, str]] = (),
        embeddings: Mapping[Path, np.ndarray] | None = None,
        train_embeddings: Mapping[Path, np.ndarray] | None = None) -> TrainResult:
    """Train on split.train, select and calibrate on split.valid; write config.out (unless None).
    `embeddings` (a frozen backbone only): path -> the clip's window embeddings (n_windows, D), as
    EmbeddingCache.get gives them; when it holds every clip of the split, nothing is read from
    the feature or embedding cache (cross-validation reads them once for all its runs). With
    config.train_hop, `train_embeddings` holds the training clips' grid windows likewise."""
    return Trainer(config, labels, split, trained_on=trained_on, progress=progress, cancel=cancel, dist=dist,
                   device=device, started=started, skipped=skipped, embeddings=embeddings,
                   train_embeddings=train_embeddings).fit()


@dataclass
class Best:
    """The best epoch so far, by (validation accuracy, -validation loss), and its calibration."""

    score: tuple[float, float] | None = None
    epoch: int | None = None
    accuracy: float | None = None
    temperature: float = 1.0
    bad_epochs: int = 0  # epochs since it improved


@dataclass
class Validation:
    """Clip-level validation of one epoch, from the windows classify would use."""

    logits: WindowLogits  # every clip's (n_windows, n_labels), stacked
    targets: torch.Tensor  # (n_clips,)
    accuracy: float
    loss: float  # clip-level NLL at temperature 1


class Trainer:
    """One run of the recipe in the module docstring: fit() decodes the features, builds the model
    and optimiser (or resumes them), runs the epochs, keeps and calibrates the best, reports."""

    def __init__(self, config: TrainConfig, labels: Sequence[str], split: Split, *,
                 trained_on: dict[str, Any] | None = None, progress: Progress | None = None,
                 cancel: threading.Event | None = None, dist: Dist | None = None,
                 device: torch.device | None = None, started: float | None = None,
                 skipped: Sequence[tuple[Path, str]] = (),
                 embeddings: Mapping[Path, np.ndarray] | None = None,
                 train_embeddings: Mapping[Path, np.ndarray] | None = None) -> None:
        self.config = config
        self.embeddings = embeddings
        self.train_embeddings = train_embeddings
        self.started = time.monotonic() if started is None else started
        self.dist = dist or Dist()
        self.device = device or resolve_device(config.device)
        self.cancel = cancel or threading.Event()
        self._progress = progress
        self.labels = tuple(labels)
        self.split = split
        self.trained_on = trained_on
        self.skipped = [(str(p), r) for p, r in skipped]
        self.out = Path(config.out) if config.out is not None else None
        self.state_file = self.out.with_name(self.out.name + ".state.pt") if self.out is not None else None
        self.history: list[dict[str, float]] = []
        self.best = Best()
        self.first_epoch = 1
        self.total_steps = 0
        self.stopped = "completed"
        self.pending: tuple | None = None  # the best epoch's checkpoint, not written yet (record)
        self.best_model: nn.Module | None = None  # the model at its best epoch, when write_pending made it so

    def emit(self, event: events.Event) -> None:
        if self._progress is not None:
            self._progress(event.to_dict())

    def _cancelled_anywhere(self) -> bool:
        """Cancel asked on any rank (a collective call under DDP: every rank makes it in step)."""
        return self.dist.any(self.cancel.is_set())

    def fit(self) -> TrainResult:
        torch.manual_seed(self.config.seed)
        self.load_features()
        if self._cancelled_anywhere():
            return self.cancelled_before_training()
        self.load_clips()
        self.build_model()
        self.build_optimizer()
        self.resume()
        self.emit(events.Start(
            arch=self.config.arch, labels=self.labels, train_clips=len(self.split.train),
            valid_clips=len(self.split.valid), test_clips=len(self.split.test), epochs=self.config.epochs,
            steps_per_epoch=self.steps_per_epoch, device=str(self.device), skipped=len(self.skipped),
            first_epoch=self.first_epoch))
        with self.head_threads():
            for epoch in range(self.first_epoch, self.config.epochs + 1):
                if not self.run_epoch(epoch):
                    break
            self.write_pending()
        return self.result()

    @contextlib.contextmanager
    def head_threads(self):
        """One torch thread while a head trains on cached embeddings on the CPU: its steps are
        too small to share, and two threads measured several times slower (restored after)."""
        before = torch.get_num_threads()
        if not (self.frozen and self.device.type == "cpu" and self.dist.world == 1) or before == 1:
            yield
            return
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    # --- data -------------------------------------------------------------------------------

    def load_features(self) -> None:
        """Decode every clip once into the feature cache (rank 0); the clips that fail or are too
        short are skipped, and said so in the result."""
        self.cache = FeatureCache(self.config.features, root=self.config.cache_dir)
        split, dist = self.split, self.dist
        every = split.train + split.valid + split.test
        failed: dict[Path, str] = {}
        if self.given_embeddings():  # the caller decoded them (and left out the failures) already
            self.failed = failed
            return
        if dist.main:
            report = self.cache.build([e.path for e in every], workers=self.config.workers, cancel=self.cancel,
                                      progress=lambda d, t: self.emit(events.Features(done=d, total=t)))
            failed = report.failed
        dist.barrier()
        if not dist.main:
            failed = {e.path: s for e in every if (s := self.cache.status(e.path)) not in ("ok", None)}
        self.failed = failed
        self.skipped += [(str(p), r) for p, r in failed.items()]

    def load_clips(self) -> None:
        """The split without the clips that failed, and the cached log-mels of train and valid."""
        keep = [[e for e in part if e.path not in self.failed]
                for part in (self.split.train, self.split.valid, self.split.test)]
        self.split = Split(self.split.name, *keep)
        if not self.split.train or not self.split.valid:
            raise DatasetError("no training or validation clips left after decoding")
        label_index = {lab: i for i, lab in enumerate(self.labels)}
        mels = not self.given_embeddings()  # the head trains on embeddings: no log-mel is read
        self.train_clips = clips_for(self.split.train, self.cache, label_index, mels=mels)
        self.valid_clips = clips_for(self.split.valid, self.cache, label_index, mels=mels)

    def given_embeddings(self) -> bool:
        """Whether the caller passed the frozen backbone's embeddings of every clip of the split."""
        return self.embeddings is not None and all(
            e.path in self.embeddings for e in self.split.train + self.split.valid) and (
            self.config.train_hop is None or self.given_train_embeddings())

    def given_train_embeddings(self) -> bool:
        """Whether the caller passed the training clips' grid-window embeddings (train_hop)."""
        return self.train_embeddings is not None and all(e.path in self.train_embeddings for e in self.split.train)

    def load_embeddings(self) -> None:
        """A frozen backbone: its embeddings of every clip's windows (computed once, cached on
        disk); the head trains on every window of every clip, with the clip's label: the eval
        windows, or with config.train_hop a window every train_hop seconds (validation keeps
        the eval windows, as classify judges a track)."""
        hop = train_hop_frames(self.config)
        clips = self.split.train + self.split.valid
        if self.given_embeddings():
            both = [self.embeddings[e.path] for e in clips]  # the caller's, read from the cache once
            if hop is not None:
                both[: len(self.split.train)] = [self.train_embeddings[e.path] for e in self.split.train]
        else:
            emb = embedding_cache_for(self.config, self.model, self.device)

            def read(progress=None):
                if hop is None:
                    return emb.get(clips, self.config.eval_windows, progress)
                n_train, total = len(self.split.train), len(clips)

                def shifted(offset):  # one count over both parts, as for the eval windows
                    return None if progress is None else (
                        lambda ev: progress(dict(ev, done=ev["done"] + offset, total=total)))

                return (emb.get(self.split.train, 0, shifted(0), hop=hop)
                        + emb.get(self.split.valid, self.config.eval_windows, shifted(n_train)))

            both = read(self._progress) if self.dist.main else None
            self.dist.barrier()
            if not self.dist.main:
                both = read()
        train_emb, valid_emb = both[: len(self.split.train)], both[len(self.split.train) :]
        self.train_x = torch.from_numpy(np.concatenate(train_emb))
        self.train_y = torch.from_numpy(np.repeat(self.train_clips.targets, [len(e) for e in train_emb]))
        self.valid_x = torch.from_numpy(np.concatenate(valid_emb)).to(self.device)
        self.valid_sizes = [len(e) for e in valid_emb]

    # --- model and optimiser ----------------------------------------------------------------

    def build_model(self) -> None:
        self.model, self.arch_kwargs = build_model(self.config, len(self.labels))
        self.model.to(self.device)
        self.frozen = is_frozen_transfer(self.model)
        if self.embeddings is not None and not self.frozen:
            raise ValueError("embeddings were given for a model whose backbone is not frozen")
        if self.frozen:
            self.load_embeddings()
            self.trainable: nn.Module = self.model.head
            self.items = len(self.train_x)
        else:
            self.trainable = self.model
            self.items = len(self.train_clips.examples) * self.config.crops_per_clip

    def build_optimizer(self) -> None:
        """AdamW with a one-cycle schedule over every epoch, DDP around what trains, AMP on CUDA."""
        config, device, dist = self.config, self.device, self.dist
        params = [p for p in self.trainable.parameters() if p.requires_grad]
        self.wrapped: nn.Module = self.trainable
        if dist.world > 1:
            self.wrapped = nn.parallel.DistributedDataParallel(
                self.trainable, device_ids=[device.index] if device.type == "cuda" else None)
        self.per_rank = self.items // dist.world
        self.batch_size, self.steps_per_epoch = config.batch_size, max(1, math.ceil(self.per_rank / config.batch_size))
        lr = config.lr
        if self.frozen:
            self.batch_size, self.steps_per_epoch = head_epoch(self.per_rank, config.batch_size)
            lr = config.lr * math.sqrt(self.batch_size / config.batch_size)
        self.optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=lr, epochs=config.epochs, steps_per_epoch=self.steps_per_epoch,
            pct_start=0.3)
        self.fast_dropout = self.frozen and dist.world == 1 and _leading_half_dropout(self.trainable)
        self.use_amp = device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.weights = (class_weights(self.train_clips.targets, len(self.labels)).to(device)
                        if config.class_weights else None)

    def resume(self) -> None:
        """With config.resume, continue from <out>.state.pt when it is there (same arch, labels)."""
        if not (self.config.resume and self.state_file is not None and self.state_file.is_file()):
            return
        state = torch.load(self.state_file, map_location="cpu", weights_only=True)
        if (state.get("format") != STATE_FORMAT or state.get("arch") != self.config.arch
                or tuple(state["labels"]) != self.labels):
            raise DatasetError(f"{self.state_file.name} belongs to a different run (arch or labels differ)")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.history = list(state["history"])
        self.best = Best(tuple(state["best"]) if state["best"] is not None else None, state["best_epoch"],
                         state["best_acc"], state["temperature"], state["bad_epochs"])
        self.first_epoch, self.total_steps = state["epoch"] + 1, state["total_steps"]

    # --- one epoch --------------------------------------------------------------------------

    def run_epoch(self, epoch: int) -> bool:
        """Train one epoch, validate, keep the best; False when the run stops here."""
        t0 = time.monotonic()
        losses = self.train_steps(epoch)
        if self.stopped == "cancelled":
            return False
        val = self.validate()
        train_loss = float(np.mean(losses)) if losses else float("nan")
        improved = self.record(epoch, val, train_loss)
        self.history.append(self._epoch_row(epoch, train_loss, val))
        self.emit(events.Epoch(
            epoch=epoch, epochs=self.config.epochs, train_loss=train_loss, val_loss=val.loss,
            val_accuracy=val.accuracy, lr=self.lr, seconds=time.monotonic() - t0, best=improved))
        self.save_state(epoch)
        if self.stopped == "max_steps":
            return False
        if self.best.bad_epochs >= self.config.patience:
            self.stopped = "early_stop"
            return False
        if self._cancelled_anywhere():
            self.stopped = "cancelled"
            return False
        return True

    def train_steps(self, epoch: int) -> list[float]:
        """The optimiser steps of one epoch (seeded by seed and epoch): their losses. Sets
        self.stopped on cancel ("cancelled") or at config.max_steps ("max_steps")."""
        config, dist = self.config, self.dist
        rng = np.random.default_rng([config.seed, epoch])
        gen = torch.Generator().manual_seed(config.seed * 100003 + epoch)
        order = rng.permutation(self.items)[dist.rank :: dist.world][: self.per_rank]
        self.trainable.train()
        self.model.train()
        losses = []
        for step in range(self.steps_per_epoch):
            x, y = self.batch(order[step * self.batch_size : (step + 1) * self.batch_size], rng, gen)
            losses.append(self.step(x, y, rng))
            self.emit(events.Step(epoch=epoch, step=step + 1, steps=self.steps_per_epoch, loss=losses[-1],
                                  lr=self.lr))
            if self._cancelled_anywhere():
                self.stopped = "cancelled"
                break
            if config.max_steps is not None and self.total_steps >= config.max_steps:
                self.stopped = "max_steps"
                break
        return losses

    def batch(self, idx: np.ndarray, rng: np.random.Generator,
              gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and labels of the training items `idx`: cached embeddings of a frozen backbone,
        else one random crop per clip (SpecAugmented), on the device."""
        if self.frozen:
            rows = torch.from_numpy(np.asarray(idx, dtype=np.int64))
            x, y = self.train_x.index_select(0, rows), self.train_y.index_select(0, rows)
        else:
            clips = self.train_clips
            clip_idx = idx % len(clips.examples)
            x = random_crops(clips, clip_idx, self.config.features.window_frames, rng)
            if self.config.spec_augment:
                x = spec_augment(x, gen)
            y = torch.from_numpy(clips.targets[clip_idx])
        return x.to(self.device), y.to(self.device)

    def step(self, x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator) -> float:
        """One optimiser step on a batch (mixed up with itself when config.mixup): the loss."""
        config, device = self.config, self.device
        # x is this batch's own copy (batch()), so it is mixed in place; Dropout(0.5)'s doubling
        # of the kept elements is folded into the mixing weights (each pass over the batch counts).
        x, lam, perm = mix_in_place(x, config.mixup, rng, 2.0 if self.fast_dropout else 1.0)
        if self.fast_dropout:  # the head's own dropout, its mask from random bytes (see _half_mask)
            x = x.mul_(_half_mask(x, rng))
            forward = self.trainable[1:]
        else:
            forward = self.wrapped
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=self.use_amp):
            logits = forward(x)
            loss = F.cross_entropy(logits.float(), y, weight=self.weights)
            if perm is not None:
                loss = lam * loss + (1 - lam) * F.cross_entropy(logits.float(), y[perm], weight=self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        if self.use_amp:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        if self.scheduler.last_epoch + 1 < self.scheduler.total_steps:
            self.scheduler.step()
        self.total_steps += 1
        return float(loss.detach())

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    # --- validation, calibration, checkpoints -----------------------------------------------

    def validate(self) -> Validation:
        if self.frozen:  # every validation window through the head at once
            self.model.head.eval()
            with torch.no_grad():
                logits = WindowLogits(self.model.head(self.valid_x).float().cpu(), self.valid_sizes)
        else:
            frames, count = self.config.features.window_frames, self.config.eval_windows
            logits = WindowLogits.of(window_logits_for(
                self.model, [eval_windows(m, frames, count) for m in self.valid_clips.mels], self.device))
        targets = torch.from_numpy(self.valid_clips.targets)
        accuracy = float((clip_probabilities(logits).argmax(dim=1) == targets).float().mean())
        return Validation(logits, targets, accuracy, clip_nll(logits, targets, 1.0))

    def record(self, epoch: int, val: Validation, train_loss: float) -> bool:
        """Keep the epoch when it is the best so far: calibrate its temperature on the validation
        clips and write its checkpoint (rank 0). True when it improved."""
        best = self.best
        score = (val.accuracy, -val.loss)
        if best.score is not None and not score > best.score:
            best.bad_epochs += 1
            return False
        best.score, best.epoch, best.accuracy, best.bad_epochs = score, epoch, val.accuracy, 0
        if self.frozen and not self.config.save_state and self.dist.world == 1:
            # Nothing can resume such a run: keep the best head here, and calibrate and write it
            # once at the end (write_pending), not at every improvement.
            self.pending = (epoch, val, train_loss, list(self.history),
                            {k: v.detach().clone() for k, v in self.model.head.state_dict().items()})
            return True
        best.temperature = fit_temperature(val.logits, self.valid_clips.targets)
        if self.dist.main and self.out is not None:
            self.save_checkpoint(epoch, val, train_loss)
        return True

    def write_pending(self) -> None:
        """Back to the best epoch that record() kept in memory, if any, and its checkpoint
        written (when there is an `out`); the result then carries the model."""
        if self.pending is None:
            return
        epoch, val, train_loss, history, head = self.pending
        self.best.temperature = fit_temperature(val.logits, self.valid_clips.targets)
        self.model.head.load_state_dict(head)
        if self.out is not None:
            self.save_checkpoint(epoch, val, train_loss, history)
        self.pending = None
        self.best_model = self.model

    def save_checkpoint(self, epoch: int, val: Validation, train_loss: float,
                        history: list[dict[str, float]] | None = None) -> None:
        split = self.split
        history = self.history if history is None else history
        metrics = {"val_accuracy": val.accuracy, "val_loss": val.loss, "epoch": epoch,
                   "val_nll_calibrated": clip_nll(val.logits, val.targets, self.best.temperature),
                   "history": history + [self._epoch_row(epoch, train_loss, val)],
                   "split_sizes": {"train": len(split.train), "valid": len(split.valid), "test": len(split.test)}}
        save_checkpoint(self.out, model=self.model, arch=self.config.arch, arch_kwargs=self.arch_kwargs,
                        labels=self.labels, features=self.config.features, temperature=self.best.temperature,
                        metrics=metrics, trained_on=dict(self.trained_on or {}, labels=list(self.labels)))

    def save_state(self, epoch: int) -> None:
        """<out>.state.pt after every epoch (rank 0): what --resume continues from."""
        if not (self.dist.main and self.state_file is not None and self.config.save_state):
            return
        best = self.best
        _save_state(self.state_file, {
            "format": STATE_FORMAT, "arch": self.config.arch, "labels": list(self.labels), "epoch": epoch,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "history": self.history,
            "best": list(best.score) if best.score else None, "best_epoch": best.epoch, "best_acc": best.accuracy,
            "temperature": best.temperature, "bad_epochs": best.bad_epochs, "total_steps": self.total_steps})

    def _epoch_row(self, epoch: int, train_loss: float, val: Validation) -> dict[str, float]:
        return {"epoch": epoch, "train_loss": train_loss, "val_loss": val.loss, "val_accuracy": val.accuracy,
                "lr": self.lr}

    # --- the end ----------------------------------------------------------------------------

    def cancelled_before_training(self) -> TrainResult:
        seconds = time.monotonic() - self.started
        self.emit(events.Done(stopped="cancelled", checkpoint=None, best_epoch=None, val_accuracy=None,
                              temperature=1.0, seconds=seconds))
        return TrainResult(None, "cancelled", None, None, 1.0, 0, time.monotonic() - self.started, [],
                           self.split.sizes(), self.skipped)

    def result(self) -> TrainResult:
        best, out, split = self.best, self.out, self.split
        checkpoint = out if (out is not None and best.epoch is not None and out.is_file()) else None
        seconds = time.monotonic() - self.started
        self.emit(events.Done(stopped=self.stopped, checkpoint=str(checkpoint) if checkpoint else None,
                              best_epoch=best.epoch, val_accuracy=best.accuracy, temperature=best.temperature,
                              seconds=seconds))
        return TrainResult(checkpoint, self.stopped, best.epoch, best.accuracy, best.temperature, len(self.history),
                           seconds, self.history,
                           {"train": len(split.train), "valid": len(split.valid), "test": len(split.test)},
                           list(self.skipped), self.best_model)


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
