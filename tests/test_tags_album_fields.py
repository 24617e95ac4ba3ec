"""Track and disc number, year, album artist and the compilation flag, read from every format."""

from __future__ import annotations

import mutagen
import pytest
from mutagen.id3 import ID3

from tagger.tags import read_tags, write_genres
from tagger.tags.fields import flag, number, number_pair, year
from tests.helpers import ALBUM_TAGS, make_track

FORMATS = ["a.mp3", "a.flac", "a.ogg", "a.opus", "a.m4a"]


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_reads_the_album_fields(tmp_path, name):
    info = read_tags(make_track(tmp_path / name, seconds=1.0, title="T", **ALBUM_TAGS))
    assert (info.track_number, info.track_total, info.disc_number) == (3, 12, 2)
    assert info.year == 2004
    assert info.album_artist == "Various Artists"
    assert info.compilation is True


@pytest.mark.parametrize("name", FORMATS)
def test_a_file_without_them_reads_as_none_and_false(tmp_path, name):
    info = read_tags(make_track(tmp_path / name, seconds=1.0, title="T"))
    assert (info.track_number, info.track_total, info.disc_number, info.year, info.album_artist) == (None,) * 5
    assert info.compilation is False


@pytest.mark.parametrize("name", FORMATS)
def test_a_track_number_without_a_total_has_no_total(tmp_path, name):
    info = read_tags(make_track(tmp_path / name, seconds=1.0, track="7", disc="1/2"))
    assert (info.track_number, info.track_total, info.disc_number) == (7, None, 1)


@pytest.mark.parametrize("name", FORMATS)
def test_a_genre_write_keeps_the_album_fields(tmp_path, name):
    path = make_track(tmp_path / name, seconds=1.0, **ALBUM_TAGS)
    write_genres(path, ["Jazz"])
    info = read_tags(path)
    assert (info.track_number, info.year, info.album_artist, info.compilation) == (3, 2004, "Various Artists", True)


def test_an_id3v23_date_is_stored_as_tyer_and_read_as_the_year(tmp_path):
    path = make_track(tmp_path / "a.mp3", seconds=1.0, date="1999", v2_version=3)
    assert "TYER" in ID3(path, translate=False)
    assert read_tags(path).year == 1999


def test_an_id3v24_full_date_gives_its_year(tmp_path):
    path = make_track(tmp_path / "a.mp3", seconds=1.0, date="2010-11-12T10:00", v2_version=4)
    assert read_tags(path).year == 2010


def test_an_id3v1_only_file_gives_its_year_and_track(tmp_path):
    path = make_track(tmp_path / "a.mp3", seconds=1.0)
    field = lambda text, n: text.encode("latin-1").ljust(n, b"\0")  # noqa: E731
    v1 = b"TAG" + field("Title", 30) + field("Artist", 30) + field("Album", 30) + b"1987" + bytes(28) + b"\0\x05\xff"
    with open(path, "ab") as f:
        f.write(v1)
    info = read_tags(path)
    assert (info.title, info.year, info.track_number) == ("Title", 1987, 5)


@pytest.mark.parametrize("name", ["a.flac", "a.ogg", "a.opus"])
def test_vorbis_comments_in_other_taggers_spellings(tmp_path, name):
    path = make_track(tmp_path / name, seconds=1.0)
    audio = mutagen.File(path)
    audio.tags["tracknumber"] = "04"
    audio.tags["TOTALTRACKS"] = "09"
    audio.tags["YEAR"] = "1971"
    audio.tags["ALBUM ARTIST"] = "The Band"
    audio.tags["compilation"] = "0"
    audio.save()
    info = read_tags(path)
    assert (info.track_number, info.track_total, info.year) == (4, 9, 1971)
    assert info.album_artist == "The Band" and info.compilation is False


def test_a_vorbis_total_in_the_track_number_wins_over_tracktotal(tmp_path):
    path = make_track(tmp_path / "a.flac", seconds=1.0, track="2/10")
    audio = mutagen.File(path)
    audio.tags["TRACKTOTAL"] = "11"
    audio.save()
    assert read_tags(path).track_total == 10


def test_an_mp4_without_a_total_stores_zero_and_reads_none(tmp_path):
    path = make_track(tmp_path / "a.m4a", seconds=1.0, track="5")
    assert list(mutagen.File(path).tags["trkn"]) == [(5, 0)]
    assert read_tags(path).track_total is None


@pytest.mark.parametrize(("text", "want"), [
    ("3", (3, None)), ("03/12", (3, 12)), (" 3 / 12 ", (3, 12)), ("A1", (None, None)), ("0/0", (None, None)),
    ("", (None, None)), (None, (None, None)), ("4/", (4, None)),
])
def test_number_pairs(text, want):
    assert number_pair(text) == want


@pytest.mark.parametrize(("text", "want"), [
    ("2004", 2004), ("2004-05-01", 2004), ("2004-05-01T10:00:00", 2004), ("0000", None), ("04", None),
    ("c. 1960", None), ("", None), (None, None),
])
def test_the_year_is_the_dates_leading_four_digits(text, want):
    assert year(text) == want


def test_compilation_flags_and_numbers():
    assert [flag(t) for t in ("1", "true", "Yes", "0", "", None, "no")] == [True, True, True, False, False, False, False]
    assert number("12 of 14") == 12


def test_several_vorbis_album_artists_are_joined_as_artists_are(tmp_path):
    path = make_track(tmp_path / "a.flac", seconds=1.0)
    audio = mutagen.File(path)
    audio.tags["ALBUMARTIST"] = ["One", "Two"]
    audio.tags["ARTIST"] = ["One", "Two"]
    audio.save()
    info = read_tags(path)
    assert info.album_artist == info.artist == "One; Two"
