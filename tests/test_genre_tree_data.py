"""The data in resources/genre_tree.toml: its shape, its tree, its spellings and its ID3v1 codes.

These tests read the file with tomllib only (not through tagger.taxonomy), so they check the data
itself. Names are compared through a key like the one the app matches tags with: casefold, "&"
and "'n'" / " n " become "and", then everything that is not a letter or digit is dropped. The
app's key also turns "+" and any lone "n" into "and"; the spellings must work under both forms,
so the tests that compare keys check both.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from mutagen._constants import GENRES as ID3V1_GENRES

TREE_FILE = Path(__file__).resolve().parents[1] / "resources" / "genre_tree.toml"

NODE_KEYS = {"parents", "aliases", "id3"}
TOP_LEVEL_KEYS = {"genres", "not_genres", "id3_unmapped"}

DEFAULT_MODEL_LABELS = ("Blues", "Classical", "Country", "Disco", "Electronic", "Hip-Hop", "Jazz",
                        "Metal", "Pop", "Reggae", "Rock")

FMA_TOP_GENRES = ("Blues", "Classical", "Country", "Easy Listening", "Electronic", "Experimental",
                  "Folk", "Hip-Hop", "Instrumental", "International", "Jazz", "Old-Time / Historic",
                  "Pop", "Rock", "Soul-RnB", "Spoken")

# The last.fm / Million Song Dataset tags the musicnn tagger predicts.
MSD_TAGS = ("rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
            "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
            "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
            "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
            "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
            "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal",
            "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy")

# Words a Title Case genre name may keep in lower case.
SMALL_WORDS = {"and", "of", "the", "n"}


def key_as_described(text: str) -> str:
    text = text.casefold().replace("&", "and").replace("'n'", "and").replace(" n ", " and ")
    return "".join(ch for ch in text if ch.isalnum())


_APP_AND = re.compile(r"\s*(?:&|\+|'n'|\bn\b)\s*")


def key_with_plus_and_lone_n(text: str) -> str:
    return re.sub(r"[\W_]+", "", _APP_AND.sub(" and ", text.casefold()))


KEY_FUNCTIONS = pytest.mark.parametrize("key", [key_as_described, key_with_plus_and_lone_n],
                                        ids=["described", "plus-and-lone-n"])


@pytest.fixture(scope="module")
def data() -> dict:
    with open(TREE_FILE, "rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def genres(data) -> dict[str, dict]:
    return data["genres"]


def roots_of(genres: dict[str, dict]) -> list[str]:
    return [name for name, node in genres.items() if not node["parents"]]


def spellings(genres: dict[str, dict]) -> list[tuple[str, str]]:
    """(spelling, genre it names) for every canonical name and alias."""
    return [(s, name) for name, node in genres.items() for s in (name, *node["aliases"])]


# --- shape ---------------------------------------------------------------------------------

def test_the_file_parses_and_has_only_known_top_level_keys(data):
    assert set(data) <= TOP_LEVEL_KEYS
    assert isinstance(data["genres"], dict) and data["genres"]


def test_every_node_has_parents_aliases_and_id3_lists_and_no_other_keys(genres):
    def strings(value) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)

    problems = []
    for name, node in genres.items():
        if set(node) != NODE_KEYS:
            problems.append(f"{name}: keys {sorted(node)}")
            continue
        if not strings(node["parents"]):
            problems.append(f"{name}: parents must be a list of names")
        if not strings(node["aliases"]):
            problems.append(f"{name}: aliases must be a list of non-empty strings")
        if not isinstance(node["id3"], list) or not all(type(c) is int for c in node["id3"]):
            problems.append(f"{name}: id3 must be a list of ints")
    assert not problems, "\n".join(problems)


def test_not_genres_is_a_list_of_strings_and_id3_unmapped_maps_codes_to_reasons(data):
    assert all(isinstance(t, str) and t.strip() for t in data["not_genres"])
    unmapped = data["id3_unmapped"].items()
    assert all(k.isdigit() and isinstance(v, str) and v.strip() for k, v in unmapped)


def test_canonical_names_are_trimmed_title_case(genres):
    bad = []
    for name in genres:
        words = [w for w in re.split(r"[ \-/]", name) if w]
        if name != name.strip() or "  " in name or any(
                w[0].islower() and w not in SMALL_WORDS for w in words):
            bad.append(name)
    assert not bad, f"not Title Case: {bad}"


# --- tree ----------------------------------------------------------------------------------

def test_every_parent_is_a_genre_of_the_tree(genres):
    missing = {(name, p) for name, node in genres.items()
               for p in node["parents"] if p not in genres}
    assert not missing, f"unknown parents: {sorted(missing)}"


def test_no_genre_lists_itself_or_the_same_parent_twice(genres):
    bad = [name for name, node in genres.items()
           if name in node["parents"] or len(set(node["parents"])) != len(node["parents"])]
    assert not bad, bad


def test_walking_up_from_any_genre_never_comes_back_to_it(genres):
    def reaches_itself(start: str) -> bool:
        seen: set[str] = set()
        todo = list(genres[start]["parents"])
        while todo:
            current = todo.pop()
            if current == start:
                return True
            if current in seen or current not in genres:
                continue
            seen.add(current)
            todo.extend(genres[current]["parents"])
        return False

    cyclic = [name for name in genres if reaches_itself(name)]
    assert not cyclic, f"on a cycle: {cyclic}"


def test_the_tree_has_at_least_150_genres(genres):
    assert len(genres) >= 150


def test_the_tree_has_between_12_and_25_roots(genres):
    assert 12 <= len(roots_of(genres)) <= 25, roots_of(genres)


def test_the_default_models_labels_are_genres_spelled_exactly(genres):
    assert [label for label in DEFAULT_MODEL_LABELS if label not in genres] == []


# --- spellings -----------------------------------------------------------------------------

@KEY_FUNCTIONS
def test_no_two_names_or_aliases_share_a_key(genres, key):
    by_key: dict[str, set[str]] = defaultdict(set)
    for spelling, name in spellings(genres):
        by_key[key(spelling)].add(name)
    clashes = {k: sorted(names) for k, names in by_key.items() if len(names) > 1}
    assert not clashes, f"keys naming several genres: {clashes}"


@KEY_FUNCTIONS
def test_no_alias_is_caught_by_the_key_already(genres, key):
    redundant = []
    for name, node in genres.items():
        seen = {key(name)}
        for alias in node["aliases"]:
            if key(alias) in seen:
                redundant.append(f"{name}: {alias!r}")
            seen.add(key(alias))
    assert not redundant, f"aliases the key already matches: {redundant}"


@KEY_FUNCTIONS
def test_nothing_in_not_genres_is_also_a_genre_spelling(data, genres, key):
    genre_keys = {key(s) for s, _ in spellings(genres)}
    both = [t for t in data["not_genres"] if key(t) in genre_keys]
    assert not both, f"in not_genres but also a genre spelling: {both}"


@KEY_FUNCTIONS
def test_every_musicnn_msd_tag_is_a_genre_an_alias_or_a_non_genre(data, genres, key):
    known = {key(s) for s, _ in spellings(genres)}
    known |= {key(t) for t in data["not_genres"]}
    assert [tag for tag in MSD_TAGS if key(tag) not in known] == []


@KEY_FUNCTIONS
def test_every_fma_top_genre_is_a_genre_or_an_alias(genres, key):
    known = {key(s) for s, _ in spellings(genres)}
    assert [g for g in FMA_TOP_GENRES if key(g) not in known] == []


# --- ID3v1 ---------------------------------------------------------------------------------

def test_id3v1_codes_are_in_range(data, genres):
    codes = [c for node in genres.values() for c in node["id3"]]
    codes += [int(k) for k in data["id3_unmapped"]]
    assert [c for c in codes if not 0 <= c < len(ID3V1_GENRES)] == []


def test_every_id3v1_code_is_mapped_once_or_listed_as_unmapped(data, genres):
    homes: dict[int, list[str]] = defaultdict(list)
    for name, node in genres.items():
        for code in node["id3"]:
            homes[code].append(name)
    for code in data["id3_unmapped"]:
        homes[int(code)].append("[id3_unmapped]")
    missing = [f"{c} {ID3V1_GENRES[c]}" for c in range(len(ID3V1_GENRES)) if c not in homes]
    doubled = {f"{c} {ID3V1_GENRES[c]}": where for c, where in homes.items() if len(where) > 1}
    assert not missing and not doubled, f"missing: {missing}; in several places: {doubled}"


@KEY_FUNCTIONS
def test_each_mapped_id3v1_name_is_its_genres_name_or_alias(genres, key):
    wrong = []
    for name, node in genres.items():
        names = {key(s) for s in (name, *node["aliases"])}
        wrong += [f"{c} {ID3V1_GENRES[c]!r} -> {name}"
                  for c in node["id3"] if key(ID3V1_GENRES[c]) not in names]
    assert not wrong, "ID3v1 names that are not a spelling of their genre:\n" + "\n".join(wrong)


@KEY_FUNCTIONS
def test_no_unmapped_id3v1_name_is_a_genre_spelling(data, genres, key):
    genre_keys = {key(s) for s, _ in spellings(genres)}
    names = [ID3V1_GENRES[int(c)] for c in data["id3_unmapped"]]
    mappable = [n for n in names if key(n) in genre_keys]
    assert not mappable, f"unmapped, yet a genre spelling: {mappable}"
