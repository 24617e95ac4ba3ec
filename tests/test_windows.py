"""tagger.windows: the one definition of how window probabilities make a track's probabilities
and confidence, and inference (classify) and training (clip_probabilities) agreeing through it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tagger.windows import confidence, track_probabilities, tracks_probabilities


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_a_tracks_probabilities_are_the_mean_of_its_windows_probabilities_not_of_their_logits():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]], dtype=np.float32)
    assert np.allclose(track_probabilities(probs), [0.6, 0.4])
    assert torch.allclose(track_probabilities(torch.from_numpy(probs)), torch.tensor([0.6, 0.4]))
    assert confidence(track_probabilities(probs)) == pytest.approx(0.6)
    logits = np.log(probs)
    assert not np.allclose(softmax(logits.mean(axis=0)), track_probabilities(probs))


@pytest.mark.parametrize("sizes", [[8, 8, 8], [8, 3, 1, 8, 5], [1]])
def test_stacked_tracks_give_each_tracks_own_mean_in_numpy_and_torch(sizes):
    rng = np.random.default_rng(0)
    rows = softmax(rng.normal(size=(sum(sizes), 5))).astype(np.float32)
    ends = np.cumsum(sizes)
    one_by_one = np.stack([track_probabilities(rows[e - s : e]) for s, e in zip(sizes, ends, strict=True)])
    assert np.allclose(tracks_probabilities(rows, sizes), one_by_one, atol=1e-6)
    assert tracks_probabilities(rows, sizes).dtype == np.float32
    stacked = tracks_probabilities(torch.from_numpy(rows), sizes)
    assert isinstance(stacked, torch.Tensor) and torch.allclose(stacked, torch.from_numpy(one_by_one), atol=1e-6)


def test_stacked_rows_must_match_the_sizes():
    with pytest.raises(ValueError):
        tracks_probabilities(np.zeros((5, 2)), [2, 2])
    with pytest.raises(ValueError):
        tracks_probabilities(np.zeros((2, 2)), [2, 0])


def test_training_calibration_and_inference_agree_on_the_same_window_logits():
    """Training's clip_probabilities (validation, calibration, cross-validation, evaluation) and
    classify's Prediction (what the app shows) give the same track probabilities and confidence
    for the same window logits at the same temperature."""
    from pathlib import Path

    from tagger.classify import _Batcher, _Decoded
    from tagger.features import TrackWindows
    from training.train import WindowLogits, clip_probabilities, fit_temperature

    rng = np.random.default_rng(1)
    sizes, labels, temperature = [8, 3, 8, 1], ("A", "B", "C"), 0.7
    logits = [torch.from_numpy(rng.normal(size=(n, len(labels))).astype(np.float32) * 3) for n in sizes]
    table = torch.cat(logits)  # window id -> its logits

    class Model:  # judges a "window" whose only value is its id by the table's logits
        tag_labels = ()

        def __init__(self):
            self.labels = labels

    batcher = _Batcher(Model(), "test")
    first = 0
    for i, n in enumerate(sizes):
        ids = np.arange(first, first + n, dtype=np.float32).reshape(n, 1, 1)
        batcher.add(_Decoded(Path(f"/m/{i}.mp3"), TrackWindows(ids, tuple(range(n)), float(n))))
        first += n
    predictions = []
    while batcher.pending:
        batch = batcher.take(5)  # batches that straddle tracks, as classify's do
        window_probs = torch.softmax(table[batch.windows[:, 0, 0].astype(int)] / temperature, dim=-1).numpy()
        predictions += [r.prediction for r in batcher.complete(batch, (window_probs, None))]

    trained = clip_probabilities(logits, temperature)
    assert np.allclose(np.stack([p.probabilities for p in predictions]), trained.numpy(), atol=1e-6)
    assert [p.confidence for p in predictions] == pytest.approx(trained.max(dim=1).values.tolist(), abs=1e-6)
    stacked = WindowLogits.of(logits)
    assert torch.allclose(clip_probabilities(stacked, temperature), trained)
    targets = np.array([0, 1, 2, 0])
    assert fit_temperature(stacked, targets) == pytest.approx(fit_temperature(logits, targets))
