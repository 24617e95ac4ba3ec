"""Hostile input and failure: every case is built on the fly from real mp3 files, and each one
says what genrenet must do instead of losing a byte or printing a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tagger import paths
from tagger.cli import main
from tagger.journal import Journal, JournalError
from tagger.tags import read_tags, write_genres
from tagger.track import Decision, Fingerprint
from tests.helpers import make_track
from tests.test_tags import after_tag, tag_size, text_frame, with_raw_tag


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decide(path: Path, *genres: str) -> Decision:
    return Decision(path, tuple(genres), Fingerprint.of(path))


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def files(tmp_path) -> list[Path]:
    return [make_track(tmp_path / "m" / f"{i}.mp3", seconds=2, seed=i, title=f"T{i}", genre="Jazz" if i % 2 else None)
            for i in range(4)]


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "journal.sqlite")
    yield j
    j.close()


# --- 1. a failed restore is retried, never stranded ------------------------------------------------


def test_a_restore_that_fails_stays_to_undo_and_the_next_undo_retries_it(journal, files):
    originals = {p: p.read_bytes() for p in files}
    journal.write_batch([decide(p, "Rock") for p in files])
    os.chmod(files[1], 0o444)
    first = journal.undo()
    assert [p for p, _ in first.errors] == [files[1]] and "read-only" in first.errors[0][1]
    (batch,) = journal.history()
    assert batch.partly_undone and batch.restored == 3 and not batch.undone
    os.chmod(files[1], 0o644)
    second = journal.undo()
    assert second.restored == [files[1]] and second.errors == []
    assert journal.history()[0].undone
    assert {p: p.read_bytes() for p in files} == originals


def test_undo_all_with_a_file_that_keeps_failing_ends_and_reports_it(journal, files):
    journal.write_batch([decide(files[0], "Rock")])
    journal.write_batch([decide(files[1], "Pop")])
    os.chmod(files[0], 0o444)
    reports = journal.undo_all()
    assert [len(r.restored) for r in reports] == [1, 0] and len(reports[1].errors) == 1
    assert any("could not be restored" in p for p in journal.check())


def test_history_shows_a_partly_undone_batch(capsys, files, monkeypatch, tmp_path):
    Journal().write_batch([decide(p, "Rock") for p in files[:2]])
    os.chmod(files[0], 0o444)
    cli(capsys, "undo")
    code, out, _ = cli(capsys, "history")
    assert code == 0 and "partly undone (1 of 2 restored)" in out


def test_undo_beside_a_concurrent_write_leaves_every_file_as_the_journal_says(tmp_path, files):
    """Two journals on one database stand for two processes; the journal must stay true."""
    db = tmp_path / "shared-journal.sqlite"
    many = [shutil.copy(files[i % 4], tmp_path / "m" / f"copy{i}.mp3") for i in range(16)]
    many = [Path(p) for p in many]
    originals = {p: sha(p) for p in many}
    with Journal(db) as setup:
        setup.write_batch([decide(p, "Rock") for p in many])
    undoer, writer = Journal(db), Journal(db)
    threads = [threading.Thread(target=undoer.undo, args=(1,)),
               threading.Thread(target=writer.write_batch,
                                args=([Decision(p, ("Pop",)) for p in reversed(many)],), kwargs={"force": True})]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    undoer.close()
    with Journal(db) as check:
        live = {}
        for batch in sorted(check.history(), key=lambda b: b.id):
            for entry in check.files(batch.id):
                if entry.state == "written":
                    live[entry.path] = entry
                elif entry.state == "undone":
                    live.pop(entry.path, None)
        with sqlite3.connect(db) as con:
            shas = dict(con.execute("SELECT path, sha256 FROM entries WHERE state = 'written'"
                                    " ORDER BY id").fetchall())
    for p in many:
        if p in live:
            assert sha(p) == shas[os.fsencode(p)], p
        else:
            assert sha(p) == originals[p], p
    writer.close()


# --- 2. undo is byte-exact ------------------------------------------------------------------------


def test_a_tag_that_had_to_grow_comes_back_at_its_old_size(journal, tmp_path):
    path = make_track(tmp_path / "tight.mp3", seconds=2)
    with_raw_tag(path, 3, text_frame(b"TIT2", "Song", 3))  # no padding at all
    before = sha(path)
    journal.write_batch([decide(path, "A Long Genre Name That Needs Room")])
    assert tag_size(path) > 10 + len(text_frame(b"TIT2", "Song", 3))
    journal.undo()
    assert sha(path) == before


def test_an_empty_id3_tag_survives_write_and_undo(journal, tmp_path):
    path = make_track(tmp_path / "empty-tag.mp3", seconds=2)
    with_raw_tag(path, 3, bytes(64))  # a tag header with padding and no frames
    before = sha(path)
    journal.write_batch([decide(path, "Rock")])
    journal.undo()
    assert sha(path) == before


def test_two_separate_genre_frames_come_back_where_they_were(journal, tmp_path):
    path = make_track(tmp_path / "two.mp3", seconds=2)
    with_raw_tag(path, 3, text_frame(b"TCON", "Jazz", 3) + text_frame(b"TIT2", "Song", 3)
                 + text_frame(b"TCON", "Blues", 3) + bytes(20))
    before = sha(path)
    journal.write_batch([decide(path, "Rock")])
    journal.undo()
    assert sha(path) == before


def test_undo_puts_back_the_modification_time(journal, files):
    os.utime(files[0], ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    journal.write_batch([decide(files[0], "Rock")])
    assert files[0].stat().st_mtime_ns != 1_600_000_000_000_000_000
    journal.undo()
    assert files[0].stat().st_mtime_ns == 1_600_000_000_000_000_000


def test_keep_mtime_keeps_the_modification_time_on_write(journal, files):
    os.utime(files[0], ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    journal.write_batch([decide(files[0], "Rock")], keep_mtime=True)
    assert read_tags(files[0]).genres == ("Rock",)
    assert files[0].stat().st_mtime_ns == 1_600_000_000_000_000_000


def test_cli_keep_mtime_flag(capsys, files):
    target = files[0]
    os.utime(target, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    decisions = target.parent / "d.json"
    decisions.write_text(json.dumps([{"path": str(target), "genre": "Rock"}]))
    code, _, _ = cli(capsys, "apply", "--decisions", str(decisions), "--keep-mtime")
    assert code == 0 and read_tags(target).genres == ("Rock",)
    assert target.stat().st_mtime_ns == 1_600_000_000_000_000_000


# --- 7. temporary copies left by a crash ------------------------------------------------------------

_KILLED_WRITE = """
import os, sys
from pathlib import Path
import tagger.tags.base as base
from tagger.journal import Journal
from tagger.track import Decision
def killed(*a, **k):
    os._exit(9)  # the process dies with the temporary copy written, before the rename
base._check_copy = killed
Journal(Path(sys.argv[1])).write_batch([Decision(Path(sys.argv[2]), ("Rock",))], force=True)
"""


def killed_write(db: Path, target: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITE, str(db), str(target)], capture_output=True)
    assert done.returncode == 9, done.stderr


def temps_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".genrenet-"))


def test_a_killed_write_leaves_a_temporary_copy_that_the_next_write_removes(tmp_path, files):
    db = tmp_path / "journal.sqlite"
    before = files[0].read_bytes()
    killed_write(db, files[0])
    assert files[0].read_bytes() == before
    assert len(temps_beside(files[0])) == 1
    foreign = files[0].parent / ".genrenet-not-ours.tmp"
    foreign.write_bytes(b"someone else's")
    with Journal(db) as journal:
        assert len(journal.leftover_temps()) == 1
        journal.write_batch([decide(files[1], "Pop")])
    assert temps_beside(files[0]) == [foreign.name]  # ours gone, the other left alone


def test_scan_reports_a_leftover_temporary_copy(capsys, files):
    killed_write(paths.journal_db(), files[0])
    code, _, err = cli(capsys, "scan", str(files[0].parent))
    assert code == 0
    assert "interrupted genrenet write" in err


def test_history_check_reports_leftover_temporary_copies(capsys, files):
    killed_write(paths.journal_db(), files[0])
    code, out, _ = cli(capsys, "history", "--check")
    assert code == 1 and "temporary cop" in out
    cli(capsys, "undo", "--all")  # nothing to undo, but it cleans up
    assert cli(capsys, "history", "--check")[0] == 0


# --- 8. ownership -----------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="giving a file away needs root")
def test_a_write_keeps_the_files_owner_and_group(journal, files):
    os.chown(files[0], 1000, 2000)
    journal.write_batch([decide(files[0], "Rock")])
    st = files[0].stat()
    assert (st.st_uid, st.st_gid) == (1000, 2000)
    journal.undo()
    st = files[0].stat()
    assert (st.st_uid, st.st_gid) == (1000, 2000)


# --- 9. a damaged journal or cache ------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "garbage"])
def test_a_damaged_journal_is_one_clear_error_and_nothing_is_written(capsys, files, damage):
    with Journal() as journal:  # closing checkpoints the WAL into the file
        journal.write_batch([decide(files[0], "Rock")])
    db = paths.journal_db()
    data = db.read_bytes()
    assert len(data) > 4096
    db.write_bytes({"truncated": data[:700], "zeroed": bytes(len(data)), "garbage": os.urandom(len(data))}[damage])
    damaged = db.read_bytes()
    target = files[2]
    before = target.read_bytes()
    decisions = target.parent / "d.json"
    decisions.write_text(json.dumps([{"path": str(target), "genre": "Pop"}]))
    for argv in (["undo"], ["history"], ["apply", "--decisions", str(decisions)]):
        code, _, err = cli(capsys, *argv)
        assert code == 1, argv
        assert "write journal" in err and str(db) in err and "Traceback" not in err
        assert err.strip().count("\n") == 0
    assert target.read_bytes() == before
    assert db.read_bytes() == damaged  # never replaced


def test_a_folder_where_the_journal_should_be_is_a_clear_error(capsys, files):
    db = paths.journal_db()
    db.mkdir(parents=True)
    code, _, err = cli(capsys, "history")
    assert code == 1 and str(db) in err


def test_a_healthy_journal_checks_clean(capsys, files):
    Journal().write_batch([decide(files[0], "Rock")])
    code, _, err = cli(capsys, "history", "--check")
    assert code == 0 and "healthy" in err


def test_a_cache_with_an_overwritten_page_is_rebuilt(capsys, files):
    cli(capsys, "scan", str(files[0].parent))
    db = paths.library_db()
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
    data = bytearray(db.read_bytes())
    assert len(data) >= 2 * 4096
    page = 4096
    data[page : 2 * page] = os.urandom(page)
    db.write_bytes(bytes(data))
    code, out, err = cli(capsys, "scan", str(files[0].parent), "--json")
    assert code == 0 and "Traceback" not in err
    assert len(out.splitlines()) == len(files)
    assert list(db.parent.glob("library.sqlite.corrupt-*"))  # set aside, not deleted
    assert cli(capsys, "scan", str(files[0].parent))[0] == 0


def test_a_journal_locked_past_the_busy_timeout_is_a_clear_error(files, tmp_path, monkeypatch):
    import tagger.journal as journal_module

    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_S", 0.2)
    db = tmp_path / "locked.sqlite"
    journal = Journal(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(JournalError, match="busy"):
            journal.write_batch([decide(files[0], "Rock")])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert read_tags(files[0]).genres == ()
    journal.close()


# --- 10. a write that changes nothing is not journaled ---------------------------------------------


def test_writing_the_same_genre_twice_journals_it_once_and_undo_all_is_clean(journal, files):
    originals = {p: p.read_bytes() for p in files}
    journal.write_batch([decide(p, "Rock") for p in files])
    second = journal.write_batch([Decision(p, ("Rock",), Fingerprint.of(p)) for p in files])
    assert second.written == [] and second.unchanged == files and second.batch_id is None
    reports = journal.undo_all()
    assert sum(len(r.errors) for r in reports) == 0
    assert {p: p.read_bytes() for p in files} == originals


def test_file_times_change_only_when_content_does(journal, files):
    journal.write_batch([decide(files[0], "Rock")])
    mtime = files[0].stat().st_mtime_ns
    time.sleep(0.01)
    journal.write_batch([decide(files[0], "Rock")])
    assert files[0].stat().st_mtime_ns == mtime
    assert after_tag(files[0])  # the audio is still there


def test_write_genres_reports_an_unchanged_file(files):
    write_genres(files[0], ["Rock"])
    assert not write_genres(files[0], ["Rock"]).changed


# --- 3. file names that are not valid UTF-8 -------------------------------------------------------

_RUN_UTF8 = """
import sys
from tagger.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_utf8(*argv: str) -> subprocess.CompletedProcess:
    """The CLI in a process of its own under a UTF-8 locale, as a user's shell runs it."""
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-c", _RUN_UTF8, *argv], capture_output=True, env=env)


@pytest.fixture
def latin1_name(tmp_path) -> Path:
    folder = tmp_path / "m"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"bad_\xff.mp3")
    os.rename(make_track(folder / "plain.mp3", seconds=2), raw)  # soundfile cannot open such a name itself
    return Path(os.fsdecode(raw))


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_scan_scan_json_apply_and_undo_handle_a_name_that_is_not_utf8(latin1_name, tiny_model_path):
    folder = str(latin1_name.parent)
    text = run_utf8("scan", folder)
    assert text.returncode == 0, text.stderr
    assert b"bad_\xff.mp3" in text.stdout  # the name's own bytes, as ls shows them
    as_json = run_utf8("scan", folder, "--json")
    assert as_json.returncode == 0, as_json.stderr
    (record,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    import base64

    assert base64.b64decode(record["path_bytes"]) == os.fsencode(latin1_name)
    assert record["path"].endswith("bad_\ufffd.mp3")
    applied = run_utf8("apply", folder, "--model", str(tiny_model_path), "--min-confidence", "0", "--json")
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout.splitlines()[0])["written"] is True
    undone = run_utf8("undo")
    assert undone.returncode == 0 and b"restored" in undone.stdout


# --- 4. symlink loops --------------------------------------------------------------------------------


@pytest.fixture
def looped(tmp_path, files) -> Path:
    folder = files[0].parent
    os.symlink("b.mp3", folder / "a.mp3")
    os.symlink("a.mp3", folder / "b.mp3")
    os.symlink("self.mp3", folder / "self.mp3")
    return folder


@pytest.mark.parametrize("command", ["scan", "classify", "apply"])
def test_a_symlink_loop_is_a_per_file_error_and_the_rest_goes_on(capsys, looped, files, tiny_model_path, command):
    extra = [] if command == "scan" else ["--model", str(tiny_model_path)]
    if command == "apply":
        extra += ["--min-confidence", "0", "--dry-run"]
    code, out, _ = cli(capsys, command, str(looped), "--json", *extra)
    assert code == 0
    records = {Path(r["path"]).name: r for r in map(json.loads, out.splitlines())}
    for name in ("a.mp3", "b.mp3", "self.mp3"):
        assert records[name]["status"] == "error" and "symbolic links" in records[name]["error"]
    assert all(records[p.name]["status"] == "ok" for p in files)


def test_a_symlink_loop_given_as_the_path_is_an_error_for_that_path(capsys, looped):
    code, out, _ = cli(capsys, "scan", str(looped / "a.mp3"), "--json")
    assert code == 0 and "symbolic links" in json.loads(out)["error"]


# --- 5. files are known by what genrenet read, not by how the path is spelled --------------------


def _decisions_file(tmp_path, path: str) -> Path:
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps([{"path": path, "genre": "Rock"}]))
    return decisions


def test_a_file_changed_since_the_scan_is_refused_however_its_path_is_spelled(capsys, files, tmp_path):
    cli(capsys, "scan", str(files[0].parent))
    target = files[0]
    with open(target, "ab") as fh:
        fh.write(b"\0" * 7)  # changed after the scan
    link = tmp_path / "linked"
    os.symlink(target.parent, link)
    before = target.read_bytes()
    for spelled in (f"{target.parent}/../{target.parent.name}/{target.name}", str(link / target.name)):
        code, out, _ = cli(capsys, "apply", "--decisions", str(_decisions_file(tmp_path, spelled)), "--json")
        assert code == 0
        assert "changed since it was scanned" in json.loads(out.splitlines()[0])["error"], spelled
    assert target.read_bytes() == before


def test_a_never_scanned_file_is_read_before_it_is_written(capsys, files, tmp_path):
    code, out, _ = cli(capsys, "apply", "--decisions", str(_decisions_file(tmp_path, str(files[0]))), "--json")
    assert code == 0 and json.loads(out)["written"] is True
    assert read_tags(files[0]).genres == ("Rock",)


def test_the_journal_refuses_a_decision_about_a_file_it_was_not_shown(journal, files):
    report = journal.write_batch([Decision(files[0], ("Rock",))])
    assert report.written == [] and "has not read this file" in report.errors[0][1]


# --- 6. model files that give nonsense -----------------------------------------------------------


def _tampered(tiny_model_path: Path, tmp_path: Path, change) -> Path:
    import torch

    payload = torch.load(tiny_model_path, weights_only=True)
    change(payload)
    out = tmp_path / "tampered.pt"
    torch.save(payload, out)
    return out


def _nan_weights(p):
    import torch

    p["state_dict"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                       for k, v in p["state_dict"].items()}


def _set(key, value):
    def change(p):
        p[key] = value
    return change


def _set_in(key, sub, value):
    def change(p):
        p[key] = {**p[key], sub: value}
    return change


@pytest.mark.parametrize(("change", "message"), [
    (_nan_weights, "NaN"),
    (_set("labels", ["Tone", "Noise", "Extra"]), "labels"),
    (_set("labels", "Tone"), "labels"),
    (_set("labels", [1, 2]), "labels"),
    (_set("calibration", {"temperature": "hot"}), "temperature"),
    (_set("calibration", {"temperature": float("nan")}), "temperature"),
    (_set_in("arch_kwargs", "n_labels", 10**12), "out of range"),
    (_set_in("features", "window_frames", 10**9), "window_frames"),
    (_set("arch", ["compact_cnn"]), "architecture"),
])
def test_a_model_that_cannot_give_sense_is_a_one_line_model_error(capsys, files, tiny_model_path, tmp_path,
                                                                   change, message):
    bad = _tampered(tiny_model_path, tmp_path, change)
    before = {p: p.read_bytes() for p in files}
    code, out, err = cli(capsys, "apply", str(files[0].parent), "--model", str(bad), "--min-confidence", "0.99",
                         "--policy", "replace")
    assert code == 1 and message in err and "Traceback" not in err
    assert err.strip().count("\n") == 0
    assert {p: p.read_bytes() for p in files} == before


def test_classify_json_never_prints_nan(capsys, files, tiny_model_path):
    code, out, _ = cli(capsys, "classify", str(files[0].parent), "--model", str(tiny_model_path), "--json")
    assert code == 0 and "NaN" not in out
    for line in out.splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


# --- 11. genre values other readers show as typed ------------------------------------------------


def test_review_set_refuses_a_genre_taggers_read_as_a_code(capsys, files):
    code, _, err = cli(capsys, "review", "set", str(files[0]), "--genre", "13")
    assert code == 2 and "ID3 genre code 13 (Pop)" in err


def test_an_undo_that_died_after_restoring_a_file_is_finished_by_the_next_one(journal, files, tmp_path):
    from tagger.tags import restore_snapshot

    before = sha(files[0])
    journal.write_batch([decide(files[0], "Rock")])
    with sqlite3.connect(tmp_path / "journal.sqlite") as con:
        old_tag, old_mtime = con.execute("SELECT old_tag, old_mtime_ns FROM entries").fetchone()
    restore_snapshot(files[0], old_tag, mtime_ns=old_mtime)  # restored; the journal never heard of it
    report = journal.undo()
    assert report.restored == [files[0]] and report.errors == []
    assert sha(files[0]) == before and journal.history()[0].undone


def test_a_folder_where_the_cache_should_be_is_a_clear_error(capsys, files):
    paths.library_db().mkdir(parents=True)
    code, _, err = cli(capsys, "scan", str(files[0].parent))
    assert code == 1 and "is a folder" in err and str(paths.library_db()) in err


def test_a_damaged_review_file_is_a_clear_error_and_is_kept(capsys, files):
    db = paths.review_db()
    db.write_bytes(os.urandom(8192))
    damaged = db.read_bytes()
    code, _, err = cli(capsys, "review", "reject", str(files[0]))
    assert code == 1 and str(db) in err and "Traceback" not in err
    assert db.read_bytes() == damaged
