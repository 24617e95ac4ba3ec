"""training.head_search: heads on stored window features, on crossval's folds (generated data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.datasets import Example
from training.head_search import run


def _store(seed: int = 0) -> dict:
    """Two datasets, three labels, 10 clips each; every label's features sit around its own point."""
    rng = np.random.default_rng(seed)
    examples, emb = [], {}
    for d, labels in (("a", ("X", "Y", "Z")), ("b", ("X", "Y"))):
        for lab in labels:
            for i in range(10):
                path = Path(f"/data/{d}/{lab}/{i}.wav")
                examples.append(Example(path, lab, f"{d}/{lab}/{i}", d))
                centre = np.zeros(2509, dtype=np.float32)
                centre["XYZ".index(lab) * 50 : "XYZ".index(lab) * 50 + 50] = 3.0
                emb[str(path)] = tuple(centre + rng.normal(size=(n, 2509)).astype(np.float32) for n in (2, 5))
    return {"examples": examples, "labels": ("X", "Y", "Z"), "emb": emb}


@pytest.mark.parametrize(("train_on", "head", "standardize"),
                         [("eval", "recipe", False), ("grid", "recipe", True), ("both", "logistic", False)])
def test_separable_features_are_learned_on_every_fold(train_on, head, standardize):
    summary = run({"msd": _store()}, [("msd", "pooled"), ("msd", "tags")], train_on=train_on, head=head,
                  folds=2, standardize=standardize)
    assert summary["accuracy"] > 0.9 and set(summary["per_dataset"]) == {"a", "b"}
    assert 0.0 <= summary["ece"] <= 1.0


def test_an_ensemble_averages_calibrated_probabilities_of_several_heads():
    summary = run({"msd": _store(2)}, [("msd", "pooled")], folds=2, ensemble=3)
    assert summary["accuracy"] > 0.9
    assert 0.0 <= summary["ece"] <= 1.0
