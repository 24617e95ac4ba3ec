"""tagger.review: decisions, the write policies and the counts, without Qt."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tagger.review import Review, View, WritePolicy, album_majorities
from tagger.review_store import ReviewStore
from tagger.track import DecisionStatus, Fingerprint, Prediction, Track

LABELS = ("rock", "jazz", "pop")
S = DecisionStatus


def track(path: str, album: str | None = None, genres: tuple[str, ...] = (), size: int = 1) -> Track:
    return Track(Path(path), Fingerprint(size, 1), album=album, genres=genres)


def result(t: Track, probs, model_id: str = "m") -> SimpleNamespace:
    p = np.array(probs, dtype=np.float32)
    pred = Prediction(path=t.path, model_id=model_id, labels=LABELS, probabilities=p,
                      window_probabilities=p[None, :])
    return SimpleNamespace(path=t.path, prediction=pred, error=None)


@pytest.fixture
def store(tmp_path) -> ReviewStore:
    s = ReviewStore(tmp_path / "review.sqlite")
    yield s
    s.close()


def review_of(store, tracks, probs, **kw) -> Review:
    r = Review(store, namer=str.title, **kw)
    r.add_tracks(tracks)
    r.apply_results([result(t, p) for t, p in zip(tracks, probs, strict=True)])
    return r


# --- album majorities ---------------------------------------------------------------------------


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


# --- decisions persist ----------------------------------------------------------------------------


def test_a_decision_survives_reopening_the_store(tmp_path):
    t = track("/m/a.mp3")
    with ReviewStore(tmp_path / "r.sqlite") as store:
        review = review_of(store, [t], [(0.6, 0.3, 0.1)])
        review.accept([0])
    with ReviewStore(tmp_path / "r.sqlite") as store:
        again = Review(store, namer=str.title)
        again.add_tracks([t])
        item = again.items[0]
        assert item.status == S.ACCEPTED and item.genres == ("Rock",)
        assert item.record.model_id == "m" and item.record.confidence == pytest.approx(0.6)


def test_a_decision_survives_reclassification_with_another_model(store):
    t = track("/m/a.mp3")
    review = review_of(store, [t], [(0.6, 0.3, 0.1)])
    review.set_genres([0], ["Post-Rock"])
    review.apply_results([result(t, (0.1, 0.1, 0.8), model_id="other")])
    assert review.items[0].status == S.EDITED and review.items[0].genres == ("Post-Rock",)


def test_a_decision_survives_a_rescan_of_the_unchanged_file(store):
    t = track("/m/a.mp3")
    review = review_of(store, [t], [(0.6, 0.3, 0.1)])
    review.reject([0])
    review.set_tracks([track("/m/a.mp3"), track("/m/b.mp3")])
    assert [i.status for i in review.items] == [S.REJECTED, S.PENDING]


def test_a_file_whose_content_changed_goes_back_to_pending_with_the_reason(store):
    review = review_of(store, [track("/m/a.mp3")], [(0.6, 0.3, 0.1)])
    review.accept([0])
    later = Review(store, namer=str.title)
    later.add_tracks([track("/m/a.mp3", size=2)])
    item = later.items[0]
    assert item.status == S.PENDING
    assert "changed on disk after you accepted Rock" in item.note
    assert store.get(Path("/m/a.mp3")).status == S.PENDING


def test_reset_forgets_the_decision(store):
    review = review_of(store, [track("/m/a.mp3")], [(0.6, 0.3, 0.1)])
    review.reject([0])
    review.reset([0])
    assert review.items[0].status == S.PENDING and store.get(Path("/m/a.mp3")) is None


def test_choosing_the_suggestion_is_accepting_it_and_anything_else_is_an_edit(store):
    review = review_of(store, [track("/m/a.mp3"), track("/m/b.mp3")], [(0.6, 0.3, 0.1)] * 2)
    review.set_genres([0], [" Rock "])
    review.set_genres([1], ["Rock", "Pop", "rock"])
    assert review.items[0].status == S.ACCEPTED
    assert review.items[1].status == S.EDITED and review.items[1].genres == ("Rock", "Pop")


def test_unreadable_files_take_no_decision(store):
    bad = Track(Path("/m/bad.mp3"), Fingerprint(1, 1), error="not a readable MP3 file")
    review = Review(store)
    review.add_tracks([bad])
    assert review.accept([0]) == [] and review.reject([0]) == []
    assert review.items[0].status == S.ERROR


# --- needs review and counts ----------------------------------------------------------------------


def test_needs_review_is_pending_below_the_threshold(store):
    tracks = [track(f"/m/{i}.mp3") for i in range(4)]
    review = review_of(store, tracks, [(0.95, 0.05, 0), (0.85, 0.15, 0), (0.6, 0.4, 0), (0.5, 0.5, 0)])
    review.reject([3])
    assert [i.needs_review(0.8) for i in review.items] == [False, False, True, False]


def test_a_track_already_carrying_the_suggestion_needs_no_review(store):
    review = review_of(store, [track("/m/a.mp3", genres=("rock",))], [(0.5, 0.3, 0.2)])
    assert not review.items[0].needs_review(0.8)


def test_counts_agree_with_the_views(store):
    tracks = [track(f"/m/{i}.mp3") for i in range(5)]
    review = review_of(store, tracks, [(0.95, 0.05, 0), (0.85, 0.15, 0), (0.6, 0.4, 0), (0.5, 0.5, 0), (0.4, 0.3, 0.3)])
    review.accept([0, 3])
    review.reject([4])
    counts = review.counts()
    assert counts.needs_review == 1 == counts.views[View.NEEDS_REVIEW]
    assert counts.views[View.NEEDS_REVIEW] == sum(View.NEEDS_REVIEW.matches(i, 0.8) for i in review.items)
    assert counts.to_write == 2 and counts.of(S.ACCEPTED) == 2 and counts.of(S.REJECTED) == 1
    assert counts.views[View.CONFIDENT] == 2 and counts.classified == 5 and counts.total == 5


# --- write policies -------------------------------------------------------------------------------


def plans(store, current: tuple[str, ...], policy: WritePolicy, probs=(0.9, 0.05, 0.05)):
    review = review_of(store, [track("/m/a.mp3", genres=current)], [probs], policy=policy)
    return review.plans()[0]


def test_fill_missing_writes_a_track_without_genre(store):
    assert plans(store, (), WritePolicy.FILL_MISSING).new == ("Rock",)


def test_fill_missing_keeps_an_existing_genre_and_says_why(store):
    plan = plans(store, ("Pop",), WritePolicy.FILL_MISSING)
    assert not plan.writes and "already has a genre" in plan.reason


def test_replace_overwrites_an_existing_genre(store):
    assert plans(store, ("Pop",), WritePolicy.REPLACE).new == ("Rock",)


def test_add_keeps_existing_genres_and_appends_the_new_one(store):
    assert plans(store, ("Pop",), WritePolicy.ADD).new == ("Pop", "Rock")


def test_add_writes_nothing_when_the_genre_is_there_in_any_case(store):
    plan = plans(store, ("Pop", "rock"), WritePolicy.ADD)
    assert not plan.writes and "already has" in plan.reason


def test_below_the_threshold_nothing_is_written_automatically(store):
    plan = plans(store, (), WritePolicy.REPLACE, probs=(0.5, 0.3, 0.2))
    assert not plan.writes and "below 0.80" in plan.reason


def test_the_users_decision_is_written_as_chosen_whatever_the_policy(store):
    review = review_of(store, [track("/m/a.mp3", genres=("Pop",)), track("/m/b.mp3", genres=("Pop",))],
                       [(0.3, 0.3, 0.4)] * 2, policy=WritePolicy.FILL_MISSING)
    review.set_genres([0], ["Synth-Pop"])
    review.reject([1])
    first, second = review.plans()
    assert first.new == ("Synth-Pop",)
    assert not second.writes and second.reason == "rejected in review"


def test_accept_all_confident_accepts_exactly_what_bulk_apply_would_write(store):
    tracks = [track("/m/0.mp3"), track("/m/1.mp3", genres=("Pop",)), track("/m/2.mp3"), track("/m/3.mp3")]
    review = review_of(store, tracks, [(0.9, 0.1, 0), (0.9, 0.1, 0), (0.5, 0.5, 0), (0.95, 0.05, 0)])
    bulk = [(p.path, p.new) for p in review.plans() if p.writes]
    review.accept_confident()
    assert [(d.path, d.genres) for d in review.decisions()] == bulk
    assert [i.status for i in review.items] == [S.ACCEPTED, S.PENDING, S.PENDING, S.ACCEPTED]


def test_album_majority_is_a_users_choice(store):
    tracks = [track(f"/m/x/{i}.mp3", album="Kind of Blue") for i in range(3)]
    review = review_of(store, tracks, [(0.1, 0.8, 0.1), (0.1, 0.7, 0.2), (0.6, 0.3, 0.1)])
    assert review.update_albums() == 1
    assert "Jazz" in review.items[2].album_note
    assert review.use_album_majority([2]) == [2]
    assert review.items[2].genres == ("Jazz",) and review.items[2].status == S.EDITED


# --- tag disagrees -------------------------------------------------------------------------------


def test_a_confident_prediction_that_contradicts_the_files_genre_is_in_tag_disagrees(store):
    from tagger.taxonomy import Taxonomy

    taxonomy = Taxonomy.load()
    tracks = [track("/m/a.mp3", genres=("Jazz",)), track("/m/b.mp3", genres=("Alternative Rock",)),
              track("/m/c.mp3", genres=("Jazz",)), track("/m/d.mp3")]
    r = review_of(store, tracks, [[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.9, 0.05, 0.05]],
                  related=taxonomy.related)
    disagree = [it.track.path.name for it in r.items if View.TAG_DISAGREES.matches(it, 0.8)]
    assert disagree == ["a.mp3"]  # b: rock is above Alternative Rock; c: not confident; d: no tag
    assert r.counts().views[View.TAG_DISAGREES] == 1


# --- undo of decisions ----------------------------------------------------------------------------


def _two(store) -> Review:
    return review_of(store, [track("/m/a.mp3"), track("/m/b.mp3")], [[0.9, 0.05, 0.05], [0.2, 0.7, 0.1]])


def test_nothing_to_undo_at_first(store):
    review = _two(store)
    assert review.undo_text is None and review.undo() == []


def test_undo_takes_back_an_accept_in_the_review_and_in_the_store(store):
    review = _two(store)
    review.accept([0, 1])
    assert review.undo_text == "Accept (2 tracks)"
    assert sorted(review.undo()) == [0, 1]
    assert [i.status for i in review.items] == [S.PENDING, S.PENDING]
    assert store.get(Path("/m/a.mp3")) is None and review.undo_text is None


def test_undo_of_an_edit_brings_back_the_decision_before_it(store):
    review = _two(store)
    review.accept([0])
    review.set_genres([0], ["Blues"])
    assert review.undo_text == "Edit Genre (1 track)"
    review.undo()
    assert review.items[0].status == S.ACCEPTED and review.items[0].genres == ("Rock",)
    assert store.get(Path("/m/a.mp3")).genres == ("Rock",)


def test_undo_of_a_reset_brings_back_the_rejection(store):
    review = _two(store)
    review.reject([1])
    review.reset([1])
    review.undo()
    assert review.items[1].status == S.REJECTED


def test_undo_goes_back_action_by_action(store):
    review = _two(store)
    review.accept([0])
    review.reject([1])
    review.undo()
    assert [i.status for i in review.items] == [S.ACCEPTED, S.PENDING]
    review.undo()
    assert [i.status for i in review.items] == [S.PENDING, S.PENDING]


def test_undo_follows_the_file_when_the_rows_were_sorted(store):
    review = _two(store)
    review.accept([0])
    review.items.reverse()
    review.reindex()
    assert review.undo() == [1]
    assert review.items[1].track.path == Path("/m/a.mp3") and review.items[1].status == S.PENDING


def test_a_write_ends_what_can_be_undone(store):
    review = _two(store)
    review.accept([0])
    review.refresh([review.items[0].track])
    assert review.undo_text is None


def test_accept_all_above_threshold_is_one_undo(store):
    review = _two(store)
    review.accept_confident()
    assert review.undo_text == "Accept All Above Threshold (1 track)"


def test_search_finds_a_track_by_album_artist_and_year(store):
    t = Track(Path("/m/a.mp3"), Fingerprint(1, 1), album="Mix", album_artist="Various Artists", year=2011)
    review = review_of(store, [t], [[0.9, 0.05, 0.05]])
    assert "various artists" in review.items[0].search_text() and "2011" in review.items[0].search_text()
