"""Genre names: the canonical genre tree, the user's own merges, and model labels -> names.

resources/genre_tree.toml holds genrenet's tree: canonical names, their parents (a genre may
have several), spelling variants and ID3v1 genre codes. Text from a tag is looked up by its
*key* (genre_key: case, spaces, hyphens and "&"/"and" do not matter), so "hip hop", "Hip-Hop"
and "HIPHOP" are one genre. The user's merges (Settings -> genre_merges: variant -> name) win
over the tree, and may give a canonical genre the user's preferred spelling.

resources/genres.toml maps model labels to the names written (Settings -> genre_map overrides);
every name shown or written goes through the tree, so a model's "Hip-Hop" and a tag's "hip hop"
are the same genre everywhere.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tagger.resources import resource_path

_AND = re.compile(r"\s*(?:&|\+|'n'|\bn\b)\s*")
_NOT_ALNUM = re.compile(r"[\W_]+")
_ID3_CODE = re.compile(r"\(?(\d{1,3})\)?")


def genre_key(text: str) -> str:
    """The form genre names are compared in: "Hip Hop" == "hip-hop", "R&B" == "R and B"."""
    lowered = _AND.sub(" and ", text.casefold())
    return _NOT_ALNUM.sub("", lowered)


@dataclass(frozen=True)
class GenreTree:
    """Canonical genres with their parents, and every known spelling -> its canonical name."""

    parents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    spellings: Mapping[str, str] = field(default_factory=dict)  # genre_key -> canonical name
    id3: Mapping[int, str] = field(default_factory=dict)  # ID3v1 code -> canonical name
    not_genres: frozenset[str] = frozenset()  # keys of tags that are no genre ("80s", "female vocalists")
    merges: Mapping[str, str] = field(default_factory=dict)  # the user's: genre_key -> name

    @classmethod
    def load(cls, merges: Mapping[str, str] | None = None, path: Path | None = None) -> GenreTree:
        base = _load_tree(path or resource_path("genre_tree.toml"))
        user = {genre_key(k): str(v).strip() for k, v in (merges or {}).items() if str(v).strip() and genre_key(k)}
        return cls(base.parents, base.spellings, base.id3, base.not_genres, user)

    @property
    def names(self) -> list[str]:
        return sorted(self.parents, key=str.casefold)

    @property
    def roots(self) -> list[str]:
        return [n for n in self.names if not self.parents[n]]

    def known(self, text: str) -> str | None:
        """The canonical name for `text` (the user's merge first), or None when nobody knows it."""
        key = genre_key(text)
        if not key:
            return None
        if key in self.merges:
            return self._preferred(self.merges[key])
        name = self.spellings.get(key)
        if name is None and (code := _ID3_CODE.fullmatch(text.strip())):
            name = self.id3.get(int(code.group(1)))
        return None if name is None else self._preferred(name)

    def _preferred(self, name: str) -> str:
        """A canonical name the user renamed by a merge ("Hip-Hop" -> "Hip Hop") is their name."""
        seen = {genre_key(name)}
        while (nxt := self.merges.get(genre_key(name))) is not None and genre_key(nxt) not in seen:
            name = nxt
            seen.add(genre_key(nxt))
        return name

    def canonical(self, text: str) -> str:
        """The name to show or write for `text`: its canonical form, else the text as typed."""
        return self.known(text) or text.strip()

    def is_genre(self, text: str) -> bool:
        """False for tags that name no genre (decades, moods, "female vocalists")."""
        return genre_key(text) not in self.not_genres

    def parents_of(self, name: str) -> tuple[str, ...]:
        return self.parents.get(self._tree_name(name), ())

    def ancestors(self, name: str) -> list[str]:
        """Every genre above `name`, nearest first (breadth first), each once."""
        out: list[str] = []
        todo = list(self.parents_of(name))
        while todo:
            parent = todo.pop(0)
            if parent not in out:
                out.append(parent)
                todo += self.parents.get(parent, ())
        return out

    def children_of(self, name: str) -> list[str]:
        tree_name = self._tree_name(name)
        return [n for n in self.names if tree_name in self.parents[n]]

    def _tree_name(self, name: str) -> str:
        return self.spellings.get(genre_key(name), name)


@cache
def _load_tree(path: Path) -> GenreTree:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    parents: dict[str, tuple[str, ...]] = {}
    spellings: dict[str, str] = {}
    id3: dict[int, str] = {}
    for name, node in data.get("genres", {}).items():
        parents[name] = tuple(node.get("parents", ()))
        for spelling in (name, *node.get("aliases", ())):
            spellings.setdefault(genre_key(spelling), name)
        for code in node.get("id3", ()):
            id3[int(code)] = name
    for name in parents:
        spellings[genre_key(name)] = name  # a canonical name always means itself
    not_genres = frozenset(genre_key(t) for t in data.get("not_genres", ()))
    return GenreTree(parents, spellings, id3, not_genres)


@dataclass(frozen=True)
class Taxonomy:
    """Model labels -> the genre names written, through the genre tree."""

    names: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)  # lower-case text -> label
    tree: GenreTree = field(default_factory=GenreTree)

    @classmethod
    def load(cls, overrides: Mapping[str, str] | None = None, path: Path | None = None,
             merges: Mapping[str, str] | None = None) -> Taxonomy:
        with open(path or resource_path("genres.toml"), "rb") as fh:
            data = tomllib.load(fh)
        names = {str(k): str(v) for k, v in data.get("names", {}).items()}
        chosen = {k: v.strip() for k, v in (overrides or {}).items() if v and v.strip()}
        # A name the user chose for a label is their spelling of that genre everywhere.
        renames = {names.get(label, label): name for label, name in chosen.items()}
        names.update(chosen)
        aliases = {str(k).casefold(): str(v) for k, v in data.get("aliases", {}).items()}
        return cls(names=names, aliases=aliases, tree=GenreTree.load({**renames, **(merges or {})}))

    def name_for(self, label: str) -> str:
        """The genre name to write for a model label (the label itself when unmapped), canonical."""
        return self.tree.canonical(self.names.get(label, label))

    def tidy(self, text: str) -> str:
        """A genre as typed or found in a tag, as genrenet shows and writes it."""
        return self.tree.canonical(text)

    def styles(self, prediction, genre: str) -> list[tuple[str, float]]:
        """A prediction's styles under `genre`, likeliest first (tagger.styles.styles_for)."""
        from tagger.styles import styles_for  # tagger.styles imports this module

        return styles_for(prediction.tag_labels, prediction.tag_probabilities, genre, self.tree)

    def related(self, a: str, b: str) -> bool:
        """Whether two genre names agree: one genre, or one is above the other in the tree
        ("Rock" and "Alternative Rock" agree; "Rock" and "Jazz" do not)."""
        ka, kb = genre_key(self.tidy(a)), genre_key(self.tidy(b))
        if ka == kb:
            return True
        return (ka in {genre_key(g) for g in self.tree.ancestors(self.tidy(b))}
                or kb in {genre_key(g) for g in self.tree.ancestors(self.tidy(a))})

    def label_for(self, text: str, labels: tuple[str, ...] | None = None) -> str | None:
        """The model label a genre text stands for, or None: the label, its name or an alias,
        else the nearest ancestor in the genre tree that is a label ("Bebop" -> Jazz).
        With `labels`, only those count."""
        candidates = labels if labels is not None else tuple(self.names)
        by_key = {}
        for label in candidates:
            by_key.setdefault(genre_key(label), label)
            by_key.setdefault(genre_key(self.name_for(label)), label)
        key = genre_key(text)
        if key in by_key:
            return by_key[key]
        label = self.aliases.get(text.strip().casefold())
        if label is not None and (labels is None or label in labels):
            return label
        name = self.tree.known(text)
        for genre in ([name] if name else []) + self.tree.ancestors(name or text):
            if genre_key(genre) in by_key:
                return by_key[genre_key(genre)]
        return None


def genres_for(top: list[tuple[str, float]], taxonomy: Taxonomy, count: int = 1) -> tuple[str, ...]:
    """The genre names to write for a prediction's top labels: the first `count`, mapped, unique."""
    names: list[str] = []
    for label, _ in top:
        name = taxonomy.name_for(label)
        if genre_key(name) not in {genre_key(n) for n in names}:
            names.append(name)
        if len(names) == count:
            break
    return tuple(names)


def distinct(names: Iterable[str], tidy=str) -> list[str]:
    """`names` tidied, each genre once (by genre_key), in first-seen order."""
    out: dict[str, str] = {}
    for name in names:
        shown = tidy(name)
        if shown.strip():
            out.setdefault(genre_key(shown), shown)
    return list(out.values())


@dataclass(frozen=True, slots=True)
class GenreValue:
    """One genre value as it is found in a library's tags, with how the tree names it."""

    value: str
    count: int  # tracks carrying it
    canonical: str  # what genrenet shows and writes for it
    known: bool  # the genre tree or the user's merges know it

    @property
    def is_variant(self) -> bool:
        return self.value != self.canonical


def census(genre_lists: Iterable[Iterable[str]], tree: GenreTree) -> list[GenreValue]:
    """Every distinct genre value of the tracks (one genre list each), most common genre first,
    each genre's spellings together."""
    counts: dict[str, int] = {}
    for genres in genre_lists:
        for value in dict.fromkeys(g.strip() for g in genres if g.strip()):
            counts[value] = counts.get(value, 0) + 1
    values = [GenreValue(v, n, tree.canonical(v), tree.known(v) is not None) for v, n in counts.items()]
    totals: dict[str, int] = {}
    for v in values:
        totals[genre_key(v.canonical)] = totals.get(genre_key(v.canonical), 0) + v.count
    return sorted(values, key=lambda v: (-totals[genre_key(v.canonical)], v.canonical.casefold(),
                                         v.is_variant, -v.count, v.value))
