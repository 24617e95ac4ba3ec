"""Short-chunk ResNet (Won, Ferraro, Bogdanov & Serra 2020, "Evaluation of CNN-based automatic
music tagging models"), sized for a CPU.

The paper's network: a 2-D ResNet of seven residual blocks, each halving time and frequency
(stride 2), over a ~3.7 s log-mel chunk; a max over the remaining time steps; then two dense
layers. Here it reads genrenet's (frames, n_mels) window and the default width is 32 channels
(the paper used 128), which trains on two CPU cores in minutes.
"""

from __future__ import annotations

import torch
from torch import nn

from tagger.models import register


class ResBlock(nn.Module):
    """Two 3x3 convolutions, the first with stride 2, plus a projected shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
                                          nn.BatchNorm2d(c_out))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # (batch, c_out, ceil(T/2), ceil(F/2))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


@register("short_chunk_resnet")
class ShortChunkResNet(nn.Module):
    """Seven stride-2 residual blocks, max over time, two dense layers."""

    def __init__(self, *, n_labels: int, n_mels: int = 96, width: int = 32, n_blocks: int = 7,
                 dropout: float = 0.5):
        super().__init__()
        if n_blocks < 1:
            raise ValueError("n_blocks must be at least 1")
        self.spec_bn = nn.BatchNorm2d(1)
        channels = [width, width] + [2 * width] * (n_blocks - 2)
        blocks = []
        c_in = 1
        for c_out in channels[:n_blocks]:
            blocks.append(ResBlock(c_in, c_out))
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.dense1 = nn.Linear(c_in, c_in)
        self.bn = nn.BatchNorm1d(c_in)
        self.dropout = nn.Dropout(dropout)
        self.dense2 = nn.Linear(c_in, n_labels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.spec_bn(x.unsqueeze(1))  # (batch, 1, frames, mel)
        x = self.blocks(x)  # (batch, C, frames/2^7, mel/2^7) -> (batch, C, 2, 1) for 187 x 96
        x = x.amax(dim=3)  # (batch, C, t): max over what is left of frequency
        x = x.amax(dim=2)  # (batch, C): max over time
        x = self.dropout(self.relu(self.bn(self.dense1(x))))  # (batch, C)
        return self.dense2(x)  # (batch, n_labels)
