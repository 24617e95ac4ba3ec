"""Distilling a model into a small one (training/distill.py), on real generated audio with a
musicnn transfer model (the shipped MSD backbone, a two-label head) as the teacher."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tagger import models
from tagger.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from tagger.features import FeatureConfig
from tagger.models.musicnn import MusicnnTransfer
from tests.helpers import TINY_LABELS, make_track
from training.distill import DistillConfig, DistillError, distill, grid_starts, is_held_out, multiply_adds


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


def test_the_student_costs_at_least_16_times_fewer_multiply_adds_than_musicnn():
    cfg = FeatureConfig()
    student = models.build("pooled_student", n_labels=11)
    teacher = models.build("musicnn_transfer", n_labels=11, embedding="pooled")
    assert 16 * multiply_adds(student, cfg) <= multiply_adds(teacher, cfg)


def test_the_student_embeds_as_wide_as_the_teachers_pooled_embedding():
    student = models.build("pooled_student", n_labels=11).eval()
    x = torch.zeros(3, 187, 96)
    assert student.embed(x).shape == (3, 1506) and student(x).shape == (3, 11)


@pytest.fixture(scope="module")
def teacher_path(tmp_path_factory) -> Path:
    """A real musicnn transfer checkpoint: the shipped MSD backbone with a two-label head."""
    torch.manual_seed(0)
    model = MusicnnTransfer.from_pretrained("msd", n_labels=len(TINY_LABELS), embedding="pooled")
    path = tmp_path_factory.mktemp("teacher") / "teacher.pt"
    save_checkpoint(path, model=model.eval(), arch="musicnn_transfer",
                    arch_kwargs={"n_labels": len(TINY_LABELS), "embedding": "pooled"},
                    labels=TINY_LABELS, features=FeatureConfig(), temperature=0.5)
    return path


@pytest.fixture(scope="module")
def distilled(tmp_path_factory, teacher_path):
    root = tmp_path_factory.mktemp("distill")
    for i in range(8):
        kind = ("tone", "noise")[i % 2]
        make_track(root / "music" / kind / f"{i:02d}.mp3", kind, seconds=6.0, seed=i)
    out = root / "fast.pt"
    report = distill(DistillConfig(sources=[root / "music"], out=out, teacher=teacher_path, epochs=6, batch_size=8,
                                   held_out=0.3, workers=1), emit=lambda _line: None)
    return report, out


def test_the_student_is_a_normal_checkpoint_with_the_teachers_labels_features_and_temperature(distilled, teacher_path):
    _, out = distilled
    student, teacher = load_checkpoint(out, "cpu"), load_checkpoint(teacher_path, "cpu")
    assert student.labels == teacher.labels and student.features == teacher.features
    assert student.temperature == teacher.temperature


def test_the_student_carries_the_teachers_genre_head_unchanged(distilled, teacher_path):
    _, out = distilled
    student, teacher = load_checkpoint(out, "cpu").model, load_checkpoint(teacher_path, "cpu").model
    assert torch.equal(student.head.weight, teacher.head[1].weight)
    assert torch.equal(student.head.bias, teacher.head[1].bias)


def test_the_student_comes_closer_to_the_teacher_as_it_trains(distilled):
    report, _ = distilled
    first, last = report.epochs[0], report.epochs[-1]
    assert last["embedding_mse"] < first["embedding_mse"] and last["kl"] < first["kl"]


def test_a_file_that_is_not_a_model_is_refused_in_one_line_without_a_traceback(tmp_path, capsys):
    from training.distill import main

    (tmp_path / "music").mkdir()
    (tmp_path / "teacher.pt").write_bytes(b"not a model")
    assert main([str(tmp_path / "music"), "--out", str(tmp_path / "fast.pt"), "--teacher", str(tmp_path / "teacher.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and not (tmp_path / "fast.pt").exists()


def test_a_mixed_share_beyond_the_whole_batch_is_refused(tmp_path, teacher_path):
    with pytest.raises(DistillError, match="mixed share"):
        distill(DistillConfig(sources=[tmp_path], out=tmp_path / "fast.pt", teacher=teacher_path, mixed_share=1.5),
                emit=lambda _line: None)


def test_a_teacher_without_a_pooled_musicnn_embedding_is_refused_with_the_reason(tmp_path, tiny_model_path):
    make_track(tmp_path / "music" / "a.mp3", "tone", seconds=4.0)
    with pytest.raises(DistillError, match="pooled"):
        distill(DistillConfig(sources=[tmp_path / "music"], out=tmp_path / "fast.pt", teacher=tiny_model_path,
                              epochs=1, workers=1), emit=lambda _line: None)
    assert not (tmp_path / "fast.pt").exists()


def test_the_card_data_say_what_it_was_distilled_from_and_how_well_it_agrees(distilled, teacher_path):
    report, out = distilled
    data = read_checkpoint(out)
    assert data["trained_on"]["distilled_from"]["file"] == teacher_path.name
    card = data["metrics"]["distilled"]
    assert set(card["agreement"]) == {"train", "held_out"} and card["files"]["held_out"] >= 1
    assert card["cost"]["student_multiply_adds"] > 0 and card["cost"]["teacher_ms_per_window"] > 0
    assert card["agreement"] == report.agreement
