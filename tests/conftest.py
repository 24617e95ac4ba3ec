from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import SHARED_DATA, make_track, train_tiny_model

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own cache and config dirs: never the user's real ones."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("GENRENET_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("GENRENET_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("GENRENET_DATA_DIR", str(base / "data"))


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A real checkpoint of a small CNN trained (seconds) to tell tones from noise."""
    return train_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pt")


@pytest.fixture
def music_folder(tmp_path) -> Path:
    """A small library: tagged and untagged tones and noise, in nested folders."""
    root = tmp_path / "Music"
    make_track(root / "Artist A" / "Album 1" / "01 tone.mp3", "tone", seed=1,
               title="Song One", artist="Artist A", album="Album 1", genre="Jazz", rich=True)
    make_track(root / "Artist A" / "Album 1" / "02 noise.mp3", "noise", seed=2,
               title="Song Two", artist="Artist A", album="Album 1")
    make_track(root / "Artist B" / "03 tone.mp3", "tone", seed=3)
    make_track(root / "Artist B" / "04 noise.mp3", "noise", seed=4, title="Four", artist="Artist B")
    return root


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA
