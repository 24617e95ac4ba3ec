"""Choose the style threshold (tagger.styles.STYLE_THRESHOLD) from labelled clips.

The musicnn tagger's tags that name a genre of the clips (rock, pop, jazz, metal, blues, country,
Hip-Hop, electronic) are judged on every clip the way the app judges a track (the default
model's analysis windows, each tag's mean probability); a tag is "on" at a threshold when its
probability reaches it, and right when the clip's folder names that genre. The threshold with
the best F0.5 over all (clip, tag) pairs is chosen (precision counts twice as much as recall: a
wrong style written into a file costs the user more than a style left out), and printed with
precision, recall and F1 beside it.

    python -m training.styles FOLDER...   (folder-per-genre sets: GTZAN, Emotify, ...)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tagger.classify import classify_files, load_model
from tagger.taxonomy import genre_key
from training.datasets import is_audio

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))


def tag_table(files: Sequence[Path], model) -> tuple[list[str], np.ndarray]:
    """Each file's folder label (genre_key) and its tag probabilities (n_files, n_tags)."""
    found = {r.path: r.prediction.tag_probabilities for r in classify_files(files, model) if r.ok}
    kept = [f for f in files if f in found]
    return [genre_key(f.parent.name) for f in kept], np.stack([found[f] for f in kept])


def scores(labels: Sequence[str], tags: np.ndarray, tag_labels: Sequence[str],
           thresholds: Sequence[float] = THRESHOLDS) -> list[tuple[float, float, float, float, float]]:
    """(threshold, precision, recall, F1, F0.5) over the tags that name one of the clips' genres."""
    names = [genre_key(t) for t in tag_labels]
    columns = [i for i, n in enumerate(names) if n in set(labels)]
    truth = np.array([[label == names[i] for i in columns] for label in labels])
    rows = []
    for t in thresholds:
        on = tags[:, columns] >= t
        hits = float((on & truth).sum())
        precision = hits / max(1.0, float(on.sum()))
        recall = hits / max(1.0, float(truth.sum()))
        rows.append((t, precision, recall, _f(precision, recall, 1.0), _f(precision, recall, 0.5)))
    return rows


def _f(precision: float, recall: float, beta: float) -> float:
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall) if precision + recall else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.styles", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folder-per-genre sets of labelled clips")
    args = parser.parse_args(argv)
    files = sorted(p for folder in args.folders for p in folder.rglob("*") if is_audio(p))
    model = load_model(None, "cpu")
    if not model.tag_labels:
        print("the default model has no tags beside it", file=sys.stderr)
        return 1
    labels, tags = tag_table(files, model)
    rows = scores(labels, tags, model.tag_labels)
    used = sorted({genre_key(t) for t in model.tag_labels} & set(labels))
    print(f"{len(labels)} clips; tags that name their genres: {', '.join(used)}")
    print("threshold  precision  recall  F1      F0.5")
    for t, p, r, f1, f05 in rows:
        print(f"  {t:5.2f}     {p:6.3f}   {r:6.3f}  {f1:6.3f}  {f05:6.3f}")
    best = max(rows, key=lambda row: row[4])
    print(f"chosen: threshold {best[0]:.2f} (best F0.5 {best[4]:.3f}; precision {best[1]:.3f}, recall {best[2]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
