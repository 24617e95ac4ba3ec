"""The --progress-json schema (training/events.py): what training prints is what the app reads."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import fields

import pytest

from training import events

SAMPLES = {
    events.Features: dict(done=3, total=10),
    events.Embeddings: dict(done=10, total=10),
    events.Start: dict(arch="compact_cnn", labels=("Blues", "Metal"), train_clips=8, valid_clips=2, test_clips=0,
                       epochs=30, steps_per_epoch=2, device="cpu", skipped=1, first_epoch=1),
    events.Step: dict(epoch=1, step=2, steps=2, loss=0.69, lr=1e-4),
    events.Epoch: dict(epoch=1, epochs=30, train_loss=0.7, val_loss=0.6, val_accuracy=0.5, lr=1e-4, seconds=1.5,
                       best=True),
    events.Done: dict(stopped="early_stop", checkpoint="/models/m.pt", best_epoch=3, val_accuracy=0.75,
                      temperature=1.2, seconds=12.0),
    events.Error: dict(message="GTZAN folder not found"),
    events.LearnStart: dict(labels=("Jazz", "Rock"), tracks=120, folds=5),
    events.Fold: dict(fold=1, test_clips=24, accuracy=0.8, best_epoch=None, epochs_run=12, temperature=1.1,
                      seconds=3.0, mean_confidence=0.7),
    events.Learned: dict(checkpoint=None, labels=("Jazz", "Rock"), tracks={"Jazz": 50, "Rock": 70},
                         skipped={"no genre": 3}, folds=5, cross_validated_accuracy=0.8,
                         default_model_accuracy=None, seconds=40.0),
}


@pytest.mark.parametrize("kind", list(SAMPLES), ids=lambda k: k.__name__)
def test_every_event_survives_a_round_trip_through_its_json_line(kind):
    schema = events.LEARN if kind in events.LEARN.values() else events.TRAIN
    event = kind(**SAMPLES[kind])
    line = events.serialize(event)
    assert "\n" not in line and json.loads(line)["event"] == kind.kind
    assert events.parse(line, schema) == event
    assert events.from_dict(event.to_dict(), schema) == event


def test_the_samples_cover_both_schemas():
    assert set(events.TRAIN.values()) | set(events.LEARN.values()) == set(SAMPLES)
    assert events.TRAIN["start"] is events.Start and events.LEARN["start"] is events.LearnStart


def test_to_dict_is_plain_json_with_the_kind_first():
    data = events.Start(**SAMPLES[events.Start]).to_dict()
    assert list(data)[0] == "event" and data["labels"] == ["Blues", "Metal"]
    assert list(data)[1:] == [f.name for f in fields(events.Start)]


def test_a_line_that_is_not_json_is_ordinary_output():
    assert events.parse("epoch 1/30: loss 0.7") is None
    assert events.parse("") is None
    assert events.parse("[1, 2]") is None


def test_an_unknown_kind_comes_back_as_it_came():
    event = events.parse('{"event": "warmup", "seconds": 2}')
    assert isinstance(event, events.Unknown) and event.event == "warmup"
    assert event.to_dict() == {"event": "warmup", "seconds": 2}
    assert isinstance(events.parse(events.serialize(events.Fold(**SAMPLES[events.Fold])), events.TRAIN),
                      events.Unknown)  # a learn event is not a train event


def test_fields_a_newer_trainer_adds_are_ignored_and_numbers_widen():
    data = {**events.Done(**SAMPLES[events.Done]).to_dict(), "gpu_hours": 0.1, "seconds": 12}
    event = events.from_dict(data)
    assert event == events.Done(**SAMPLES[events.Done]) and isinstance(event.seconds, float)


def test_nan_losses_are_read_back():
    line = events.serialize(events.Epoch(**{**SAMPLES[events.Epoch], "train_loss": float("nan")}))
    assert math.isnan(events.parse(line).train_loss)


@pytest.mark.parametrize(("line", "message"), [
    ('{"event": "epoch", "epoch": 1, "epochs": 3', "garbled progress line"),
    ('{"epoch": 1}', 'a progress event is a JSON object with an "event" name'),
    ('{"event": 7}', 'with an "event" name'),
    ('{"event": "step", "epoch": 1, "step": 1, "steps": 2, "loss": 0.5}', "'step' event has no 'lr'"),
    ('{"event": "step", "epoch": "one", "step": 1, "steps": 2, "loss": 0.5, "lr": 1}', "'epoch' should be a number"),
    ('{"event": "step", "epoch": true, "step": 1, "steps": 2, "loss": 0.5, "lr": 1}', "'epoch' should be a number"),
    ('{"event": "error", "message": null}', "'message' should be str"),
    ('{"event": "start", "labels": "Jazz", "tracks": 3, "folds": 2}', "'labels' should be a list"),
])
def test_a_garbled_event_is_an_error_that_says_what_is_wrong(line, message):
    schema = events.LEARN if '"folds"' in line else events.TRAIN
    with pytest.raises(events.EventError, match=message.replace("(", r"\(")) as caught:
        events.parse(line, schema)
    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)


def test_the_schema_and_the_defaults_load_without_torch_or_numpy():
    code = ("import sys, training.events, training.config, training.cli; "
            "print(sorted(m for m in ('torch', 'numpy', 'librosa') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_learn_passes_on_its_own_events_not_those_of_each_training_run():
    from training.learn import _only_learn_events

    seen = []
    forward = _only_learn_events(seen.append)
    for kind in (events.Features, events.Start, events.Step, events.Epoch, events.Fold, events.Done):
        forward(kind(**SAMPLES[kind]).to_dict())
    assert [e["event"] for e in seen] == ["features", "fold"]


def test_the_app_reads_progress_lines_with_the_schema(qtbot):
    from gui.retrain.runner import TrainingRunner

    runner = TrainingRunner(schema=events.LEARN)
    got, output = [], []
    runner.event.connect(got.append)
    runner.output.connect(output.append)
    learned = events.Learned(**SAMPLES[events.Learned])
    for line in (events.serialize(learned), "loading the backbone", '{"event": "fold", "fold": 1}',
                 '{"event": "later", "x": 1}'):
        runner._line(line)
    assert got[0] == learned and isinstance(got[1], events.Unknown)
    assert output[0] == "loading the backbone"
    assert output[1].startswith("unreadable progress line: 'fold' event has no 'test_clips'")
    assert list(runner.tail) == output
