"""The genre tree (tagger.taxonomy): canonical names, spellings, parents, the user's merges, and
the `genres` / `apply --canonicalize` commands on real files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tagger.cli import main
from tagger.settings import Settings, save_settings
from tagger.tags import read_tags
from tagger.taxonomy import GenreTree, Taxonomy, census, genre_key
from tests.helpers import make_track


@pytest.fixture(scope="module")
def tree() -> GenreTree:
    return GenreTree.load()


def test_genre_key_ignores_case_spaces_hyphens_and_and():
    assert genre_key("Hip Hop") == genre_key("hip-hop") == genre_key("HIPHOP")
    assert genre_key("R&B") == genre_key("R and B") == genre_key("r & b")
    assert genre_key("Drum 'n' Bass") == genre_key("Drum and Bass")


@pytest.mark.parametrize("typed, canonical", [
    ("hip hop", "Hip-Hop"), ("HIP-HOP", "Hip-Hop"), ("rock", "Rock"), ("electronica", "Electronic"),
    ("rnb", "R&B"), ("r&b", "R&B"), ("dnb", "Drum and Bass"),
])
def test_spelling_variants_have_one_canonical_name(tree, typed, canonical):
    assert tree.canonical(typed) == canonical


def test_an_unknown_genre_is_kept_as_typed(tree):
    assert tree.known("Zeuhl Obscura") is None
    assert tree.canonical("  Zeuhl Obscura ") == "Zeuhl Obscura"


def test_id3v1_codes_name_their_genre(tree):
    assert tree.canonical("(17)") == "Rock" and tree.canonical("17") == "Rock"


def test_a_genre_can_have_several_parents_and_ancestors_reach_the_roots(tree):
    assert "Rock" in tree.ancestors("Alternative Rock")
    multi = [n for n in tree.names if len(tree.parents_of(n)) > 1]
    assert multi, "the tree should have genres with several parents"
    assert all(not tree.parents_of(root) for root in tree.roots)
    assert all(set(tree.ancestors(n)) & set(tree.roots) for n in tree.names if tree.parents_of(n))


def test_the_tree_is_large_and_knows_the_default_models_labels(tree):
    assert len(tree.names) > 100
    for label in ("Blues", "Classical", "Country", "Disco", "Electronic", "Hip-Hop", "Jazz", "Metal", "Pop",
                  "Reggae", "Rock"):
        assert tree.known(label) == label


def test_decades_and_moods_are_not_genres(tree):
    assert not tree.is_genre("80s") and not tree.is_genre("female vocalists")
    assert tree.is_genre("Rock")


def test_a_user_merge_wins_and_can_rename_a_canonical_genre():
    tree = GenreTree.load({"Hip-Hop": "Hip Hop", "Krautrock Jams": "Krautrock"})
    assert tree.canonical("hiphop") == "Hip Hop"
    assert tree.canonical("krautrock jams") == "Krautrock"


def test_model_labels_are_written_in_canonical_spelling():
    assert Taxonomy.load().name_for("Hip-Hop") == "Hip-Hop"


def test_a_name_the_user_chose_for_a_label_is_their_spelling_everywhere():
    taxonomy = Taxonomy.load({"Hip-Hop": "Hip Hop"})
    assert taxonomy.name_for("Hip-Hop") == "Hip Hop"
    assert taxonomy.tidy("hip-hop") == "Hip Hop"


def test_a_sub_genre_tag_maps_to_the_label_above_it():
    taxonomy = Taxonomy.load()
    labels = ("Rock", "Jazz", "Pop")
    assert taxonomy.label_for("alternative rock", labels) == "Rock"
    assert taxonomy.label_for("Bebop", labels) == "Jazz"
    assert taxonomy.label_for("Zeuhl Obscura", labels) is None


def test_census_groups_spellings_of_one_genre_and_counts_files(tree):
    values = census([["hip hop"], ["Hip-Hop"], ["Hip-Hop", "rock"], ["Zeuhl Obscura"]], tree)
    by_value = {v.value: v for v in values}
    assert by_value["hip hop"].canonical == "Hip-Hop" and by_value["hip hop"].is_variant
    assert by_value["Hip-Hop"].count == 2 and not by_value["Hip-Hop"].is_variant
    assert not by_value["Zeuhl Obscura"].known
    assert [v.value for v in values][:2] == ["Hip-Hop", "hip hop"]  # the biggest genre first, canonical first


# --- the commands, on real files -----------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")], captured.err


@pytest.fixture
def spelled(tmp_path) -> Path:
    folder = tmp_path / "Music"
    for name, genre in (("a.mp3", "hip hop"), ("b.flac", "Hip-Hop"), ("c.ogg", ["rock", "ROCK"]),
                        ("d.m4a", "Zeuhl Obscura"), ("e.mp3", None)):
        make_track(folder / name, genre=genre, title=name)
    return folder


def test_genres_lists_values_counts_and_canonical_names(capsys, spelled):
    code, records, err = run(capsys, "genres", str(spelled), "--json")
    assert code == 0
    got = {r["value"]: (r["count"], r["canonical"], r["known"]) for r in records}
    assert got["hip hop"] == (1, "Hip-Hop", True)
    assert got["Hip-Hop"] == (1, "Hip-Hop", True)
    assert got["Zeuhl Obscura"] == (1, "Zeuhl Obscura", False)
    assert "spelling variant" in err


def test_canonicalize_dry_run_shows_old_and_new_and_writes_nothing(capsys, spelled):
    before = {p: hashlib.sha256(p.read_bytes()).digest() for p in spelled.iterdir()}
    code, records, _ = run(capsys, "apply", str(spelled), "--canonicalize", "--dry-run", "--json")
    assert code == 0
    plans = {Path(r["path"]).name: (r["old_genre"], r["new_genre"], r["action"]) for r in records}
    assert plans["a.mp3"] == ("hip hop", "Hip-Hop", "write")
    assert plans["c.ogg"][1:] == ("Rock", "write")
    assert plans["b.flac"][2] == plans["d.m4a"][2] == plans["e.mp3"][2] == "skip"
    assert {p: hashlib.sha256(p.read_bytes()).digest() for p in spelled.iterdir()} == before


def test_canonicalize_rewrites_variants_and_undo_restores_them(capsys, spelled):
    before = {p: hashlib.sha256(p.read_bytes()).digest() for p in spelled.iterdir()}
    code, _, err = run(capsys, "apply", str(spelled), "--canonicalize")
    assert code == 0 and "2 files written" in err
    assert read_tags(spelled / "a.mp3").genres == ("Hip-Hop",)
    assert read_tags(spelled / "c.ogg").genres == ("Rock",)
    assert read_tags(spelled / "d.m4a").genres == ("Zeuhl Obscura",)
    assert run(capsys, "undo")[0] == 0
    assert {p: hashlib.sha256(p.read_bytes()).digest() for p in spelled.iterdir()} == before


def test_canonicalize_keeps_a_pending_review_pending(capsys, spelled, tiny_model_path):
    track = spelled / "a.mp3"
    assert run(capsys, "review", "accept", str(track), "--model", str(tiny_model_path))[0] == 0
    run(capsys, "apply", str(spelled), "--canonicalize")
    code, records, _ = run(capsys, "review", str(track), "--status", "all", "--json", "--model", str(tiny_model_path))
    assert records[0]["decision"] == "accepted" and not records[0]["note"]


def test_merges_in_settings_decide_the_spelling(capsys, spelled):
    save_settings(Settings(genre_merges={"Zeuhl Obscura": "Zeuhl"}))
    run(capsys, "apply", str(spelled), "--canonicalize")
    assert read_tags(spelled / "d.m4a").genres == ("Zeuhl",)
