"""tagger.tags: read tags, write only the genre frame, atomically, never losing a byte."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import struct
import subprocess
from pathlib import Path

import pytest
from mutagen.id3 import ID3, TCON, TDAT, TIME, TYER

from tagger.errors import ReadError, WriteError
from tagger.tags import read_genre_frame, read_tags, restore_genre_frame, write_genres
from tests.helpers import make_track

# ---------------------------------------------------------------- independent raw ID3 helpers


def _syncsafe(b: bytes) -> int:
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def tag_size(path: Path) -> int:
    """Bytes taken by the ID3v2 tag at the start of the file (0 without one)."""
    head = path.read_bytes()[:10]
    if head[:3] != b"ID3":
        return 0
    return 10 + _syncsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)


def raw_frames(path: Path) -> list[bytes]:
    """Every frame of the ID3v2.3/2.4 tag, exactly as stored (header included), in order."""
    data = path.read_bytes()
    version, end, pos, out = data[3], tag_size(path), 10, []
    while pos + 10 <= end and data[pos] != 0:
        raw = data[pos + 4 : pos + 8]
        size = _syncsafe(raw) if version == 4 else struct.unpack(">I", raw)[0]
        out.append(data[pos : pos + 10 + size])
        pos += 10 + size
    return out


def other_frames(path: Path) -> list[bytes]:
    return [f for f in raw_frames(path) if f[:4] != b"TCON"]


def after_tag(path: Path) -> bytes:
    """Everything after the ID3v2 tag: the audio, and an ID3v1 tag if there is one."""
    return path.read_bytes()[tag_size(path) :]


def add_id3v1(path: Path) -> None:
    tags = ID3(str(path))
    tags.save(str(path), v1=2, v2_version=tags.version[1])


@pytest.fixture
def rich_v23(tmp_path) -> Path:
    return make_track(tmp_path / "rich23.mp3", seconds=3, title="Song", artist="Artist", album="Album",
                      genre="Jazz", rich=True, v2_version=3)


@pytest.fixture
def rich_v24(tmp_path) -> Path:
    return make_track(tmp_path / "rich24.mp3", seconds=3, title="Song", artist="Artist", album="Album",
                      genre="Jazz", rich=True, v2_version=4)


@pytest.fixture
def untagged(tmp_path) -> Path:
    return make_track(tmp_path / "plain.mp3", seconds=3)


def leftovers(folder: Path, *keep: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p not in keep)


# ---------------------------------------------------------------- reading


def test_read_tags_returns_title_artist_album_genres_and_duration(rich_v23):
    info = read_tags(rich_v23)
    assert (info.title, info.artist, info.album, info.genres) == ("Song", "Artist", "Album", ("Jazz",))
    assert info.duration == pytest.approx(3.0, abs=0.2)
    assert info.id3_version == 3


def test_read_tags_of_untagged_mp3_has_empty_fields(untagged):
    info = read_tags(untagged)
    assert (info.title, info.artist, info.album, info.genres, info.id3_version) == (None, None, None, (), None)
    assert info.duration == pytest.approx(3.0, abs=0.2)


@pytest.mark.parametrize("content", [b"", b"this is a text file, not audio\n" * 50, bytes(range(256)) * 40],
                         ids=["empty", "text", "garbage"])
def test_read_tags_of_non_audio_mp3_raises_read_error(tmp_path, content):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(ReadError, match="bad.mp3"):
        read_tags(path)


def test_read_tags_of_missing_file_raises_read_error(tmp_path):
    with pytest.raises(ReadError, match="not found"):
        read_tags(tmp_path / "gone.mp3")


# ---------------------------------------------------------------- round trips and versions


@pytest.mark.parametrize("version", [3, 4])
def test_single_genre_round_trips_on_new_tag(untagged, version):
    write_genres(untagged, ["Rock"], id3_version=version)
    info = read_tags(untagged)
    assert info.genres == ("Rock",)
    assert info.id3_version == version


def test_multi_genre_v24_is_stored_null_separated(untagged):
    write_genres(untagged, ["Rock", "Pop"], id3_version=4)
    assert ID3(str(untagged))["TCON"].text == ["Rock", "Pop"]
    assert read_tags(untagged).genres == ("Rock", "Pop")


def test_multi_genre_v23_is_joined_with_semicolon_by_default(untagged):
    write_genres(untagged, ["Rock", "Hip-Hop/Rap"], id3_version=3)
    assert ID3(str(untagged))["TCON"].text == ["Rock; Hip-Hop/Rap"]
    assert read_tags(untagged).genres == ("Rock", "Hip-Hop/Rap")


def test_multi_genre_v23_uses_given_separator(untagged):
    write_genres(untagged, ["Rock", "Pop"], id3_version=3, separator=" / ")
    assert ID3(str(untagged))["TCON"].text == ["Rock / Pop"]


def test_non_latin_genre_round_trips_in_v23(untagged):
    write_genres(untagged, ["J-ポップ", "Música"], id3_version=3)
    assert read_tags(untagged).genres == ("J-ポップ", "Música")


@pytest.mark.parametrize("version", [3, 4])
def test_a_genre_in_parentheses_is_written_as_typed_for_every_reader(untagged, version):
    import eyed3

    write_genres(untagged, ["(Custom) genre"], id3_version=version)
    assert read_tags(untagged).genres == ("(Custom) genre",)
    assert list(ID3(untagged)["TCON"].genres) == ["(Custom) genre"]
    assert eyed3.load(str(untagged)).tag.genre.name == "(Custom) genre"


@pytest.mark.parametrize("name", ["13", "(17) tribute", "RX", "(CR)"])
def test_a_genre_every_reader_takes_for_an_id3_code_is_refused_and_the_file_untouched(untagged, name):
    before = untagged.read_bytes()
    with pytest.raises(ValueError, match="ID3 genre code"):
        write_genres(untagged, [name])
    assert untagged.read_bytes() == before


def test_numbers_inside_a_genre_name_are_fine(untagged):
    import eyed3

    write_genres(untagged, ["90s Eurodance"], id3_version=4)
    assert eyed3.load(str(untagged)).tag.genre.name == "90s Eurodance"


def test_existing_v24_tag_keeps_its_version_when_v23_is_asked(rich_v24):
    write_genres(rich_v24, ["Rock"], id3_version=3)
    assert read_tags(rich_v24).id3_version == 4


def test_existing_v23_tag_keeps_its_version_when_v24_is_asked(rich_v23):
    write_genres(rich_v23, ["Rock"], id3_version=4)
    assert read_tags(rich_v23).id3_version == 3


def test_empty_genres_remove_the_genre_frame(rich_v23):
    write_genres(rich_v23, [])
    assert read_genre_frame(rich_v23) is None
    assert read_tags(rich_v23).genres == ()


def test_bad_id3_version_is_refused(untagged):
    before = untagged.read_bytes()
    with pytest.raises(ValueError):
        write_genres(untagged, ["Rock"], id3_version=2)
    assert untagged.read_bytes() == before


# ---------------------------------------------------------------- preservation


@pytest.mark.parametrize("fixture", ["rich_v23", "rich_v24"])
def test_write_keeps_every_other_frame_byte_for_byte(request, fixture):
    path = request.getfixturevalue(fixture)
    before = other_frames(path)
    assert len(before) == 7  # TIT2 TPE1 TALB APIC COMM USLT TXXX
    write_genres(path, ["Rock", "Pop"])
    assert other_frames(path) == before


@pytest.mark.parametrize("fixture", ["rich_v23", "rich_v24"])
def test_write_keeps_every_other_frame_as_mutagen_reads_it(request, fixture):
    path = request.getfixturevalue(fixture)

    def frames():
        return {k: repr(v) for k, v in ID3(str(path), translate=False).items() if not k.startswith("TCON")}

    before = frames()
    write_genres(path, ["Electronic"])
    assert frames() == before


@pytest.mark.parametrize("fixture", ["rich_v23", "rich_v24", "untagged"])
def test_write_keeps_audio_and_id3v1_bytes(request, fixture):
    path = request.getfixturevalue(fixture)
    if fixture != "untagged":
        add_id3v1(path)
        assert path.read_bytes()[-128:-125] == b"TAG"
    before = after_tag(path)
    write_genres(path, ["Rock", "Pop"])
    assert after_tag(path) == before


def test_write_keeps_v23_date_frames_that_a_mutagen_round_trip_would_convert(rich_v23):
    tags = ID3(str(rich_v23), translate=False)
    for frame in (TYER(encoding=0, text="1999"), TDAT(encoding=0, text="2412"), TIME(encoding=0, text="1230")):
        tags.add(frame)
    tags.save(str(rich_v23), v2_version=3)
    before = other_frames(rich_v23)
    write_genres(rich_v23, ["Rock"])
    assert other_frames(rich_v23) == before
    assert {"TYER", "TDAT", "TIME"} <= set(ID3(str(rich_v23), translate=False).keys())


def test_write_that_fits_in_the_padding_keeps_the_file_size(rich_v23):
    size = rich_v23.stat().st_size
    write_genres(rich_v23, ["Rock"])
    assert rich_v23.stat().st_size == size


def test_write_that_outgrows_the_padding_still_keeps_everything(rich_v23):
    before_frames, before_audio = other_frames(rich_v23), after_tag(rich_v23)
    genres = [f"Genre number {i}" for i in range(300)]
    write_genres(rich_v23, genres)
    assert other_frames(rich_v23) == before_frames
    assert after_tag(rich_v23) == before_audio
    assert read_tags(rich_v23).genres == tuple(genres)


def test_write_keeps_permission_bits(rich_v23):
    os.chmod(rich_v23, 0o640)
    write_genres(rich_v23, ["Rock"])
    assert stat.S_IMODE(rich_v23.stat().st_mode) == 0o640


def test_write_through_a_symlink_updates_the_target_and_keeps_the_link(rich_v23, tmp_path):
    link = tmp_path / "link.mp3"
    link.symlink_to(rich_v23)
    write_genres(link, ["Rock"])
    assert link.is_symlink()
    assert read_tags(rich_v23).genres == ("Rock",)


def test_unicode_path_round_trips(tmp_path):
    path = make_track(tmp_path / "Björk – Jóga 日本語" / "01 ☃ song.mp3", seconds=2, title="Jóga")
    write_genres(path, ["Électronique"])
    assert read_tags(path).genres == ("Électronique",)
    assert read_tags(path).title == "Jóga"


# ---------------------------------------------------------------- atomicity and errors


def test_write_leaves_no_temporary_file(rich_v23, tmp_path):
    write_genres(rich_v23, ["Rock"])
    assert leftovers(tmp_path, rich_v23) == []


def test_read_only_file_is_refused_and_untouched(rich_v23, tmp_path):
    before = rich_v23.read_bytes()
    os.chmod(rich_v23, 0o444)
    with pytest.raises(WriteError, match="read-only"):
        write_genres(rich_v23, ["Rock"])
    assert rich_v23.read_bytes() == before
    assert leftovers(tmp_path, rich_v23) == []


def test_vanished_file_is_a_write_error(tmp_path):
    with pytest.raises(WriteError, match="not found"):
        write_genres(tmp_path / "gone.mp3", ["Rock"])
    assert list(tmp_path.iterdir()) == []


@contextlib.contextmanager
def unwritable(folder: Path):
    """Make `folder` refuse new files, for root too (chattr +i) when running as root."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root and chattr +i is not available")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        os.chmod(folder, 0o555)
        try:
            yield
        finally:
            os.chmod(folder, 0o755)


def test_unwritable_folder_is_refused_and_file_untouched(rich_v23, tmp_path):
    before = rich_v23.read_bytes()
    with unwritable(tmp_path), pytest.raises(WriteError, match="folder is not writable"):
        write_genres(rich_v23, ["Rock"])
    assert rich_v23.read_bytes() == before
    assert leftovers(tmp_path, rich_v23) == []


@pytest.mark.parametrize("content", [b"", b"this is a text file, not audio\n" * 50, bytes(range(256)) * 40],
                         ids=["empty", "text", "garbage"])
def test_non_audio_mp3_is_refused_and_untouched(tmp_path, content):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(WriteError, match="bad.mp3"):
        write_genres(path, ["Rock"])
    assert path.read_bytes() == content
    assert leftovers(tmp_path, path) == []


def test_truncated_tag_is_refused_and_untouched(tmp_path):
    path = tmp_path / "cut.mp3"
    path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x7f\x7f" + b"TIT2\x00\x00\x00\x05\x00\x00\x00abcd")
    before = path.read_bytes()
    with pytest.raises(WriteError, match="cut.mp3"):
        write_genres(path, ["Rock"])
    assert path.read_bytes() == before


def test_id3v22_tag_is_refused_rather_than_converted(untagged):
    frame = b"TT2" + (6).to_bytes(3, "big") + b"\x00Title"
    tag = b"ID3\x02\x00\x00" + bytes([0, 0, 0, len(frame) + 20]) + frame + bytes(20)
    untagged.write_bytes(tag + untagged.read_bytes())
    before = untagged.read_bytes()
    with pytest.raises(WriteError, match="2.2"):
        write_genres(untagged, ["Rock"])
    assert untagged.read_bytes() == before


# ---------------------------------------------------------------- exact frames for the journal


def test_read_genre_frame_is_none_without_a_genre_frame(untagged):
    assert read_genre_frame(untagged) is None


def test_read_genre_frame_returns_the_stored_bytes(rich_v23):
    frame = read_genre_frame(rich_v23)
    assert frame is not None and frame[:4] == b"TCON"
    assert frame in rich_v23.read_bytes()[: tag_size(rich_v23)]


@pytest.mark.parametrize("fixture", ["rich_v23", "rich_v24"])
def test_restoring_the_old_frame_gives_back_the_identical_file(request, fixture):
    path = request.getfixturevalue(fixture)
    original, frame = path.read_bytes(), read_genre_frame(path)
    write_genres(path, ["Rock", "Pop"])
    restore_genre_frame(path, frame)
    assert path.read_bytes() == original


def test_restoring_no_frame_on_a_file_that_had_no_tag_gives_back_the_identical_file(untagged):
    original = untagged.read_bytes()
    write_genres(untagged, ["Rock"])
    restore_genre_frame(untagged, None)
    assert untagged.read_bytes() == original


def test_restoring_no_frame_removes_the_genre_and_keeps_other_frames(rich_v23):
    write_genres(rich_v23, [])
    no_genre = rich_v23.read_bytes()
    write_genres(rich_v23, ["Rock"])
    restore_genre_frame(rich_v23, None)
    assert rich_v23.read_bytes() == no_genre


def test_restore_refuses_bytes_that_are_not_a_genre_frame(rich_v23):
    before = rich_v23.read_bytes()
    with pytest.raises(WriteError, match="genre frame"):
        restore_genre_frame(rich_v23, b"TIT2\x00\x00\x00\x02\x00\x00\x00x")
    assert rich_v23.read_bytes() == before


def test_frame_written_by_us_is_a_plain_tcon_mutagen_reads(untagged):
    write_genres(untagged, ["Rock"], id3_version=4)
    assert isinstance(ID3(str(untagged))["TCON"], TCON)


def test_before_replace_sees_the_finished_copy_while_the_original_is_still_in_place(rich_v23):
    original, old_frame, seen = rich_v23.read_bytes(), read_genre_frame(rich_v23), []
    result = write_genres(rich_v23, ["Rock"], before_replace=lambda r: seen.append((r, rich_v23.read_bytes())))
    [(given, file_then)] = seen
    assert file_then == original and given.old_frame == old_frame
    assert (given.size, given.mtime_ns) == (rich_v23.stat().st_size, rich_v23.stat().st_mtime_ns)
    assert given.sha256 == hashlib.sha256(rich_v23.read_bytes()).hexdigest() and result == given


def test_failing_before_replace_leaves_the_original_and_no_temp_file(rich_v23, tmp_path):
    original = rich_v23.read_bytes()

    def refuse(result):
        raise WriteError("journal is full")

    with pytest.raises(WriteError, match="journal is full"):
        write_genres(rich_v23, ["Rock"], before_replace=refuse)
    assert rich_v23.read_bytes() == original
    assert leftovers(tmp_path, rich_v23) == []


def test_writing_the_genres_a_file_already_has_leaves_it_untouched(rich_v23):
    write_genres(rich_v23, ["Rock"])
    st = rich_v23.stat()
    result = write_genres(rich_v23, ["Rock"])
    assert not result.changed
    assert (rich_v23.stat().st_mtime_ns, rich_v23.stat().st_ino) == (st.st_mtime_ns, st.st_ino)


# ---------------------------------------------------------------- unusual but valid tag layouts


def text_frame(fid: bytes, text: str, version: int, plain_size: bool = False) -> bytes:
    payload = b"\x03" + text.encode("utf-8") if version == 4 else b"\x00" + text.encode("latin-1")
    n = len(payload)
    size = n.to_bytes(4, "big") if version == 3 or plain_size else bytes(
        [(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])
    return fid + size + b"\x00\x00" + payload


def with_raw_tag(path: Path, version: int, body: bytes, *, footer: bool = False) -> Path:
    """Put a hand-made ID3v2 tag in front of the file's audio (any tag it had is replaced)."""
    n = len(body)
    rest = bytes([version, 0, 0x10 if footer else 0, (n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])
    path.write_bytes(b"ID3" + rest + body + (b"3DI" + rest if footer else b"") + after_tag(path))
    return path


def test_two_genre_frames_are_journaled_together_and_both_restored(untagged):
    # ID3 allows one TCON per tag; when a file has two, both come back, next to each other.
    body = (text_frame(b"TIT2", "Song", 3) + text_frame(b"TCON", "Jazz", 3) + text_frame(b"TPE1", "X", 3)
            + text_frame(b"TCON", "Blues", 3) + bytes(100))
    with_raw_tag(untagged, 3, body)
    audio, frame = after_tag(untagged), read_genre_frame(untagged)
    assert frame == text_frame(b"TCON", "Jazz", 3) + text_frame(b"TCON", "Blues", 3)
    write_genres(untagged, ["Rock"])
    assert [f[:4] for f in raw_frames(untagged)] == [b"TIT2", b"TCON", b"TPE1"]
    restore_genre_frame(untagged, frame)
    assert raw_frames(untagged) == [text_frame(b"TIT2", "Song", 3), text_frame(b"TCON", "Jazz", 3),
                                    text_frame(b"TCON", "Blues", 3), text_frame(b"TPE1", "X", 3)]
    assert after_tag(untagged) == audio and tag_size(untagged) == 10 + len(body)


def test_v24_tag_with_footer_keeps_a_valid_footer(untagged):
    audio = after_tag(untagged)
    with_raw_tag(untagged, 4, text_frame(b"TIT2", "Song", 4) + bytes(50), footer=True)
    write_genres(untagged, ["Rock"])
    data, size = untagged.read_bytes(), tag_size(untagged)
    assert data[size - 10 : size - 7] == b"3DI" and data[size - 7 : size] == data[3:10]
    assert data[size:] == audio
    assert read_tags(untagged).genres == ("Rock",) and read_tags(untagged).title == "Song"


def test_bytes_after_the_frames_that_are_not_padding_are_kept(untagged):
    junk = b"\xff\xfbnot a frame, not padding" + bytes(40)
    with_raw_tag(untagged, 3, text_frame(b"TIT2", "Song", 3) + junk)
    audio = after_tag(untagged)
    write_genres(untagged, ["Rock"])
    tag = untagged.read_bytes()[: tag_size(untagged)]
    assert tag.endswith(junk) and after_tag(untagged) == audio
    assert read_tags(untagged).genres == ("Rock",)


def test_itunes_style_v24_tag_with_plain_frame_sizes_is_kept_intact(untagged):
    long_title = "T" * 300  # a size >= 128 differs between plain and syncsafe encodings
    frames = text_frame(b"TIT2", long_title, 4, plain_size=True) + text_frame(b"TPE1", "Artist", 4, plain_size=True)
    with_raw_tag(untagged, 4, frames + bytes(64))
    write_genres(untagged, ["Rock", "Pop"])
    assert untagged.read_bytes()[10 : 10 + len(frames)] == frames
    info = read_tags(untagged)
    assert (info.title, info.artist, info.genres) == (long_title, "Artist", ("Rock", "Pop"))


def test_id3v1_only_file_gets_a_new_v2_tag_and_keeps_its_v1_tag(untagged):
    from mutagen.id3 import TIT2, delete

    tags = ID3()
    tags.add(TIT2(encoding=0, text="Old title"))
    tags.save(str(untagged), v1=2)
    delete(str(untagged), delete_v1=False, delete_v2=True)
    assert read_tags(untagged).id3_version is None and read_tags(untagged).title == "Old title"
    v1 = untagged.read_bytes()[-128:]
    write_genres(untagged, ["Rock"])
    assert untagged.read_bytes()[-128:] == v1
    assert read_tags(untagged).id3_version == 3 and read_tags(untagged).genres == ("Rock",)


def test_real_files_survive_write_and_restore_byte_for_byte(shared_data, tmp_path):
    sources = sorted(shared_data.rglob("*.mp3"))[:6]
    if not sources:
        pytest.skip("no mp3 in ../shared/data")
    for i, source in enumerate(sources):
        path = tmp_path / f"{i}-{source.name}"
        path.write_bytes(source.read_bytes())
        original, frame = path.read_bytes(), read_genre_frame(path)
        write_genres(path, ["Rock", "Pop"])
        assert read_tags(path).genres == ("Rock", "Pop")
        restore_genre_frame(path, frame)
        assert path.read_bytes() == original, source


@pytest.mark.skipif(not hasattr(os, "setxattr"), reason="no extended attributes on this platform")
def test_write_keeps_extended_attributes(rich_v23):
    try:
        os.setxattr(rich_v23, "user.xdg.comment", b"favourite")
    except OSError:
        pytest.skip("this file system has no user extended attributes")
    write_genres(rich_v23, ["Rock"])
    assert os.getxattr(rich_v23, "user.xdg.comment") == b"favourite"
