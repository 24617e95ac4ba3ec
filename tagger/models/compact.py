"""A small CNN for log-mel windows: quick to train on a CPU, used by tests and as a baseline."""

from __future__ import annotations

import torch
from torch import nn

from tagger.models import register


@register("compact_cnn")
class CompactCNN(nn.Module):
    """Four conv blocks, global pooling over time and frequency, one linear layer."""

    def __init__(self, *, n_labels: int, n_mels: int = 96, width: int = 16, dropout: float = 0.2):
        super().__init__()
        blocks = []
        channels = 1
        for i in range(4):
            out = width * 2**i
            blocks += [
                nn.Conv2d(channels, out, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            channels = out
        self.features = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels, n_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(1)  # (batch, 1, time, mel)
        x = self.features(x)  # (batch, C, time/16, mel/16)
        x = x.mean(dim=(2, 3))  # (batch, C)
        return self.classifier(self.dropout(x))  # (batch, n_labels)
