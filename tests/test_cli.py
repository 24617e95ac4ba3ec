"""The `genrenet` command end to end on real mp3 files: scan, classify, apply, history, undo."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from mutagen.id3 import ID3

from tagger.cli import main


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    return code, records, captured.err


def genres_on_disk(path: Path) -> list[str] | None:
    try:
        frame = ID3(path).get("TCON")
    except Exception:
        return None
    return list(frame.text) if frame else None


def by_name(records: list[dict]) -> dict[str, dict]:
    return {Path(r["path"]).name: r for r in records}


def test_scan_lists_every_file_with_its_current_genre(capsys, music_folder):
    code, records, _ = run(capsys, "scan", str(music_folder), "--json")
    assert code == 0
    files = by_name(records)
    assert set(files) == {"01 tone.mp3", "02 noise.mp3", "03 tone.mp3", "04 noise.mp3"}
    assert files["01 tone.mp3"]["current_genre"] == "Jazz"
    assert files["01 tone.mp3"]["artist"] == "Artist A"
    assert files["03 tone.mp3"]["current_genre"] is None
    assert all(r["status"] == "ok" and r["error"] is None for r in records)


def test_scan_of_a_missing_folder_fails_with_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "scan", str(tmp_path / "nope"))
    assert code == 1
    assert err.strip().count("\n") == 0 and "no such file or folder" in err


def test_classify_gives_genre_confidence_and_top_for_each_track(capsys, music_folder, tiny_model_path):
    code, records, _ = run(capsys, "classify", str(music_folder), "--model", str(tiny_model_path), "--json")
    assert code == 0
    files = by_name(records)
    assert files["01 tone.mp3"]["genre"] == "Tone"
    assert files["02 noise.mp3"]["genre"] == "Noise"
    record = files["01 tone.mp3"]
    assert 0.5 < record["confidence"] <= 1.0
    assert [g for g, _ in record["top"]] == ["Tone", "Noise"]
    assert record["current_genre"] == "Jazz"


def test_classify_reports_a_corrupt_file_and_goes_on(capsys, music_folder, tiny_model_path):
    (music_folder / "broken.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x10" + b"\x00" * 50 + b"junk" * 100)
    code, records, _ = run(capsys, "classify", str(music_folder), "--model", str(tiny_model_path), "--json")
    assert code == 0
    files = by_name(records)
    assert files["broken.mp3"]["status"] == "error" and files["broken.mp3"]["error"]
    assert files["02 noise.mp3"]["status"] == "ok"


def test_classify_with_a_file_that_is_not_a_model_exits_non_zero(capsys, music_folder, tmp_path):
    bogus = tmp_path / "model.pt"
    bogus.write_text("not a model")
    code, records, err = run(capsys, "classify", str(music_folder), "--model", str(bogus))
    assert code == 1
    assert records == []
    assert "not a genrenet model file" in err


def test_apply_writes_confident_predictions_and_undo_restores(capsys, music_folder, tiny_model_path):
    code, records, _ = run(capsys, "apply", str(music_folder), "--model", str(tiny_model_path),
                           "--min-confidence", "0.5", "--json")
    assert code == 0
    tone, noise = music_folder / "Artist A" / "Album 1" / "01 tone.mp3", music_folder / "Artist B" / "04 noise.mp3"
    assert genres_on_disk(tone) == ["Tone"]
    assert genres_on_disk(noise) == ["Noise"]
    assert all(r["written"] for r in records)

    code, _, _ = run(capsys, "undo")
    assert code == 0
    assert genres_on_disk(tone) == ["Jazz"]
    assert genres_on_disk(noise) is None


def test_apply_dry_run_writes_nothing(capsys, music_folder, tiny_model_path):
    before = {p: p.read_bytes() for p in music_folder.rglob("*.mp3")}
    code, records, _ = run(capsys, "apply", str(music_folder), "--model", str(tiny_model_path),
                           "--min-confidence", "0.5", "--dry-run", "--json")
    assert code == 0 and len(records) == 4
    assert {p: p.read_bytes() for p in music_folder.rglob("*.mp3")} == before


def test_apply_skips_predictions_below_the_threshold(capsys, music_folder, tiny_model_path):
    code, records, _ = run(capsys, "apply", str(music_folder), "--model", str(tiny_model_path),
                           "--min-confidence", "1.01", "--json")
    assert code == 0 and records == []
    assert genres_on_disk(music_folder / "Artist A" / "Album 1" / "01 tone.mp3") == ["Jazz"]


def test_apply_decisions_file_writes_the_reviewed_genres(capsys, music_folder, tmp_path):
    target = music_folder / "Artist B" / "03 tone.mp3"
    decisions = tmp_path / "reviewed.json"
    decisions.write_text(json.dumps([{"path": str(target), "genre": ["Blues", "Jazz"]}]))
    code, records, _ = run(capsys, "apply", "--decisions", str(decisions), "--id3-version", "4", "--json")
    assert code == 0 and records[0]["written"]
    assert genres_on_disk(target) == ["Blues", "Jazz"]


def test_apply_with_a_malformed_decisions_file_exits_non_zero(capsys, tmp_path):
    decisions = tmp_path / "reviewed.json"
    decisions.write_text('[{"genre": "Rock"}]')
    code, _, err = run(capsys, "apply", "--decisions", str(decisions))
    assert code == 1 and "entry 0" in err


def test_history_lists_write_batches(capsys, music_folder, tiny_model_path):
    run(capsys, "apply", str(music_folder), "--model", str(tiny_model_path), "--min-confidence", "0.5")
    code, records, _ = run(capsys, "history", "--json")
    assert code == 0
    assert len(records) == 1 and records[0]["files"] == 4 and records[0]["undone"] is False


def test_installed_command_runs(tmp_path):
    exe = shutil.which("genrenet", path=str(Path(sys.executable).parent))
    assert exe is not None, "the genrenet entry point is not installed beside this Python"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("genrenet ")
