"""FLAC: only the GENRE fields change; every other block and the audio frames stay byte-identical."""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import FLAC

from tagger.errors import ReadError, WriteError
from tagger.tags import read_tags, restore_snapshot, snapshot_matches, write_genres
from tests.helpers import make_track


def blocks(path: Path) -> tuple[list[tuple[int, bytes]], bytes]:
    """The metadata blocks (type, data) as stored, and the audio frames after them."""
    data = path.read_bytes()
    assert data[:4] == b"fLaC"
    pos, out = 4, []
    while True:
        header = data[pos : pos + 4]
        length = int.from_bytes(header[1:], "big")
        out.append((header[0] & 0x7F, data[pos + 4 : pos + 4 + length]))
        pos += 4 + length
        if header[0] & 0x80:
            return out, data[pos:]


def comment_fields(path: Path) -> list[bytes]:
    (vc,) = [d for t, d in blocks(path)[0] if t == 4]
    vendor_len = struct.unpack_from("<I", vc)[0]
    pos = 4 + vendor_len
    count = struct.unpack_from("<I", vc, pos)[0]
    pos += 4
    fields = []
    for _ in range(count):
        n = struct.unpack_from("<I", vc, pos)[0]
        fields.append(vc[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return fields


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def flac(tmp_path) -> Path:
    return make_track(tmp_path / "song.flac", title="Song", artist="Band", album="Record", genre="Jazz", rich=True)


def test_written_genres_read_back_as_separate_fields(flac):
    write_genres(flac, ["Rock", "Blues"])
    assert read_tags(flac).genres == ("Rock", "Blues")
    assert FLAC(flac).tags["genre"] == ["Rock", "Blues"]


def test_read_tags_names_the_format_and_the_tags(flac):
    info = read_tags(flac)
    assert (info.format, info.title, info.artist, info.album, info.genres) == ("FLAC", "Song", "Band", "Record", ("Jazz",))
    assert info.duration == pytest.approx(8.0)


def test_other_fields_keep_their_bytes_and_places(flac):
    before = comment_fields(flac)
    write_genres(flac, ["Rock", "Blues"])
    after = comment_fields(flac)
    at = [i for i, f in enumerate(before) if f.upper().startswith(b"GENRE=")][0]
    assert after == before[:at] + [b"GENRE=Rock", b"GENRE=Blues"] + before[at + 1 :]


def test_other_blocks_and_audio_frames_stay_byte_identical(flac):
    before, audio_before = blocks(flac)
    samples = sf.read(flac)[0]
    write_genres(flac, ["Electronic"])
    after, audio_after = blocks(flac)
    assert [b for b in after if b[0] not in (1, 4)] == [b for b in before if b[0] not in (1, 4)]
    assert audio_after == audio_before
    assert np.array_equal(sf.read(flac)[0], samples)
    assert FLAC(flac).pictures[0].data == FLAC(flac).pictures[0].data and len(FLAC(flac).pictures) == 1


def test_padding_absorbs_the_change_so_the_audio_does_not_move(flac):
    size = flac.stat().st_size
    write_genres(flac, ["Progressive Rock", "Art Rock"])
    assert flac.stat().st_size == size


def test_a_tag_that_outgrows_the_padding_grows_the_file_and_keeps_the_audio(flac):
    _, audio_before = blocks(flac)
    many = [f"Genre number {i}" for i in range(400)]
    write_genres(flac, many)
    assert read_tags(flac).genres == tuple(many)
    assert blocks(flac)[1] == audio_before


def test_a_file_without_comments_gets_a_comment_block(tmp_path):
    path = make_track(tmp_path / "bare.flac")
    audio = FLAC(path)
    audio.clear()
    audio.metadata_blocks = [b for b in audio.metadata_blocks if b.code != 4]
    audio.tags = None
    audio.save(deleteid3=True, padding=lambda info: 0)
    assert 4 not in [t for t, _ in blocks(path)[0]]
    _, audio_before = blocks(path)
    write_genres(path, ["Folk"])
    assert read_tags(path).genres == ("Folk",)
    assert blocks(path)[1] == audio_before


def test_removing_genres_keeps_everything_else(flac):
    before = [f for f in comment_fields(flac) if not f.upper().startswith(b"GENRE=")]
    write_genres(flac, [])
    assert read_tags(flac).genres == ()
    assert comment_fields(flac) == before


def test_writing_what_the_file_holds_changes_nothing(flac):
    mtime = flac.stat().st_mtime_ns
    result = write_genres(flac, ["Jazz"])
    assert not result.changed and flac.stat().st_mtime_ns == mtime


def test_restore_snapshot_gives_back_the_exact_old_bytes(flac):
    before = sha(flac)
    result = write_genres(flac, ["Rock", "Blues"])
    assert result.old_frame == struct.pack("<I", 10) + b"GENRE=Jazz"
    assert not snapshot_matches(flac, result.snapshot)
    restore_snapshot(flac, result.snapshot)
    assert sha(flac) == before and snapshot_matches(flac, result.snapshot)


def test_restore_after_the_file_grew_is_still_exact(flac):
    before = sha(flac)
    result = write_genres(flac, [f"Genre {i}" for i in range(300)])
    restore_snapshot(flac, result.snapshot)
    assert sha(flac) == before


@pytest.mark.parametrize("change", ["appended", "audio_byte"])
def test_restore_refuses_a_file_changed_since(flac, change):
    result = write_genres(flac, ["Rock"])
    with open(flac, "r+b") as f:
        if change == "appended":
            f.seek(0, 2)
            f.write(b"\0" * 10)
        else:
            f.seek(-100, 2)
            f.write(b"\x55")
    changed = sha(flac)
    with pytest.raises(WriteError):
        restore_snapshot(flac, result.snapshot)
    assert sha(flac) == changed


def test_an_id3_tag_in_front_of_flac_is_kept(tmp_path):
    path = make_track(tmp_path / "id3.flac", genre="Jazz")
    data = path.read_bytes()
    id3 = b"ID3\x03\x00\x00\x00\x00\x00\x10" + bytes(16)
    path.write_bytes(id3 + data)
    write_genres(path, ["Soul"])
    assert path.read_bytes()[: len(id3)] == id3
    assert read_tags(path).genres == ("Soul",)


def test_a_flac_file_named_mp3_is_written_as_flac(tmp_path):
    path = make_track(tmp_path / "song.flac", genre="Jazz")
    named = path.rename(tmp_path / "song.mp3")
    write_genres(named, ["Rock"])
    assert FLAC(named).tags["genre"] == ["Rock"] and read_tags(named).format == "FLAC"


@pytest.mark.parametrize("damage", ["truncated", "block_past_end", "garbage"])
def test_damaged_flac_is_refused_and_left_alone(tmp_path, damage):
    path = make_track(tmp_path / "song.flac", genre="Jazz")
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[:30]
    elif damage == "block_past_end":
        data[4 + 4 + 34 + 1 : 4 + 4 + 34 + 4] = (1 << 23).to_bytes(3, "big")  # the block after STREAMINFO
    else:
        data = b"fLaC" + os.urandom(200)
    path.write_bytes(bytes(data))
    before = sha(path)
    with pytest.raises(WriteError):
        write_genres(path, ["Rock"])
    if damage != "block_past_end":  # mutagen still reads the tags of that one; only writing is refused
        with pytest.raises(ReadError):
            read_tags(path)
    assert sha(path) == before
