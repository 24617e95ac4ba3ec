"""Genre writes to Ogg Vorbis and Opus files (tagger.tags.ogg through the tagger.tags dispatcher):
only the comment header changes, re-laid in the same pages; the audio pages stay byte for byte."""

from __future__ import annotations

import copy
import hashlib
import io
from pathlib import Path

import mutagen
import pytest
import soundfile as sf
from mutagen.ogg import OggPage

from tagger.errors import ReadError, WriteError
from tagger.tags import ogg, read_tags, restore_snapshot, snapshot_matches, vorbis, write_genres
from tests.helpers import make_track

EXTENSIONS = ("x.ogg", "x.opus")


# --------------------------------------------------------------------------- test material


@pytest.fixture(params=EXTENSIONS)
def track(request, tmp_path) -> Path:
    """A real Vorbis / Opus file, tagged by mutagen with a comment, an id and a cover picture."""
    return make_track(tmp_path / request.param, seconds=3, title="Song", artist="Artist", album="Album",
                      genre="Jazz", rich=True)


@pytest.fixture(params=EXTENSIONS)
def multipage(request, tmp_path) -> Path:
    """The same, with lyrics long enough that the comment header spans several pages."""
    path = make_track(tmp_path / request.param, seconds=3, title="Song", genre="Jazz", rich=True)
    audio = mutagen.File(path)
    audio.tags["LYRICS"] = "la " * 7000
    audio.save()
    assert _header_page_count(path.read_bytes()) > 4
    return path


def _walk(data: bytes) -> list[tuple[int, bytes, OggPage]]:
    """Every page of an Ogg file: offset, bytes as stored, parsed page."""
    f, out = io.BytesIO(data), []
    while f.tell() < len(data):
        at = f.tell()
        page = OggPage(f)
        out.append((at, data[at:f.tell()], page))
    return out


def _is_vorbis(data: bytes) -> bool:
    return _walk(data)[0][2].packets[0].startswith(b"\x01vorbis")


def _header_page_count(data: bytes) -> int:
    """Pages (page 0 included) up to the one where the last header packet ends."""
    wanted, done = (3 if _is_vorbis(data) else 2), 0
    for i, (_at, _raw, page) in enumerate(_walk(data)):
        done += len(page.packets) - (0 if page.complete else 1)
        if done >= wanted:
            return i + 1
    raise AssertionError("header packets incomplete")


def _audio_start(data: bytes) -> int:
    pages = _walk(data)
    n = _header_page_count(data)
    return pages[n][0] if n < len(pages) else len(data)


def _comment_packet(data: bytes) -> bytes:
    pages = [page for _at, _raw, page in _walk(data)[1:_header_page_count(data)]]
    return OggPage.to_packets(pages)[0]


def _comments(data: bytes) -> vorbis.Comments:
    return vorbis.parse(_comment_packet(data)[7 if _is_vorbis(data) else 8:])


def _with_comment_packet(data: bytes, packet: bytes) -> bytes:
    """The file with its comment packet replaced (the header must be one page after page 0)."""
    assert _header_page_count(data) == 2
    pages = _walk(data)
    new = copy.copy(pages[1][2])
    new.packets = [packet, *new.packets[1:]]
    return data[:pages[1][0]] + new.write() + data[pages[2][0]:]


def _opus_with_comment_in_pages(path: Path) -> list[int]:
    """Give an Opus file a 600-byte OpusTags packet laid one lacing value a page (255, 255, 90
    bytes, as some muxers do), renumbering the audio pages after it; the page sizes."""
    data = path.read_bytes()
    assert _header_page_count(data) == 2
    pages = _walk(data)
    old = _comments(data)
    base = len(b"OpusTags") + len(old.vendor) + 4 + 4 + len(b"GENRE=")
    packet = b"OpusTags" + vorbis.Comments(old.vendor, (b"GENRE=" + b"g" * (600 - base),), b"").encode()
    assert len(packet) == 600
    out = [pages[0][1]]
    for i, (start, stop) in enumerate(((0, 255), (255, 510), (510, 600))):
        page = copy.copy(pages[1][2])
        page.sequence, page.packets = 1 + i, [packet[start:stop]]
        page.continued, page.complete = i > 0, i == 2
        out.append(page.write())
    for _at, _raw, page in pages[2:]:
        page = copy.copy(page)
        page.sequence += 2
        out.append(page.write())
    path.write_bytes(b"".join(out))
    assert mutagen.File(path).tags["genre"] == ["g" * (600 - base)]
    return [len(b) for b in out[1:4]]


def _page_bytes(serial: int, sequence: int, packets: list[bytes], *, first: bool = False) -> bytes:
    page = OggPage()
    page.serial, page.sequence, page.first, page.packets = serial, sequence, first, packets
    return page.write()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_valid_stream(path: Path, original: bytes) -> None:
    """Every page CRC right, each page's serial, sequence and granule as before, audio identical."""
    data = path.read_bytes()
    assert all(raw == page.write() for _at, raw, page in _walk(data))
    fields = [(p.serial, p.sequence, p.position, p.first, p.last) for _at, _raw, p in _walk(data)]
    assert fields == [(p.serial, p.sequence, p.position, p.first, p.last) for _at, _raw, p in _walk(original)]
    assert _header_page_count(data) == _header_page_count(original)
    assert data[_audio_start(data):] == original[_audio_start(original):]


def _samples(data: bytes):
    return sf.read(io.BytesIO(data))[0]


# ---------------------------------------------------------------------------------- reading


def test_read_tags_gives_fields_duration_and_codec(track):
    info = read_tags(track)
    assert (info.title, info.artist, info.album, info.genres) == ("Song", "Artist", "Album", ("Jazz",))
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert info.format == ("Ogg Vorbis" if track.suffix == ".ogg" else "Opus")


def test_untouched_pages_write_back_as_the_original_bytes(track):
    """mutagen's OggPage re-creates every page of a real file exactly, CRC included."""
    pages = _walk(track.read_bytes())
    assert len(pages) > 3
    assert all(raw == page.write() for _at, raw, page in pages)


# ---------------------------------------------------------------------------------- writing


def test_written_genres_read_back(track):
    result = write_genres(track, ["Bossa Nova"])
    assert result.changed
    assert read_tags(track).genres == ("Bossa Nova",)
    assert result.old_frame == b"\x0a\x00\x00\x00GENRE=Jazz"


def test_several_genres_become_repeated_genre_fields(track):
    write_genres(track, ["Jazz", "Bossa Nova", "Électronique"])
    assert mutagen.File(track).tags["genre"] == ["Jazz", "Bossa Nova", "Électronique"]
    assert _comments(track.read_bytes()).genre_fields() == [b"GENRE=Jazz", b"GENRE=Bossa Nova",
                                                           "GENRE=Électronique".encode()]


def test_other_fields_vendor_picture_and_trailer_are_unchanged(track):
    before = _comments(track.read_bytes())
    write_genres(track, ["Rock", "Pop"])
    after = _comments(track.read_bytes())
    assert after.vendor == before.vendor
    assert after.trailer == before.trailer
    others = [f for f in before.fields if not f.upper().startswith(b"GENRE=")]
    assert [f for f in after.fields if not f.upper().startswith(b"GENRE=")] == others
    assert any(f.startswith(b"METADATA_BLOCK_PICTURE=") for f in others)
    assert len(after.fields) == len(before.fields) + 1


def test_opus_binary_data_after_the_comments_is_kept(tmp_path):
    path = make_track(tmp_path / "x.opus", seconds=2, genre="Jazz")
    data = path.read_bytes()
    old = _comments(data)
    binary = b"\x01binary extension data\xff\x00\x7f"
    path.write_bytes(_with_comment_packet(data, b"OpusTags" + vorbis.Comments(old.vendor, old.fields, b"").encode()
                                          + binary))
    write_genres(path, ["Soul"])
    new = _comments(path.read_bytes())
    assert new.trailer == binary
    assert mutagen.File(path).tags["genre"] == ["Soul"]


def test_audio_pages_stay_byte_identical_and_every_crc_is_valid(track):
    original = track.read_bytes()
    write_genres(track, ["Rock", "Post-Rock", "Shoegaze"])
    _assert_valid_stream(track, original)
    assert (_samples(track.read_bytes()) == _samples(original)).all()


def test_long_genre_list_fits_in_the_same_pages(track):
    original = track.read_bytes()
    genres = [f"Genre number {i:04d} with a long descriptive name" for i in range(400)]  # about 20 KB more
    write_genres(track, genres)
    assert mutagen.File(track).tags["genre"] == genres
    assert read_tags(track).genres == tuple(genres)
    _assert_valid_stream(track, original)
    assert (_samples(track.read_bytes()) == _samples(original)).all()


def test_comment_too_large_for_the_old_pages_is_refused(track):
    before = _sha(track)
    genres = [f"Genre number {i:04d} with a long descriptive name" for i in range(1500)]  # about 75 KB
    with pytest.raises(WriteError, match="needs more Ogg pages than the old one"):
        write_genres(track, genres)
    assert _sha(track) == before
    assert not list(track.parent.glob(".genrenet-*"))


def test_header_spanning_several_pages_grows_and_shrinks(multipage):
    original = multipage.read_bytes()
    for genres in (["Folk"], [f"Genre {i:04d} and some more words" for i in range(300)], []):
        write_genres(multipage, genres)
        assert mutagen.File(multipage).tags.get("genre", []) == genres
        _assert_valid_stream(multipage, original)
    assert (_samples(multipage.read_bytes()) == _samples(original)).all()


def test_growth_beyond_the_last_pages_room_spreads_into_earlier_header_pages(multipage):
    original = multipage.read_bytes()
    old_sizes = [len(raw) for _at, raw, _p in _walk(original)[1:_header_page_count(original)]]
    genres = [f"Genre {i:04d} with a long descriptive name" for i in range(1500)]  # more than one page holds
    write_genres(multipage, genres)
    data = multipage.read_bytes()
    new_sizes = [len(raw) for _at, raw, _p in _walk(data)[1:_header_page_count(data)]]
    assert sum(s > o for s, o in zip(new_sizes, old_sizes, strict=True)) >= 2
    assert mutagen.File(multipage).tags["genre"] == genres
    _assert_valid_stream(multipage, original)
    assert (_samples(data) == _samples(original)).all()


def test_comment_packet_of_an_exact_multiple_of_255_bytes_gets_a_closing_lacing_value(track):
    original = track.read_bytes()
    base = len(_comment_packet(original)) - len(b"GENRE=Jazz")
    name = "Jazz" + "z" * (-(base + len(b"GENRE=Jazz")) % 255)
    write_genres(track, [name])
    data = track.read_bytes()
    packet = _comment_packet(data)
    assert len(packet) % 255 == 0
    at, raw, _page = _walk(data)[1]
    lacing = raw[27:27 + raw[26]]
    assert lacing[len(packet) // 255] == 0  # the zero that ends the packet
    assert mutagen.File(track).tags["genre"] == [name]
    _assert_valid_stream(track, original)
    assert (_samples(data) == _samples(original)).all()


def test_header_pages_of_one_lacing_value_each_keep_their_layout(tmp_path):
    path = make_track(tmp_path / "x.opus", seconds=2, genre="Jazz")
    sizes = _opus_with_comment_in_pages(path)
    original = path.read_bytes()
    name = "h" * (len(mutagen.File(path).tags["genre"][0]) - 20)  # 20 bytes shorter: still 3 lacing values
    write_genres(path, [name])
    data = path.read_bytes()
    assert [len(raw) for _at, raw, _p in _walk(data)[1:4]] == [sizes[0], sizes[1], sizes[2] - 20]
    assert mutagen.File(path).tags["genre"] == [name]
    _assert_valid_stream(path, original)
    assert (_samples(data) == _samples(original)).all()


def test_comment_too_short_to_fill_the_old_pages_is_refused(tmp_path):
    path = make_track(tmp_path / "x.opus", seconds=2, genre="Jazz")
    _opus_with_comment_in_pages(path)
    _refused(path, "too short to fill the old one's Ogg pages", genres=[])


def test_removing_genres_drops_every_genre_field(track):
    write_genres(track, ["Jazz", "Blues"])
    write_genres(track, [])
    assert read_tags(track).genres == ()
    assert "genre" not in mutagen.File(track).tags
    assert _comments(track.read_bytes()).genre_fields() == []


def test_writing_the_same_genres_again_changes_nothing(track):
    write_genres(track, ["Jazz", "Blues"])
    before = track.read_bytes()
    assert not write_genres(track, ["Jazz", "Blues"]).changed
    assert track.read_bytes() == before


def test_undo_restores_the_original_bytes(multipage):
    before = _sha(multipage)
    result = write_genres(multipage, [f"Genre {i}" for i in range(50)])
    assert not snapshot_matches(multipage, result.snapshot)
    restore_snapshot(multipage, result.snapshot)
    assert _sha(multipage) == before
    assert snapshot_matches(multipage, result.snapshot)


def test_undo_restores_the_original_bytes_of_a_single_page_header(track):
    before = _sha(track)
    result = write_genres(track, [])
    assert not snapshot_matches(track, result.snapshot)
    restore_snapshot(track, result.snapshot)
    assert _sha(track) == before
    assert snapshot_matches(track, result.snapshot)


def test_verify_rejects_a_copy_without_the_requested_genres(track, tmp_path):
    with pytest.raises(WriteError, match="did not read back as intended"):
        ogg.verify_genres(track, track, ("Not there",))
    ogg.verify_genres(track, track, ("Jazz",))


# --------------------------------------------------------------------------- refused files


def _refused(path: Path, match: str, genres: list[str] | None = None) -> None:
    before = _sha(path)
    with pytest.raises(WriteError, match=match):
        write_genres(path, ["Pop"] if genres is None else genres)
    assert _sha(path) == before
    assert not list(path.parent.glob(".genrenet-*"))


def test_file_cut_off_in_its_header_is_refused(track):
    data = track.read_bytes()
    track.write_bytes(data[:_walk(data)[1][0] + 200])
    _refused(track, r"damaged Ogg page \(truncated\)")
    with pytest.raises(ReadError, match="not a readable Ogg file"):
        read_tags(track)


def test_bad_checksum_in_the_comment_page_is_refused(track):
    data = bytearray(track.read_bytes())
    at, raw, _page = _walk(bytes(data))[1]
    vendor = at + 27 + raw[26] + (7 if track.suffix == ".ogg" else 8) + 4
    data[vendor] ^= 0x20  # a letter of the vendor string: the page still parses, only its CRC is wrong
    track.write_bytes(bytes(data))
    _refused(track, r"damaged Ogg page \(bad checksum\)")


@pytest.mark.parametrize("garbage", [b"\xff" * 200, b"\x00\x02" + bytes(range(40, 240))],
                         ids=["bad-version", "cut-off-page"])
def test_garbage_after_the_capture_pattern_is_refused(tmp_path, garbage):
    path = tmp_path / "x.ogg"
    path.write_bytes(b"OggS" + garbage)
    _refused(path, "damaged Ogg page")
    with pytest.raises(ReadError, match="not a readable Ogg file"):
        read_tags(path)


@pytest.mark.parametrize(("header", "name"), [
    (b"\x7fFLAC\x01\x00\x00\x01fLaC" + bytes(38), "FLAC"),
    (b"Speex   1.2" + bytes(69), "Speex"),
    (b"\x80theora\x03\x02\x01" + bytes(33), "Theora"),
    (b"\x02whatever", "unknown"),
])
def test_other_ogg_codecs_are_refused_by_name(tmp_path, header, name):
    path = tmp_path / "x.ogg"
    path.write_bytes(_page_bytes(7, 0, [header], first=True) + _page_bytes(7, 1, [b"\x03comment" + bytes(20)]))
    message = rf"Ogg file with a codec genrenet does not support \({name}\)"
    _refused(path, message)
    with pytest.raises(ReadError, match=message):
        read_tags(path)


def test_second_stream_start_before_the_headers_end_is_refused(track):
    data = track.read_bytes()
    pages = _walk(data)
    other = _page_bytes(pages[0][2].serial + 1, 0, [b"\x80theora\x03\x02\x01" + bytes(33)], first=True)
    track.write_bytes(data[:pages[1][0]] + other + data[pages[1][0]:])
    _refused(track, "several multiplexed streams")


def test_another_streams_page_among_the_header_pages_is_refused(multipage):
    data = multipage.read_bytes()
    pages = _walk(data)
    other = _page_bytes(pages[0][2].serial + 1, 1, [b"some other stream's data"])
    multipage.write_bytes(data[:pages[3][0]] + other + data[pages[3][0]:])
    _refused(multipage, "several multiplexed streams")


def test_vorbis_comment_without_its_framing_bit_is_refused(tmp_path):
    path = make_track(tmp_path / "x.ogg", seconds=2, genre="Jazz")
    data = path.read_bytes()
    old = _comments(data)
    path.write_bytes(_with_comment_packet(data, b"\x03vorbis" + vorbis.Comments(old.vendor, old.fields, b"\x00")
                                          .encode()))
    _refused(path, "framing bit")


def test_audio_sharing_the_comment_page_is_refused(tmp_path):
    path = make_track(tmp_path / "x.opus", seconds=2, genre="Jazz")
    data = path.read_bytes()
    pages = _walk(data)
    merged = copy.copy(pages[1][2])
    merged.packets = pages[1][2].packets + pages[2][2].packets[:3]
    path.write_bytes(data[:pages[1][0]] + merged.write() + data[pages[2][0]:])
    _refused(path, "shares a page with the comment header")
