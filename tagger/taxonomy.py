"""Model labels -> the genre names written into tags, and tag text -> model labels.

The shipped mapping lives in resources/genres.toml; the user's overrides (Settings) win.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tagger.resources import resource_path


@dataclass(frozen=True)
class Taxonomy:
    names: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)  # lower-case text -> label

    @classmethod
    def load(cls, overrides: Mapping[str, str] | None = None, path: Path | None = None) -> Taxonomy:
        with open(path or resource_path("genres.toml"), "rb") as fh:
            data = tomllib.load(fh)
        names = {str(k): str(v) for k, v in data.get("names", {}).items()}
        names.update({k: v for k, v in (overrides or {}).items() if v and v.strip()})
        aliases = {str(k).casefold(): str(v) for k, v in data.get("aliases", {}).items()}
        return cls(names=names, aliases=aliases)

    def name_for(self, label: str) -> str:
        """The genre name to write for a model label (the label itself when unmapped)."""
        return self.names.get(label, label)

    def label_for(self, text: str, labels: tuple[str, ...] | None = None) -> str | None:
        """The model label a genre text stands for, or None; matches labels, names and aliases
        case-insensitively. With `labels`, only those count."""
        key = text.strip().casefold()
        candidates = labels if labels is not None else tuple(self.names)
        for label in candidates:
            if key in (label.casefold(), self.name_for(label).casefold()):
                return label
        label = self.aliases.get(key)
        return label if label is not None and (labels is None or label in labels) else None


def genres_for(top: list[tuple[str, float]], taxonomy: Taxonomy, count: int = 1) -> tuple[str, ...]:
    """The genre names to write for a prediction's top labels: the first `count`, mapped, unique."""
    names: list[str] = []
    for label, _ in top:
        name = taxonomy.name_for(label)
        if name not in names:
            names.append(name)
        if len(names) == count:
            break
    return tuple(names)
