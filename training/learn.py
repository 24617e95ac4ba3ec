"""Learn from the library: a genre head on the frozen musicnn backbone, trained on the genres the
user's own files carry (or their review decisions), in the user's own vocabulary.

    learn(roots, out, min_tracks=5) -> LearnReport

Labels. Each track's label is its first genre that is a genre (not "80s" or "female vocalists"),
in the genre tree's spelling (tagger.taxonomy), so "hip hop" and "Hip-Hop" are one label; an
accepted, edited or written review decision wins over the file's tag. A genre with fewer than
`min_tracks` tracks joins its nearest parent in the tree ("Bebop" -> Jazz) when the parent
then has enough; what still has too few tracks is left out, and said so.

Honesty. The estimate is grouped k-fold cross-validation (training/crossval.py) with the album
folder as the group, so no track is judged by a model that heard another track of its album.
The default model is scored on the same tracks, its predicted genre mapped onto the learned
labels (a label it cannot name counts as wrong). Embeddings are cached per file (training's
EmbeddingCache, in the user cache folder), so a second `learn` on the same files reads them
once (cross-validation hands them to every fold and to the final run) and trains heads only.
Measured with bench/bench_learn.py on two CPU cores: on an Intel machine, 6-9 s for its 196
tagged tracks (16-114 s before the heads' training was vectorised) and 51 s for 10,000
(`--scale 10000`; more than 600 s before); on an AMD EPYC with AVX-512, 1 s and 19.6-20.4 s,
about 3 ms an optimiser step (5 folds and the final run, 960 steps each). The first learn on the
196 tracks, which runs the backbone on each, took 52 s there, 36 s with two windows a backbone
pass (EMBED_BATCH) instead of a clip's eight.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tagger.review import DECIDED
from tagger.track import DecisionStatus, Track
from training import events
from training.datasets import Dataset, DatasetError, Example
from training.splitting import Split, stratified_groups

Progress = Callable[[dict[str, Any]], None]
LEARN_ARCH_KWARGS = {"embedding": "pooled"}  # the shipped default model's head (its card compares embeddings)
FOLDS = 5


@dataclass
class LearnReport:
    checkpoint: Path | None
    labels: tuple[str, ...]
    counts: dict[str, int]
    skipped: Counter = field(default_factory=Counter)  # reason -> tracks
    cv_accuracy: float | None = None
    default_accuracy: float | None = None  # the default model on the same tracks, mapped to these labels
    folds: int = 0
    seconds: float = 0.0
    cv: dict[str, Any] = field(default_factory=dict)


def library_dataset(tracks: Iterable[Track], decisions: dict[Path, Any], taxonomy, min_tracks: int) -> Dataset:
    """The labelled examples `learn` trains on (see the module docstring), skipped ones counted."""
    tree = taxonomy.tree
    skipped: list[tuple[Path, str]] = []
    chosen: dict[Path, str] = {}
    for track in tracks:
        record = decisions.get(track.path)  # a rejection turns down a suggestion, not the file's own tag
        decided = record is not None and record.status in (*DECIDED, DecisionStatus.WRITTEN)
        genres = record.genres if decided else track.genres
        if track.error:
            skipped.append((track.path, "unreadable"))
            continue
        names = [tree.canonical(g) for g in genres if g.strip() and tree.is_genre(g)]
        if not names:
            skipped.append((track.path, "no genre"))
            continue
        chosen[track.path] = names[0]
    labels = _rolled_up(chosen, tree, min_tracks)
    examples = []
    for path, genre in chosen.items():
        label = labels.get(genre)
        if label is None:
            skipped.append((path, f"fewer than {min_tracks} tracks of its genre"))
        else:
            examples.append(Example(path, label, group=str(path.parent), dataset="library"))
    present = tuple(sorted({e.label for e in examples}, key=str.casefold))
    return Dataset("library", Path("."), present, examples, skipped)


def _rolled_up(chosen: dict[Path, str], tree, min_tracks: int) -> dict[str, str]:
    """genre -> the label its tracks get: itself, or the nearest parent with enough tracks."""
    target = {g: g for g in set(chosen.values())}
    while True:
        counts = Counter(target[g] for g in chosen.values())
        small = [g for g, label in target.items() if counts[label] < min_tracks and tree.parents_of(label)]
        if not small:
            break
        for g in small:
            target[g] = tree.canonical(tree.parents_of(target[g])[0])
    counts = Counter(target[g] for g in chosen.values())
    return {g: label for g, label in target.items() if counts[label] >= min_tracks}


def learn(
    roots: Sequence[Path],
    out: Path,
    *,
    min_tracks: int = 5,
    folds: int = FOLDS,
    seed: int = 0,
    epochs: int = 40,
    progress: Progress | None = None,
    library=None,
    store=None,
    taxonomy=None,
    default_model=None,
) -> LearnReport:
    """Scan `roots`, cross-validate the recipe, compare with the default model, write `out`.
    `progress` gets the events of training/events.py's LEARN schema but the last, as dicts."""
    from tagger.library import Library
    from tagger.review_store import ReviewStore
    from tagger.taxonomy import Taxonomy
    from training.crossval import cross_validate
    from training.train import TrainConfig, fit

    started = time.monotonic()
    emit = progress or (lambda event: None)
    library = library or Library()
    store = store or ReviewStore()
    taxonomy = taxonomy or Taxonomy.load()
    tracks = library.scan([Path(r) for r in roots]).tracks
    dataset = library_dataset(tracks, store.get_many([t.path for t in tracks]), taxonomy, min_tracks)
    report = LearnReport(None, dataset.labels, dataset.counts(), Counter(reason for _, reason in dataset.skipped))
    if len(dataset.labels) < 2:
        raise DatasetError(f"learning needs at least two genres with {min_tracks} or more tracks each; "
                           f"found {len(dataset.labels)} ({_describe(report)})")
    groups = {e.group for e in dataset.examples}
    _check_albums(dataset)
    folds = max(2, min(folds, min(report.counts.values()), len(groups)))
    config = TrainConfig(sources=[], out=Path(out), arch="musicnn_transfer",
                         arch_kwargs=dict(LEARN_ARCH_KWARGS, n_labels=len(dataset.labels)),
                         labels=dataset.labels, epochs=epochs, patience=10, batch_size=64, seed=seed,
                         eval_windows=8, save_state=False)
    emit(events.LearnStart(labels=dataset.labels, tracks=len(dataset.examples), folds=folds).to_dict())
    runs = _only_learn_events(emit)
    embeddings: dict[Path, Any] = {}  # read once by cross-validation, reused by the final run
    cv = cross_validate(config, folds, progress=runs, dataset=dataset, embeddings=embeddings)
    report.cv, report.folds = cv, folds
    report.cv_accuracy = float(cv["accuracy"])
    report.default_accuracy = _default_accuracy(dataset, tracks, library, taxonomy, default_model)
    train_part, valid_part = validation_split(dataset.examples, seed)
    trained_on = {"datasets": [{"kind": "library", "name": "your library", "tracks": len(dataset.examples)}],
                  "learned_from": "the genres the library's files carry and its review decisions",
                  "cross_validation": {"folds": folds, "accuracy": report.cv_accuracy,
                                       "default_model_accuracy": report.default_accuracy,
                                       "grouped_by": "album folder"}}
    result = fit(replace(config, out=Path(out)), dataset.labels, Split("learn", train_part, valid_part, []),
                 trained_on=trained_on, progress=runs, embeddings=embeddings)
    report.checkpoint = result.checkpoint
    report.seconds = time.monotonic() - started
    return report


def _check_albums(dataset: Dataset) -> None:
    """Cross-validation holds out whole album folders, so it can judge a genre only when the
    genre's tracks are in two folders or more: with every genre in a single folder, each fold
    would test a genre its model never heard (an estimate of 0 by construction). Say so, and
    what to do, before any work."""
    albums: dict[str, set[str]] = defaultdict(set)
    for e in dataset.examples:
        albums[e.label].add(e.group)
    if any(len(folders) > 1 for folders in albums.values()):
        return
    where = "; ".join(f"{label}: {Path(next(iter(folders))).name}" for label, folders in sorted(albums.items()))
    raise DatasetError(
        "every genre learn found is in a single album folder (" + where + "). learn's estimate holds out "
        "whole album folders, so it needs a genre's tracks in at least two folders: tag the tracks of another "
        "album of at least one of these genres (or review and accept suggestions for them), or, if one "
        "folder holds several albums, give each album its own folder, then run learn again.")


def validation_split(examples: Sequence[Example], seed: int) -> list[list[Example]]:
    """The final model's training and validation tracks (85/15, stratified by genre), by album
    as cross-validation splits, except for a genre with a single album: its tracks are split
    one by one, since a split by album would leave it out of validation, which stops training
    and fits the temperature. Measured with bench/bench_learn.py: on its 380-track library,
    whose seven GTZAN genres have one tagged album each, 0.696 on the untagged tracks with every
    genre split by album, 0.799 with every genre split by track; on its Emotify-only library
    (every genre has many albums) 0.771 by album, 0.681 by track."""
    albums: dict[str, set[str]] = defaultdict(set)
    for e in examples:
        albums[e.label].add(e.group)
    regrouped = [e if len(albums[e.label]) > 1 else replace(e, group=str(e.path)) for e in examples]
    return stratified_groups(regrouped, (0.85, 0.15), seed)


def _only_learn_events(emit: Progress) -> Progress:
    """The progress of the training runs inside learn, as learn reports it (events.LEARN): their
    decoding, embeddings and folds, not each run's own start, steps, epochs and end (a run's
    "start" is not learn's)."""
    kinds = (events.Features.kind, events.Embeddings.kind, events.Fold.kind)

    def forward(event: dict[str, Any]) -> None:
        if event["event"] in kinds:
            emit(event)

    return forward


def _default_accuracy(dataset: Dataset, tracks: Sequence[Track], library, taxonomy, model) -> float | None:
    """The default model's accuracy on the dataset's tracks, its genre mapped onto the labels
    (its predictions come from the library cache when the folder was classified before)."""
    from tagger.classify import classify_tracks, load_model

    model = model or load_model(None)
    by_path = {e.path: e for e in dataset.examples}
    right = total = 0
    for result in classify_tracks(library, [t for t in tracks if t.path in by_path], model):
        if result.prediction is None:
            continue
        total += 1
        name = taxonomy.name_for(result.prediction.genre)
        right += taxonomy.label_for(name, dataset.labels) == by_path[result.path].label
    return right / total if total else None


def _describe(report: LearnReport) -> str:
    parts = [f"{label}: {n}" for label, n in report.counts.items()]
    parts += [f"{n} tracks skipped ({reason})" for reason, n in report.skipped.items()]
    return ", ".join(parts) or "no tracks"
