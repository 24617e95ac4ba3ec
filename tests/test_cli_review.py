"""`genrenet review` and `genrenet apply --reviewed`: decisions kept between runs, on real files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tagger.cli import main
from tagger.tags import read_tags
from tests.test_cli import NOISE, TONE, by_name, run

UNTAGGED_TONE = Path("Artist B") / "03 tone.mp3"


def test_review_lists_every_pending_track_least_confident_first(capsys, music_folder, tiny_model_path):
    code, records, err = run(capsys, "review", str(music_folder), "--model", str(tiny_model_path), "--json")
    assert code == 0 and len(records) == 4
    confidences = [r["confidence"] for r in records]
    assert confidences == sorted(confidences)
    first = records[0]
    assert {"current_genre", "genre", "confidence", "decision", "genres", "needs_review"} <= set(first)
    assert all(r["decision"] == "pending" for r in records)
    assert "4 tracks listed" in err


def test_a_decision_made_in_one_process_is_there_in_the_next(capsys, music_folder, tiny_model_path):
    target = music_folder / NOISE
    exe = shutil.which("genrenet", path=str(Path(sys.executable).parent))
    done = subprocess.run([exe, "review", "accept", str(target), "--model", str(tiny_model_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    code, records, _ = run(capsys, "review", str(music_folder), "--model", str(tiny_model_path),
                           "--status", "accepted", "--json")
    assert code == 0
    assert [(Path(r["path"]), r["decision"], r["genres"]) for r in records] == [(target, "accepted", ["Noise"])]


def test_reject_and_set_need_no_model_and_are_listed_by_status(capsys, music_folder, tiny_model_path):
    assert run(capsys, "review", "reject", str(music_folder / TONE))[0] == 0
    assert run(capsys, "review", "set", str(music_folder / NOISE), "--genre", "Drone", "--genre", "Noise")[0] == 0
    listing = ("review", str(music_folder), "--model", str(tiny_model_path), "--json", "--status")
    _, rejected, _ = run(capsys, *listing, "rejected")
    _, edited, _ = run(capsys, *listing, "edited")
    assert [Path(r["path"]).name for r in rejected] == ["01 tone.mp3"]
    assert [(Path(r["path"]).name, r["genres"]) for r in edited] == [("04 noise.mp3", ["Drone", "Noise"])]


def test_set_without_genre_is_a_usage_error(capsys, music_folder):
    code, _, err = run(capsys, "review", "set", str(music_folder / NOISE))
    assert code == 2 and "--genre" in err


def test_apply_reviewed_writes_the_decisions_as_made_and_nothing_else(capsys, music_folder, tiny_model_path):
    run(capsys, "review", "set", str(music_folder / TONE), "--genre", "Bebop")  # replaces Jazz: the user chose
    run(capsys, "review", "reject", str(music_folder / NOISE))
    code, records, _ = run(capsys, "apply", "--reviewed", "--json")
    assert code == 0
    assert [(Path(r["path"]).name, r["old_genre"], r["new_genre"], r["written"]) for r in records] == [
        ("01 tone.mp3", "Jazz", "Bebop", True)]
    assert read_tags(music_folder / TONE).genres == ("Bebop",)
    assert read_tags(music_folder / NOISE).genres == ()
    _, listed, _ = run(capsys, "review", str(music_folder / TONE), "--status", "written", "--json",
                       "--model", str(tiny_model_path))
    assert [r["decision"] for r in listed] == ["written"]


def test_a_rejected_track_is_never_written_by_bulk_apply(capsys, music_folder, tiny_model_path):
    run(capsys, "review", "reject", str(music_folder / NOISE))
    code, records, _ = run(capsys, "apply", str(music_folder), "--model", str(tiny_model_path),
                           "--min-confidence", "0", "--policy", "replace", "--json")
    assert code == 0
    assert by_name(records)["04 noise.mp3"]["reason"] == "rejected in review"
    assert read_tags(music_folder / NOISE).genres == ()


def test_a_file_changed_after_the_decision_goes_back_to_pending_with_the_reason(capsys, music_folder, tiny_model_path):
    target = music_folder / UNTAGGED_TONE
    run(capsys, "review", "set", str(target), "--genre", "Ambient")
    with open(target, "ab") as fh:  # another program changed the file
        fh.write(b"\0" * 10)
    _, records, _ = run(capsys, "review", str(target), "--model", str(tiny_model_path), "--json")
    assert records[0]["decision"] == "pending"
    assert "changed on disk after you chose Ambient" in records[0]["note"]
    _, applied, _ = run(capsys, "apply", "--reviewed", "--json")
    assert applied == []


def test_undo_sets_the_decision_back_to_pending_with_a_note(capsys, music_folder, tiny_model_path):
    run(capsys, "review", "set", str(music_folder / NOISE), "--genre", "Drone")
    run(capsys, "apply", "--reviewed")
    assert run(capsys, "undo")[0] == 0
    assert read_tags(music_folder / NOISE).genres == ()
    _, records, _ = run(capsys, "review", str(music_folder / NOISE), "--model", str(tiny_model_path), "--json")
    assert records[0]["decision"] == "pending" and "undone" in records[0]["note"]


def test_review_json_is_stable_for_scripts(capsys, music_folder, tiny_model_path):
    code = main(["review", str(music_folder), "--model", str(tiny_model_path), "--status", "all", "--json"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 4
    for line in lines:
        record = json.loads(line)
        assert record["status"] == "ok" and record["error"] is None


def test_reviewed_decisions_are_written_even_after_the_cache_was_cleared(capsys, music_folder):
    import shutil as _shutil

    from tagger import paths

    run(capsys, "review", "set", str(music_folder / NOISE), "--genre", "Drone")
    _shutil.rmtree(paths.cache_dir())
    code, records, _ = run(capsys, "apply", "--reviewed", "--json")
    assert code == 0 and [r["written"] for r in records] == [True]
    assert read_tags(music_folder / NOISE).genres == ("Drone",)
