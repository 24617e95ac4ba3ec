"""Every supported format end to end: scan -> classify -> apply -> undo, and what a scan skips."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mutagen
import numpy as np
import pytest

from tagger.audio import Segments, load_audio
from tagger.cli import main
from tagger.journal import Journal
from tagger.tags import read_tags
from tagger.track import Decision, Fingerprint
from tests.helpers import SR, make_track, tag_file, tone, write_audio

FORMATS = {  # file name -> (codec for write_audio, the format the scan reports)
    "a.mp3": (None, "MP3"),
    "b.flac": (None, "FLAC"),
    "c.ogg": (None, "Ogg Vorbis"),
    "d.opus": (None, "Opus"),
    "e.m4a": ("aac", "AAC"),
    "f.m4a": ("alac", "ALAC"),
}
GENRE_KEYS = {"tcon", "genre", "\xa9gen", "gnre"}


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")], captured.err


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def other_tags(path: Path) -> dict[str, list[str]]:
    """Every tag mutagen reads except the genre field, as comparable text."""
    tags = mutagen.File(path).tags
    return {str(k): [repr(v)] for k, v in tags.items() if str(k).split(":")[0].lower() not in GENRE_KEYS}


@pytest.fixture
def mixed(tmp_path) -> Path:
    folder = tmp_path / "Music"
    for i, (name, (codec, _)) in enumerate(FORMATS.items()):
        kind = "tone" if i % 2 == 0 else "noise"
        make_track(folder / name, kind=kind, seed=i, codec=codec, title=f"Song {i}", artist="Band", album="Mixed",
                   genre="Jazz" if i < 3 else None, rich=True)
    return folder


def test_scan_reads_every_format_and_names_it(capsys, mixed):
    code, records, _ = run(capsys, "scan", str(mixed), "--json")
    assert code == 0 and all(r["error"] is None for r in records)
    got = {Path(r["path"]).name: (r["format"], r["title"]) for r in records}
    assert got == {name: (fmt, f"Song {i}") for i, (name, (_, fmt)) in enumerate(FORMATS.items())}


def test_classify_apply_undo_on_every_format(capsys, mixed, tiny_model_path):
    files = sorted(mixed.iterdir())
    before = {p.name: sha(p) for p in files}
    tags_before = {p.name: other_tags(p) for p in files}
    audio_before = {p.name: load_audio(p, 16000) for p in files}

    code, records, _ = run(capsys, "classify", str(mixed), "--model", str(tiny_model_path), "--json")
    assert code == 0 and len(records) == len(FORMATS) and all(r["error"] is None for r in records)
    predicted = {Path(r["path"]).name: r["genre"] for r in records}
    assert set(predicted.values()) <= {"Tone", "Noise"}

    code, records, _ = run(capsys, "apply", str(mixed), "--model", str(tiny_model_path), "--policy", "replace",
                           "--min-confidence", "0", "--json")
    assert code == 0
    for path in files:
        assert read_tags(path).genres == (predicted[path.name],), path.name
        assert other_tags(path) == tags_before[path.name], path.name
        assert np.array_equal(load_audio(path, 16000), audio_before[path.name]), path.name

    code, _, _ = run(capsys, "undo")
    assert code == 0
    assert {p.name: sha(p) for p in files} == before


@pytest.mark.parametrize("name", FORMATS)
def test_windows_cut_from_a_file_equal_the_whole_decode(tmp_path, name):
    path = make_track(tmp_path / name, seconds=12.0, codec=FORMATS[name][0])
    whole = load_audio(path, 16000)
    with Segments(path, 16000) as parts:
        assert parts.length == len(whole)
        np.testing.assert_allclose(parts.read(40000, 88000), whole[40000:88000], atol=1e-5)


@pytest.mark.parametrize("codec", ["aac", "alac"])
def test_m4a_parts_read_by_seeking_equal_the_whole_decode_exactly(tmp_path, codec):
    from tagger import ffmpeg_audio

    path = make_track(tmp_path / "long.m4a", seconds=60.0, codec=codec)
    with ffmpeg_audio.Source(path, seek=False) as plain:
        whole = plain.read(0, plain.length)
    with ffmpeg_audio.Source(path) as seeking:
        assert seeking.length == len(whole)
        for first in (0, 1000, 5 * SR + 17, 30 * SR, 58 * SR):
            np.testing.assert_array_equal(seeking.read(first, first + 3 * SR), whole[first : first + 3 * SR])


def test_alac_decodes_to_exactly_the_samples_encoded(tmp_path):
    audio = tone(5.0)
    alac = write_audio(tmp_path / "x.m4a", audio, codec="alac")
    encoded = (np.clip(audio, -1, 1) * 32767).astype(np.int16) / np.float32(32768)  # what _write_m4a stores
    np.testing.assert_array_equal(load_audio(alac, SR), encoded.astype(np.float32))


def test_scan_counts_and_names_unsupported_audio(capsys, mixed):
    (mixed / "old.wma").write_bytes(b"0&\xb2u" + bytes(100))
    (mixed / "take.WAV").write_bytes(b"RIFF" + bytes(100))
    (mixed / "cover.jpg").write_bytes(b"\xff\xd8\xff" + bytes(10))
    code, records, err = run(capsys, "scan", str(mixed), "--json")
    assert code == 0 and len(records) == len(FORMATS)
    assert "2 files skipped: .wav (1), .wma (1) (not supported)" in err
    assert "jpg" not in err


def test_a_folder_without_supported_files_says_so_in_one_line(capsys, tmp_path):
    (tmp_path / "a.wma").write_bytes(bytes(10))
    code, records, err = run(capsys, "scan", str(tmp_path))
    assert code == 0 and records == []
    lines = [line for line in err.splitlines() if line.strip() and "scanning" not in line]
    assert "1 file skipped: .wma (not supported)" in lines
    assert any(line.startswith("no supported audio files in") and "FLAC" in line for line in lines)


@pytest.mark.parametrize("name", [n for n in FORMATS if not n.endswith(".mp3")])
def test_undo_refuses_a_file_changed_since_the_write_and_keeps_it(tmp_path, name):
    path = make_track(tmp_path / name, codec=FORMATS[name][0], genre="Jazz", rich=True)
    journal = Journal(tmp_path / "journal.sqlite")
    report = journal.write_batch([Decision(path, ("Rock",), Fingerprint.of(path))])
    assert report.written == [path] and read_tags(path).genres == ("Rock",)
    tag_file(path, title="Retitled elsewhere")
    changed = sha(path)
    undo = journal.undo()
    assert undo.restored == [] and "changed" in undo.errors[0][1]
    assert sha(path) == changed


@pytest.mark.parametrize("name", [n for n in FORMATS if not n.endswith(".mp3")])
def test_a_read_only_file_is_a_per_file_error_and_the_batch_goes_on(tmp_path, name):
    locked = make_track(tmp_path / name, codec=FORMATS[name][0])
    other = make_track(tmp_path / ("other" + Path(name).suffix), codec=FORMATS[name][0])
    locked.chmod(0o444)
    before = sha(locked)
    report = Journal(tmp_path / "journal.sqlite").write_batch(
        [Decision(p, ("Rock",), Fingerprint.of(p)) for p in (locked, other)])
    assert report.written == [other] and "read-only" in report.errors[0][1]
    assert sha(locked) == before
