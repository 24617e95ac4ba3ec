"""Albums and compilations: a various-artists album gets no album majority (its genres differ)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tagger.review import Review, album_majorities
from tagger.review_store import ReviewStore
from tagger.track import Fingerprint, Prediction, Track

LABELS = ("rock", "jazz", "pop")


def track(path: str, album: str | None = "Hits", album_artist: str | None = None,
          compilation: bool = False) -> Track:
    return Track(Path(path), Fingerprint(1, 1), album=album, album_artist=album_artist, compilation=compilation)


def votes(*tracks: Track) -> list[tuple[Track, str, float]]:
    """Two of the tracks predicted Jazz, the rest Rock."""
    return [(t, "Jazz" if i < 2 else "Rock", 0.9) for i, t in enumerate(tracks)]


@pytest.mark.parametrize(("album_artist", "flag", "want"), [
    ("Various Artists", False, True), ("VARIOUS", False, True), (" va ", False, True), (None, True, True),
    ("The Band", True, True), ("The Band", False, False), (None, False, False),
    ("Various Artists Tribute Band", False, False),
])
def test_a_compilation_is_flagged_so_or_by_various_artists(album_artist, flag, want):
    assert track("/m/a.mp3", album_artist=album_artist, compilation=flag).is_compilation is want


def test_an_album_with_an_album_artist_gets_its_majority_as_before():
    tracks = [track(f"/m/x/{i}.mp3", album_artist="The Band") for i in range(3)]
    verdicts = album_majorities(votes(*tracks))
    assert {v.majority for v in verdicts.values()} == {"Jazz"} and len(verdicts) == 3


@pytest.mark.parametrize("compilation", [
    {"album_artist": "Various Artists"}, {"album_artist": "va"}, {"compilation": True},
])
def test_a_compilation_gets_no_album_majority(compilation):
    tracks = [track(f"/m/x/{i}.mp3", **compilation) for i in range(3)]
    assert album_majorities(votes(*tracks)) == {}


def test_one_track_marked_compilation_makes_the_whole_album_one():
    tracks = [track("/m/x/1.mp3"), track("/m/x/2.mp3"), track("/m/x/3.mp3", compilation=True)]
    assert album_majorities(votes(*tracks)) == {}


def test_a_verdict_tallies_every_genre_the_album_was_predicted_as_the_majority_first():
    tracks = [track(f"/m/x/{i}.mp3") for i in range(6)]
    genres = ["Pop", "Rock", "Jazz", "Rock", "Jazz", "Rock"]
    confidence = [0.9, 0.5, 0.9, 0.5, 0.9, 0.5]
    verdict = album_majorities(list(zip(tracks, genres, confidence, strict=True)))[tracks[0].path]
    assert (verdict.majority, verdict.votes, verdict.size) == ("Rock", 3, 6)
    assert verdict.tally == (("Rock", 3), ("Jazz", 2), ("Pop", 1))


def test_a_tie_in_the_tally_goes_to_the_surer_genre_as_the_majority_does():
    tracks = [track(f"/m/x/{i}.mp3") for i in range(4)]
    verdict = album_majorities(list(zip(tracks, ["Rock", "Jazz", "Rock", "Jazz"], [0.5, 0.9, 0.5, 0.9],
                                        strict=True)))[tracks[0].path]
    assert verdict.majority == "Jazz" and verdict.tally == (("Jazz", 2), ("Rock", 2))


def test_a_compilation_does_not_take_a_verdict_from_an_album_in_another_folder():
    various = [track(f"/m/va/{i}.mp3", compilation=True) for i in range(3)]
    band = [track(f"/m/band/{i}.mp3") for i in range(3)]
    verdicts = album_majorities(votes(*various) + votes(*band))
    assert set(verdicts) == {t.path for t in band}


def test_the_review_flags_no_track_of_a_compilation(tmp_path):
    tracks = [track(f"/m/x/{i}.mp3", album_artist="Various Artists") for i in range(3)]
    tracks += [track(f"/m/y/{i}.mp3", album="Blue") for i in range(3)]
    probs = [(0.1, 0.8, 0.1), (0.1, 0.8, 0.1), (0.8, 0.1, 0.1)] * 2
    with ReviewStore(tmp_path / "review.sqlite") as store:
        review = Review(store, namer=str.title)
        review.add_tracks(tracks)
        review.apply_results([_result(t, p) for t, p in zip(tracks, probs, strict=True)])
        assert review.update_albums() == 1  # the odd one out of "Blue" only
        assert [it.album_majority for it in review.items[:3]] == [None] * 3
        assert review.items[5].album_note and review.items[5].album_majority == "Jazz"
        assert [it.album_verdict for it in review.items[:3]] == [None] * 3
        assert review.items[3].album_verdict is review.items[5].album_verdict
        assert review.items[5].album_verdict.votes == 2
        assert review.use_album_majority(range(3)) == []


def _result(t: Track, probs) -> SimpleNamespace:
    p = np.array(probs, dtype=np.float32)
    pred = Prediction(path=t.path, model_id="m", labels=LABELS, probabilities=p, window_probabilities=p[None, :])
    return SimpleNamespace(path=t.path, prediction=pred, error=None)
