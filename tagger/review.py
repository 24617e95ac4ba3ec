"""Review helpers that need no UI: album consistency of predictions."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tagger.track import Track


@dataclass(frozen=True, slots=True)
class AlbumVerdict:
    """The genre most of an album's tracks were predicted as."""

    majority: str
    votes: int  # tracks predicted as the majority genre
    size: int  # classified tracks in the album


def album_majorities(predictions: Iterable[tuple[Track, str, float]]) -> dict[Path, AlbumVerdict]:
    """Each track's album verdict, from (track, predicted genre, confidence) triples.

    An album is the album tag within one folder (two "Greatest Hits" in different folders are
    different albums); albums with fewer than two classified tracks get no verdict. Ties in the
    vote go to the genre with the larger summed confidence.
    """
    groups: dict[tuple[str, Path], list[tuple[Track, str, float]]] = defaultdict(list)
    for track, genre, confidence in predictions:
        if track.album:
            groups[(track.album.casefold(), track.path.parent)].append((track, genre, confidence))
    verdicts: dict[Path, AlbumVerdict] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        votes = Counter(genre for _, genre, _ in members)
        weight: dict[str, float] = defaultdict(float)
        for _, genre, confidence in members:
            weight[genre] += confidence
        majority = max(votes, key=lambda g: (votes[g], weight[g]))
        verdict = AlbumVerdict(majority, votes[majority], len(members))
        verdicts.update((track.path, verdict) for track, _, _ in members)
    return verdicts
