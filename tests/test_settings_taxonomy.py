from __future__ import annotations

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
    assert taxonomy.label_for("Polka") is None
    assert taxonomy.label_for("rock", labels=("Jazz",)) is None
