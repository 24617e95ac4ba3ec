"""Scan speed: first scan and rescan of N mp3 files, against a plain mutagen.File loop.

The library is N hard links (cheap: no extra disk) to a few real, tagged mp3 files, spread over
Artist/Album folders like a real collection. The sources are clips from ../shared/data when it is
there (copied once, then tagged), otherwise tones generated here. Everything is in the page cache,
so these are CPU-bound numbers: a cold disk (or a network share) is slower for both.

With --cold the files are real copies, and before every timed run each one is dropped from the
page cache (posix_fadvise DONTNEED; Linux), so reads go to the disk: this is where more tag
reading threads pay off.

    python -m bench scan -- --files 2000 --repeats 3 [--cold]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from unittest import mock

import mutagen
import numpy as np
import soundfile as sf
from mutagen.id3 import ID3, TALB, TCON, TIT2, TPE1

from tagger.library import DEFAULT_WORKERS, Library
from tagger.scan import iter_audio_files
from tagger.tags import read_tags

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GENRES = ("Rock", "Jazz", "Classical", "Electronic", "Pop", "Hip-Hop", "Blues", "Folk")


def _sources(folder: Path, count: int = 8) -> list[Path]:
    """A few real tagged mp3 files in `folder` (same filesystem as the library: hard links)."""
    folder.mkdir(parents=True)
    real = sorted((SHARED_DATA / "emotify").glob("*/*.mp3"))[:: 37][:count] if SHARED_DATA.is_dir() else []
    out = []
    for i in range(count):
        dst = folder / f"src{i}.mp3"
        if i < len(real):
            shutil.copyfile(real[i], dst)
        else:
            t = np.arange(22050 * 20) / 22050
            sf.write(str(dst), (0.3 * np.sin(2 * np.pi * (220 + 30 * i) * t)).astype(np.float32),
                     22050, format="MP3")
        tags = ID3()
        tags.add(TIT2(encoding=3, text=f"Song {i}"))
        tags.add(TPE1(encoding=3, text=f"Artist {i % 3}"))
        tags.add(TALB(encoding=3, text=f"Album {i % 4}"))
        tags.add(TCON(encoding=3, text=[GENRES[i % len(GENRES)]]))
        tags.save(str(dst), v2_version=3 if i % 2 == 0 else 4)
        out.append(dst)
    return out


def make_library(root: Path, n_files: int, sources: Sequence[Path], copy: bool = False) -> list[Path]:
    """N hard links (or copies) in Artist NNN/Album NNNN/NN Track NNNNNN.mp3 folders."""
    files = []
    for i in range(n_files):
        folder = root / f"Artist {i // 200:03d}" / f"Album {i // 20:04d}"
        if i % 20 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{i % 20:02d} Track {i:06d}.mp3"
        if copy:
            shutil.copyfile(sources[i % len(sources)], path)
        else:
            os.link(sources[i % len(sources)], path)
        files.append(path)
    return files


def drop_from_page_cache(files: Sequence[Path]) -> None:
    """Make the next read of each file go to the disk (clean pages only: sync first)."""
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def best_of(repeats: int, run: Callable[[int], object], before: Callable[[], None] = lambda: None) -> float:
    """Shortest wall time of `repeats` runs (the machine is shared; the minimum is the signal).
    `before` runs ahead of each, untimed."""
    times = []
    for r in range(repeats):
        before()
        started = time.perf_counter()
        run(r)
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scan", description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=sorted({1, DEFAULT_WORKERS}),
                        help="tag-reading threads to compare in the first scan")
    parser.add_argument("--cold", action="store_true",
                        help="copies, dropped from the page cache before each run (Linux)")
    args = parser.parse_args(list(argv or []))
    if args.cold and not hasattr(os, "posix_fadvise"):
        parser.error("--cold needs posix_fadvise (Linux)")

    with tempfile.TemporaryDirectory(prefix="genrenet-bench-scan-") as tmp:
        base = Path(tmp)
        sources = _sources(base / "sources")
        root = base / "Music"
        files = make_library(root, args.files, sources, copy=args.cold)
        n = len(files)
        kind = "real clips from ../shared/data" if SHARED_DATA.is_dir() else "generated tones"
        print(f"{n} mp3 files: {'copies of' if args.cold else 'hard links to'} {len(sources)} "
              f"tagged {kind}, {sum(p.stat().st_size for p in sources) // len(sources) // 1024} KiB each; "
              f"page cache: {'dropped before each run' if args.cold else 'warm'}")
        if args.cold:
            os.sync()

        def before() -> None:
            if args.cold:
                drop_from_page_cache(files)

        def baseline(_: int) -> None:
            for path in files:
                mutagen.File(path)

        def tags_loop(_: int) -> None:
            for path in files:
                read_tags(path)

        def walk(_: int) -> None:
            errors: list = []
            assert sum(1 for _ in iter_audio_files([root], errors)) == n and not errors

        baseline(0)  # warm up (imports, dentries) for everyone
        t_base = best_of(args.repeats, baseline, before)
        t_tags = best_of(args.repeats, tags_loop, before)
        t_walk = best_of(args.repeats, walk)

        rows = [("baseline: mutagen.File loop", t_base), ("tags.read_tags loop (the scan's reader)", t_tags),
                ("walk only (iter_audio_files)", t_walk)]
        first: dict[int, float] = {}
        for workers in args.workers:
            def first_scan(r: int, workers: int = workers, tag: str = "") -> None:
                with Library(base / f"first-w{workers}{tag}-{r}.sqlite", workers=workers) as lib:
                    report = lib.scan([root])
                assert report.new == n and report.reopened == n and not report.errors

            first[workers] = best_of(args.repeats, first_scan, before)
            label = "1 reading thread" if workers == 1 else f"up to {workers} threads, adaptive (default)"
            rows.append((f"first scan, {label}", first[workers]))
            if workers > 1:  # what the scan did before it adapted: threads whatever the disk
                with mock.patch("tagger.library.SLOW_READ_S", -1.0):
                    always = best_of(args.repeats, lambda r: first_scan(r, tag="-always"), before)
                rows.append((f"first scan, {workers} threads always", always))

        db = base / "rescan.sqlite"
        with Library(db) as lib:
            lib.scan([root])

            def rescan(_: int) -> None:
                report = lib.scan([root])
                assert report.unchanged == n and report.reopened == 0

            t_rescan = best_of(args.repeats, rescan)

            def listing(_: int) -> None:
                assert len(lib.tracks()) == n

            t_list = best_of(args.repeats, listing)
        with Library(db) as lib:  # a fresh process would start like this: a new connection
            t_rescan_cold_conn = best_of(1, lambda _: lib.scan([root]))
        rows += [("rescan (nothing changed)", t_rescan),
                 ("rescan, first call on a new connection", t_rescan_cold_conn),
                 ("library.tracks() from the cache", t_list)]

        print(f"{'':42} {'seconds':>9} {'files/s':>10} {'vs baseline':>12}")
        for label, seconds in rows:
            print(f"{label:42} {seconds:9.3f} {n / seconds:10.0f} {t_base / seconds:11.2f}x")
        print(f"(best of {args.repeats}; baseline {n / t_base:.0f} files/s; "
              f"cores: {os.cpu_count()})")
        print(f"RESULT bench_scan files={n} baseline_fps={n / t_base:.0f} "
              f"first_fps={n / min(first.values()):.0f} rescan_fps={n / t_rescan:.0f} "
              f"first_ratio={t_base / min(first.values()):.2f} rescan_ratio={t_base / t_rescan:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
