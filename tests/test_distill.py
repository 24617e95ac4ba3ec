"""Distilling a model into a small one (training/distill.py), on real generated audio with the
tests' tiny model as the teacher."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger.checkpoint import load_checkpoint, read_checkpoint
from tagger.features import FeatureConfig
from tests.helpers import make_track
from training.distill import DistillConfig, distill, grid_starts, is_held_out, multiply_adds


def test_the_held_out_split_depends_on_the_file_name_not_on_where_the_collection_lives():
    assert is_held_out(Path("/a/rock/x.mp3"), 0.5) == is_held_out(Path("/elsewhere/rock/x.mp3"), 0.5)


def test_about_the_asked_share_of_files_is_held_out():
    held = sum(is_held_out(Path(f"/m/g/{i}.mp3"), 0.2) for i in range(2000))
    assert 340 < held < 460


def test_the_grid_covers_the_track_without_running_past_its_end():
    assert grid_starts(1000, 187, 62) == list(range(0, 1000 - 187 + 1, 62))
    assert grid_starts(100, 187, 62) == [0]


def test_multiply_adds_of_a_dense_layer_are_its_weights():
    from torch import nn

    class Dense(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(96, 10)

        def forward(self, x):
            return self.fc(x.mean(dim=1))

    assert multiply_adds(Dense(), FeatureConfig()) == 96 * 10


@pytest.fixture(scope="module")
def distilled(tmp_path_factory, tiny_model_path):
    root = tmp_path_factory.mktemp("distill")
    for i in range(8):
        kind = ("tone", "noise")[i % 2]
        make_track(root / "music" / kind / f"{i:02d}.mp3", kind, seconds=10.0, seed=i)
    out = root / "fast.pt"
    report = distill(DistillConfig(sources=[root / "music"], out=out, teacher=tiny_model_path, epochs=3,
                                   held_out=0.3, workers=1), emit=lambda _line: None)
    return report, out


def test_the_student_is_a_normal_checkpoint_with_the_teachers_labels_and_features(distilled, tiny_model_path):
    _, out = distilled
    student, teacher = load_checkpoint(out, "cpu"), load_checkpoint(tiny_model_path, "cpu")
    assert student.labels == teacher.labels and student.features == teacher.features


def test_the_card_data_say_what_it_was_distilled_from_and_how_well_it_agrees(distilled, tiny_model_path):
    report, out = distilled
    data = read_checkpoint(out)
    assert data["trained_on"]["distilled_from"]["file"] == tiny_model_path.name
    card = data["metrics"]["distilled"]
    assert set(card["agreement"]) == {"train", "held_out"} and card["files"]["held_out"] >= 1
    assert card["cost"]["student_multiply_adds"] > 0 and card["cost"]["teacher_ms_per_window"] > 0
    assert card["agreement"] == report.agreement
