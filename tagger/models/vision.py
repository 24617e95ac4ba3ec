"""The six torchvision networks of the original study, for one-channel log-mel windows.

The study fed spectrogram images to ResNet18, AlexNet, VGG-11-BN, SqueezeNet 1.1, DenseNet-121
and Inception v3. Here each takes (batch, frames, n_mels) log-mel windows: the first convolution
takes one channel instead of three, the last layer outputs `n_labels` logits, and nothing is
pretrained (weights=None; no download). Inception v3 needs at least 75 x 75 pixels, so smaller
inputs are resized inside the wrapper; its auxiliary classifier is off.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
import torchvision.models as tv
from torch import nn

from tagger.models import register

INCEPTION_MIN = 75  # inception_v3's smallest input side


def _one_channel(conv: nn.Conv2d) -> nn.Conv2d:
    """A copy of `conv` that takes one input channel (same kernel, stride, padding)."""
    return nn.Conv2d(
        1, conv.out_channels, kernel_size=conv.kernel_size, stride=conv.stride,
        padding=conv.padding, dilation=conv.dilation, groups=1, bias=conv.bias is not None,
    )


class VisionNet(nn.Module):
    """A torchvision classifier behind a log-mel front: (batch, frames, mel) -> (batch, n_labels)."""

    def __init__(self, net: nn.Module, *, min_size: int = 0):
        super().__init__()
        # Input scaling learned from the data: log-mel values are not ImageNet-normalised pixels.
        self.input_norm = nn.BatchNorm2d(1)
        self.net = net
        self.min_size = min_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_norm(x.unsqueeze(1))  # (batch, 1, frames, mel)
        if self.min_size and min(x.shape[-2:]) < self.min_size:
            size = (max(x.shape[-2], self.min_size), max(x.shape[-1], self.min_size))
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)  # (batch, 1, >=75, >=75)
        return self.net(x)  # (batch, n_labels)


def _resnet18(n_labels: int) -> nn.Module:
    net = tv.resnet18(weights=None, num_classes=n_labels)
    net.conv1 = _one_channel(net.conv1)
    return net


def _alexnet(n_labels: int) -> nn.Module:
    net = tv.alexnet(weights=None, num_classes=n_labels)
    net.features[0] = _one_channel(net.features[0])
    return net


def _vgg11_bn(n_labels: int) -> nn.Module:
    net = tv.vgg11_bn(weights=None, num_classes=n_labels)
    net.features[0] = _one_channel(net.features[0])
    return net


def _squeezenet1_1(n_labels: int) -> nn.Module:
    net = tv.squeezenet1_1(weights=None, num_classes=n_labels)
    net.features[0] = _one_channel(net.features[0])
    return net


def _densenet121(n_labels: int) -> nn.Module:
    net = tv.densenet121(weights=None, num_classes=n_labels)
    net.features.conv0 = _one_channel(net.features.conv0)
    return net


def _inception_v3(n_labels: int) -> nn.Module:
    net = tv.inception_v3(weights=None, num_classes=n_labels, aux_logits=False, init_weights=True,
                          transform_input=False)
    net.Conv2d_1a_3x3.conv = _one_channel(net.Conv2d_1a_3x3.conv)
    return net


BUILDERS: dict[str, tuple[Callable[[int], nn.Module], int]] = {
    "resnet18": (_resnet18, 0),
    "alexnet": (_alexnet, 0),
    "vgg11_bn": (_vgg11_bn, 0),
    "squeezenet1_1": (_squeezenet1_1, 0),
    "densenet121": (_densenet121, 0),
    "inception_v3": (_inception_v3, INCEPTION_MIN),
}


def _registered(name: str) -> None:
    builder, min_size = BUILDERS[name]

    def construct(*, n_labels: int, n_mels: int = 96) -> VisionNet:  # n_mels kept for a uniform signature
        return VisionNet(builder(n_labels), min_size=min_size)

    construct.__name__ = name
    construct.__doc__ = f"torchvision {name} for one-channel log-mel input."
    register(name)(construct)


for _name in BUILDERS:
    _registered(_name)
