"""How a track's confidence comes from its windows: the one definition that inference
(tagger.classify), training and calibration (training.train), cross-validation
(training.crossval), evaluation (training.evaluate) and distillation (training.distill) share.

A window's probabilities are the model's calibrated output for it (softmax(logits / T) for a
genre model). A track's probabilities are the mean of its windows' probabilities, not the
softmax of their mean logits; its genre is their argmax and its confidence their max
(tagger.track.Prediction.confidence).

    track_probabilities(window_probabilities)          # (n_windows, n_labels) -> (n_labels,)
    tracks_probabilities(stacked, sizes)               # (sum(sizes), n_labels) -> (n_tracks, n_labels)
    confidence(track_probabilities)                    # -> float

Each takes numpy arrays or torch tensors and returns the same kind; torch is never imported
here (a tensor's own module is used, so the core stays torch-free).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np


def track_probabilities(window_probabilities: Any) -> Any:
    """A track's probabilities (n_labels,): the mean of its windows' (n_windows, n_labels)."""
    return window_probabilities.mean(0)


def confidence(track_probabilities: Any) -> float:
    """A track's confidence: the probability of its top genre."""
    return float(track_probabilities.max())


def tracks_probabilities(window_probabilities: Any, sizes: Sequence[int]) -> Any:
    """Several tracks at once: rows (sum(sizes), n_labels), the windows of track i being the
    sizes[i] rows after those of the tracks before it, give (n_tracks, n_labels), each row the
    mean of its track's windows (track_probabilities of each, in one vectorised pass)."""
    sizes = [int(s) for s in sizes]
    n, total = len(sizes), sum(sizes)
    if len(window_probabilities) != total:
        raise ValueError(f"{len(window_probabilities)} window rows for sizes summing to {total}")
    if min(sizes, default=1) < 1:
        raise ValueError("every track needs at least one window")
    labels = window_probabilities.shape[-1]
    if n and all(s == sizes[0] for s in sizes):  # the usual case: every track has as many windows
        return window_probabilities.reshape(n, sizes[0], labels).mean(1)
    if isinstance(window_probabilities, np.ndarray):
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        sums = np.add.reduceat(window_probabilities, starts, axis=0)
        return (sums / np.asarray(sizes, dtype=sums.dtype)[:, None]).astype(window_probabilities.dtype, copy=False)
    torch = _torch_of(window_probabilities)
    counts = torch.as_tensor(sizes, device=window_probabilities.device)
    track_of_row = torch.repeat_interleave(torch.arange(n, device=window_probabilities.device), counts)
    sums = window_probabilities.new_zeros((n, labels)).index_add_(0, track_of_row, window_probabilities)
    return sums / counts.to(sums.dtype)[:, None]


def _torch_of(tensor: Any):
    """The torch module a tensor comes from (already imported, since the tensor exists)."""
    module = sys.modules.get(type(tensor).__module__.split(".")[0])
    if module is None or not hasattr(module, "index_add"):
        raise TypeError(f"expected a numpy array or a torch tensor, got {type(tensor).__name__}")
    return module
