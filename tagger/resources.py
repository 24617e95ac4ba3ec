"""The one way code finds shipped files (models, taxonomy, icons), installed or in a checkout."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEFAULT_MODEL = "genrenet_default.pt"
FAST_MODEL = "genrenet_fast.pt"  # distilled from the default model (training/distill.py)


def resource_path(*parts: str) -> Path:
    """Path of a file inside resources/, e.g. resource_path("models", "msd_musicnn.pt")."""
    return Path(str(files("genrenet_resources").joinpath(*parts)))


def default_model_path() -> Path | None:
    """The shipped default genre model, or None while none is shipped."""
    path = resource_path("models", DEFAULT_MODEL)
    return path if path.is_file() else None


def fast_model_path() -> Path | None:
    """The shipped fast genre model (Speed: fast), or None while none is shipped."""
    path = resource_path("models", FAST_MODEL)
    return path if path.is_file() else None
