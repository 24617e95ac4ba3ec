"""musicnn in PyTorch: the converted checkpoints against the original TensorFlow outputs
(../shared/golden/musicnn), the shipped files, and the transfer model."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from tagger import models
from tagger.audio import load_audio
from tagger.checkpoint import load_checkpoint, save_checkpoint
from tagger.errors import ModelError
from tagger.features import FeatureConfig, cut_windows, log_mel
from tagger.models.musicnn import (
    BLOCKS,
    MSD_LABELS,
    MTT_LABELS,
    Musicnn,
    MusicnnTransfer,
    conv_relu_bn_max_over_frequency,
    pretrained_path,
)

MODELS = {"MSD_musicnn": "msd", "MTT_musicnn": "mtt"}
CLIPS = ("gtzan_jazz_00000", "emotify_rock_1", "emotify_electronic_2", "emotify_classical_5")
OUTPUTS = ("taggram", "penultimate", "mean_pool", "max_pool")


@pytest.fixture(scope="module")
def taggers() -> dict[str, Musicnn]:
    return {name: load_checkpoint(pretrained_path(key)).model for name, key in MODELS.items()}


@pytest.fixture
def golden(shared_data: Path) -> Path:
    root = shared_data.parent / "golden" / "musicnn"
    if not root.is_dir():
        pytest.skip("../shared/golden/musicnn is absent")
    return root


def musicnn_patches(mel: np.ndarray, frames: int) -> np.ndarray:
    """Non-overlapping patches from frame 0, dropping the incomplete tail, as musicnn batches."""
    return cut_windows(mel, list(range(0, len(mel) - frames + 1, frames)), frames)


@cache
def mp3_patches(golden: Path, clip: str) -> np.ndarray:
    """Our features of a golden clip's mp3: decode, log-mel, musicnn's patches."""
    meta = json.loads((golden / "meta.json").read_text())
    cfg = FeatureConfig()
    audio = load_audio(golden.parents[1] / meta["clips"][clip], cfg.sample_rate)
    return musicnn_patches(log_mel(audio, cfg), cfg.window_frames)


def top_tags(taggram: np.ndarray, labels: tuple[str, ...], k: int = 5) -> list[str]:
    """musicnn's top tags: the highest tags of the taggram averaged over time."""
    return [labels[i] for i in np.argsort(-taggram.mean(axis=0), kind="stable")[:k]]


# --- against the original ---------------------------------------------------------------------

@pytest.mark.shared_data
@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_outputs_from_golden_mel_match_tensorflow(golden, taggers, model_name, clip):
    ref = np.load(golden / model_name / f"{clip}.npz")
    with torch.no_grad():
        ours = taggers[model_name].outputs(torch.from_numpy(ref["mel"]))
    for key in OUTPUTS:
        np.testing.assert_allclose(ours[key].numpy(), ref[key], rtol=1e-4, atol=1e-4, err_msg=key)


@pytest.mark.shared_data
@pytest.mark.parametrize("clip", CLIPS)
def test_feature_pipeline_from_mp3_matches_golden_mel(golden, clip):
    mel = mp3_patches(golden, clip)
    ref = np.load(golden / "MSD_musicnn" / f"{clip}.npz")["mel"]
    assert mel.shape == ref.shape
    assert np.abs(mel - ref).max() < 1e-3


@pytest.mark.shared_data
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_top5_tags_from_mp3_match_tensorflow(golden, taggers, model_name):
    meta = json.loads((golden / "meta.json").read_text())
    labels = tuple(meta["labels"][model_name])
    for clip in CLIPS:
        mel = mp3_patches(golden, clip)
        with torch.no_grad():
            taggram = taggers[model_name].outputs(torch.from_numpy(mel))["taggram"].numpy()
        ref = np.load(golden / model_name / f"{clip}.npz")["taggram"]
        assert top_tags(taggram, labels) == top_tags(ref, labels), clip


@pytest.mark.shared_data
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_shipped_labels_are_the_originals(golden, model_name):
    meta = json.loads((golden / "meta.json").read_text())
    assert load_checkpoint(pretrained_path(MODELS[model_name])).labels == tuple(meta["labels"][model_name])


# --- the shipped checkpoints ------------------------------------------------------------------

@pytest.mark.parametrize(("key", "labels"), [("msd", MSD_LABELS), ("mtt", MTT_LABELS)])
def test_shipped_checkpoint_is_a_sigmoid_tagger_with_musicnn_features(key, labels):
    loaded = load_checkpoint(pretrained_path(key))
    assert loaded.arch == "musicnn"
    assert loaded.output == "sigmoid"
    assert loaded.labels == labels
    assert loaded.features == FeatureConfig()
    assert "ISC" in loaded.trained_on["license"]
    assert pretrained_path(key).with_name("LICENSE-musicnn.txt").is_file()


def test_tagger_forward_gives_logits_whose_sigmoid_is_the_taggram(taggers):
    x = torch.randn(3, 187, 96) + 1.0
    model = taggers["MSD_musicnn"]
    with torch.no_grad():
        logits = model(x)
        outputs = model.outputs(x)
    assert logits.shape == (3, 50)
    torch.testing.assert_close(torch.sigmoid(logits), outputs["taggram"])
    assert outputs["mean_pool"].shape == outputs["max_pool"].shape == (3, 753)
    assert outputs["penultimate"].shape == (3, 200)


def test_tagger_accepts_windows_of_other_lengths():
    model = models.build("musicnn", n_labels=50).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 94, 96)).shape == (2, 50)


# --- the transfer model -----------------------------------------------------------------------

def _batch(n: int = 4) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(n, 187, 96) * 3.0


@pytest.mark.parametrize(("embedding", "dim"), [("penultimate", 200), ("pooled", 1506)])
def test_transfer_embed_has_the_embedding_size(embedding, dim):
    model = models.build("musicnn_transfer", n_labels=10, embedding=embedding).eval()
    with torch.no_grad():
        assert model.embed(_batch()).shape == (4, dim)
        assert model(_batch()).shape == (4, 10)
    assert model.embedding_dim == dim


def test_frozen_transfer_backbone_gets_no_gradient():
    model = models.build("musicnn_transfer", n_labels=5).train()
    loss = model(_batch()).square().mean()
    loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.head.parameters())


def test_frozen_backbone_keeps_its_batch_norm_statistics_in_training():
    model = models.build("musicnn_transfer", n_labels=5)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    model.train()
    model(_batch())
    after = model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_cached_embeddings_through_head_give_the_model_output():
    model = models.build("musicnn_transfer", n_labels=3, head_hidden=16).eval()
    x = _batch()
    with torch.no_grad():
        torch.testing.assert_close(model.head(model.embed(x)), model(x))


def test_fine_tuning_from_a_block_trains_that_block_and_later_ones_only():
    model = models.build("musicnn_transfer", n_labels=5, fine_tune_from="midend3").train()
    model(_batch()).square().mean().backward()
    blocks = model.backbone.blocks()
    trained = {name for name in BLOCKS
               if any(p.grad is not None for m in blocks[name] for p in m.parameters())}  # fmt: skip
    assert trained == {"midend3", "backend"}


def test_fine_tuning_whole_backbone_updates_batch_norm_statistics():
    model = models.build("musicnn_transfer", n_labels=5, fine_tune_from="frontend").train()
    before = model.backbone.input_bn.running_mean.clone()
    model(_batch())
    assert not torch.equal(before, model.backbone.input_bn.running_mean)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"embedding": "taggram2"}, "unknown embedding"), ({"fine_tune_from": "conv9"}, "unknown block")],
)
def test_transfer_rejects_unknown_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build("musicnn_transfer", n_labels=5, **kwargs)


def test_from_pretrained_copies_the_tagger_backbone(taggers):
    model = MusicnnTransfer.from_pretrained("msd", n_labels=7, embedding="pooled")
    tagger_state = taggers["MSD_musicnn"].backbone.state_dict()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, tagger_state[key]), key


def test_from_pretrained_refuses_a_checkpoint_of_another_arch(tmp_path):
    other = tmp_path / "compact.pt"
    save_checkpoint(other, model=models.build("compact_cnn", n_labels=2), arch="compact_cnn",
                    arch_kwargs={"n_labels": 2}, labels=["a", "b"], features=FeatureConfig())  # fmt: skip
    with pytest.raises(ModelError, match="not a musicnn tagger"):
        MusicnnTransfer.from_pretrained(other, n_labels=2)


def test_transfer_checkpoint_round_trips_through_load_checkpoint(tmp_path):
    kwargs = {"n_labels": 4, "embedding": "pooled", "fine_tune_from": None, "head_hidden": 32}
    model = MusicnnTransfer.from_pretrained("mtt", **kwargs).eval()
    path = tmp_path / "genre.pt"
    save_checkpoint(path, model=model, arch="musicnn_transfer", arch_kwargs=kwargs,
                    labels=["a", "b", "c", "d"], features=FeatureConfig())  # fmt: skip
    loaded = load_checkpoint(path)
    x = _batch(2)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), model(x))


def test_eval_front_end_pooling_equals_normalising_every_frequency():
    """The sign-folded max over frequency gives the very numbers of normalising every frequency."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 6, kernel_size=(3, 5))
    bn = torch.nn.BatchNorm2d(6, eps=1e-3)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.5, -0.7, 0.0, 2.0, -3.0, 0.4]))  # negative scales too
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    bn.eval()
    x = torch.randn(3, 1, 11, 17)
    with torch.no_grad():
        got = conv_relu_bn_max_over_frequency(x, conv, bn)
        expected = bn(torch.relu(conv(x))).amax(dim=3)
    assert got.shape == (3, 6, 9)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_eval_front_end_takes_the_minimum_for_a_negative_scale():
    """A filter whose batch-norm scale is negative peaks where relu(conv) is smallest."""
    conv = torch.nn.Conv2d(1, 1, kernel_size=(1, 1))
    bn = torch.nn.BatchNorm2d(1, eps=1e-3).eval()
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
        bn.weight.fill_(-1.0)
    x = torch.tensor([[[[0.5, 2.0, 1.0]]]])  # one frame, three frequencies
    with torch.no_grad():
        got = conv_relu_bn_max_over_frequency(x, conv, bn)
    torch.testing.assert_close(got, torch.tensor([[[-0.5 / (1 + 1e-3) ** 0.5]]]))
