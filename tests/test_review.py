from __future__ import annotations

from pathlib import Path

from tagger.review import album_majorities
from tagger.track import Fingerprint, Track


def track(path: str, album: str | None) -> Track:
    return Track(Path(path), Fingerprint(1, 1), album=album)


def test_album_majority_is_the_most_predicted_genre():
    a, b, c = track("/m/x/1.mp3", "Blue"), track("/m/x/2.mp3", "Blue"), track("/m/x/3.mp3", "Blue")
    verdicts = album_majorities([(a, "Jazz", 0.9), (b, "Jazz", 0.6), (c, "Blues", 0.99)])
    assert {v.majority for v in verdicts.values()} == {"Jazz"}
    assert verdicts[c.path].votes == 2 and verdicts[c.path].size == 3


def test_a_tie_goes_to_the_more_confident_genre():
    a, b = track("/m/x/1.mp3", "Blue"), track("/m/x/2.mp3", "Blue")
    verdicts = album_majorities([(a, "Jazz", 0.55), (b, "Blues", 0.9)])
    assert verdicts[a.path].majority == "Blues"


def test_same_album_name_in_two_folders_is_two_albums():
    a, b = track("/m/x/1.mp3", "Greatest Hits"), track("/m/y/1.mp3", "Greatest Hits")
    assert album_majorities([(a, "Pop", 0.9), (b, "Metal", 0.9)]) == {}


def test_tracks_without_album_or_alone_get_no_verdict():
    a, b = track("/m/x/1.mp3", None), track("/m/x/2.mp3", None)
    c = track("/m/z/1.mp3", "Solo")
    assert album_majorities([(a, "Pop", 0.9), (b, "Rock", 0.9), (c, "Rock", 0.9)]) == {}


def test_album_names_match_regardless_of_case():
    a, b, c = track("/m/x/1.mp3", "Kind of Blue"), track("/m/x/2.mp3", "KIND OF BLUE"), track("/m/x/3.mp3", "kind of blue")
    verdicts = album_majorities([(a, "Jazz", 0.9), (b, "Jazz", 0.9), (c, "Rock", 0.9)])
    assert verdicts[c.path].majority == "Jazz"
