"""`genrenet learn` on ../shared/data laid out as a half-tagged personal library.

The GTZAN-mini and Emotify clips are copied into album folders (four tracks of one genre each).
Every other album of each genre carries a genre tag in a user's own spelling ("hip hop",
"electronica", "rock", ...); the other half carry none. `learn` trains on the tagged half; both
the learned model and the shipped default model then classify the untagged half, whose true
genre is the clip's source folder, and the accuracies are printed side by side, with the
cross-validated estimate `learn` reported and the time of a second `learn` (embeddings cached).

Caveat printed with the numbers: the shipped default model was trained on these same 380 clips
(its card says so), the untagged half included, so its figure here is optimistic; its card's
cross-validated accuracy (0.784) is the fair one.

    python -m bench learn -- [--min-tracks N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
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


def build_library(root: Path) -> dict[Path, str]:
    """Copy the clips into album folders, tag every other album; the untagged files' true genres."""
    from tests.helpers import tag_mp3

    sources = sorted(DATA.glob("gtzan-mini/genres/*/*.mp3")) + sorted(DATA.glob("emotify/*/*.mp3"))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench learn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-tracks", type=int, default=4, help="as learn --min-tracks (default 4: each GTZAN genre has 4 tagged tracks)")
    parser.add_argument("--keep", type=Path, help="build the library here and keep it")
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
        t0 = time.monotonic()
        learn([root], Path(tmp) / "again.pt", min_tracks=args.min_tracks)
        second = time.monotonic() - t0
        learned, n = accuracy(out, untagged)
        default, _ = accuracy(None, untagged)
        print(f"labels learned: {', '.join(f'{k} ({v})' for k, v in report.counts.items())}")
        print(f"learn's own estimate: cross-validated accuracy {report.cv_accuracy:.3f} ({report.folds} folds by "
              f"album); the default model on the same tagged tracks {report.default_accuracy:.3f}")
        print(f"on the {n} untagged tracks: learned model {learned:.3f}, default model {default:.3f} "
              f"(ratio {learned / default:.2f})")
        print("caveat: the default model was trained on these 380 clips, the untagged ones included; "
              "its card's cross-validated accuracy, 0.784, is its fair figure")
        print(f"learn took {first:.0f} s the first time, {second:.0f} s the second (embeddings cached)")
    return 0
