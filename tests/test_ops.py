"""tagger.ops: the one write/undo path, keeping the library cache and the review up to date."""

from __future__ import annotations

import pytest

from tagger import ops
from tagger.classify import classify_tracks, load_model
from tagger.journal import Journal
from tagger.library import Library
from tagger.review import Review
from tagger.review_store import ReviewStore
from tagger.tags import read_tags
from tagger.track import DecisionStatus


@pytest.fixture
def setup(tmp_path, music_folder, tiny_model_path):
    library = Library(tmp_path / "lib.sqlite")
    store = ReviewStore(tmp_path / "review.sqlite")
    journal = Journal(tmp_path / "journal.sqlite")
    model = load_model(tiny_model_path, "cpu")
    tracks = library.scan([music_folder]).tracks
    review = Review(store)
    review.add_tracks(tracks)
    review.apply_results(classify_tracks(library, tracks, model, max_windows=2))
    yield library, store, journal, model, review
    library.close()
    store.close()
    journal.close()


def test_after_a_write_the_next_scan_classifies_nothing_again(setup, music_folder):
    library, store, journal, model, review = setup
    review.accept(range(len(review)))
    outcome = ops.write_decisions(library, store, review.decisions(), journal=journal)
    assert len(outcome.report.written) == 4  # accepted by the user: the tagged Jazz track too
    rescanned = library.scan([music_folder])
    assert rescanned.changed == 0 and rescanned.reopened == 0
    results = list(classify_tracks(library, rescanned.tracks, model, max_windows=2))
    assert all(r.cached for r in results)


def test_a_write_marks_the_decisions_written_at_the_new_fingerprint(setup):
    library, store, journal, _, review = setup
    review.set_genres([1], ["Drone"])
    decision = review.decisions()[0]
    outcome = ops.write_decisions(library, store, [decision], journal=journal)
    record = store.get(decision.path)
    assert record.status == DecisionStatus.WRITTEN and record.genres == ("Drone",)
    assert record.fingerprint == outcome.tracks[0].fingerprint != decision.expected
    assert record.batch_id == outcome.report.batch_id
    assert read_tags(decision.path).genres == ("Drone",)


def test_undo_restores_and_puts_the_decision_back_to_pending(setup):
    library, store, journal, model, review = setup
    review.set_genres([1], ["Drone"])
    decision = review.decisions()[0]
    ops.write_decisions(library, store, [decision], journal=journal)
    outcome = ops.undo(library, store, journal=journal)
    assert outcome.report.restored == [decision.path]
    assert read_tags(decision.path).genres == ()
    record = store.get(decision.path)
    assert record.status == DecisionStatus.PENDING and "undone" in record.note
    track = library.track(decision.path)
    assert library.cached_predictions([track], next(iter(review.items)).prediction.model_id)


def test_undo_with_nothing_to_undo_says_so(setup):
    library, store, journal, _, _ = setup
    outcome = ops.undo(library, store, journal=journal)
    assert outcome.report is None and "nothing to undo" in outcome.message


def test_a_file_changed_since_the_scan_is_a_per_file_error_and_its_decision_stays(setup):
    library, store, journal, _, review = setup
    review.set_genres([1, 2], ["Drone"])
    first, second = review.decisions()
    with open(first.path, "ab") as fh:
        fh.write(b"\0")
    outcome = ops.write_decisions(library, store, [first, second], journal=journal)
    assert outcome.report.written == [second.path]
    assert [p for p, _ in outcome.errors] == [first.path]
    assert store.get(first.path).status == DecisionStatus.EDITED
