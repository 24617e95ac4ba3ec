"""Labelled audio collections for training: GTZAN, FMA, any folder-per-genre, the user's library.

Every reader returns a `Dataset`: examples of (audio path, label, group), the label names, and
the files it skipped with the reason. `group` is the unit a split never cuts across (a GTZAN
clip, an FMA track, one file of a folder), so windows of one track stay on one side.
Readers raise `DatasetError` with a message that says what was expected where.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tagger.errors import GenrenetError

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset({".mp3", ".wav", ".au", ".flac", ".ogg", ".m4a", ".aiff", ".aif", ".opus"})

GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
# GTZAN's folder names -> the label names genrenet uses (the same as resources/genres.toml).
GTZAN_LABELS = {g: ("Hip-Hop" if g == "hiphop" else g.capitalize()) for g in GTZAN_GENRES}
# Known-corrupt GTZAN clips: jazz.00054 does not decode in the original distribution.
GTZAN_CORRUPT = frozenset({"jazz.00054"})
_GTZAN_NAME = re.compile(r"^(?P<genre>[a-z]+)\.(?P<number>\d{5})$")

# The label set of the shipped default model: GTZAN's ten plus Emotify's electronic.
DEFAULT_LABELS = ("Blues", "Classical", "Country", "Disco", "Electronic", "Hip-Hop", "Jazz", "Metal",
                  "Pop", "Reggae", "Rock")

FMA_SUBSETS = ("small", "medium", "large")  # nested: small ⊂ medium ⊂ large


class DatasetError(GenrenetError):
    """A dataset folder does not have the layout its reader expects."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled audio file. `group` keeps windows of one track on one side of a split;
    `split` is the dataset's own split assignment where it has one (FMA's set/split)."""

    path: Path
    label: str
    group: str
    dataset: str
    split: str | None = None


@dataclass
class Dataset:
    name: str
    root: Path
    labels: tuple[str, ...]
    examples: list[Example]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        found = Counter(e.label for e in self.examples)
        return {label: found.get(label, 0) for label in self.labels}

    def without(self, bad: Iterable[Path], reason: str) -> Dataset:
        """A copy without the examples at `bad` (e.g. clips that failed to decode), recorded as skipped."""
        bad = set(bad)
        kept = [e for e in self.examples if e.path not in bad]
        skipped = self.skipped + [(e.path, reason) for e in self.examples if e.path in bad]
        return Dataset(self.name, self.root, self.labels, kept, skipped, dict(self.info))


def merge(datasets: Sequence[Dataset], labels: Sequence[str] | None = None) -> Dataset:
    """Several datasets as one (e.g. GTZAN + Emotify); labels in the given or first-seen order."""
    if not datasets:
        raise DatasetError("no datasets to merge")
    order = list(labels) if labels else []
    for ds in datasets:
        order += [lab for lab in ds.labels if lab not in order]
    unknown = {e.label for ds in datasets for e in ds.examples} - set(order)
    if unknown:
        raise DatasetError(f"labels not in the label set: {sorted(unknown)}")
    return Dataset(
        name="+".join(ds.name for ds in datasets),
        root=datasets[0].root,
        labels=tuple(order),
        examples=[e for ds in datasets for e in ds.examples],
        skipped=[s for ds in datasets for s in ds.skipped],
        info={ds.name: ds.info for ds in datasets},
    )


def is_audio(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


# --------------------------------------------------------------------------------------------
# Label names


def normalise(name: str) -> str:
    """Case, spaces and punctuation removed: 'Hip Hop', 'hip-hop', 'HipHop' -> 'hiphop'."""
    return re.sub(r"[^0-9a-z]+", "", name.casefold())


def label_matcher(labels: Sequence[str], names: dict[str, str] | None = None) -> Callable[[str], str | None]:
    """A function mapping a genre name (folder name, tag value) to one of `labels`, or None.

    Matches a label or the tag name the taxonomy writes for it (`names`: label -> tag name),
    ignoring case and punctuation.
    """
    table: dict[str, str] = {}
    for label in labels:
        table.setdefault(normalise(label), label)
        if names and label in names:
            table.setdefault(normalise(names[label]), label)

    def match(name: str) -> str | None:
        return table.get(normalise(name))

    return match


# --------------------------------------------------------------------------------------------
# GTZAN


def find_gtzan_root(path: Path) -> Path:
    """The folder holding the genre folders, for the original and the Kaggle layout."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"GTZAN folder not found: {path}")
    candidates = [path, path / "genres", path / "genres_original", path / "Data" / "genres_original",
                  path / "data" / "genres_original", path / "gtzan" / "genres"]
    for candidate in candidates:
        if candidate.is_dir() and sum((candidate / g).is_dir() for g in GTZAN_GENRES) >= 2:
            return candidate
    raise DatasetError(
        f"{path} is not a GTZAN folder: expected genre folders ({', '.join(GTZAN_GENRES[:3])}, ...) "
        "in it, in genres/ (original layout) or in Data/genres_original/ (Kaggle layout)"
    )


def read_gtzan(path: Path) -> Dataset:
    """GTZAN: `genres/<genre>/<genre>.000NN.<ext>` (original: .au; Kaggle: .wav; any audio)."""
    root = find_gtzan_root(path)
    examples: list[Example] = []
    skipped: list[tuple[Path, str]] = []
    for genre in GTZAN_GENRES:
        folder = root / genre
        if not folder.is_dir():
            continue
        for file in sorted(folder.iterdir()):
            if not is_audio(file):
                continue
            clip = file.name[: -len(file.suffix)]
            m = _GTZAN_NAME.match(clip)
            if not m or m["genre"] != genre:
                skipped.append((file, f"not a GTZAN clip name (expected {genre}.000NN{file.suffix})"))
                continue
            if clip in GTZAN_CORRUPT:
                log.warning("skipping %s: known-corrupt GTZAN clip", file)
                skipped.append((file, "known-corrupt GTZAN clip"))
                continue
            examples.append(Example(file, GTZAN_LABELS[genre], clip, "gtzan"))
    if not examples:
        raise DatasetError(f"no GTZAN clips found under {root}")
    present = [GTZAN_LABELS[g] for g in GTZAN_GENRES if any(e.label == GTZAN_LABELS[g] for e in examples)]
    return Dataset("gtzan", root, tuple(present), examples, skipped, {"layout_root": str(root)})


# --------------------------------------------------------------------------------------------
# FMA


def find_fma(path: Path, subset: str | None) -> tuple[Path, Path, str]:
    """(metadata folder, audio folder, subset) from the FMA root or its fma_<subset> folder."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"FMA folder not found: {path}")
    if subset is not None and subset not in FMA_SUBSETS:
        raise DatasetError(f"unknown FMA subset {subset!r} (choose from {', '.join(FMA_SUBSETS)})")
    base = path
    if re.fullmatch(r"fma_(small|medium|large|full)", path.name) and not (path / "fma_metadata").is_dir():
        base = path.parent
        subset = subset or path.name.removeprefix("fma_")
    meta = base / "fma_metadata"
    if not (meta / "tracks.csv").is_file():
        raise DatasetError(f"{path} is not an FMA folder: expected fma_metadata/tracks.csv in {base}")
    if subset is None:
        found = [s for s in FMA_SUBSETS if (base / f"fma_{s}").is_dir()]
        if not found:
            raise DatasetError(f"no FMA audio folder in {base}: expected fma_small/, fma_medium/ or fma_large/")
        if len(found) > 1:
            raise DatasetError(f"several FMA audio folders in {base} ({', '.join(found)}): choose one with --subset")
        subset = found[0]
    audio = base / f"fma_{subset}"
    if not audio.is_dir():
        raise DatasetError(f"FMA audio folder not found: {audio}")
    return meta, audio, subset


def read_fma_tracks(tracks_csv: Path) -> list[dict[tuple[str, str], str]]:
    """Rows of FMA's tracks.csv keyed by (top, sub) column names; 'track_id' under ('track', 'id').

    The file has three header rows: top-level names ('album', 'set', 'track', ...), sub-names
    ('title', 'split', 'genre_top', ...) and a row naming the index column ('track_id').
    """
    with open(tracks_csv, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        try:
            top, sub, index_row = next(reader), next(reader), next(reader)
        except StopIteration:
            raise DatasetError(f"{tracks_csv} is too short for FMA's three header rows") from None
        if not index_row or index_row[0] != "track_id":
            raise DatasetError(f"{tracks_csv}: third header row should start with 'track_id' (FMA layout)")
        columns = [("track", "id")] + list(zip(top[1:], sub[1:], strict=True))
        needed = {("set", "subset"), ("set", "split"), ("track", "genre_top")}
        missing = needed - set(columns)
        if missing:
            raise DatasetError(f"{tracks_csv} lacks FMA columns {sorted(missing)}")
        rows = []
        for line, row in enumerate(reader, start=4):
            if not row:
                continue
            if len(row) != len(columns):
                raise DatasetError(f"{tracks_csv}: line {line} has {len(row)} fields, expected {len(columns)}")
            rows.append(dict(zip(columns, row, strict=True)))
    return rows


def read_fma_genres(genres_csv: Path) -> dict[str, str]:
    """Top-level genre titles of FMA's genres.csv: title -> genre_id."""
    with open(genres_csv, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"genre_id", "parent", "title"} <= set(reader.fieldnames):
            raise DatasetError(f"{genres_csv}: expected columns genre_id, parent, title")
        return {row["title"]: row["genre_id"] for row in reader if row["parent"] in ("0", "")}


def fma_audio_path(audio_dir: Path, track_id: int) -> Path:
    tid = f"{track_id:06d}"
    return audio_dir / tid[:3] / f"{tid}.mp3"


def read_fma(path: Path, subset: str | None = None) -> Dataset:
    """FMA: fma_metadata/{tracks,genres}.csv and audio at fma_<subset>/NNN/NNNNNN.mp3.

    Labels are the top-level genres (genre_top). Tracks of the subset without a top genre or
    without their mp3 are skipped and counted; FMA's official split is kept on each example.
    """
    meta, audio_dir, subset = find_fma(path, subset)
    rows = read_fma_tracks(meta / "tracks.csv")
    top_genres = read_fma_genres(meta / "genres.csv") if (meta / "genres.csv").is_file() else None
    wanted = set(FMA_SUBSETS[: FMA_SUBSETS.index(subset) + 1])
    examples: list[Example] = []
    skipped: list[tuple[Path, str]] = []
    counts = Counter()
    for row in rows:
        if row[("set", "subset")] not in wanted:
            continue
        try:
            track_id = int(row[("track", "id")])
        except ValueError:
            counts["bad id"] += 1
            continue
        file = fma_audio_path(audio_dir, track_id)
        genre = row[("track", "genre_top")].strip()
        if not genre:
            counts["no top genre"] += 1
            skipped.append((file, "no top-level genre"))
            continue
        if top_genres is not None and genre not in top_genres:
            counts["unknown genre"] += 1
            skipped.append((file, f"genre {genre!r} is not a top-level genre in genres.csv"))
            continue
        if not file.is_file():
            counts["missing audio"] += 1
            skipped.append((file, "audio file missing"))
            continue
        examples.append(Example(file, genre, f"fma:{track_id}", "fma", row[("set", "split")] or None))
    if not examples:
        raise DatasetError(f"no FMA {subset} tracks with audio found under {audio_dir}")
    labels = tuple(sorted({e.label for e in examples}))
    info = {"subset": subset, "skipped": dict(counts), "tracks": len(examples)}
    return Dataset(f"fma_{subset}", audio_dir.parent, labels, examples, skipped, info)


# --------------------------------------------------------------------------------------------
# Folder per genre


def read_folder(path: Path, labels: Sequence[str] | None = None, name: str | None = None) -> Dataset:
    """Any collection with one folder per genre (audio files anywhere below each).

    With `labels`, folder names are matched to those labels ignoring case and punctuation and a
    folder that matches none is an error; without, the folder names are the labels.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"folder not found: {root}")
    match = label_matcher(labels) if labels else None
    examples: list[Example] = []
    skipped: list[tuple[Path, str]] = []
    dataset = name or root.name
    seen: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in folder.rglob("*") if is_audio(p))
        if not files:
            continue
        label = match(folder.name) if match else folder.name
        if label is None:
            raise DatasetError(f"folder {folder.name!r} in {root} matches no label ({', '.join(labels or ())})")
        seen.append(label)
        for file in files:
            group = f"{dataset}:{file.relative_to(root).with_suffix('').as_posix()}"
            examples.append(Example(file, label, group, dataset))
    if not examples:
        raise DatasetError(f"{root} holds no genre folders with audio files (expected <genre>/<file>.mp3)")
    order = [lab for lab in labels if lab in seen] if labels else sorted(set(seen))
    return Dataset(dataset, root, tuple(order), examples, skipped)


# --------------------------------------------------------------------------------------------
# The user's library


def read_library(
    labels: Sequence[str] = (),
    taxonomy: object | None = None,
    library: object | None = None,
    roots: Sequence[Path] | None = None,
) -> Dataset:
    """Tracks of the user's library whose genre tag maps onto one of `labels` via the taxonomy.

    Uses tagger.library.Library (the scan cache) and tagger.taxonomy.Taxonomy (label names and
    aliases, so a tag genrenet wrote maps back to its label). Tracks with no genre, several
    known genres or an unknown genre are skipped and counted.
    """
    from tagger.taxonomy import Taxonomy

    labels = tuple(labels or DEFAULT_LABELS)
    taxonomy = taxonomy or Taxonomy.load()
    if library is None:
        try:
            from tagger.library import Library
        except ImportError:
            raise DatasetError("the library cache is not available in this version") from None
        library = Library()
    examples: list[Example] = []
    skipped: list[tuple[Path, str]] = []
    tracks = library.tracks(roots) if roots is not None else library.tracks()
    for track in tracks:
        found = {m for g in track.genres for m in [taxonomy.label_for(g, labels)] if m}
        if not track.genres:
            skipped.append((track.path, "no genre tag"))
        elif len(found) != 1:
            reason = "several known genres" if found else f"genre {track.current_genre!r} maps to no label"
            skipped.append((track.path, reason))
        elif not Path(track.path).is_file():
            skipped.append((track.path, "file missing"))
        else:
            examples.append(Example(Path(track.path), found.pop(), f"library:{track.path}", "library"))
    if not examples:
        raise DatasetError("no library tracks carry a genre that maps to a known label: scan and review first")
    present = tuple(lab for lab in labels if any(e.label == lab for e in examples))
    return Dataset("library", Path("."), present, examples, skipped)


# --------------------------------------------------------------------------------------------


KINDS = ("gtzan", "fma", "folder", "library")


def read_dataset(kind: str, path: Path | None, *, subset: str | None = None,
                 labels: Sequence[str] | None = None) -> Dataset:
    """Dispatch on the dataset kind of the command line."""
    if kind == "gtzan":
        return read_gtzan(_need(path, kind))
    if kind == "fma":
        return read_fma(_need(path, kind), subset)
    if kind == "folder":
        return read_folder(_need(path, kind), labels)
    if kind == "library":
        return read_library(labels or DEFAULT_LABELS, roots=[path] if path is not None else None)
    raise DatasetError(f"unknown dataset kind {kind!r} (choose from {', '.join(KINDS)})")


def _need(path: Path | None, kind: str) -> Path:
    if path is None:
        raise DatasetError(f"--dataset {kind} needs a folder")
    return Path(path)
