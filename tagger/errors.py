"""Error types of the core. Per-file errors carry a message a user can act on."""

from __future__ import annotations

from pathlib import Path


class GenrenetError(Exception):
    """Base of every error the core raises on purpose."""


class FileError(GenrenetError):
    """Something is wrong with one file; batch jobs collect these and go on."""


class AudioError(FileError):
    """The audio cannot be decoded, is empty, or is silent."""


class ReadError(FileError):
    """The tags cannot be read."""


class WriteError(FileError):
    """The tags cannot be written; the file is left exactly as it was."""


class ModelError(GenrenetError):
    """A model file is missing, not ours, or does not fit its declared architecture."""


def without_path(message: str, path: Path | str) -> str:
    """The reason alone: per-file error entries (path, reason) already carry the path, and
    messages raised for one file start with it."""
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message
