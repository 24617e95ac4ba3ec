"""Styles under the predicted genre: the tag head beside the genre model, the rule that picks
styles from its tags, and what a suggestion writes with them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tagger.checkpoint import load_checkpoint
from tagger.classify import classify_files, load_model
from tagger.resources import resource_path
from tagger.review import Review
from tagger.review_store import ReviewStore
from tagger.styles import STYLE_THRESHOLD, styles_for, with_style
from tagger.taxonomy import GenreTree, Taxonomy
from tagger.track import Fingerprint, Prediction, Track
from tests.helpers import SHARED_DATA, make_track

TAGS = ("rock", "hard rock", "alternative", "alternative rock", "House", "80s", "female vocalists", "punk")


@pytest.fixture(scope="module")
def tree() -> GenreTree:
    return GenreTree.load()


def _styles(tree, genre: str, **probabilities: float) -> list[tuple[str, float]]:
    p = np.array([probabilities.get(t.replace(" ", "_"), 0.0) for t in TAGS], dtype=np.float32)
    return styles_for(TAGS, p, genre, tree)


def test_styles_are_tags_below_the_genre_likeliest_first(tree):
    assert _styles(tree, "Rock", hard_rock=0.6, punk=0.4) == [("Hard Rock", pytest.approx(0.6)),
                                                              ("Punk", pytest.approx(0.4))]


def test_a_tag_below_the_threshold_is_no_style(tree):
    assert _styles(tree, "Rock", hard_rock=STYLE_THRESHOLD - 0.01) == []


def test_a_tag_under_another_genre_is_no_style(tree):
    assert _styles(tree, "Rock", House=0.9) == []
    assert _styles(tree, "Electronic", House=0.9) == [("House", pytest.approx(0.9))]


def test_decades_and_voices_are_no_styles(tree):
    assert _styles(tree, "Rock", **{"80s": 0.9, "female_vocalists": 0.9}) == []


def test_the_genre_itself_is_no_style(tree):
    assert _styles(tree, "Rock", rock=0.99) == []


def test_two_spellings_of_one_style_give_it_once_at_the_higher_probability(tree):
    assert _styles(tree, "Rock", alternative=0.5, alternative_rock=0.7) == [("Alternative Rock", pytest.approx(0.7))]


def test_a_prediction_without_tags_has_no_styles(tree):
    assert styles_for((), None, "Rock", tree) == []


@pytest.mark.parametrize(("mode", "written"), [
    ("genre", ("Rock", "Pop")),
    ("genre+style", ("Rock", "Hard Rock", "Pop")),
    ("style", ("Hard Rock", "Pop")),
])
def test_what_a_suggestion_writes_in_each_mode(mode, written):
    assert with_style(("Rock", "Pop"), [("Hard Rock", 0.6), ("Punk", 0.4)], mode) == written


def test_without_a_style_every_mode_writes_the_genre():
    assert with_style(("Rock",), [], "style") == ("Rock",)


def test_an_unknown_style_mode_is_refused():
    with pytest.raises(ValueError, match="unknown style mode"):
        with_style(("Rock",), [], "styles")


def test_review_suggests_the_genre_and_its_style(tmp_path):
    track = Track(Path("/music/a.mp3"), Fingerprint(1, 1))
    tags = np.array([0.9, 0.7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=np.float32)
    prediction = Prediction(path=track.path, model_id="m", labels=("Rock", "Jazz"),
                            probabilities=np.array([0.9, 0.1], dtype=np.float32),
                            window_probabilities=np.array([[0.9, 0.1]], dtype=np.float32),
                            tag_labels=TAGS, tag_probabilities=tags)
    taxonomy = Taxonomy.load()
    with ReviewStore(tmp_path / "review.sqlite") as store:
        review = Review(store, namer=taxonomy.name_for, styles=taxonomy.styles, style_mode="genre+style")
        review.add_tracks([track])
        review.apply_results([type("R", (), {"path": track.path, "prediction": prediction, "error": None})()])
        item = review.items[0]
        assert item.styles == [("Hard Rock", pytest.approx(0.7))]
        assert item.suggestion == ("Rock", "Hard Rock")
        review.configure(style_mode="style")
        assert item.suggestion == ("Hard Rock",)
        review.configure(style_mode="genre")
        assert item.suggestion == ("Rock",)


# --- the tag head on real models ------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_torch():
    return load_checkpoint(resource_path("models", "genrenet_default.pt"), "cpu")


def test_the_default_model_judges_the_msd_taggers_tags_as_the_tagger_does(default_torch):
    tagger = load_checkpoint(resource_path("models", "msd_musicnn.pt"), "cpu")
    x = np.random.default_rng(0).random((3, 187, 96), dtype=np.float32) * 4
    genres, tags = default_torch.judge_all(x)
    assert default_torch.tag_labels == tagger.labels
    np.testing.assert_allclose(tags, tagger.judge(x), atol=1e-6)
    np.testing.assert_allclose(genres, default_torch.judge(x), atol=1e-6)


def test_a_model_on_another_backbone_has_no_tags(tiny_model_path):
    tiny = load_checkpoint(tiny_model_path, "cpu")
    assert tiny.tag_labels == () and tiny.judge_all(np.zeros((1, 187, 96), np.float32))[1] is None


def test_onnx_runtime_gives_the_same_tags_as_pytorch(default_torch):
    ort = load_model(default_torch.path, "cpu")
    x = np.random.default_rng(1).random((2, 187, 96), dtype=np.float32) * 4
    assert ort.tag_labels == default_torch.tag_labels
    np.testing.assert_allclose(ort.judge_all(x)[1], default_torch.judge_all(x)[1], atol=1e-5)


def test_a_classified_track_carries_the_mean_of_its_windows_tags(tmp_path):
    path = make_track(tmp_path / "song.mp3", "tone", seconds=12.0)
    model = load_model(None, "cpu")
    (result,) = classify_files([path], model)
    prediction = result.prediction
    assert prediction.tag_labels == model.tag_labels and prediction.tag_probabilities.shape == (50,)
    windows = np.stack([model.judge_all(w[None])[1][0] for w in _windows_of(path, model)])
    np.testing.assert_allclose(prediction.tag_probabilities, windows.mean(axis=0), atol=1e-6)


def _windows_of(path: Path, model) -> np.ndarray:
    from tagger.features import track_windows

    return track_windows(path, model.features, 8).windows


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs ../shared/data")
def test_classify_lists_only_styles_beneath_the_genre_on_real_clips(capsys, tmp_path):
    from tagger.cli import main

    clips = sorted((SHARED_DATA / "gtzan-mini" / "genres" / "metal").glob("*.mp3"))[:2]
    clips += sorted((SHARED_DATA / "gtzan-mini" / "genres" / "rock").glob("*.mp3"))[:2]
    assert main(["classify", *map(str, clips), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    tree = GenreTree.load()
    for record in records:
        for style, p in record["styles"]:
            assert record["genre"] in tree.ancestors(style) and p >= STYLE_THRESHOLD
