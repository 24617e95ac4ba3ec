"""Dataset readers and splits on generated datasets in the exact GTZAN, FMA and folder layouts."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import SR, noise, tone, write_mp3
from training.cache import FeatureCache
from training.datasets import (
    DEFAULT_LABELS,
    DatasetError,
    merge,
    read_fma,
    read_folder,
    read_gtzan,
    read_library,
)
from training.splitting import (
    check_disjoint,
    group_folds,
    make_split,
    read_split_files,
    stratified_groups,
    write_split_files,
)

TONE_GENRES = ("blues", "classical", "jazz")  # written as tones; the others as noise


def _audio(kind_tone: bool, seconds: float, seed: int) -> np.ndarray:
    return tone(seconds, freq=200 + 30 * seed, seed=seed) if kind_tone else noise(seconds, seed=seed)


def make_gtzan(root: Path, *, layout: str = "original", genres=("blues", "metal"), per_genre: int = 4,
               seconds: float = 4.0, ext: str = ".mp3") -> Path:
    """GTZAN as distributed (genres/<g>/<g>.000NN.au) or as on Kaggle (Data/genres_original/...wav)."""
    base = root / "genres" if layout == "original" else root / "Data" / "genres_original"
    for g in genres:
        for n in range(per_genre):
            path = base / g / f"{g}.{n:05d}{ext}"
            audio = _audio(g in TONE_GENRES, seconds, n)
            if ext == ".mp3":
                write_mp3(path, audio)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(str(path), audio, SR, format=ext.lstrip(".").upper())
    return root


FMA_TOP = ("", "album", "album", "artist", "set", "set", "track", "track")
FMA_SUB = ("", "comments", "title", "name", "split", "subset", "genre_top", "title")


def make_fma(root: Path, tracks: list[tuple[int, str, str, str]], *, seconds: float = 4.0,
             audio_for: set[int] | None = None) -> Path:
    """FMA: fma_metadata/tracks.csv (three header rows), genres.csv, fma_small/NNN/NNNNNN.mp3.

    `tracks`: (track_id, subset, split, genre_top); Rock/Hip-Hop tracks are noise, others tones.
    """
    meta = root / "fma_metadata"
    meta.mkdir(parents=True)
    with open(meta / "tracks.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(FMA_TOP)
        w.writerow(FMA_SUB)
        w.writerow(["track_id"] + [""] * (len(FMA_TOP) - 1))
        for tid, subset, split, genre in tracks:
            w.writerow([tid, "0", f"Album, {tid}", f"Artist {tid % 3}", split, subset, genre, f"Track {tid}"])
    with open(meta / "genres.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["genre_id", "#tracks", "parent", "title", "top_level"])
        for gid, title in ((12, "Rock"), (15, "Electronic"), (21, "Hip-Hop"), (10, "Pop")):
            w.writerow([gid, 100, 0, title, gid])
        w.writerow([25, 50, 12, "Punk", 12])
    for tid, subset, _split, genre in tracks:
        if audio_for is not None and tid not in audio_for:
            continue
        t = f"{tid:06d}"
        write_mp3(root / f"fma_{subset if subset != 'medium' else 'small'}" / t[:3] / f"{t}.mp3",
                  _audio(genre not in ("Rock", "Hip-Hop"), seconds, tid % 7))
    return root


def fma_tracks(per_genre: int = 4) -> list[tuple[int, str, str, str]]:
    rows = []
    for g, genre in enumerate(("Rock", "Electronic")):
        for i in range(per_genre):
            tid = 1000 * (g + 1) + i * 7
            split = "training" if i < per_genre - 2 else ("validation" if i == per_genre - 2 else "test")
            rows.append((tid, "small", split, genre))
    return rows


# -------------------------------------------------------------------------------------------- GTZAN


def test_gtzan_original_layout_reads_labels_and_clip_groups(tmp_path):
    make_gtzan(tmp_path, ext=".au", per_genre=2, seconds=0.5)
    ds = read_gtzan(tmp_path)
    assert ds.labels == ("Blues", "Metal")
    assert [e.group for e in ds.examples] == ["blues.00000", "blues.00001", "metal.00000", "metal.00001"]
    assert all(e.path.suffix == ".au" for e in ds.examples)


def test_gtzan_kaggle_layout_with_wav_is_found_from_its_root(tmp_path):
    make_gtzan(tmp_path, layout="kaggle", ext=".wav", genres=("hiphop", "rock"), per_genre=1, seconds=0.5)
    ds = read_gtzan(tmp_path)
    assert ds.labels == ("Hip-Hop", "Rock")
    assert ds.root == tmp_path / "Data" / "genres_original"


def test_gtzan_skips_the_known_corrupt_jazz_clip_with_a_warning(tmp_path, caplog):
    make_gtzan(tmp_path, genres=("jazz", "rock"), per_genre=1, seconds=0.5)
    write_mp3(tmp_path / "genres" / "jazz" / "jazz.00054.mp3", tone(0.5))
    with caplog.at_level(logging.WARNING):
        ds = read_gtzan(tmp_path)
    assert "jazz.00054" not in {e.group for e in ds.examples}
    assert any("jazz.00054" in str(p) for p, _ in ds.skipped)
    assert "jazz.00054" in caplog.text


def test_gtzan_reader_names_what_it_expected_in_a_wrong_folder(tmp_path):
    (tmp_path / "music" / "stuff").mkdir(parents=True)
    with pytest.raises(DatasetError, match="not a GTZAN folder.*genres"):
        read_gtzan(tmp_path / "music")


def test_gtzan_reader_refuses_a_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        read_gtzan(tmp_path / "nope")


# -------------------------------------------------------------------------------------------- FMA


def test_fma_reads_three_row_header_top_genres_and_official_split(tmp_path):
    make_fma(tmp_path, fma_tracks(), seconds=0.5)
    ds = read_fma(tmp_path)
    assert ds.name == "fma_small"
    assert ds.labels == ("Electronic", "Rock")
    assert len(ds.examples) == 8
    first = ds.examples[0]
    assert first.path == tmp_path / "fma_small" / "001" / "001000.mp3"
    assert first.group == "fma:1000" and first.split == "training"


def test_fma_skips_and_counts_tracks_without_audio_or_top_genre(tmp_path):
    rows = fma_tracks() + [(5000, "small", "training", ""), (6000, "small", "training", "Rock")]
    make_fma(tmp_path, rows, seconds=0.5, audio_for={r[0] for r in fma_tracks()} | {5000})
    ds = read_fma(tmp_path)
    assert ds.info["skipped"] == {"no top genre": 1, "missing audio": 1}
    assert len(ds.examples) == 8


def test_fma_subset_small_excludes_medium_tracks(tmp_path):
    rows = fma_tracks() + [(7000, "medium", "training", "Rock")]
    make_fma(tmp_path, rows, seconds=0.5)
    assert "fma:7000" not in {e.group for e in read_fma(tmp_path, "small").examples}


def test_fma_subset_is_read_from_the_audio_folder_given(tmp_path):
    make_fma(tmp_path, fma_tracks(), seconds=0.5)
    assert read_fma(tmp_path / "fma_small").info["subset"] == "small"


def test_fma_wrong_folder_says_tracks_csv_is_expected(tmp_path):
    with pytest.raises(DatasetError, match="fma_metadata/tracks.csv"):
        read_fma(tmp_path)


def test_fma_csv_with_a_one_row_header_is_refused(tmp_path):
    (tmp_path / "fma_metadata").mkdir()
    (tmp_path / "fma_small").mkdir()
    (tmp_path / "fma_metadata" / "tracks.csv").write_text("track_id,genre_top\n1,Rock\n2,Pop\n")
    with pytest.raises(DatasetError, match="track_id"):
        read_fma(tmp_path)


def test_fma_official_split_follows_the_set_split_column(tmp_path):
    make_fma(tmp_path, fma_tracks(), seconds=0.5)
    split = make_split(read_fma(tmp_path), "official")
    assert split.sizes() == {"train": 4, "valid": 2, "test": 2}


def test_fma_random_split_has_three_parts(tmp_path):
    make_fma(tmp_path, fma_tracks(per_genre=10), seconds=0.3)
    sizes = make_split(read_fma(tmp_path), "random", seed=3).sizes()
    assert sizes == {"train": 16, "valid": 2, "test": 2}


# -------------------------------------------------------------------------------------------- folders, library


def test_folder_dataset_uses_folder_names_as_labels(tmp_path):
    for g in ("ambient", "punk"):
        write_mp3(tmp_path / g / "sub" / "a.mp3", tone(0.5))
    (tmp_path / "empty").mkdir()
    ds = read_folder(tmp_path)
    assert ds.labels == ("ambient", "punk")
    assert ds.examples[0].group.endswith("ambient/sub/a")


def test_folder_dataset_maps_folder_names_onto_a_label_set(tmp_path):
    for g in ("electronic", "hip hop"):
        write_mp3(tmp_path / g / "a.mp3", tone(0.5))
    ds = read_folder(tmp_path, DEFAULT_LABELS)
    assert ds.labels == ("Electronic", "Hip-Hop")


def test_folder_dataset_with_an_unknown_genre_folder_is_an_error(tmp_path):
    write_mp3(tmp_path / "polka" / "a.mp3", tone(0.5))
    with pytest.raises(DatasetError, match="polka"):
        read_folder(tmp_path, DEFAULT_LABELS)


def test_folder_without_genre_folders_is_an_error(tmp_path):
    write_mp3(tmp_path / "a.mp3", tone(0.5))
    with pytest.raises(DatasetError, match="no genre folders"):
        read_folder(tmp_path)


def test_library_tracks_with_a_known_genre_become_examples(tmp_path):
    from tagger.library import Library
    from tests.helpers import make_track

    make_track(tmp_path / "m" / "a.mp3", seconds=1, genre="Hip Hop")
    make_track(tmp_path / "m" / "b.mp3", seconds=1, genre="Rock")
    make_track(tmp_path / "m" / "c.mp3", seconds=1, genre="Polka")
    make_track(tmp_path / "m" / "d.mp3", seconds=1)
    library = Library(tmp_path / "lib.sqlite")
    library.scan([tmp_path / "m"])
    ds = read_library(DEFAULT_LABELS, library=library)
    assert sorted((e.path.name, e.label) for e in ds.examples) == [("a.mp3", "Hip-Hop"), ("b.mp3", "Rock")]
    assert len(ds.skipped) == 2


# -------------------------------------------------------------------------------------------- splits


def test_random_gtzan_split_is_80_20_stratified_and_seeded(tmp_path):
    make_gtzan(tmp_path, per_genre=10, seconds=0.2)
    ds = read_gtzan(tmp_path)
    a, b = make_split(ds, "random", seed=1), make_split(ds, "random", seed=1)
    assert a.sizes() == {"train": 16, "valid": 4, "test": 0}
    assert [e.group for e in a.valid] == [e.group for e in b.valid]
    assert sorted(e.label for e in a.valid) == ["Blues", "Blues", "Metal", "Metal"]
    assert [e.group for e in make_split(ds, "random", seed=2).valid] != [e.group for e in a.valid]


def test_fault_filtered_split_files_hold_443_197_290_clips():
    ids = read_split_files("gtzan_fault_filtered")
    assert (len(ids["train"]), len(ids["valid"]), len(ids["test"])) == (443, 197, 290)


def test_fault_filtered_split_selects_the_listed_clips(tmp_path):
    make_gtzan(tmp_path, genres=("blues",), per_genre=13, seconds=0.2)
    make_gtzan(tmp_path, genres=("rock",), per_genre=1, seconds=0.2)
    split = make_split(read_gtzan(tmp_path), "fault_filtered")
    # blues.00000-00011 are validation, blues.00012 is test; rock.00000 is training.
    assert [e.group for e in split.train] == ["rock.00000"]
    assert len(split.valid) == 12 and [e.group for e in split.test] == ["blues.00012"]


def test_missing_split_file_is_named_in_the_error(tmp_path):
    (tmp_path / "mine.train.txt").write_text("a\n")
    with pytest.raises(DatasetError, match=r"split file missing: .*mine\.valid\.txt"):
        read_split_files("mine", tmp_path)


def test_a_split_written_to_files_reads_back_the_same(tmp_path):
    make_gtzan(tmp_path / "g", per_genre=5, seconds=0.2)
    split = make_split(read_gtzan(tmp_path / "g"), "random", seed=4)
    write_split_files(split, "frozen", tmp_path / "splits")
    ids = read_split_files("frozen", tmp_path / "splits")
    assert ids["valid"] == {e.group for e in split.valid} and ids["test"] == set()


def test_windows_of_one_group_never_land_on_both_sides(tmp_path):
    make_gtzan(tmp_path, per_genre=5, seconds=0.2)
    ds = read_gtzan(tmp_path)
    # Two files of the same group (e.g. two windows' sources of one track) stay together.
    ds.examples.append(type(ds.examples[0])(ds.examples[0].path.with_name("x.mp3"), "Blues",
                                            ds.examples[0].group, "gtzan"))
    for seed in range(5):
        parts = stratified_groups(ds.examples, (0.6, 0.4), seed)
        groups = [{e.group for e in p} for p in parts]
        assert not groups[0] & groups[1]
        check_disjoint(make_split(ds, "random", seed))


def test_group_folds_cover_every_clip_once_and_balance_datasets(tmp_path):
    make_gtzan(tmp_path / "g", per_genre=5, seconds=0.2)
    for i in range(6):
        write_mp3(tmp_path / "f" / "rock" / f"{i}.mp3", tone(0.2))
    ds = merge([read_gtzan(tmp_path / "g"), read_folder(tmp_path / "f", DEFAULT_LABELS)], DEFAULT_LABELS)
    folds = group_folds(ds.examples, 3, seed=0)
    seen = [e.group for f in folds for e in f]
    assert sorted(seen) == sorted(e.group for e in ds.examples)
    assert all(sum(e.dataset == "f" for e in f) == 2 for f in folds)


# -------------------------------------------------------------------------------------------- feature cache


def test_feature_cache_stores_float16_read_with_mmap_and_counts_short_clips(tmp_path):
    from tagger.features import FeatureConfig

    good = write_mp3(tmp_path / "a.mp3", tone(4.0))
    short = write_mp3(tmp_path / "b.mp3", tone(1.0))
    broken = tmp_path / "c.mp3"
    broken.write_bytes(b"not audio at all" * 100)
    cache = FeatureCache(FeatureConfig(), root=tmp_path / "cache")
    seen = []
    report = cache.build([good, short, broken], workers=1, progress=lambda d, t: seen.append((d, t)))
    assert report.built == 1 and set(report.failed) == {short, broken}
    assert "too short" in report.failed[short]
    mel = cache.load(good)
    assert isinstance(mel, np.memmap) and mel.dtype == np.float16 and mel.shape[1] == 96
    assert seen[-1] == (3, 3)
    again = cache.build([good, short, broken], workers=1)
    assert (again.built, again.reused, len(again.failed)) == (0, 1, 2)


def test_feature_cache_key_changes_when_the_file_changes(tmp_path):
    from tagger.features import FeatureConfig

    path = write_mp3(tmp_path / "a.mp3", tone(4.0))
    cache = FeatureCache(FeatureConfig(), root=tmp_path / "cache")
    before = cache.entry(path)
    write_mp3(path, noise(5.0))
    assert cache.entry(path) != before
    assert cache.status(path) is None
    assert FeatureCache(FeatureConfig(n_mels=64), root=tmp_path / "cache").root != cache.root
