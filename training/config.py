"""TrainConfig: what one training run does, and the one place its defaults are written.

`genrenet train` (training/cli.py) and the app's Retrain page take their defaults from here, so
a default changes in one place. Importing this module is cheap and torch-free (the CLI parser and
the app import it); the feature configuration is imported only when a TrainConfig is made.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tagger.features import FeatureConfig

# The pretrained musicnn backbone, frozen, with a genre head: by far the best on small data.
RECOMMENDED_ARCH = "musicnn_transfer"
RECOMMENDED_KWARGS = {"musicnn_transfer": {"embedding": "pooled"}}  # the shipped default model's head


@dataclass(frozen=True)
class Source:
    """One dataset to read: kind (gtzan, fma, folder, library), its folder, FMA subset."""

    kind: str
    path: Path | None = None
    subset: str | None = None
    name: str | None = None  # folder datasets: the dataset name reported per dataset


def _recommended_kwargs() -> dict[str, Any]:
    return dict(RECOMMENDED_KWARGS.get(RECOMMENDED_ARCH, {}))


def _feature_config() -> FeatureConfig:
    from tagger.features import FeatureConfig  # librosa and numpy: not for `genrenet --help`

    return FeatureConfig()


@dataclass
class TrainConfig:
    sources: list[Source]
    out: Path = Path("genrenet_model.pt")
    arch: str = RECOMMENDED_ARCH
    arch_kwargs: dict[str, Any] = field(default_factory=_recommended_kwargs)
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
    # A frozen backbone: the head trains on windows every `train_hop` seconds over the whole clip
    # (overlapping when shorter than a window), not on the eval_windows; validation keeps those.
    train_hop: float | None = None
    pretrained: str = "msd"  # musicnn_transfer: the backbone's weights ("msd", "mtt" or a path)
    device: str = "auto"
    workers: int = 2
    resume: bool = False
    max_steps: int | None = None  # stop after this many optimiser steps (tests, smoke runs)
    save_state: bool = True  # write <out>.state.pt after each epoch (what --resume reads)
    cache_dir: Path | None = None
    features: FeatureConfig = field(default_factory=_feature_config)


_FIELDS = {f.name: f for f in fields(TrainConfig)}


def default(name: str) -> Any:
    """TrainConfig's default for the field `name` (KeyError for a field without one)."""
    f = _FIELDS[name]
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    raise KeyError(f"TrainConfig.{name} has no default")
