"""Train/validation/test splits by group (clip or track), never by window.

Named splits:
- ``random``: seeded, stratified by label; GTZAN and folders 80/20 train/valid (the protocol of
  the original study), FMA 80/10/10 train/valid/test.
- ``fault_filtered``: GTZAN's fault-filtered split of Kereliuk, Sturm & Larsen (2015), read
  from the files in training/splits/gtzan_fault_filtered/ (443/197/290 clips).
- ``official``: FMA's own ``set/split`` column (training/validation/test).
Split files live under version control as training/splits/<name>.{train,valid,test}.txt (flat,
so the package data glob `splits/*` ships them), one group id per line ('#' starts a comment).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from training.datasets import Dataset, DatasetError, Example

SPLITS_DIR = Path(__file__).resolve().parent / "splits"
PARTS = ("train", "valid", "test")
FMA_PARTS = {"training": "train", "validation": "valid", "test": "test"}
NAMES = ("random", "fault_filtered", "official")


@dataclass
class Split:
    name: str
    train: list[Example]
    valid: list[Example]
    test: list[Example]

    def part(self, name: str) -> list[Example]:
        if name not in PARTS:
            raise ValueError(f"unknown split part {name!r} (choose from {', '.join(PARTS)})")
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        return {p: len(self.part(p)) for p in PARTS}


def _by_group(examples: Sequence[Example]) -> dict[str, list[Example]]:
    groups: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        groups[e.group].append(e)
    return groups


def _group_label(members: list[Example]) -> str:
    labels = sorted({e.label for e in members})
    return labels[0]


def stratified_groups(
    examples: Sequence[Example], fractions: Sequence[float], seed: int
) -> list[list[Example]]:
    """Split into len(fractions) parts by group, stratified by label, reproducibly for a seed.

    Every label with at least as many groups as parts gets at least one group in each part.
    """
    groups = _by_group(examples)
    per_label: dict[str, list[str]] = defaultdict(list)
    for gid in sorted(groups):
        per_label[_group_label(groups[gid])].append(gid)
    rng = random.Random(seed)
    parts: list[list[Example]] = [[] for _ in fractions]
    total = sum(fractions)
    for label in sorted(per_label):
        gids = per_label[label]
        rng.shuffle(gids)
        n = len(gids)
        counts = [int(round(n * f / total)) for f in fractions[1:]]
        if n >= len(fractions):
            counts = [max(1, c) for c in counts]
        counts = [n - sum(counts)] + counts
        start = 0
        for i, c in enumerate(counts):
            for gid in gids[start : start + c]:
                parts[i].extend(groups[gid])
            start += c
    return [sorted(p, key=lambda e: (e.group, str(e.path))) for p in parts]


def group_folds(examples: Sequence[Example], k: int, seed: int) -> list[list[Example]]:
    """k folds by group, stratified by label and by source dataset (for grouped cross-validation)."""
    groups = _by_group(examples)
    strata: dict[tuple[str, str], list[str]] = defaultdict(list)
    for gid in sorted(groups):
        members = groups[gid]
        strata[(members[0].dataset, _group_label(members))].append(gid)
    rng = random.Random(seed)
    folds: list[list[Example]] = [[] for _ in range(k)]
    offset = 0
    for key in sorted(strata):
        gids = strata[key]
        rng.shuffle(gids)
        for i, gid in enumerate(gids):
            folds[(i + offset) % k].extend(groups[gid])
        offset += len(gids)  # rotate so small strata do not all start in fold 0
    return folds


def read_split_files(name: str, directory: Path | None = None) -> dict[str, set[str]]:
    """Group ids per part from training/splits/<name>.<part>.txt. Raises DatasetError naming a missing file."""
    folder = directory or SPLITS_DIR
    out: dict[str, set[str]] = {}
    for part in PARTS:
        file = folder / f"{name}.{part}.txt"
        if not file.is_file():
            if part == "test" and out:
                out[part] = set()
                continue
            raise DatasetError(f"split file missing: {file}")
        ids = set()
        for line in file.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                ids.add(line)
        out[part] = ids
    overlap = (out["train"] & out["valid"]) | (out["train"] & out["test"]) | (out["valid"] & out["test"])
    if overlap:
        raise DatasetError(f"split {name!r} puts {len(overlap)} groups in two parts (e.g. {sorted(overlap)[0]})")
    return out


def write_split_files(split: Split, name: str, directory: Path | None = None) -> None:
    """Write a split as files (one group id per line), e.g. to freeze a random split."""
    directory = directory or SPLITS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        ids = sorted({e.group for e in split.part(part)})
        (directory / f"{name}.{part}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")


def from_files(dataset: Dataset, name: str, directory: Path | None = None) -> Split:
    ids = read_split_files(name, directory)
    parts = {p: [e for e in dataset.examples if e.group in ids[p]] for p in PARTS}
    if not parts["train"] or not parts["valid"]:
        raise DatasetError(f"split {name!r} matches no training or no validation clip of {dataset.name}")
    return Split(name, parts["train"], parts["valid"], parts["test"])


def make_split(dataset: Dataset, name: str = "random", seed: int = 0) -> Split:
    """The named split of a dataset (see the module docstring). Raises DatasetError."""
    if name == "random":
        fractions = (0.8, 0.1, 0.1) if dataset.name.startswith("fma") else (0.8, 0.2)
        parts = stratified_groups(dataset.examples, fractions, seed)
        test = parts[2] if len(parts) > 2 else []
        split = Split("random", parts[0], parts[1], test)
    elif name == "fault_filtered":
        if dataset.name != "gtzan":
            raise DatasetError("the fault_filtered split is defined for GTZAN only")
        split = from_files(dataset, "gtzan_fault_filtered")
        split.name = name
    elif name == "official":
        if not dataset.name.startswith("fma"):
            raise DatasetError("the official split is FMA's set/split column: use it with --dataset fma")
        parts = {p: [e for e in dataset.examples if FMA_PARTS.get(e.split or "") == p] for p in PARTS}
        split = Split("official", parts["train"], parts["valid"], parts["test"])
    elif (SPLITS_DIR / f"{name}.train.txt").is_file():
        split = from_files(dataset, name)
    else:
        raise DatasetError(f"unknown split {name!r} (choose from {', '.join(NAMES)} or a split file in {SPLITS_DIR})")
    if not split.train or not split.valid:
        raise DatasetError(
            f"split {name!r} of {dataset.name} leaves {len(split.train)} training and "
            f"{len(split.valid)} validation clips: too few clips"
        )
    check_disjoint(split)
    return split


def check_disjoint(split: Split) -> None:
    seen: dict[str, str] = {}
    for part in PARTS:
        for e in split.part(part):
            other = seen.setdefault(e.group, part)
            if other != part:
                raise DatasetError(f"group {e.group} is in both {other} and {part}")
