"""The study's torchvision networks and the short-chunk ResNet on one-channel log-mel windows."""

from __future__ import annotations

import pytest
import torch

from tagger import models
from tagger.checkpoint import load_checkpoint, save_checkpoint
from tagger.features import FeatureConfig

VISION = ("resnet18", "alexnet", "vgg11_bn", "squeezenet1_1", "densenet121", "inception_v3")


def test_every_architecture_of_the_study_is_registered():
    assert set(VISION) | {"short_chunk_resnet"} <= set(models.available())


@pytest.mark.parametrize("arch", VISION + ("short_chunk_resnet",))
def test_architecture_maps_one_channel_log_mel_windows_to_logits(arch):
    torch.manual_seed(0)
    model = models.build(arch, n_labels=7).eval()
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        out = model(torch.randn(2, 187, 96))  # (batch, frames, mel)
    assert first.in_channels == 1
    assert out.shape == (2, 7) and torch.isfinite(out).all()


def test_inception_accepts_windows_smaller_than_its_minimum_input():
    model = models.build("inception_v3", n_labels=4).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 40, 32)).shape == (1, 4)


def test_short_chunk_resnet_trains_and_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = models.build("short_chunk_resnet", n_labels=2, width=8)
    x, y = torch.randn(4, 187, 96), torch.tensor([0, 1, 0, 1])
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    save_checkpoint(tmp_path / "m.pt", model=model, arch="short_chunk_resnet",
                    arch_kwargs={"n_labels": 2, "width": 8}, labels=("a", "b"), features=FeatureConfig())
    loaded = load_checkpoint(tmp_path / "m.pt")
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), model(x), atol=1e-5)
