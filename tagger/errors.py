"""Error types of the core. Per-file errors carry a message a user can act on."""

from __future__ import annotations


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
