"""Cover art: embedded in each format's own tag, or the folder's cover image; never an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutagen.id3 import APIC, ID3

from tagger.tags.cover import read_cover
from tests.helpers import PICTURE, make_track


@pytest.mark.parametrize("name, codec", [("a.mp3", None), ("a.flac", None), ("a.ogg", None), ("a.opus", None),
                                         ("a.m4a", "aac")])
def test_the_embedded_picture_of_every_format_is_read(tmp_path, name, codec):
    path = make_track(tmp_path / name, codec=codec, title="T", rich=True)
    cover = read_cover(path)
    assert cover is not None and cover.startswith(b"\x89PNG")
    if name != "a.mp3":
        assert cover == PICTURE


def test_the_front_cover_wins_over_other_pictures(tmp_path):
    path = make_track(tmp_path / "a.mp3", title="T")
    tags = ID3(path)
    tags.add(APIC(encoding=3, mime="image/png", type=4, desc="back", data=b"back"))
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="front", data=b"front"))
    tags.save(path)
    assert read_cover(path) == b"front"


def test_a_folder_image_is_the_cover_of_a_file_without_one(tmp_path):
    path = make_track(tmp_path / "a.flac")
    (tmp_path / "Folder.JPG").write_bytes(b"\xff\xd8\xff folder")
    assert read_cover(path) == b"\xff\xd8\xff folder"


def test_no_cover_and_a_damaged_file_give_none(tmp_path):
    assert read_cover(make_track(tmp_path / "a.ogg")) is None
    damaged = tmp_path / "b.mp3"
    damaged.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + bytes(30))
    assert read_cover(damaged) is None
    assert read_cover(Path(tmp_path / "missing.mp3")) is None
