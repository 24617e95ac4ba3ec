"""musicnn (Pons & Serra 2019) in PyTorch, and a transfer model that puts a genre head on it.

The network follows musicnn 0.1.0's `models.build_musicnn` layer for layer, so the original
TensorFlow checkpoints (converted by training/import_musicnn.py) load without retraining:

    input (batch, 187, 96) log-mel  ->  batch norm
    front-end: timbral filters (7 x 38 and 7 x 67 mel bands, 204 each) and temporal filters
               (128, 64 and 32 frames x 1 band, 51 each), each max-pooled over frequency -> 561
    mid-end:   three 1-D convolutions over time (7 frames, 64 filters), the last two residual;
               dense connection: front-end + the three outputs -> 753 features per frame
    back-end:  max and mean over time (753 each), batch norm, dense 200 (the penultimate layer),
               dense 50 -> logits (sigmoid tags)

Details that matter for matching TensorFlow: batch-norm epsilon is TF's 0.001 (not PyTorch's
1e-5); every convolution is followed by ReLU *then* batch norm; the temporal filters use TF
'same' padding, which for an even kernel pads one frame more after than before; the pooled
vector is TF's flatten of (753, [max, mean]), i.e. max and mean interleaved per feature.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tagger.models import register

BN_EPS = 1e-3  # TensorFlow's batch_normalization default; PyTorch's 1e-5 would not match
BN_MOMENTUM = 0.01  # TF momentum 0.99 (weight of the old running value) in PyTorch's convention
N_MELS = 96
TIMBRAL_FILTERS = 204  # int(1.6 * 128)
TEMPORAL_FILTERS = 51  # int(1.6 * 32)
MIDEND_FILTERS = 64
BACKEND_UNITS = 200
FRONTEND_DIM = 2 * TIMBRAL_FILTERS + 3 * TEMPORAL_FILTERS  # 561
MIDEND_DIM = FRONTEND_DIM + 3 * MIDEND_FILTERS  # 753
POOLED_DIM = 2 * MIDEND_DIM  # 1506

# The taggers' outputs, in the order of their last layer (musicnn/configuration.py).
MSD_LABELS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
    "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
    "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy",
    "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop",
    "sad", "House", "happy",
)  # fmt: skip
MTT_LABELS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
    "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip
PRETRAINED = {"msd": "msd_musicnn.pt", "mtt": "mtt_musicnn.pt"}

# Backbone blocks in forward order; `fine_tune_from` names the first one that trains.
BLOCKS = ("frontend", "midend1", "midend2", "midend3", "backend")
EMBEDDINGS = {"penultimate": BACKEND_UNITS, "pooled": POOLED_DIM}


def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def _bn1d(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def conv_relu_bn_max_over_frequency(x: torch.Tensor, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> torch.Tensor:
    """max over frequency of bn(relu(conv(x))): (batch, 1, time, mel) -> (batch, filters, time).

    With running statistics, batch norm is a per-filter affine map a * v + b, monotonic in v, so
    its maximum over frequency is taken where relu(conv(x)) is largest (a >= 0) or smallest
    (a < 0). The filters whose a is negative are negated (weights and bias: exact in floating
    point, and an export folds it into the weights), so one max over frequency serves every
    filter, and the sign is given back on the small (batch, filters, time) result before ReLU
    and batch norm: the same numbers, bit for bit, as normalising every frequency, with one pass
    over the large front-end tensor instead of a min and a max (ONNX Runtime: 14.2 -> 13.8 ms a
    window, measured on one core; a max-pool instead of the max was slower, 15.0). In training
    mode (batch statistics) it normalises in full.
    """
    if bn.training or not bn.track_running_stats:
        return bn(F.relu(conv(x))).amax(dim=3)
    sign = torch.where(bn.weight >= 0, 1.0, -1.0)  # the sign of a = weight / sqrt(var + eps)
    bias = None if conv.bias is None else conv.bias * sign
    y = F.conv2d(x, conv.weight * sign[:, None, None, None], bias, conv.stride, conv.padding)
    peak = y.amax(dim=3) * sign[None, :, None]  # (batch, filters, time)
    return F.batch_norm(F.relu(peak), bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)


class TimbralBlock(nn.Module):
    """Filters 7 frames tall and a fraction of the mel bands wide, max-pooled over frequency."""

    def __init__(self, *, n_mels: int, band_fraction: float, filters: int):
        super().__init__()
        self.conv = nn.Conv2d(1, filters, kernel_size=(7, int(band_fraction * n_mels)))
        self.bn = _bn2d(filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, 3, 3))  # (batch, 1, time + 6, mel): 'same' in time only
        return conv_relu_bn_max_over_frequency(x, self.conv, self.bn)  # (batch, filters, time)


class TemporalBlock(nn.Module):
    """Filters `length` frames long and one band wide ('same' padding), max-pooled over frequency."""

    def __init__(self, *, length: int, filters: int):
        super().__init__()
        self.conv = nn.Conv2d(1, filters, kernel_size=(length, 1))
        self.bn = _bn2d(filters)
        # TF 'same': total padding length - 1, the odd frame after (63/64 for 128 frames).
        self.pad = ((length - 1) // 2, length - 1 - (length - 1) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, *self.pad))  # (batch, 1, time + length - 1, mel)
        return conv_relu_bn_max_over_frequency(x, self.conv, self.bn)  # (batch, filters, time)


class MidendConv(nn.Module):
    """A convolution over time spanning all input features ('same' padding), then ReLU, batch norm.

    TF writes it as a 2-D convolution whose kernel is as wide as the feature axis; that is a
    1-D convolution over time with the features as input channels.
    """

    def __init__(self, in_channels: int, filters: int):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, filters, kernel_size=7, padding=3)
        self.bn = _bn1d(filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))  # (batch, filters, time)


class MusicnnBackbone(nn.Module):
    """musicnn up to its penultimate layer. `forward` returns every representation by name."""

    def __init__(self, *, n_mels: int = N_MELS):
        super().__init__()
        # front-end
        self.input_bn = _bn2d(1)
        self.timbral_74 = TimbralBlock(n_mels=n_mels, band_fraction=0.4, filters=TIMBRAL_FILTERS)
        self.timbral_77 = TimbralBlock(n_mels=n_mels, band_fraction=0.7, filters=TIMBRAL_FILTERS)
        self.temporal_128 = TemporalBlock(length=128, filters=TEMPORAL_FILTERS)
        self.temporal_64 = TemporalBlock(length=64, filters=TEMPORAL_FILTERS)
        self.temporal_32 = TemporalBlock(length=32, filters=TEMPORAL_FILTERS)
        # mid-end
        self.midend1 = MidendConv(FRONTEND_DIM, MIDEND_FILTERS)
        self.midend2 = MidendConv(MIDEND_FILTERS, MIDEND_FILTERS)
        self.midend3 = MidendConv(MIDEND_FILTERS, MIDEND_FILTERS)
        # back-end
        self.pool_bn = _bn1d(POOLED_DIM)
        self.pool_dropout = nn.Dropout(0.5)
        self.dense = nn.Linear(POOLED_DIM, BACKEND_UNITS)
        self.dense_bn = _bn1d(BACKEND_UNITS)

    def blocks(self) -> dict[str, list[nn.Module]]:
        """The modules of each named block in BLOCKS (for freezing and fine-tuning)."""
        return {
            "frontend": [self.input_bn, self.timbral_74, self.timbral_77,
                         self.temporal_128, self.temporal_64, self.temporal_32],
            "midend1": [self.midend1],
            "midend2": [self.midend2],
            "midend3": [self.midend3],
            "backend": [self.pool_bn, self.pool_dropout, self.dense, self.dense_bn],
        }  # fmt: skip

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.input_bn(x.unsqueeze(1))  # (batch, 1, time, mel)
        front = torch.cat(
            [
                self.timbral_74(x),  # (batch, 204, time)
                self.timbral_77(x),  # (batch, 204, time)
                self.temporal_128(x),  # (batch, 51, time)
                self.temporal_64(x),  # (batch, 51, time)
                self.temporal_32(x),  # (batch, 51, time)
            ],
            dim=1,
        )  # (batch, 561, time)
        mid1 = self.midend1(front)  # (batch, 64, time)
        mid2 = self.midend2(mid1) + mid1  # (batch, 64, time) residual
        mid3 = self.midend3(mid2) + mid2  # (batch, 64, time) residual
        features = torch.cat([front, mid1, mid2, mid3], dim=1)  # (batch, 753, time)
        max_pool = features.amax(dim=2)  # (batch, 753)
        mean_pool = features.mean(dim=2)  # (batch, 753)
        # TF flattens (753, [max, mean]): max and mean interleaved per feature.
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)  # (batch, 1506)
        pooled = self.pool_bn(pooled)  # (batch, 1506)
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_dropout(pooled))))  # (batch, 200)
        return {
            "mean_pool": mean_pool,
            "max_pool": max_pool,
            "pooled": pooled,
            "penultimate": penultimate,
        }


@register("musicnn")
class Musicnn(nn.Module):
    """The musicnn tagger: backbone + dense output layer. `forward` returns tag logits."""

    def __init__(self, *, n_labels: int = 50, n_mels: int = N_MELS):
        super().__init__()
        self.backbone = MusicnnBackbone(n_mels=n_mels)
        self.dropout = nn.Dropout(0.5)
        self.classifier = nn.Linear(BACKEND_UNITS, n_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        penultimate = self.backbone(x)["penultimate"]  # (batch, 200)
        return self.classifier(self.dropout(penultimate))  # (batch, n_labels)

    def outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """taggram (sigmoid tag probabilities), logits, penultimate, mean_pool, max_pool."""
        rep = self.backbone(x)
        logits = self.classifier(self.dropout(rep["penultimate"]))  # (batch, n_labels)
        return {
            "taggram": torch.sigmoid(logits),
            "logits": logits,
            "penultimate": rep["penultimate"],  # (batch, 200)
            "mean_pool": rep["mean_pool"],  # (batch, 753)
            "max_pool": rep["max_pool"],  # (batch, 753)
        }


@register("musicnn_transfer")
class MusicnnTransfer(nn.Module):
    """A musicnn backbone (frozen, or fine-tuned from a block) with a genre head.

    With `fine_tune_from=None` the backbone never trains (no gradients, batch norm and dropout
    kept in eval mode even under `.train()`), so a pipeline may cache `embed(x)` once and train
    only `head`: `model.head(embeddings)` gives the same logits as `model(x)`.
    """

    def __init__(
        self,
        *,
        n_labels: int,
        embedding: str = "penultimate",
        fine_tune_from: str | None = None,
        head_hidden: int = 0,
        head_dropout: float = 0.5,
        n_mels: int = N_MELS,
    ):
        super().__init__()
        if embedding not in EMBEDDINGS:
            raise ValueError(f"unknown embedding {embedding!r} (choose from {', '.join(EMBEDDINGS)})")
        if fine_tune_from is not None and fine_tune_from not in BLOCKS:
            raise ValueError(
                f"unknown block {fine_tune_from!r} to fine-tune from (choose from {', '.join(BLOCKS)} or None)"
            )
        if head_hidden < 0 or not 0.0 <= head_dropout < 1.0:
            raise ValueError("head_hidden must be >= 0 and head_dropout in [0, 1)")
        self.embedding = embedding
        self.fine_tune_from = fine_tune_from
        self.embedding_dim = EMBEDDINGS[embedding]
        self.backbone = MusicnnBackbone(n_mels=n_mels)
        if head_hidden:
            self.head = nn.Sequential(
                nn.Dropout(head_dropout),
                nn.Linear(self.embedding_dim, head_hidden),  # (batch, hidden)
                nn.ReLU(),
                nn.Dropout(head_dropout),
                nn.Linear(head_hidden, n_labels),  # (batch, n_labels)
            )
        else:
            self.head = nn.Sequential(nn.Dropout(head_dropout), nn.Linear(self.embedding_dim, n_labels))
        for module in self.frozen_modules():
            module.requires_grad_(False)

    def frozen_modules(self) -> list[nn.Module]:
        """Backbone modules before `fine_tune_from` (all of them when it is None)."""
        blocks = self.backbone.blocks()
        first = len(BLOCKS) if self.fine_tune_from is None else BLOCKS.index(self.fine_tune_from)
        return [m for name in BLOCKS[:first] for m in blocks[name]]

    def train(self, mode: bool = True) -> MusicnnTransfer:
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()  # frozen batch norm keeps the pretrained statistics
        return self

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's embedding of log-mel windows (batch, frames, mel): (batch, D)."""
        return self.backbone(x)[self.embedding]  # (batch, embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))  # (batch, n_labels)

    @classmethod
    def from_pretrained(cls, pretrained: str | Path = "msd", **arch_kwargs: Any) -> MusicnnTransfer:
        """A transfer model whose backbone holds the weights of a converted musicnn tagger.

        `pretrained` is "msd", "mtt" (the shipped checkpoints) or the path of a "musicnn"
        checkpoint; the head starts from PyTorch's default initialisation.
        """
        model = cls(**arch_kwargs)
        load_pretrained_backbone(model.backbone, pretrained)
        return model


def pretrained_path(pretrained: str | Path) -> Path:
    """The file of a shipped musicnn tagger ("msd" or "mtt"), or `pretrained` as a path."""
    if isinstance(pretrained, str) and pretrained in PRETRAINED:
        from tagger.resources import resource_path

        return resource_path("models", PRETRAINED[pretrained])
    return Path(pretrained)


def load_pretrained_backbone(backbone: MusicnnBackbone, pretrained: str | Path = "msd") -> None:
    """Copy the backbone weights of a converted musicnn checkpoint into `backbone`.

    Raises ModelError when the file is missing, is not a musicnn tagger, or does not fit.
    """
    from tagger.checkpoint import read_checkpoint
    from tagger.errors import ModelError

    path = pretrained_path(pretrained)
    payload = read_checkpoint(path)
    if payload["arch"] != "musicnn":
        raise ModelError(f"{path.name} is a {payload['arch']!r} model, not a musicnn tagger")
    prefix = "backbone."
    weights = {k[len(prefix) :]: v for k, v in payload["state_dict"].items() if k.startswith(prefix)}
    try:
        backbone.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"{path.name}: backbone weights do not fit ({str(exc).splitlines()[0]})") from None
