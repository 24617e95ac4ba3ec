"""tagger.journal: batches of genre writes, recorded before the files change, undone exactly."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from mutagen.id3 import ID3, TIT2

from tagger import paths
from tagger.journal import Journal, JournalError
from tagger.tags import read_genre_frame, read_tags
from tagger.track import Decision, DecisionStatus, Fingerprint
from tests.helpers import make_track


@pytest.fixture
def journal(tmp_path) -> Journal:
    j = Journal(tmp_path / "journal.sqlite")
    yield j
    j.close()


@pytest.fixture
def tracks(tmp_path) -> list[Path]:
    return [
        make_track(tmp_path / "music" / "a.mp3", seconds=2, seed=1, title="A", genre="Jazz", rich=True),
        make_track(tmp_path / "music" / "b.mp3", seconds=2, seed=2, title="B"),
        make_track(tmp_path / "music" / "c.mp3", seconds=2, seed=3),
    ]


def decide(path: Path, *genres: str, scanned: bool = True) -> Decision:
    return Decision(path, tuple(genres), Fingerprint.of(path) if scanned else None)


def touch_content(path: Path) -> None:
    """Another program edits the file after our write (title changed, mtime moved)."""
    tags = ID3(str(path))
    tags.add(TIT2(encoding=3, text="edited elsewhere"))
    tags.save(str(path), v2_version=tags.version[1])
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


# ---------------------------------------------------------------- writing


def test_write_batch_writes_every_decision(journal, tracks):
    report = journal.write_batch([decide(p, "Rock") for p in tracks], description="first")
    assert report.written == tracks and report.errors == [] and not report.cancelled
    assert report.batch_id is not None
    assert [read_tags(p).genres for p in tracks] == [("Rock",)] * 3


def test_write_batch_honours_id3_version_and_separator(journal, tracks):
    journal.write_batch([decide(tracks[2], "Rock", "Pop")], id3_version=4)
    assert read_tags(tracks[2]).id3_version == 4
    assert ID3(str(tracks[2]))["TCON"].text == ["Rock", "Pop"]


def test_default_journal_lives_in_the_user_data_dir(tracks):
    j = Journal()
    try:
        j.write_batch([decide(tracks[0], "Rock")])
    finally:
        j.close()
    assert paths.journal_db().is_file()


def test_file_changed_since_scan_is_refused_without_force(journal, tracks):
    decision = decide(tracks[0], "Rock")
    touch_content(tracks[0])
    before = tracks[0].read_bytes()
    report = journal.write_batch([decision])
    assert report.written == [] and report.batch_id is None
    assert report.errors[0][0] == tracks[0] and "changed since" in report.errors[0][1]
    assert tracks[0].read_bytes() == before


def test_file_changed_since_scan_is_written_with_force(journal, tracks):
    decision = decide(tracks[0], "Rock")
    touch_content(tracks[0])
    report = journal.write_batch([decision], force=True)
    assert report.written == [tracks[0]]
    assert read_tags(tracks[0]).genres == ("Rock",)


def test_per_file_errors_do_not_stop_the_batch(journal, tracks):
    decisions = [decide(p, "Rock") for p in tracks]
    tracks[1].unlink()
    report = journal.write_batch(decisions)
    assert report.written == [tracks[0], tracks[2]]
    assert [p for p, _ in report.errors] == [tracks[1]]
    assert "not found" in report.errors[0][1]


def test_read_only_file_is_a_per_file_error(journal, tracks):
    os.chmod(tracks[0], 0o444)
    report = journal.write_batch([decide(p, "Rock") for p in tracks])
    assert report.written == tracks[1:]
    assert "read-only" in report.errors[0][1]


def test_same_file_twice_in_one_batch_is_refused_the_second_time(journal, tracks):
    report = journal.write_batch([decide(tracks[0], "Rock"), decide(tracks[0], "Pop", scanned=False)])
    assert report.written == [tracks[0]]
    assert "twice" in report.errors[0][1]


def test_rejected_decisions_are_not_written(journal, tracks):
    rejected = Decision(tracks[0], ("Rock",), Fingerprint.of(tracks[0]), DecisionStatus.REJECTED)
    report = journal.write_batch([rejected, decide(tracks[1], "Pop")])
    assert report.written == [tracks[1]]
    assert read_tags(tracks[0]).genres == ("Jazz",)


def test_progress_is_reported_after_each_file(journal, tracks):
    calls = []
    journal.write_batch([decide(p, "Rock") for p in tracks], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_cancel_stops_between_files(journal, tracks):
    cancel = threading.Event()

    def progress(done, total):
        if done == 1:
            cancel.set()

    report = journal.write_batch([decide(p, "Rock") for p in tracks], progress=progress, cancel=cancel)
    assert report.cancelled
    assert report.written == [tracks[0]]
    assert read_tags(tracks[1]).genres == () and read_tags(tracks[2]).genres == ()


def test_a_batch_that_wrote_nothing_is_not_kept(journal, tracks):
    decision = decide(tracks[0], "Rock")
    tracks[0].unlink()
    report = journal.write_batch([decision])
    assert report.batch_id is None
    assert journal.history() == []


# ---------------------------------------------------------------- undo


def test_undo_restores_the_exact_old_frame(journal, tracks):
    old_frame, original = read_genre_frame(tracks[0]), tracks[0].read_bytes()
    journal.write_batch([decide(tracks[0], "Rock", "Pop")])
    report = journal.undo()
    assert report.restored == [tracks[0]] and report.errors == []
    assert read_genre_frame(tracks[0]) == old_frame
    assert tracks[0].read_bytes() == original


def test_undo_of_no_frame_removes_the_genre_frame(journal, tracks):
    title_before = read_tags(tracks[1]).title
    journal.write_batch([decide(tracks[1], "Rock")])
    journal.undo()
    assert read_genre_frame(tracks[1]) is None
    assert read_tags(tracks[1]).title == title_before


def test_undo_of_a_file_that_had_no_tag_gives_back_identical_bytes(journal, tracks):
    original = tracks[2].read_bytes()
    journal.write_batch([decide(tracks[2], "Rock")])
    journal.undo()
    assert tracks[2].read_bytes() == original


def test_undo_refuses_a_file_modified_after_the_write(journal, tracks):
    journal.write_batch([decide(p, "Rock") for p in tracks[:2]])
    touch_content(tracks[0])
    after_edit = tracks[0].read_bytes()
    report = journal.undo()
    assert report.restored == [tracks[1]]
    assert report.errors[0][0] == tracks[0] and "changed since" in report.errors[0][1]
    assert tracks[0].read_bytes() == after_edit


def test_undo_refuses_a_same_size_edit_that_kept_the_mtime(journal, tracks):
    journal.write_batch([decide(tracks[0], "Rock")])
    st = tracks[0].stat()
    data = bytearray(tracks[0].read_bytes())
    data[-200] ^= 0xFF  # one audio byte changed by someone else, mtime put back
    tracks[0].write_bytes(bytes(data))
    os.utime(tracks[0], ns=(st.st_atime_ns, st.st_mtime_ns))
    report = journal.undo()
    assert report.restored == [] and "changed since" in report.errors[0][1]


def test_undo_twice_is_refused(journal, tracks):
    batch = journal.write_batch([decide(tracks[0], "Rock")]).batch_id
    journal.undo(batch)
    with pytest.raises(JournalError, match="already undone"):
        journal.undo(batch)


def test_undo_without_batches_says_there_is_nothing_to_undo(journal):
    with pytest.raises(JournalError, match="nothing to undo"):
        journal.undo()


def test_undo_of_unknown_batch_is_refused(journal):
    with pytest.raises(JournalError, match="no batch 42"):
        journal.undo(42)


def test_undo_defaults_to_the_last_batch_not_yet_undone(journal, tracks):
    journal.write_batch([decide(tracks[0], "Rock")])
    journal.write_batch([decide(tracks[1], "Pop")])
    journal.undo()
    assert read_tags(tracks[1]).genres == () and read_tags(tracks[0]).genres == ("Rock",)
    journal.undo()
    assert read_tags(tracks[0]).genres == ("Jazz",)


def test_undo_all_goes_back_through_every_batch(journal, tracks):
    original = tracks[0].read_bytes()
    journal.write_batch([decide(tracks[0], "Rock")])
    journal.write_batch([decide(tracks[0], "Pop")])
    reports = journal.undo_all()
    assert len(reports) == 2 and all(not r.errors for r in reports)
    assert tracks[0].read_bytes() == original


def test_undo_survives_reopening_the_journal(tmp_path, tracks):
    original = tracks[0].read_bytes()
    first = Journal(tmp_path / "j.sqlite")
    first.write_batch([decide(tracks[0], "Rock")])
    first.close()
    second = Journal(tmp_path / "j.sqlite")
    second.undo()
    second.close()
    assert tracks[0].read_bytes() == original


# ---------------------------------------------------------------- crash states


class Crash(BaseException):
    """Stands for the process dying (power cut, kill -9) at one point of a write."""


def crash_at_replace(monkeypatch, *, after: bool, seen: list | None = None, db: Path | None = None):
    """Make os.replace 'crash' just before or just after renaming; optionally look at the journal then."""
    real_replace = os.replace

    def replace(src, dst):
        if seen is not None:
            with sqlite3.connect(db) as con:
                seen.append(con.execute("SELECT state, old_frame FROM entries").fetchall())
        if after:
            real_replace(src, dst)
        raise Crash

    monkeypatch.setattr(os, "replace", replace)


def test_old_frame_is_committed_before_the_file_is_replaced(tmp_path, tracks, monkeypatch):
    db, seen, old = tmp_path / "j.sqlite", [], read_genre_frame(tracks[0])
    journal = Journal(db)
    crash_at_replace(monkeypatch, after=True, seen=seen, db=db)
    with pytest.raises(Crash):
        journal.write_batch([decide(tracks[0], "Rock")])
    journal.close()
    assert seen == [[("pending", old)]]


def test_crash_before_the_replace_leaves_the_file_old_and_no_temp_file(tmp_path, tracks, monkeypatch):
    original = tracks[0].read_bytes()
    journal = Journal(tmp_path / "j.sqlite")
    crash_at_replace(monkeypatch, after=False)
    with pytest.raises(Crash):
        journal.write_batch([decide(tracks[0], "Rock")])
    journal.close()
    assert tracks[0].read_bytes() == original
    assert sorted(p.name for p in tracks[0].parent.iterdir()) == ["a.mp3", "b.mp3", "c.mp3"]


def test_undo_after_a_crash_before_the_replace_leaves_the_file_alone(tmp_path, tracks, monkeypatch):
    original = tracks[0].read_bytes()
    journal = Journal(tmp_path / "j.sqlite")
    crash_at_replace(monkeypatch, after=False)
    with pytest.raises(Crash):
        journal.write_batch([decide(tracks[0], "Rock")])
    monkeypatch.undo()
    mtime = tracks[0].stat().st_mtime_ns
    report = journal.undo()
    journal.close()
    assert report.restored == [tracks[0]] and report.errors == []
    assert tracks[0].read_bytes() == original and tracks[0].stat().st_mtime_ns == mtime


def test_undo_after_a_crash_after_the_replace_restores_the_file(tmp_path, tracks, monkeypatch):
    original = tracks[0].read_bytes()
    journal = Journal(tmp_path / "j.sqlite")
    crash_at_replace(monkeypatch, after=True)
    with pytest.raises(Crash):
        journal.write_batch([decide(tracks[0], "Rock")])
    monkeypatch.undo()
    assert read_tags(tracks[0]).genres == ("Rock",)
    report = journal.undo()
    journal.close()
    assert report.restored == [tracks[0]]
    assert tracks[0].read_bytes() == original


# ---------------------------------------------------------------- history


def test_history_lists_batches_newest_first(journal, tracks):
    journal.write_batch([decide(p, "Rock") for p in tracks[:2]], description="two files")
    journal.write_batch([decide(tracks[2], "Pop")], description="one file")
    journal.undo()
    history = journal.history()
    assert [(b.description, b.file_count, b.undone) for b in history] == [
        ("one file", 1, True),
        ("two files", 2, False),
    ]
    assert history[0].id > history[1].id
    assert history[0].created_at.endswith("+00:00")


def test_files_of_a_batch_are_listed_with_old_frame_and_new_genres(journal, tracks):
    old = read_genre_frame(tracks[0])
    batch = journal.write_batch([decide(tracks[0], "Rock", "Pop")]).batch_id
    [entry] = journal.files(batch)
    assert (entry.path, entry.old_frame, entry.new_genres, entry.state) == (tracks[0], old, ("Rock", "Pop"), "written")


def test_unicode_paths_are_journaled_and_undone(journal, tmp_path):
    path = make_track(tmp_path / "Sigur Rós" / "Ágætis byrjun ☃.mp3", seconds=2)
    original = path.read_bytes()
    journal.write_batch([decide(path, "Post-Rock")])
    assert journal.undo().restored == [path]
    assert path.read_bytes() == original


def test_an_empty_genre_name_is_a_per_file_error(journal, tracks):
    report = journal.write_batch([decide(tracks[0], ""), decide(tracks[1], "Rock")])
    assert report.written == [tracks[1]]
    path, reason = report.errors[0]
    assert path == tracks[0] and "a genre name must be non-empty text" in reason


def test_per_file_errors_give_the_reason_without_repeating_the_path(journal, tracks):
    tracks[0].chmod(0o444)
    report = journal.write_batch([decide(tracks[0], "Rock")])
    ((path, reason),) = report.errors
    assert path == tracks[0]
    assert reason == "file is read-only"


def test_an_unknown_id3_version_is_refused_before_any_file_is_touched(journal, tracks):
    before = tracks[0].read_bytes()
    with pytest.raises(ValueError):
        journal.write_batch([decide(tracks[0], "Rock")], id3_version=5)
    assert tracks[0].read_bytes() == before and journal.history() == []
