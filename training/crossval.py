"""Grouped k-fold cross-validation: every clip is tested once, by a model that never saw it.

Folds are made by group (clip), stratified by label and source dataset, from a seed, so two
architectures run with the same seed see the same folds. In each fold the other folds are split
again (85/15, by group) into training and validation (early stopping, calibration); the held-out
fold is only predicted. Accuracy is reported overall and per source dataset.

    python -m training.crossval --dataset gtzan ../shared/data/gtzan-mini \
        --also folder:../shared/data/emotify --labels default --arch musicnn_transfer --folds 5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tagger.checkpoint import load_checkpoint
from tagger.device import resolve_device
from training import events
from training.cache import FeatureCache
from training.datasets import Example
from training.evaluate import metrics, predict_examples
from training.splitting import Split, group_folds, stratified_groups
from training.train import (
    TrainConfig,
    WindowLogits,
    build_model,
    clip_probabilities,
    embedding_cache_for,
    fit,
    is_frozen_transfer,
    load_sources,
    train_hop_frames,
)


def expected_calibration_error(confidences, correct, bins: int = 10) -> float:
    """ECE: the clip-weighted gap between confidence and accuracy over equal-width confidence bins."""
    conf = np.asarray(confidences, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    if not len(conf):
        return 0.0
    which = np.minimum((conf * bins).astype(int), bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return float(gap)


def inner_split(rest: list[Example], seed: int) -> tuple[list[Example], list[Example]]:
    """A fold's training and validation clips (85/15 by group, stratified by label). When that
    leaves validation empty (every label of `rest` on a single group, e.g. a library of one
    album per genre once a fold holds one out), the single-group labels are split clip by clip,
    as learn's final run splits them (learn.validation_split): validation only stops training
    and fits the temperature, and the held-out fold stays whole groups either way."""
    train, valid = stratified_groups(rest, (0.85, 0.15), seed)
    if valid:
        return train, valid
    groups: dict[str, set[str]] = defaultdict(set)
    for e in rest:
        groups[e.label].add(e.group)
    by_path = {e.path: e for e in rest}
    regrouped = [e if len(groups[e.label]) > 1 else replace(e, group=str(e.path)) for e in rest]
    train, valid = stratified_groups(regrouped, (0.85, 0.15), seed)
    return [by_path[e.path] for e in train], [by_path[e.path] for e in valid]


def cross_validate(config: TrainConfig, folds: int = 5, progress=None, dataset=None,
                   embeddings: dict[Path, np.ndarray] | None = None) -> dict[str, Any]:
    """Grouped k-fold accuracy of config's recipe on `dataset` (default: config's sources).
    The summary's "oof" maps each example's path to its out-of-fold predicted label index.
    A frozen backbone's embeddings are read once for every fold; pass a dict as `embeddings`
    to get them back (path -> (n_windows, D)) for a later run on the same clips."""
    dataset = dataset if dataset is not None else load_sources(config)
    labels = dataset.labels
    index = {lab: i for i, lab in enumerate(labels)}
    parts = group_folds(dataset.examples, folds, config.seed)
    device = resolve_device(config.device)
    frozen_cache = None
    train_embeddings = None  # with config.train_hop: every clip's grid-window embeddings
    probe, _ = build_model(config, len(labels))
    if is_frozen_transfer(probe):
        # Run the frozen backbone once per clip up front: every fold reuses the embeddings.
        cache = FeatureCache(config.features, root=config.cache_dir)
        report = cache.build([e.path for e in dataset.examples], workers=config.workers)
        dataset = dataset.without(report.failed, "failed to decode")
        frozen_cache = embedding_cache_for(config, probe.to(device), device)
        embeddings = {} if embeddings is None else embeddings
        arrays = frozen_cache.get(dataset.examples, config.eval_windows, progress)
        embeddings.update((e.path, a) for e, a in zip(dataset.examples, arrays, strict=True))
        hop = train_hop_frames(config)
        if hop is not None:  # every clip trains in some fold: its grid windows, read once too
            grid = frozen_cache.get(dataset.examples, 0, progress, hop=hop)
            train_embeddings = {e.path: a for e, a in zip(dataset.examples, grid, strict=True)}
        parts = group_folds(dataset.examples, folds, config.seed)
    else:
        embeddings = None
    y_true: list[int] = []
    y_pred: list[int] = []
    sources: list[str] = []
    fold_rows = []
    oof: dict[str, int] = {}
    confidences: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(folds):
            t0 = time.monotonic()
            test = parts[k]
            rest = [e for j, p in enumerate(parts) if j != k for e in p]
            train_part, valid_part = inner_split(rest, config.seed + k)
            split = Split(f"fold{k + 1}", train_part, valid_part, test)
            # A frozen backbone's fold keeps its best head in memory (result.model): no checkpoint.
            out = None if frozen_cache is not None else Path(tmp) / f"fold{k + 1}.pt"
            fold_config = replace(config, out=out, resume=False, save_state=False)
            result = fit(fold_config, labels, split, progress=progress, device=device, embeddings=embeddings,
                         train_embeddings=train_embeddings)
            if result.checkpoint is None and result.model is None:
                raise RuntimeError(f"fold {k + 1} produced no checkpoint ({result.stopped})")
            failed = {Path(p) for p, _ in result.skipped}
            test = [e for e in test if e.path not in failed]
            if frozen_cache is not None:
                head = result.model.head
                with torch.no_grad():  # every test window through the head at once
                    head.eval()
                    windows = [embeddings[e.path] for e in test]
                    logits = WindowLogits(head(torch.from_numpy(np.concatenate(windows)).to(device)).float().cpu(),
                                          [len(w) for w in windows]) if windows else []
                probs = clip_probabilities(logits, result.temperature).numpy().reshape(len(test), len(labels))
            else:
                model = load_checkpoint(result.checkpoint, device)
                probs = predict_examples(model, test, FeatureCache(config.features, root=config.cache_dir),
                                         config.eval_windows)
            pred = probs.argmax(axis=1).tolist()
            confidences += probs.max(axis=1).tolist() if len(test) else []
            truth = [index[e.label] for e in test]
            oof.update({str(e.path): p for e, p in zip(test, pred, strict=True)})
            y_true += truth
            y_pred += pred
            sources += [e.dataset for e in test]
            acc = float(np.mean(np.array(pred) == np.array(truth))) if truth else 0.0
            fold_rows.append({"fold": k + 1, "test_clips": len(test), "accuracy": acc,
                              "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
                              "temperature": result.temperature, "seconds": time.monotonic() - t0,
                              "mean_confidence": float(probs.max(axis=1).mean()) if len(test) else 0.0})
            fold = events.Fold(**fold_rows[-1])
            if progress is not None:
                progress(fold.to_dict())
            else:
                print(events.serialize(fold), file=sys.stderr, flush=True)
    summary = metrics(y_true, y_pred, labels)
    per_dataset = defaultdict(lambda: [0, 0])
    for t, p, s in zip(y_true, y_pred, sources, strict=True):
        per_dataset[s][0] += int(t == p)
        per_dataset[s][1] += 1
    summary["per_dataset"] = {s: {"accuracy": c / n, "clips": n} for s, (c, n) in sorted(per_dataset.items())}
    summary["folds"] = fold_rows
    summary["oof"] = oof
    summary["ece"] = expected_calibration_error(confidences, [t == p for t, p in zip(y_true, y_pred, strict=True)])
    summary["fold_accuracy_mean"] = float(np.mean([f["accuracy"] for f in fold_rows]))
    summary["fold_accuracy_std"] = float(np.std([f["accuracy"] for f in fold_rows]))
    summary["train_seconds_total"] = float(sum(f["seconds"] for f in fold_rows))
    summary["arch"] = config.arch
    summary["arch_kwargs"] = config.arch_kwargs
    return summary


def main(argv: list[str] | None = None) -> int:
    from training import cli

    parser = argparse.ArgumentParser(prog="python -m training.crossval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    train_parser = cli.add_train_parser(sub)
    train_parser.add_argument("--folds", type=int, default=5)
    train_parser.add_argument("--report", type=Path, help="write the JSON summary here")
    args = parser.parse_args(["train", *(argv if argv is not None else sys.argv[1:])])
    config = cli.train_config(args)
    summary = cross_validate(config, args.folds)
    text = json.dumps(summary, indent=2)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text + "\n", encoding="utf-8")
    short = {k: summary[k] for k in ("arch", "accuracy", "macro_f1", "per_dataset", "fold_accuracy_mean",
                                      "fold_accuracy_std", "train_seconds_total")}
    print(json.dumps(short, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
