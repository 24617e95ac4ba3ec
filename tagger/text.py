"""Words for people: a count with its noun ("1 file", "1,234 files"), for the CLI and the app."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
