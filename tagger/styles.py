"""Styles under the predicted genre, from the last.fm tags judged beside it (tagger.tag_head).

A tag counts as a style of a track predicted `genre` when the genre tree knows it as a genre
below `genre` ("Hard Rock" under "Rock", "House" under "Electronic") and its probability is at
least STYLE_THRESHOLD. Decades, moods and "female vocalists" are no styles (the tree's
not_genres), nor are tags the tree does not know.

STYLE_THRESHOLD was chosen from data by `python -m training.styles` (its docstring says how):
the tags that name a genre of the 380 labelled clips of ../shared/data (rock, pop, jazz, metal,
blues, country, Hip-Hop, electronic), judged as the app judges a track, against the clips'
labels: 0.25 had the best F0.5 (0.551: precision 0.567, recall 0.498; the best F1 was 0.571 at
0.20 with precision 0.527). No style-labelled data was at hand, so the styles inherit the
threshold of their genre-level siblings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tagger.taxonomy import GenreTree, genre_key

STYLE_THRESHOLD = 0.25
STYLE_MODES = ("genre", "genre+style", "style")


def styles_for(tag_labels: Sequence[str], tag_probabilities: np.ndarray | None, genre: str, tree: GenreTree,
               threshold: float = STYLE_THRESHOLD) -> list[tuple[str, float]]:
    """(style, probability) under `genre`, most likely first; [] for a model without tags."""
    if tag_probabilities is None:
        return []
    key = genre_key(tree.canonical(genre))
    found: dict[str, float] = {}
    for tag, p in zip(tag_labels, tag_probabilities, strict=True):
        name = tree.known(tag) if p >= threshold and tree.is_genre(tag) else None
        if name is None or genre_key(name) == key:
            continue
        if key in {genre_key(a) for a in tree.ancestors(name)}:
            found[name] = max(found.get(name, 0.0), float(p))
    return sorted(found.items(), key=lambda item: -item[1])


def with_style(genres: Sequence[str], styles: Sequence[tuple[str, float]], mode: str) -> tuple[str, ...]:
    """What a suggestion writes: the genres as they are ("genre"), the most likely style right
    after the first genre ("genre+style"), or the style in the first genre's place ("style");
    without a style, the genres as they are."""
    if mode not in STYLE_MODES:
        raise ValueError(f"unknown style mode {mode!r}: choose {', '.join(STYLE_MODES)}")
    if mode == "genre" or not styles or not genres:
        return tuple(genres)
    style = styles[0][0]
    rest = [g for g in genres[1:] if genre_key(g) != genre_key(style)]
    return (genres[0], style, *rest) if mode == "genre+style" else (style, *rest)
