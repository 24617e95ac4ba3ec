"""The library cache: scanning into SQLite, rescans that reopen nothing, cached predictions."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from tagger import library as library_module
from tagger import paths
from tagger.errors import FileError, GenrenetError
from tagger.library import SCHEMA_VERSION, Library
from tagger.track import Fingerprint, Prediction, Track
from tests.helpers import ALBUM_TAGS, make_track, tag_mp3

# the tracks columns added by the album fields' migration (schema version 4)
ALBUM_COLUMNS = ("track_number", "track_total", "disc_number", "year", "album_artist", "compilation")


@pytest.fixture
def lib(tmp_path) -> Library:
    library = Library(tmp_path / "library.sqlite")
    yield library
    library.close()


def by_name(tracks: list[Track]) -> dict[str, Track]:
    return {t.path.name: t for t in tracks}


def set_mtime(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


def prediction_for(track: Track, model_id: str = "tiny@1", n_windows: int = 3) -> Prediction:
    rng = np.random.default_rng(7)
    windows = rng.random((n_windows, 4), dtype=np.float32)
    windows /= windows.sum(axis=1, keepdims=True)
    return Prediction(
        path=track.path,
        model_id=model_id,
        labels=("Jazz", "Rock", "Pop", "Électronique"),
        probabilities=windows.mean(axis=0) if n_windows else np.full(4, 0.25, np.float32),
        window_probabilities=windows,
        window_starts=tuple(0.1 + 2.9 * i for i in range(n_windows)),
    )


# --- scanning ----------------------------------------------------------------------------------


def test_scan_lists_every_track_with_its_tags_in_path_order(lib, music_folder):
    report = lib.scan([music_folder])
    assert [t.path for t in report.tracks] == sorted(music_folder.rglob("*.mp3"))
    one = by_name(report.tracks)["01 tone.mp3"]
    assert (one.title, one.artist, one.album, one.genres) == ("Song One", "Artist A", "Album 1", ("Jazz",))
    assert one.duration == pytest.approx(8.0, abs=0.2)
    assert one.error is None
    untagged = by_name(report.tracks)["03 tone.mp3"]
    assert (untagged.title, untagged.genres, untagged.error) == (None, (), None)
    assert report.errors == []


def test_first_scan_counts_every_file_as_new(lib, music_folder):
    report = lib.scan([music_folder])
    assert (report.new, report.changed, report.unchanged, report.removed) == (4, 0, 0, 0)
    assert report.reopened == 4
    assert not report.cancelled


def test_fingerprint_is_the_files_size_and_mtime(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    st = track.path.stat()
    assert track.fingerprint == Fingerprint(st.st_size, st.st_mtime_ns)


def test_rescan_reopens_nothing(lib, music_folder):
    first = lib.scan([music_folder])
    again = lib.scan([music_folder])
    assert again.reopened == 0
    assert (again.new, again.changed, again.unchanged, again.removed) == (0, 0, 4, 0)
    assert again.tracks == first.tracks


def test_rescan_serves_unchanged_files_from_the_cache_without_reading_them(lib, music_folder):
    song = music_folder / "Artist A" / "Album 1" / "01 tone.mp3"
    lib.scan([music_folder])
    st = song.stat()
    song.write_bytes(b"\0" * st.st_size)  # same size, tags gone...
    set_mtime(song, st.st_mtime_ns)  # ...and the same mtime: a stat cannot tell
    track = by_name(lib.scan([music_folder]).tracks)[song.name]
    assert track.title == "Song One"  # so the cached tags prove the file was not reopened
    assert track.error is None


def test_touched_file_is_reopened(lib, music_folder):
    song = music_folder / "Artist B" / "03 tone.mp3"
    lib.scan([music_folder])
    tag_mp3(song, title="Retitled", genre="Rock")
    set_mtime(song, song.stat().st_mtime_ns + 1_000_000_000)
    report = lib.scan([music_folder])
    assert (report.changed, report.unchanged, report.reopened) == (1, 3, 1)
    track = by_name(report.tracks)[song.name]
    assert (track.title, track.genres) == ("Retitled", ("Rock",))


def test_mtime_change_alone_reopens_the_file(lib, music_folder):
    song = music_folder / "Artist B" / "04 noise.mp3"
    lib.scan([music_folder])
    set_mtime(song, song.stat().st_mtime_ns - 5_000_000_000)
    report = lib.scan([music_folder])
    assert (report.changed, report.reopened) == (1, 1)


def test_new_file_is_counted_as_new(lib, music_folder):
    lib.scan([music_folder])
    make_track(music_folder / "Artist C" / "05 new.mp3", seconds=1.0, title="Fresh")
    report = lib.scan([music_folder])
    assert (report.new, report.unchanged, report.reopened) == (1, 4, 1)
    assert by_name(report.tracks)["05 new.mp3"].title == "Fresh"


def test_removed_file_disappears(lib, music_folder):
    gone = music_folder / "Artist B" / "04 noise.mp3"
    lib.scan([music_folder])
    gone.unlink()
    report = lib.scan([music_folder])
    assert report.removed == 1
    assert gone not in [t.path for t in report.tracks]
    assert gone not in [t.path for t in lib.tracks()]
    assert len(lib.tracks()) == 3


def test_removed_file_takes_its_predictions_along(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    lib.store_prediction(track, prediction_for(track))
    track.path.unlink()
    assert lib.scan([music_folder]).removed == 1
    assert lib.cached_prediction(track, "tiny@1") is None


def test_files_outside_the_scanned_roots_are_kept(lib, tmp_path):
    make_track(tmp_path / "Music" / "a.mp3", seconds=1.0)
    make_track(tmp_path / "Music2" / "b.mp3", seconds=1.0)  # shares the prefix "Music"
    lib.scan([tmp_path / "Music"])
    lib.scan([tmp_path / "Music2"])
    (tmp_path / "Music" / "a.mp3").unlink()
    report = lib.scan([tmp_path / "Music"])
    assert report.removed == 1
    assert [t.path.name for t in lib.tracks()] == ["b.mp3"]
    assert [t.path.name for t in lib.tracks([tmp_path / "Music2"])] == ["b.mp3"]
    assert lib.tracks([tmp_path / "Music"]) == []


def test_missing_root_is_an_error_and_keeps_its_cached_tracks(lib, music_folder, tmp_path):
    lib.scan([music_folder])
    unplugged = tmp_path / "unplugged"
    music_folder.rename(unplugged)  # like an external drive that is not mounted
    report = lib.scan([music_folder])
    assert report.removed == 0
    assert [p for p, _ in report.errors] == [music_folder]
    assert len(lib.tracks([music_folder])) == 4


def test_folder_behind_a_dangling_link_keeps_its_cached_tracks(lib, tmp_path):
    drive = tmp_path / "drive"
    make_track(drive / "a.mp3", seconds=1.0)
    root = tmp_path / "Music"
    make_track(root / "local.mp3", seconds=1.0)
    (root / "external").symlink_to(drive, target_is_directory=True)
    lib.scan([root])
    drive.rename(tmp_path / "drive-unmounted")
    report = lib.scan([root])
    assert report.removed == 0
    assert [p for p, _ in report.errors] == [root / "external"]
    assert [t.path.name for t in lib.tracks([root])] == ["a.mp3", "local.mp3"]


@pytest.mark.parametrize(
    "content",
    [b"", b"this is a text file, not audio\n" * 50, b"ID3\x03\x00\x00\x7f\x7f\x7f\x7f" + bytes(range(256)) * 8],
    ids=["empty", "text", "corrupt-id3"],
)
def test_unreadable_mp3_is_listed_with_an_error(lib, music_folder, content):
    bad = music_folder / "bad.mp3"
    bad.write_bytes(content)
    report = lib.scan([music_folder])
    track = by_name(report.tracks)["bad.mp3"]
    assert track.error
    assert [p for p, _ in report.errors] == [bad]
    assert report.errors[0][1] == track.error
    assert len(report.tracks) == 5


def test_unreadable_mp3_stays_listed_on_rescan_without_being_reopened(lib, music_folder):
    (music_folder / "bad.mp3").write_bytes(b"garbage")
    lib.scan([music_folder])
    report = lib.scan([music_folder])
    assert report.reopened == 0
    assert by_name(report.tracks)["bad.mp3"].error
    assert [p.name for p, _ in report.errors] == ["bad.mp3"]


def test_unicode_paths_are_stored_and_found_again(lib, tmp_path):
    song = make_track(tmp_path / "Sigur Rós" / "Ágætis byrjun" / "Svefn-g-englar 🎧.mp3",
                      seconds=1.0, title="Svefn-g-englar", artist="Sigur Rós")
    lib.scan([tmp_path])
    again = Library(lib.db_path)
    try:
        [track] = again.tracks()
    finally:
        again.close()
    assert track.path == song
    assert track.artist == "Sigur Rós"


@pytest.mark.skipif(os.name != "posix" or os.uname().sysname == "Darwin", reason="raw-byte file names")
def test_file_name_that_is_not_utf8_is_cached(lib, tmp_path):
    src = make_track(tmp_path / "src.mp3", seconds=1.0)
    raw = os.path.join(os.fsencode(tmp_path / "Music"), b"caf\xe9.mp3")
    os.makedirs(os.path.dirname(raw))
    shutil.move(src, os.fsdecode(raw))
    first = lib.scan([tmp_path / "Music"])
    again = lib.scan([tmp_path / "Music"])
    assert [t.path for t in again.tracks] == [Path(os.fsdecode(raw))]
    assert (first.new, again.unchanged, again.reopened) == (1, 1, 0)


def test_a_file_given_as_root_is_scanned(lib, music_folder):
    song = music_folder / "Artist B" / "03 tone.mp3"
    report = lib.scan([song])
    assert [t.path for t in report.tracks] == [song]
    assert len(lib.tracks()) == 1


def test_relative_roots_are_stored_as_absolute_paths(lib, music_folder, monkeypatch):
    monkeypatch.chdir(music_folder.parent)
    report = lib.scan([Path("Music")])
    assert all(t.path.is_absolute() for t in report.tracks)
    assert lib.scan([music_folder]).unchanged == 4


# --- progress and cancel -----------------------------------------------------------------------


def test_progress_counts_up_to_the_total(lib, music_folder):
    calls: list[tuple[int, int]] = []
    lib.scan([music_folder], progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 4)
    assert calls[-1] == (4, 4)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_cancel_stops_the_scan_and_keeps_what_was_stored(tmp_path):
    root = tmp_path / "Music"
    src = make_track(tmp_path / "src.mp3", seconds=1.0)
    for i in range(600):
        (root / f"{i // 100:02d}").mkdir(parents=True, exist_ok=True)
        os.link(src, root / f"{i // 100:02d}" / f"{i:03d}.mp3")
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    with Library(tmp_path / "lib.sqlite") as lib:
        report = lib.scan([root], progress=progress, cancel=cancel)
        assert report.cancelled
        assert 0 < len(report.tracks) < 600
        stored = len(lib.tracks())
        assert stored == len(report.tracks)
        assert report.removed == 0
        finish = lib.scan([root])
    assert not finish.cancelled
    assert (finish.unchanged, finish.new) == (stored, 600 - stored)


def test_cancel_before_start_changes_nothing(lib, music_folder):
    lib.scan([music_folder])
    (music_folder / "Artist B" / "04 noise.mp3").unlink()
    cancel = threading.Event()
    cancel.set()
    report = lib.scan([music_folder], cancel=cancel)
    assert report.cancelled
    assert report.removed == 0
    assert len(lib.tracks()) == 4


# --- predictions -------------------------------------------------------------------------------


def test_prediction_is_cached_for_the_same_model_and_fingerprint(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    lib.store_prediction(track, prediction_for(track))
    cached = lib.cached_prediction(track, "tiny@1")
    assert cached is not None
    assert cached.model_id == "tiny@1"
    assert cached.path == track.path


def test_prediction_of_another_model_is_not_returned(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    lib.store_prediction(track, prediction_for(track, "tiny@1"))
    assert lib.cached_prediction(track, "tiny@2") is None


def test_prediction_is_not_returned_once_the_file_changed(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    lib.store_prediction(track, prediction_for(track))
    set_mtime(track.path, track.fingerprint.mtime_ns + 1)
    changed = by_name(lib.scan([music_folder]).tracks)[track.path.name]
    assert changed.fingerprint != track.fingerprint
    assert lib.cached_prediction(changed, "tiny@1") is None
    assert lib.cached_prediction(track, "tiny@1") is None  # stale rows are dropped on rescan


def test_predictions_of_several_models_live_side_by_side(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    lib.store_prediction(track, prediction_for(track, "a"))
    lib.store_prediction(track, prediction_for(track, "b", n_windows=5))
    assert lib.cached_prediction(track, "a").window_probabilities.shape == (3, 4)
    assert lib.cached_prediction(track, "b").window_probabilities.shape == (5, 4)


def test_storing_again_replaces_the_prediction(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    lib.store_prediction(track, prediction_for(track, n_windows=2))
    lib.store_prediction(track, prediction_for(track, n_windows=6))
    assert lib.cached_prediction(track, "tiny@1").window_probabilities.shape == (6, 4)


@pytest.mark.parametrize("n_windows", [1, 8, 0])
def test_prediction_roundtrips_its_arrays_exactly(lib, music_folder, n_windows):
    track = lib.scan([music_folder]).tracks[0]
    stored = prediction_for(track, n_windows=n_windows)
    lib.store_prediction(track, stored)
    other = Library(lib.db_path)  # read back through a fresh connection
    try:
        got = other.cached_prediction(track, "tiny@1")
    finally:
        other.close()
    assert got.labels == stored.labels
    assert got.window_starts == stored.window_starts
    for a, b in ((got.probabilities, stored.probabilities), (got.window_probabilities, stored.window_probabilities)):
        assert a.dtype == np.float32
        assert a.shape == b.shape
        assert a.tobytes() == b.tobytes()


def test_cached_predictions_in_bulk_match_model_and_fingerprint(lib, music_folder):
    tracks = lib.scan([music_folder]).tracks
    for t in tracks[:3]:
        lib.store_prediction(t, prediction_for(t, "a"))
    lib.store_prediction(tracks[3], prediction_for(tracks[3], "b"))
    set_mtime(tracks[0].path, tracks[0].fingerprint.mtime_ns + 1)
    fresh = lib.scan([music_folder]).tracks
    found = lib.cached_predictions(fresh, "a")
    assert sorted(found) == [t.path for t in tracks[1:3]]
    assert found[tracks[1].path].window_probabilities.tobytes() == \
        lib.cached_prediction(tracks[1], "a").window_probabilities.tobytes()


def test_prediction_for_another_path_is_refused(lib, music_folder):
    first, second = lib.scan([music_folder]).tracks[:2]
    with pytest.raises(ValueError):
        lib.store_prediction(first, prediction_for(second))


# --- update after a write, clear, persistence, threads, schema ---------------------------------


def test_update_track_refreshes_tags_and_fingerprint_and_keeps_predictions(lib, music_folder):
    track = by_name(lib.scan([music_folder]).tracks)["01 tone.mp3"]
    lib.store_prediction(track, prediction_for(track))
    tag_mp3(track.path, title="Song One", genre="Blues")  # what a genre write does
    set_mtime(track.path, track.fingerprint.mtime_ns + 2_000_000_000)
    updated = lib.update_track(track)
    assert updated.genres == ("Blues",)
    assert updated.fingerprint == Fingerprint.of(track.path)
    assert by_name(lib.tracks())["01 tone.mp3"] == updated
    assert lib.cached_prediction(updated, "tiny@1") is not None  # the audio did not change
    assert lib.scan([music_folder]).reopened == 0


def test_update_track_of_a_vanished_file_raises_a_file_error(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    track.path.unlink()
    with pytest.raises(FileError):
        lib.update_track(track)
    assert track.path not in [t.path for t in lib.tracks()]


def test_clear_forgets_tracks_and_predictions(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    lib.store_prediction(track, prediction_for(track))
    lib.clear()
    assert lib.tracks() == []
    assert lib.cached_prediction(track, "tiny@1") is None
    assert lib.scan([music_folder]).new == 4


def test_default_location_is_the_user_cache_dir(music_folder):
    with Library() as lib:
        lib.scan([music_folder])
        assert lib.db_path == paths.library_db()
    assert paths.library_db().exists()


def test_library_survives_reopening(lib, music_folder):
    lib.scan([music_folder])
    lib.close()
    with Library(lib.db_path) as again:
        assert len(again.tracks()) == 4
        assert again.scan([music_folder]).reopened == 0


def test_scan_in_a_worker_thread_then_read_in_another(lib, music_folder):
    result = {}
    worker = threading.Thread(target=lambda: result.update(report=lib.scan([music_folder])))
    worker.start()
    worker.join()
    assert len(result["report"].tracks) == 4
    assert len(lib.tracks()) == 4


def test_database_uses_wal_and_records_its_schema_version(lib):
    con = sqlite3.connect(lib.db_path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        con.close()


def test_database_from_a_newer_version_is_refused_with_a_clear_message(tmp_path):
    db = tmp_path / "future.sqlite"
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(GenrenetError, match="newer"):
        Library(db)


def test_schema_migrations_run_in_order_and_keep_data(tmp_path, music_folder, monkeypatch):
    db = tmp_path / "lib.sqlite"
    with Library(db) as lib:
        lib.scan([music_folder])

    def add_rating(con: sqlite3.Connection) -> None:
        con.execute("ALTER TABLE tracks ADD COLUMN rating INTEGER")

    monkeypatch.setattr(library_module, "MIGRATIONS", (*library_module.MIGRATIONS, add_rating))
    with Library(db) as lib:
        assert len(lib.tracks()) == 4
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert "rating" in [row[1] for row in con.execute("PRAGMA table_info(tracks)")]
    finally:
        con.close()


def test_a_corrupt_cache_file_is_set_aside_and_rebuilt(tmp_path, music_folder):
    db = tmp_path / "lib.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    with Library(db) as lib:
        assert lib.scan([music_folder]).new == 4
    assert list(tmp_path.glob("lib.sqlite.corrupt*"))


@pytest.mark.slow
def test_scan_benchmark_runs_on_a_small_library(capsys):
    from bench import bench_scan

    assert bench_scan.main(["--files", "40", "--repeats", "1", "--workers", "1", "2"]) == 0
    result = [line for line in capsys.readouterr().out.splitlines() if line.startswith("RESULT")]
    assert len(result) == 1 and "files=40" in result[0]


def test_found_callback_gets_every_track_once_in_batches(lib, music_folder, monkeypatch):
    monkeypatch.setattr(library_module, "CHUNK", 3)
    batches: list[list[Track]] = []
    report = lib.scan([music_folder], found=batches.append)
    assert [len(b) for b in batches] == [3, 1]
    assert [t.path for b in batches for t in b] == [t.path for t in report.tracks]


def test_found_callback_batches_are_already_stored(lib, music_folder, monkeypatch):
    monkeypatch.setattr(library_module, "CHUNK", 2)
    stored_when_found: list[int] = []

    def found(batch: list[Track]) -> None:
        with Library(lib.db_path) as other:
            stored_when_found.append(len(other.tracks()))

    lib.scan([music_folder], found=found)
    assert stored_when_found == [2, 4]


def test_rescan_reports_all_tracks_through_found(lib, music_folder, monkeypatch):
    monkeypatch.setattr(library_module, "CHUNK", 3)
    lib.scan([music_folder])
    make_track(music_folder / "05 new.mp3", "tone", seed=5)
    batches: list[list[Track]] = []
    report = lib.scan([music_folder], found=batches.append)
    assert report.unchanged == 4 and report.new == 1
    found_paths = [t.path for b in batches for t in b]
    assert found_paths == [t.path for t in report.tracks]
    assert len(found_paths) == len(set(found_paths)) == 5


def test_cancelled_scan_reports_through_found_only_what_it_listed(lib, music_folder, monkeypatch):
    monkeypatch.setattr(library_module, "CHUNK", 2)
    cancel = threading.Event()
    batches: list[list[Track]] = []

    def found(batch: list[Track]) -> None:
        batches.append(batch)
        cancel.set()

    report = lib.scan([music_folder], cancel=cancel, found=found)
    assert report.cancelled
    assert [t.path for b in batches for t in b] == [t.path for t in report.tracks]
    assert len(report.tracks) == 2


def test_tags_are_read_in_threads_only_after_reads_waited_on_the_disk(tmp_path, music_folder, monkeypatch):
    """A slow disk cannot be made on demand: a read that sleeps stands for one that waits."""
    import threading
    import time

    import tagger.library as library_module

    real_read = library_module.read_track
    threads_used: list[str] = []

    def waiting_read(path, fingerprint=None):
        threads_used.append(threading.current_thread().name)
        time.sleep(0.003)
        return real_read(path, fingerprint)

    monkeypatch.setattr(library_module, "read_track", waiting_read)
    lib = Library(tmp_path / "lib.sqlite", workers=4)
    from concurrent.futures import ThreadPoolExecutor

    files = sorted(music_folder.rglob("*.mp3"))
    jobs = [(p, None) for p in files]
    with ThreadPoolExecutor(4) as executor:
        lib._read_tracks(jobs, executor)  # quick so far: read here, one after another
        first = set(threads_used)
        threads_used.clear()
        lib._read_tracks(jobs, executor)  # the first chunk waited: now in the workers
    assert first == {threading.current_thread().name}
    assert threading.current_thread().name not in threads_used
    lib.close()


def test_a_cache_from_before_formats_upgrades_with_mp3_for_every_readable_row(tmp_path, music_folder):
    db = tmp_path / "lib.sqlite"
    con = sqlite3.connect(db)
    library_module.MIGRATIONS[0](con)  # the schema as the mp3-only versions left it
    track = next(iter(sorted(music_folder.rglob("*.mp3"))))
    st = track.stat()
    con.execute("INSERT INTO tracks VALUES (?, ?, ?, 'T', 'A', 'B', '[\"Jazz\"]', 8.0, NULL, 0)",
                (os.fsencode(track), st.st_size, st.st_mtime_ns))
    con.execute("INSERT INTO tracks VALUES (?, 1, 1, NULL, NULL, NULL, '[]', NULL, 'unreadable', 0)",
                (os.fsencode(tmp_path / "bad.mp3"),))
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    with Library(db) as lib:
        formats = {t.path.name: t.format for t in lib.tracks()}
        assert formats == {track.name: "MP3", "bad.mp3": ""}
        report = lib.scan([track])
        assert report.unchanged == 1 and report.tracks[0].format == "MP3"


def test_prediction_roundtrips_its_tag_probabilities_exactly(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    tags = np.array([0.9, 0.01, 0.33], dtype=np.float32)
    stored = dataclasses.replace(prediction_for(track), tag_labels=("hard rock", "80s", "soul"), tag_probabilities=tags)
    lib.store_prediction(track, stored)
    got = lib.cached_prediction(track, "tiny@1")
    assert got.tag_labels == ("hard rock", "80s", "soul")
    assert got.tag_probabilities.dtype == np.float32 and got.tag_probabilities.tobytes() == tags.tobytes()
    assert lib.cached_predictions([track], "tiny@1")[track.path].tag_labels == stored.tag_labels


def test_a_prediction_without_tags_reads_back_without_tags(lib, music_folder):
    track = lib.scan([music_folder]).tracks[0]
    lib.store_prediction(track, prediction_for(track))
    got = lib.cached_prediction(track, "tiny@1")
    assert got.tag_labels == () and got.tag_probabilities is None


def test_a_cache_from_before_tags_keeps_its_predictions_without_tags(tmp_path, music_folder):
    db = tmp_path / "lib.sqlite"
    with Library(db) as lib:
        track = lib.scan([music_folder]).tracks[0]
        lib.store_prediction(track, prediction_for(track))
    con = sqlite3.connect(db)  # undo the tags migration: the schema as version 2 left it
    for column in ALBUM_COLUMNS:  # and the album fields' migration after it
        con.execute(f"ALTER TABLE tracks DROP COLUMN {column}")
    con.execute("ALTER TABLE predictions DROP COLUMN tag_probabilities")
    con.execute("ALTER TABLE predictions DROP COLUMN tag_labels")
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    with Library(db) as lib:
        got = lib.cached_prediction(track, "tiny@1")
        assert got is not None and got.tag_probabilities is None


def album_fields(track: Track) -> tuple:
    return (track.track_number, track.track_total, track.disc_number, track.year, track.album_artist,
            track.compilation)


@pytest.mark.parametrize("name", ["a.mp3", "a.flac", "a.ogg", "a.opus", "a.m4a"])
def test_album_fields_are_scanned_and_served_from_the_cache(lib, tmp_path, name):
    make_track(tmp_path / "m" / name, seconds=1.0, **ALBUM_TAGS)
    first = lib.scan([tmp_path / "m"]).tracks[0]
    assert album_fields(first) == (3, 12, 2, 2004, "Various Artists", True)
    again = lib.scan([tmp_path / "m"])
    assert again.reopened == 0 and again.tracks == [first]
    assert lib.track(first.path) == first


def test_a_track_without_album_fields_is_cached_as_none_and_not_reopened(lib, music_folder):
    lib.scan([music_folder])
    again = lib.scan([music_folder])
    assert again.reopened == 0
    assert {album_fields(t) for t in again.tracks} == {(None, None, None, None, None, False)}


def test_a_cache_from_before_album_fields_reads_them_on_the_next_scan(tmp_path):
    song = make_track(tmp_path / "m" / "a.flac", seconds=1.0, title="Old", **ALBUM_TAGS)
    db = tmp_path / "lib.sqlite"
    with Library(db) as lib:
        track = lib.scan([song]).tracks[0]
        lib.store_prediction(track, prediction_for(track))
    con = sqlite3.connect(db)  # the schema as version 3 left it, with the row it stored
    for column in ALBUM_COLUMNS:
        con.execute(f"ALTER TABLE tracks DROP COLUMN {column}")
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()
    with Library(db) as lib:
        cached = lib.track(song)
        assert (cached.title, album_fields(cached)) == ("Old", (None, None, None, None, None, False))
        report = lib.scan([song])
        assert (report.reopened, report.unchanged, report.changed) == (1, 1, 0)  # read again, not "changed"
        assert album_fields(report.tracks[0]) == (3, 12, 2, 2004, "Various Artists", True)
        assert report.tracks[0].fingerprint == track.fingerprint
        assert lib.cached_prediction(report.tracks[0], "tiny@1") is not None  # the audio is the same
        assert lib.scan([song]).reopened == 0


def test_update_track_keeps_the_album_fields(lib, tmp_path):
    song = make_track(tmp_path / "m" / "a.mp3", seconds=1.0, **ALBUM_TAGS)
    track = lib.scan([song]).tracks[0]
    tag_mp3(song, title="New", track="4/12", date="2005")
    fresh = lib.update_track(track)
    assert (fresh.title, fresh.track_number, fresh.year, fresh.album_artist) == ("New", 4, 2005, None)
    assert lib.track(song) == fresh
