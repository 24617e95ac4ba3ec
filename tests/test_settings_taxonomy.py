from __future__ import annotations

import os

import pytest

from tagger.settings import SETTINGS_FIELDS, Settings, description, load_settings, save_settings
from tagger.taxonomy import Taxonomy


def test_missing_settings_file_gives_defaults():
    assert load_settings() == Settings()


def test_settings_survive_save_and_load():
    changed = Settings().with_changes(review_threshold=0.65, id3_version=4, genre_map={"Rock": "Rock & Roll"},
                                      recent_folders=("/music/a",))
    save_settings(changed)
    assert load_settings() == changed


def test_broken_settings_file_falls_back_to_defaults(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert load_settings(path) == Settings()


def test_out_of_range_value_in_file_falls_back_to_defaults(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"review_threshold": 7}')
    assert load_settings(path) == Settings()


def test_invalid_change_is_refused():
    with pytest.raises(ValueError, match="device"):
        Settings().with_changes(device="tpu")


def test_every_setting_is_described():
    assert all(description(name) for name in SETTINGS_FIELDS)


def test_taxonomy_names_labels_and_user_override_wins():
    taxonomy = Taxonomy.load({"Hip-Hop": "Hip Hop"})
    assert taxonomy.name_for("Hip-Hop") == "Hip Hop"
    assert taxonomy.name_for("Jazz") == "Jazz"
    assert taxonomy.name_for("Unknown Label") == "Unknown Label"


def test_taxonomy_reads_tag_text_back_to_labels():
    taxonomy = Taxonomy.load()
    assert taxonomy.label_for(" hip hop ") == "Hip-Hop"
    assert taxonomy.label_for("ROCK") == "Rock"
    assert taxonomy.label_for("Polka") == "Folk"  # a style under a label's genre in the tree
    assert taxonomy.label_for("Zeuhl Obscura") is None
    assert taxonomy.label_for("rock", labels=("Jazz",)) is None


def test_cache_dir_setting_survives_save_and_load(tmp_path):
    changed = Settings().with_changes(cache_dir=str(tmp_path / "elsewhere"))
    save_settings(changed)
    assert load_settings().cache_dir == str(tmp_path / "elsewhere")


def test_cache_dir_defaults_to_none_meaning_the_platform_folder(monkeypatch):
    from tagger import paths

    platform = paths.Path(os.environ["GENRENET_CONFIG_DIR"]) / "platform-cache"
    monkeypatch.delenv("GENRENET_CACHE_DIR")
    monkeypatch.setattr(paths.platformdirs, "user_cache_dir", lambda app: str(platform))
    assert Settings().cache_dir is None
    assert paths.cache_dir() == platform


def test_core_uses_the_cache_dir_setting_when_no_env_var(tmp_path, monkeypatch):
    from tagger import paths
    from tagger.library import Library

    monkeypatch.delenv("GENRENET_CACHE_DIR")
    save_settings(Settings(cache_dir=str(tmp_path / "my cache")))
    assert paths.cache_dir() == tmp_path / "my cache"
    with Library() as lib:
        assert lib.db_path == tmp_path / "my cache" / "library.sqlite"
    assert (tmp_path / "my cache" / "library.sqlite").exists()


def test_env_var_wins_over_the_cache_dir_setting(tmp_path, monkeypatch):
    from tagger import paths

    monkeypatch.setenv("GENRENET_CACHE_DIR", str(tmp_path / "from env"))
    save_settings(Settings(cache_dir=str(tmp_path / "from settings")))
    assert paths.cache_dir() == tmp_path / "from env"
    assert not (tmp_path / "from settings").exists()


def test_write_journal_does_not_move_with_the_cache(tmp_path, monkeypatch):
    from tagger import paths

    monkeypatch.delenv("GENRENET_CACHE_DIR")
    journal_before = paths.journal_db()
    save_settings(Settings(cache_dir=str(tmp_path / "moved")))
    assert paths.journal_db() == journal_before
    assert not paths.journal_db().is_relative_to(tmp_path / "moved")


def test_unusable_cache_dir_setting_falls_back_to_the_default(tmp_path, monkeypatch):
    from tagger import paths

    monkeypatch.delenv("GENRENET_CACHE_DIR")
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(paths.platformdirs, "user_cache_dir", lambda app: str(tmp_path / "platform-cache"))
    save_settings(Settings(cache_dir=str(blocker / "cache")))
    assert paths.cache_dir() == tmp_path / "platform-cache"
