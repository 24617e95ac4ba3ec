"""`genrenet learn` on ../shared/data laid out as a half-tagged personal library.

The GTZAN-mini and Emotify clips are copied into album folders (four tracks of one genre each).
Every other album of each genre carries a genre tag in a user's own spelling ("hip hop",
"electronica", "rock", ...); the other half carry none. `learn` trains on the tagged half; both
the learned model and the shipped default model then classify the untagged half, whose true
genre is the clip's source folder, and the accuracies are printed side by side, with the
cross-validated estimate `learn` reported and the time of a second `learn` (embeddings cached).

The shipped default model was trained on these same 380 clips (its card says so), the untagged
half included, so its figure here is optimistic. Two comparisons where no model has heard the
untagged tracks, printed after it:
- "default recipe, not on these tracks": the shipped model's recipe (training/train.py, the
  card's command line) trained on every clip except the untagged half, i.e. on the tagged half
  with the clips' true labels: what the default model would say of music it never heard.
- "a library unlike the public data": only the Emotify clips (Magnatune music: classical,
  electronic, pop, rock) as the library, half tagged, against the default recipe trained on
  GTZAN-mini alone, standing for a default model trained on public data that is not the
  user's music (GTZAN has no electronic).

    python -m bench learn -- [--min-tracks N] [--keep DIR] [--quick] [--scale 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPELLING = {  # source folder -> the genre tag this "user" writes
    "blues": "blues", "classical": "Classical", "country": "country", "disco": "Disco", "hiphop": "hip hop",
    "jazz": "Jazz", "metal": "metal", "pop": "Pop", "reggae": "reggae", "rock": "rock", "electronic": "electronica",
}
TRUTH = {"blues": "Blues", "classical": "Classical", "country": "Country", "disco": "Disco", "hiphop": "Hip-Hop",
         "jazz": "Jazz", "metal": "Metal", "pop": "Pop", "reggae": "Reggae", "rock": "Rock",
         "electronic": "Electronic"}
ALBUM = 4  # tracks per album folder


ALL_CLIPS = ("gtzan-mini/genres/*/*.mp3", "emotify/*/*.mp3")
RECIPE = ["--arch", "musicnn_transfer", "--arch-kwargs", '{"embedding": "pooled"}', "--windows", "8", "--seed", "0",
          "--epochs", "40", "--patience", "10", "--batch-size", "64", "--lr", "1e-3"]  # the default model's card


def build_library(root: Path, patterns: tuple[str, ...] = ALL_CLIPS) -> dict[Path, str]:
    """Copy the clips into album folders, tag every other album; the untagged files' true genres."""
    from tests.helpers import tag_mp3

    sources = [src for pattern in patterns for src in sorted(DATA.glob(pattern))]
    by_genre: dict[str, list[Path]] = {}
    for src in sources:
        by_genre.setdefault(src.parent.name, []).append(src)
    untagged: dict[Path, str] = {}
    for genre, files in sorted(by_genre.items()):
        for i, src in enumerate(files):
            album = i // ALBUM
            folder = root / f"{genre.title()} Artist {album % 3}" / f"{genre.title()} Album {album}"
            folder.mkdir(parents=True, exist_ok=True)
            dst = folder / f"{i % ALBUM + 1:02d} {src.stem}.mp3"
            shutil.copyfile(src, dst)
            if album % 2 == 0:
                tag_mp3(dst, title=src.stem, album=folder.name, genre=SPELLING[genre])
            else:
                tag_mp3(dst, title=src.stem, album=folder.name)
                untagged[dst] = TRUTH[genre]
    return untagged


def accuracy(model_path: Path | None, files: dict[Path, str]) -> tuple[float, int]:
    from tagger.classify import classify_files, load_model
    from tagger.taxonomy import Taxonomy

    taxonomy = Taxonomy.load()
    model = load_model(model_path)
    right = total = 0
    for result in classify_files(list(files), model):
        if result.prediction is None:
            continue
        total += 1
        right += taxonomy.tree.canonical(taxonomy.name_for(result.prediction.genre)) == files[result.path]
    return right / total if total else 0.0, total


def train_recipe(out: Path, dataset: list[str]) -> Path:
    """The default model's recipe (`genrenet train`, as its card runs it) on `dataset`."""
    genrenet = Path(sys.executable).with_name("genrenet")  # the venv's command, with its training plugin
    command = [str(genrenet), "train", *dataset, *RECIPE, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"training failed ({done.returncode}): {done.stderr[-2000:]}")
    return out


def tagged_half_as_folders(root: Path, untagged: dict[Path, str], dest: Path) -> Path:
    """The tagged half of the library, one folder per true genre (a training set for the recipe)."""
    for path in sorted(root.rglob("*.mp3")):
        if path in untagged:
            continue
        genre = path.parent.parent.name.split(" Artist")[0].lower()
        (dest / genre).mkdir(parents=True, exist_ok=True)
        os.symlink(path, dest / genre / f"{path.parent.name} {path.name}")
    return dest


def fair_comparisons(tmp: Path, root: Path, untagged: dict[Path, str], learned: float, min_tracks: int) -> None:
    """The two comparisons in which no model has heard the untagged tracks (see the docstring)."""
    from training.learn import learn

    folders = tagged_half_as_folders(root, untagged, tmp / "tagged-half")
    recipe = train_recipe(tmp / "recipe-tagged-half.pt", ["--dataset", "folder", str(folders), "--labels", "default"])
    fair, n = accuracy(recipe, untagged)
    print(f"  default recipe, not on these tracks (trained on the tagged half, true labels): {fair:.3f} on the "
          f"{n} untagged tracks; learned model {learned:.3f} (ratio {learned / fair:.2f})")

    emotify = tmp / "Emotify Library"
    held_out = build_library(emotify, ("emotify/*/*.mp3",))
    learn([emotify], tmp / "learned-emotify.pt", min_tracks=min_tracks)
    mine, n = accuracy(tmp / "learned-emotify.pt", held_out)
    public = train_recipe(tmp / "recipe-gtzan.pt", ["--dataset", "gtzan", str(DATA / "gtzan-mini"), "--labels", "default"])
    theirs, _ = accuracy(public, held_out)
    shipped, _ = accuracy(None, held_out)
    print(f"  a library unlike the public data (Emotify clips only, half tagged): learned {mine:.3f}, default recipe "
          f"trained on GTZAN-mini {theirs:.3f} (ratio {mine / max(theirs, 1e-9):.2f}), on the {n} untagged tracks; "
          f"the shipped default, which heard them in training, {shipped:.3f}")


def scaled_library(root: Path, untagged: dict[Path, str], dest: Path, tracks: int) -> int:
    """A library of `tracks` tagged tracks to time a second `learn` at scale, made from the tagged
    half of `root` after a `learn` on it: hard links to its files in new album folders (the same
    tags), with cache entries made from the originals' (feature arrays linked, embeddings copied
    with noise N(0, (0.05 sd)^2) per dimension so that no two are equal, the default model's
    cached predictions copied), so that nothing is decoded or embedded again. Returns the count."""
    import dataclasses

    import numpy as np
    import torch

    from tagger.classify import analysis_id, load_model
    from tagger.library import Library
    from training.datasets import Example
    from training.learn import LEARN_ARCH_KWARGS
    from training.train import TrainConfig, build_model, embedding_cache_for

    sources = [p for p in sorted(root.rglob("*.mp3")) if p not in untagged]
    pairs = []
    for copy in range(tracks // max(1, len(sources)) + 1):
        for src in sources[: tracks - len(pairs)]:
            rel = src.relative_to(root)
            dst = dest / rel.parts[0] / f"{rel.parts[1]} copy {copy}" / rel.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dst)
            pairs.append((src, dst))
    config = TrainConfig(sources=[], arch="musicnn_transfer", arch_kwargs=dict(LEARN_ARCH_KWARGS, n_labels=2))
    model, _ = build_model(config, 2)
    embeddings = embedding_cache_for(config, model, torch.device("cpu"))
    rng = np.random.default_rng(0)
    for src, dst in pairs:
        mel = embeddings.cache.entry(dst).with_suffix(".npy")
        mel.parent.mkdir(parents=True, exist_ok=True)
        os.link(embeddings.cache.entry(src).with_suffix(".npy"), mel)
        kind = f"w{config.eval_windows}"
        stored = np.load(embeddings._file(Example(src, "", "", ""), kind))
        noisy = stored + rng.normal(size=stored.shape) * 0.05 * stored.std(axis=0)
        target = embeddings._file(Example(dst, "", "", ""), kind)
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, noisy.astype(np.float32))
    library = Library()
    scanned = {t.path: t for t in library.scan([root, dest]).tracks}
    model_id = analysis_id(load_model(None), 8)
    cached = library.cached_predictions([scanned[src] for src, _ in pairs], model_id)
    for src, dst in pairs:
        if src in cached:
            library.store_prediction(scanned[dst], dataclasses.replace(cached[src], path=dst))
    return len(pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench learn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-tracks", type=int, default=4, help="as learn --min-tracks (default 4: each GTZAN genre has 4 tagged tracks)")
    parser.add_argument("--keep", type=Path, help="build the library here and keep it")
    parser.add_argument("--quick", action="store_true", help="leave out the two comparisons that train models")
    parser.add_argument("--fair-only", action="store_true", help="only the two comparisons that train models")
    parser.add_argument("--scale", type=int, metavar="N",
                        help="also time a second learn on N tagged tracks made from the tagged half (scaled_library)")
    args = parser.parse_args(argv)
    if not (DATA / "emotify").is_dir():
        print(f"bench learn: {DATA} is not there; nothing measured")
        return 1
    from training.learn import learn

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "Music"
        untagged = build_library(root)
        tagged = sum(1 for _ in root.rglob("*.mp3")) - len(untagged)
        print(f"library: {tagged + len(untagged)} tracks in album folders, {tagged} tagged in the user's spelling, "
              f"{len(untagged)} untagged (held out)")
        out = Path(tmp) / "learned.pt"
        t0 = time.monotonic()
        report = learn([root], out, min_tracks=args.min_tracks)
        first = time.monotonic() - t0
        learned, n = accuracy(out, untagged)
        print(f"labels learned: {', '.join(f'{k} ({v})' for k, v in report.counts.items())}")
        print(f"learn's own estimate: cross-validated accuracy {report.cv_accuracy:.3f} ({report.folds} folds by "
              f"album); the default model on the same tagged tracks {report.default_accuracy:.3f}")
        if not args.fair_only:
            t0 = time.monotonic()
            learn([root], Path(tmp) / "again.pt", min_tracks=args.min_tracks)
            second = time.monotonic() - t0
            default, _ = accuracy(None, untagged)
            print(f"on the {n} untagged tracks: learned model {learned:.3f}, shipped default model {default:.3f} "
                  f"(ratio {learned / default:.2f})")
            print("caveat: the shipped default model was trained on these 380 clips, the untagged ones included; "
                  "its card's cross-validated accuracy, 0.784, is its fair figure")
            print(f"learn took {first:.0f} s the first time, {second:.0f} s the second (embeddings cached)")
        if args.scale:
            big = Path(tmp) / "Scaled"
            n_big = scaled_library(root, untagged, big, args.scale)
            learn([big], Path(tmp) / "scaled.pt", min_tracks=args.min_tracks)  # its first scan reads the tags
            t0 = time.monotonic()
            scaled = learn([big], Path(tmp) / "scaled-again.pt", min_tracks=args.min_tracks)
            print(f"a second learn on {n_big} tagged tracks (copies of the tagged half, see scaled_library): "
                  f"{time.monotonic() - t0:.1f} s, {scaled.folds} folds (its estimate {scaled.cv_accuracy:.3f} means "
                  f"nothing: copies of one album are in other albums)")
        if not args.quick:
            print("where no model has heard the untagged tracks:")
            fair_comparisons(Path(tmp), root, untagged, learned, args.min_tracks)
    return 0
