"""A small CNN that imitates a musicnn transfer model: the fast model of "Speed: fast".

It is trained (training/distill.py) to reproduce the teacher's pooled embedding, the max and the
mean over time of per-frame features, batch-normalised, and carries the teacher's own genre head
on top of it, so its logits mean what the teacher's mean:

    input (batch, 187, 96) log-mel  ->  batch norm
    2-D convolutions: 3 x 3, stride 2 (w)  ->  3 x 3 (2w), max-pool frequency by 2
                      ->  depthwise-separable 3 x 3 (4w), max-pool frequency by 2
                      ->  depthwise-separable 3 x 3 (8w)           (batch, 8w, 94, 12)
    max and mean over frequency (16w per frame) -> 1-D convolution over time (`mid`)
    -> per-frame features (embedding_dim / 2) -> max and mean over time, interleaved as
    musicnn's, times a learned scale plus shift -> embedding_dim -> linear head -> logits

With the defaults (width 16, mid 128) one 3 s window costs 61 M multiply-adds, 23 times fewer
than the musicnn teacher's 1,399 M.
"""

from __future__ import annotations

import torch
from torch import nn

from tagger.models import register


def _conv_bn_relu(*layers: nn.Module, channels: int) -> list[nn.Module]:
    return [*layers, nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]


def _separable(channels: int, out: int) -> list[nn.Module]:
    return _conv_bn_relu(nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                         nn.Conv2d(channels, out, 1, bias=False), channels=out)


@register("pooled_student")
class PooledStudent(nn.Module):
    def __init__(self, *, n_labels: int, n_mels: int = 96, width: int = 16, mid: int = 128,
                 time_kernel: int = 5, embedding_dim: int = 1506):
        super().__init__()
        if embedding_dim % 2:
            raise ValueError("embedding_dim must be even: max and mean of the per-frame features")
        self.input_bn = nn.BatchNorm2d(1)
        self.body = nn.Sequential(
            *_conv_bn_relu(nn.Conv2d(1, width, 3, stride=2, padding=1, bias=False), channels=width),
            *_conv_bn_relu(nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), channels=2 * width),
            nn.MaxPool2d((1, 2)),
            *_separable(2 * width, 4 * width),
            nn.MaxPool2d((1, 2)),
            *_separable(4 * width, 8 * width),
        )
        self.temporal = nn.Sequential(
            nn.Conv1d(16 * width, mid, time_kernel, padding=time_kernel // 2, bias=False),
            nn.BatchNorm1d(mid),
            nn.ReLU(inplace=True),
        )
        self.frame_features = nn.Conv1d(mid, embedding_dim // 2, 1)
        self.scale = nn.Parameter(torch.ones(embedding_dim))
        self.shift = nn.Parameter(torch.zeros(embedding_dim))
        self.head = nn.Linear(embedding_dim, n_labels)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The imitated pooled embedding of log-mel windows (batch, frames, mel): (batch, D)."""
        x = self.body(self.input_bn(x.unsqueeze(1)))  # (batch, 8w, time/2, mel/8)
        x = torch.cat([x.amax(dim=3), x.mean(dim=3)], dim=1)  # (batch, 16w, time/2)
        frames = self.frame_features(self.temporal(x))  # (batch, D/2, time/2)
        pooled = torch.stack([frames.amax(dim=2), frames.mean(dim=2)], dim=2).flatten(1)  # (batch, D)
        return pooled * self.scale + self.shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))  # (batch, n_labels)
