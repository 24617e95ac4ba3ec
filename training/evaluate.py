"""Evaluate a genre model on labelled clips: clip-level accuracy from aggregated windows,
per-class precision/recall/F1, the confusion matrix, a JSON summary and two PNGs (confusion
matrix; training curves from the checkpoint's history, as the original study showed them).

Summary keys: accuracy, macro_f1, per_class {label: {precision, recall, f1, support}},
confusion (rows = true label, columns = predicted, in `labels` order), labels, clips,
skipped (clips whose label the model does not know or whose audio failed), model, dataset, part.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tagger.checkpoint import LoadedModel
from training.cache import FeatureCache
from training.datasets import Example
from training.train import clip_probabilities, eval_windows, window_logits_for


def metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix of clip predictions."""
    n = len(labels)
    confusion = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        confusion[t, p] += 1
    per_class = {}
    for i, label in enumerate(labels):
        tp = int(confusion[i, i])
        predicted = int(confusion[:, i].sum())
        support = int(confusion[i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    total = int(confusion.sum())
    present = [c for c in per_class.values() if c["support"] > 0]
    return {
        "accuracy": float(np.trace(confusion) / total) if total else 0.0,
        "macro_f1": float(np.mean([c["f1"] for c in present])) if present else 0.0,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "labels": list(labels),
        "clips": total,
    }


def predict_examples(model: LoadedModel, examples: Sequence[Example], cache: FeatureCache,
                     max_windows: int = 8) -> np.ndarray:
    """Calibrated clip probabilities (n_clips, n_labels): each clip's windows made into its
    probabilities by tagger.windows' definition, as classify makes a track's (clip_probabilities)."""
    frames = model.features.window_frames
    windows = [eval_windows(cache.load(e.path), frames, max_windows) for e in examples]
    logits = window_logits_for(model.model, windows, model.device)
    if not logits:
        return np.zeros((0, len(model.labels)), dtype=np.float32)
    return clip_probabilities(logits, model.temperature).numpy()


def evaluate(model: LoadedModel, examples: Sequence[Example], *, cache_root: Path | None = None,
             max_windows: int = 8, workers: int = 2,
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Clip-level metrics of `model` on `examples` (labels matched by name)."""
    index = {lab: i for i, lab in enumerate(model.labels)}
    skipped = [(str(e.path), f"label {e.label!r} is not one of the model's") for e in examples
               if e.label not in index]
    known = [e for e in examples if e.label in index]
    cache = FeatureCache(model.features, root=cache_root)
    report = cache.build([e.path for e in known], workers=workers, progress=progress)
    skipped += [(str(p), r) for p, r in report.failed.items()]
    known = [e for e in known if e.path not in report.failed]
    probs = predict_examples(model, known, cache, max_windows)
    y_true = [index[e.label] for e in known]
    y_pred = probs.argmax(axis=1).tolist() if len(known) else []
    summary = metrics(y_true, y_pred, model.labels)
    summary["skipped"] = skipped
    summary["mean_confidence"] = float(probs.max(axis=1).mean()) if len(known) else 0.0
    return summary


def write_reports(summary: dict[str, Any], report_dir: Path, history: Sequence[dict[str, float]] = (),
                  title: str = "") -> list[Path]:
    """summary.json, confusion_matrix.png and (when there is a history) training_curves.png."""
    report_dir.mkdir(parents=True, exist_ok=True)
    written = [report_dir / "summary.json"]
    written[0].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    written.append(plot_confusion(summary, report_dir / "confusion_matrix.png", title))
    if history:
        written.append(plot_curves(history, report_dir / "training_curves.png", title))
    return written


def plot_confusion(summary: dict[str, Any], path: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = summary["labels"]
    confusion = np.array(summary["confusion"])
    rows = confusion.sum(axis=1, keepdims=True)
    share = np.divide(confusion, rows, out=np.zeros_like(confusion, dtype=float), where=rows > 0)
    size = 2 + 0.55 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if confusion[i, j]:
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center",
                        color="white" if share[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title} accuracy {summary['accuracy']:.3f} ({summary['clips']} clips)".strip())
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_curves(history: Sequence[dict[str, float]], path: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [h["train_loss"] for h in history], label="training loss")
    left.plot(epochs, [h["val_loss"] for h in history], label="validation loss")
    left.set_xlabel("epoch")
    left.legend()
    right.plot(epochs, [h["val_accuracy"] for h in history], label="validation accuracy", color="C2")
    right.set_xlabel("epoch")
    right.set_ylim(0, 1)
    right.legend()
    fig.suptitle(title or "training curves")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
