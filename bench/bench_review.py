"""Review state at library scale: loading N tracks with their stored decisions, deciding, counting.

The library is N hard links to one generated mp3, scanned once; every track gets a stored
prediction and half of them a stored decision (accepted, rejected or edited). Timed, in the same
run:
- baseline: what opening a folder read before decisions were stored: the cached tracks and their
  predictions (Library.tracks + Library.cached_predictions);
- ours: the same, plus the Review built over them with every stored decision (ReviewStore),
  and its counts;
- deciding: one accept of a single track (what a key press costs), and "accept all" of N tracks.

    python -m bench review -- --tracks 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import soundfile as sf

from tagger.library import Library
from tagger.review import Review
from tagger.review_store import ReviewStore
from tagger.track import Prediction

LABELS = ("Blues", "Classical", "Country", "Disco", "Electronic", "Hip-Hop", "Jazz", "Metal", "Pop", "Reggae", "Rock")
MODEL_ID = "bench-model-w8"


def _library(folder: Path, n: int) -> Path:
    src = folder / "src.mp3"
    t = np.arange(22050 * 2) / 22050
    sf.write(str(src), (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 22050, format="MP3")
    root = folder / "Music"
    for i in range(n):
        album = root / f"Artist {i // 500:03d}" / f"Album {i // 12:05d}"
        album.mkdir(parents=True, exist_ok=True)
        os.link(src, album / f"{i:06d}.mp3")
    return root


def _median(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench review")
    parser.add_argument("--tracks", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        root = _library(folder, args.tracks)
        library = Library(folder / "library.sqlite")
        store = ReviewStore(folder / "review.sqlite")
        tracks = library.scan([root]).tracks
        for t in tracks:
            p = rng.dirichlet(np.ones(len(LABELS))).astype(np.float32)
            library.store_prediction(t, Prediction(t.path, MODEL_ID, LABELS, p, p[None, :]))
        setup = Review(store)
        setup.add_tracks(tracks)
        setup.apply_results(_results(library, tracks))
        n = len(tracks)
        setup.accept(range(0, n, 6))
        setup.reject(range(1, n, 6))
        setup.set_genres(range(2, n, 6), ["Shoegaze"])

        def baseline():
            cached = library.tracks([root])
            return cached, library.cached_predictions(cached, MODEL_ID)

        def ours():
            cached, predictions = baseline()
            review = Review(store)
            review.add_tracks(cached)
            review.apply_results(SimpleNamespace(path=p, prediction=pred, error=None)
                                 for p, pred in predictions.items())
            return review, review.counts()

        base_s, _ = _median(baseline, args.repeats)
        ours_s, (review, counts) = _median(ours, args.repeats)
        counts_s, _ = _median(review.counts, args.repeats)
        one_s, _ = _median(lambda: review.accept([3]), max(args.repeats, 10))
        all_s, _ = _median(lambda: review.accept(range(n)), args.repeats)
        store.close()
        library.close()
    print(f"{n:,} tracks, {n // 2:,} with a stored decision "
          f"({counts.needs_review:,} need review, {counts.to_write:,} to write)")
    print(f"open: tracks + predictions (baseline)      {base_s:7.3f} s")
    print(f"open: + stored decisions, Review, counts   {ours_s:7.3f} s   ratio {ours_s / base_s:.2f}")
    print(f"counts() alone                             {counts_s * 1000:7.1f} ms")
    print(f"accept one track (stored)                  {one_s * 1000:7.1f} ms")
    print(f"accept all {n:,} (one transaction)        {all_s:7.3f} s")
    return 0


def _results(library: Library, tracks):
    return (SimpleNamespace(path=p, prediction=pred, error=None)
            for p, pred in library.cached_predictions(tracks, MODEL_ID).items())
