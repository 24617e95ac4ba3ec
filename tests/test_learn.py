"""`genrenet learn`: labels from the library's own tags and decisions, in the genre tree's spelling,
and a real checkpoint trained on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagger.checkpoint import read_checkpoint
from tagger.review import ReviewRecord
from tagger.taxonomy import Taxonomy
from tagger.track import DecisionStatus, Fingerprint, Track
from tests.helpers import make_track
from training.learn import library_dataset


def track(name: str, *genres: str, folder: str = "Album") -> Track:
    return Track(Path("/music") / folder / name, Fingerprint(1, 1), genres=tuple(genres))


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def labels_of(dataset) -> dict[str, str]:
    return {e.path.name: e.label for e in dataset.examples}


def test_spelling_variants_of_one_genre_are_one_label(taxonomy):
    tracks = [track("a", "hip hop"), track("b", "Hip-Hop"), track("c", "HIPHOP")]
    assert set(labels_of(library_dataset(tracks, {}, taxonomy, min_tracks=3)).values()) == {"Hip-Hop"}


def test_a_genre_with_too_few_tracks_joins_its_parent(taxonomy):
    tracks = [track("a", "Bebop"), track("b", "Jazz"), track("c", "Jazz")]
    assert labels_of(library_dataset(tracks, {}, taxonomy, min_tracks=3)) == {"a": "Jazz", "b": "Jazz", "c": "Jazz"}


def test_a_genre_with_enough_tracks_keeps_its_own_name(taxonomy):
    tracks = [track(f"b{i}", "Bebop") for i in range(3)] + [track(f"j{i}", "Jazz") for i in range(3)]
    assert set(labels_of(library_dataset(tracks, {}, taxonomy, min_tracks=3)).values()) == {"Bebop", "Jazz"}


def test_tags_that_are_no_genre_are_passed_over(taxonomy):
    dataset = library_dataset([track("a", "80s", "Rock"), track("b", "female vocalists")], {}, taxonomy, min_tracks=1)
    assert labels_of(dataset) == {"a": "Rock"}
    assert ("/music/Album/b", "no genre") in [(str(p), r) for p, r in dataset.skipped]


def test_an_accepted_decision_wins_over_the_files_tag(taxonomy):
    t = track("a", "Pop")
    record = ReviewRecord(DecisionStatus.ACCEPTED, ("Rock",), t.fingerprint, 0.0)
    assert labels_of(library_dataset([t], {t.path: record}, taxonomy, min_tracks=1)) == {"a": "Rock"}


def test_genres_with_too_few_tracks_and_no_parent_are_left_out_and_counted(taxonomy):
    dataset = library_dataset([track("a", "Rock"), track("b", "Zeuhl Obscura")], {}, taxonomy, min_tracks=1)
    assert labels_of(dataset) == {"a": "Rock", "b": "Zeuhl Obscura"}
    dataset = library_dataset([track("a", "Rock"), track("b", "Zeuhl Obscura")], {}, taxonomy, min_tracks=2)
    assert labels_of(dataset) == {} and len(dataset.skipped) == 2


def test_the_album_folder_is_the_group_so_albums_never_straddle_folds(taxonomy):
    tracks = [track("a", "Rock", folder="One"), track("b", "Rock", folder="One"), track("c", "Rock", folder="Two")]
    groups = {e.path.name: e.group for e in library_dataset(tracks, {}, taxonomy, min_tracks=1).examples}
    assert groups["a"] == groups["b"] != groups["c"]


@pytest.mark.slow
def test_learn_writes_a_checkpoint_from_the_librarys_tags_and_reports_both_accuracies(capsys, tmp_path,
                                                                                      tiny_model_path):
    from tagger.cli import main
    from tagger.settings import Settings, save_settings

    save_settings(Settings(model_path=str(tiny_model_path)))
    folder = tmp_path / "Music"
    for i in range(6):
        make_track(folder / f"Tones {i % 3}" / f"{i}.mp3", kind="tone", seed=i, seconds=6.0, genre="tone music")
        make_track(folder / f"Noise {i % 3}" / f"{i}.mp3", kind="noise", seed=i, seconds=6.0, genre="noise")
    make_track(folder / "Untagged" / "x.mp3", seconds=6.0)
    out = tmp_path / "learned.pt"
    code = main(["learn", str(folder), "--out", str(out), "--min-tracks", "3", "--folds", "3", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["labels"] == ["Noise", "tone music"] and summary["tracks"] == {"Noise": 6, "tone music": 6}
    assert summary["skipped"] == {"no genre": 1}
    assert 0.0 <= summary["cross_validated_accuracy"] <= 1.0 and summary["default_model_accuracy"] is not None
    data = read_checkpoint(out)
    assert data["labels"] == ["Noise", "tone music"]
    assert data["trained_on"]["cross_validation"]["folds"] == 3

    # what the app reads: every line an event of the LEARN schema, learn's own start first
    from training import events

    code = main(["learn", str(folder), "--out", str(tmp_path / "again.pt"), "--min-tracks", "3", "--folds", "3",
                 "--progress-json"])
    lines = [events.parse(line, events.LEARN) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and not any(e is None or isinstance(e, events.Unknown) for e in lines)
    assert isinstance(lines[0], events.LearnStart) and isinstance(lines[-1], events.Learned)
    assert [type(e) for e in lines].count(events.LearnStart) == 1  # not one per fold's training run
    assert [e.fold for e in lines if isinstance(e, events.Fold)] == [1, 2, 3]
    assert lines[-1].labels == ("Noise", "tone music") and lines[-1].checkpoint == str(tmp_path / "again.pt")


def test_the_final_validation_part_holds_every_genre_even_one_with_a_single_album():
    from pathlib import Path

    from training.datasets import Example
    from training.learn import validation_split

    examples = [Example(Path(f"/m/Jazz Album/{i}.mp3"), "Jazz", group="/m/Jazz Album", dataset="library")
                for i in range(8)]
    examples += [Example(Path(f"/m/Rock {a}/{i}.mp3"), "Rock", group=f"/m/Rock {a}", dataset="library")
                 for a in range(2) for i in range(8)]
    train, valid = validation_split(examples, seed=0)
    assert {e.label for e in valid} == {"Jazz", "Rock"} and {e.label for e in train} == {"Jazz", "Rock"}
    assert len(train) + len(valid) == len(examples)


def test_the_final_validation_part_keeps_the_albums_of_a_genre_that_has_several_together():
    from pathlib import Path

    from training.datasets import Example
    from training.learn import validation_split

    examples = [Example(Path(f"/m/Rock {a}/{i}.mp3"), "Rock", group=f"/m/Rock {a}", dataset="library")
                for a in range(8) for i in range(4)]
    examples += [Example(Path(f"/m/Jazz {a}/{i}.mp3"), "Jazz", group=f"/m/Jazz {a}", dataset="library")
                 for a in range(8) for i in range(4)]
    train, valid = validation_split(examples, seed=0)
    assert not {e.group for e in train} & {e.group for e in valid}


def test_a_library_of_one_album_per_genre_is_told_what_to_do_before_any_work(taxonomy, tmp_path):
    from types import SimpleNamespace

    from training.datasets import DatasetError
    from training.learn import learn

    tracks = [track(f"{i}.mp3", "Jazz", folder="Jazz Album") for i in range(6)]
    tracks += [track(f"{i}.mp3", "Rock", folder="Rock Album") for i in range(6)]
    library = SimpleNamespace(scan=lambda roots: SimpleNamespace(tracks=tracks))
    store = SimpleNamespace(get_many=lambda paths: {})
    with pytest.raises(DatasetError) as caught:
        learn([Path("/music")], tmp_path / "out.pt", min_tracks=3, library=library, store=store, taxonomy=taxonomy)
    message = str(caught.value)
    assert "single album folder" in message and "Jazz: Jazz Album" in message and "Rock: Rock Album" in message
    assert "tag the tracks of another album" in message
    assert "decoding" not in message  # what it said before: "no training or validation clips left after decoding"


def test_a_fold_whose_rest_has_one_album_per_genre_still_gets_validation_tracks():
    """Jazz on two albums, Rock on one: the fold that holds out a Jazz album trains on one album
    of each, which a split by album cannot validate; its albums are then split by track."""
    from training.crossval import inner_split
    from training.datasets import Example

    rest = [Example(Path(f"/m/Jazz 1/{i}.mp3"), "Jazz", group="/m/Jazz 1", dataset="library") for i in range(8)]
    rest += [Example(Path(f"/m/Rock/{i}.mp3"), "Rock", group="/m/Rock", dataset="library") for i in range(8)]
    train, valid = inner_split(rest, seed=0)
    assert valid and {e.label for e in train} == {"Jazz", "Rock"}
    assert sorted(map(str, (e.path for e in train + valid))) == sorted(str(e.path) for e in rest)
    assert {e.group for e in train + valid} == {"/m/Jazz 1", "/m/Rock"}  # the examples as given

    several = rest + [Example(Path(f"/m/Rock 2/{i}.mp3"), "Rock", group="/m/Rock 2", dataset="library")
                      for i in range(8)]
    train, valid = inner_split(several, seed=0)  # a split by album works: it is kept
    assert not {e.group for e in train} & {e.group for e in valid}
