"""Training, evaluation, resume and cancel on small generated datasets (tones vs noise)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tagger.checkpoint import load_checkpoint
from tests.test_datasets import fma_tracks, make_fma, make_gtzan
from training import cli
from training.datasets import read_gtzan
from training.evaluate import evaluate, write_reports
from training.train import Source, TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gtzan_dir(tmp_path_factory) -> Path:
    """A GTZAN-layout set: blues = tones, metal = noise, 5 clips each of 4 s."""
    return make_gtzan(tmp_path_factory.mktemp("gtzan"), per_genre=5, seconds=4.0)


@pytest.fixture(scope="module")
def feature_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("features")


def tiny_config(data: Path, out: Path, cache: Path, **overrides) -> TrainConfig:
    settings = dict(sources=[Source("gtzan", data)], out=out, arch="compact_cnn", arch_kwargs={"width": 4},
                    epochs=1, batch_size=8, crops_per_clip=2, eval_windows=2, workers=1, device="cpu",
                    cache_dir=cache, lr=3e-3)
    settings.update(overrides)
    return TrainConfig(**settings)


def test_one_epoch_writes_a_calibrated_checkpoint_that_loads(gtzan_dir, feature_cache, tmp_path):
    result = train(tiny_config(gtzan_dir, tmp_path / "m.pt", feature_cache))
    assert result.stopped == "completed" and result.checkpoint == tmp_path / "m.pt"
    model = load_checkpoint(result.checkpoint)
    assert model.labels == ("Blues", "Metal")
    assert model.temperature == pytest.approx(result.temperature) and model.temperature > 0
    assert len(model.metrics["history"]) == 1
    assert model.trained_on["split"] == "random" and model.trained_on["datasets"][0]["kind"] == "gtzan"


def test_progress_events_follow_the_documented_schema(gtzan_dir, feature_cache, tmp_path):
    events = []
    train(tiny_config(gtzan_dir, tmp_path / "m.pt", feature_cache), progress=events.append)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "features" and kinds[-1] == "done"
    assert kinds.index("features") < kinds.index("start") < kinds.index("step") < kinds.index("epoch")
    start, step, epoch, done = (next(e for e in events if e["event"] == k) for k in ("start", "step", "epoch", "done"))
    assert {"arch", "labels", "train_clips", "valid_clips", "epochs", "steps_per_epoch", "device"} <= set(start)
    assert {"epoch", "step", "steps", "loss", "lr"} <= set(step)
    assert {"epoch", "epochs", "train_loss", "val_loss", "val_accuracy", "lr", "seconds", "best"} <= set(epoch)
    assert {"stopped", "checkpoint", "best_epoch", "val_accuracy", "temperature", "seconds"} <= set(done)
    json.dumps(events)  # every event is plain JSON
    from training.events import TRAIN, Unknown, from_dict

    assert not any(isinstance(from_dict(e, TRAIN), Unknown) for e in events)  # and reads back (training/events.py)


def test_evaluate_reports_accuracy_per_class_confusion_and_pngs(gtzan_dir, feature_cache, tmp_path):
    result = train(tiny_config(gtzan_dir, tmp_path / "m.pt", feature_cache, epochs=2))
    model = load_checkpoint(result.checkpoint)
    summary = evaluate(model, read_gtzan(gtzan_dir).examples, cache_root=feature_cache, max_windows=2, workers=1)
    assert summary["clips"] == 10 and sum(map(sum, summary["confusion"])) == 10
    assert set(summary["per_class"]) == {"Blues", "Metal"}
    assert {"precision", "recall", "f1", "support"} <= set(summary["per_class"]["Blues"])
    assert 0.0 <= summary["accuracy"] <= 1.0
    files = write_reports(summary, tmp_path / "report", model.metrics["history"])
    assert [f.name for f in files] == ["summary.json", "confusion_matrix.png", "training_curves.png"]
    assert all(f.stat().st_size > 1000 for f in files[1:])


def test_cancel_keeps_the_best_checkpoint_and_resume_continues(gtzan_dir, feature_cache, tmp_path):
    cancel = threading.Event()

    def stop_after_first_epoch(event):
        if event["event"] == "epoch":
            cancel.set()

    config = tiny_config(gtzan_dir, tmp_path / "m.pt", feature_cache, epochs=3, patience=10)
    first = train(config, progress=stop_after_first_epoch, cancel=cancel)
    assert first.stopped == "cancelled" and first.epochs_run == 1
    assert first.checkpoint is not None and load_checkpoint(first.checkpoint).metrics["epoch"] == 1
    events = []
    config.resume = True
    second = train(config, progress=events.append)
    assert next(e for e in events if e["event"] == "start")["first_epoch"] == 2
    assert second.stopped == "completed" and [h["epoch"] for h in second.history] == [1, 2, 3]


def test_cancel_before_any_epoch_leaves_no_checkpoint(gtzan_dir, feature_cache, tmp_path):
    cancel = threading.Event()
    result = train(tiny_config(gtzan_dir, tmp_path / "m.pt", feature_cache),
                   progress=lambda e: cancel.set() if e["event"] == "step" else None, cancel=cancel)
    assert result.stopped == "cancelled" and result.checkpoint is None
    assert not (tmp_path / "m.pt").exists()


def test_fma_layout_trains_and_evaluates_from_the_command_line(tmp_path, capsys):
    data = make_fma(tmp_path / "fma", fma_tracks(per_genre=4), seconds=4.0)
    out = tmp_path / "fma.pt"
    code = cli.main(["train", "--dataset", "fma", str(data), "--split", "official", "--epochs", "1",
                     "--arch", "compact_cnn", "--arch-kwargs", '{"width": 4}', "--batch-size", "8", "--crops-per-clip", "1",
                     "--workers", "1", "--device", "cpu", "--out", str(out), "--progress-json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    start = next(x for x in lines if x["event"] == "start")
    assert code == 0 and lines[-1]["event"] == "done"
    assert start["labels"] == ["Electronic", "Rock"] and start["train_clips"] == 4
    code = cli.main(["evaluate", str(out), "--dataset", "fma", str(data), "--split", "official",
                     "--json", "--report-dir", str(tmp_path / "rep"), "--device", "cpu", "--workers", "1"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["part"] == "test" and summary["clips"] == 2
    assert {"accuracy", "per_class", "confusion"} <= set(summary)
    assert (tmp_path / "rep" / "confusion_matrix.png").is_file()


def test_train_on_a_wrong_folder_prints_a_json_error(tmp_path, capsys):
    code = cli.main(["train", "--dataset", "gtzan", str(tmp_path), "--progress-json", "--out", str(tmp_path / "m.pt")])
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 1 and line["event"] == "error" and "GTZAN" in line["message"]


def test_sigterm_stops_cleanly_and_keeps_the_best_checkpoint(gtzan_dir, feature_cache, tmp_path):
    out = tmp_path / "m.pt"
    env = dict(os.environ, GENRENET_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "training.cli", "train", "--dataset", "gtzan", str(gtzan_dir), "--epochs", "50",
         "--patience", "50", "--arch", "compact_cnn", "--arch-kwargs", '{"width": 4}', "--batch-size", "8", "--crops-per-clip", "1",
         "--workers", "1", "--device", "cpu", "--out", str(out), "--progress-json",
         "--cache-dir", str(feature_cache)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "epoch" and events[-1]["epoch"] == 1:
            proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert events[-1]["event"] == "done" and events[-1]["stopped"] == "cancelled"
    assert load_checkpoint(out).labels == ("Blues", "Metal")


def test_a_folder_per_genre_collection_trains_with_its_folder_names_as_labels(feature_cache, tmp_path):
    from tests.helpers import noise, tone, write_mp3

    for i in range(4):
        write_mp3(tmp_path / "data" / "drone" / f"{i}.mp3", tone(4.0, freq=200 + 30 * i, seed=i))
        write_mp3(tmp_path / "data" / "static" / "deep" / f"{i}.mp3", noise(4.0, seed=i))
    config = tiny_config(tmp_path / "data", tmp_path / "m.pt", feature_cache,
                         sources=[Source("folder", tmp_path / "data")], max_steps=1)
    result = train(config)
    assert result.stopped == "max_steps" and result.split_sizes == {"train": 6, "valid": 2, "test": 0}
    assert load_checkpoint(result.checkpoint).labels == ("drone", "static")


def test_frozen_musicnn_transfer_trains_its_head_on_cached_embeddings(gtzan_dir, feature_cache, tmp_path):
    from tagger.resources import resource_path

    if not resource_path("models", "msd_musicnn.pt").is_file():
        pytest.skip("the converted musicnn checkpoint is not shipped")
    config = tiny_config(gtzan_dir, tmp_path / "m.pt", feature_cache, arch="musicnn_transfer", arch_kwargs={},
                         eval_windows=1, epochs=2, batch_size=4)
    events = []
    result = train(config, progress=events.append)
    assert result.stopped == "completed"
    assert [e["done"] for e in events if e["event"] == "embeddings"][-1] == 10
    stored = {p: p.stat().st_mtime_ns for p in (feature_cache.parent / "embeddings").rglob("*.npy")}
    assert len(stored) == 10
    model = load_checkpoint(result.checkpoint)
    assert model.arch == "musicnn_transfer" and model.labels == ("Blues", "Metal")
    train(config)  # the second run reads the embeddings instead of recomputing them
    assert {p: p.stat().st_mtime_ns for p in stored} == stored


def test_train_defaults_to_the_recommended_pretrained_architecture():
    from tagger.cli import build_parser
    from training.cli import train_config

    args = build_parser().parse_args(["train", "--dataset", "folder", "/music"])
    config = train_config(args)
    assert config.arch == "musicnn_transfer" and config.arch_kwargs == {"embedding": "pooled"}


def test_the_command_lines_defaults_are_train_configs():
    from tagger.cli import build_parser
    from training.cli import train_config

    args = build_parser().parse_args(["train", "--dataset", "folder", "/music"])
    assert train_config(args) == TrainConfig(sources=[Source("folder", Path("/music"), name="music")])


def test_expected_calibration_error_is_zero_when_confidence_matches_accuracy_and_grows_with_overconfidence():
    from training.crossval import expected_calibration_error

    assert expected_calibration_error([0.75] * 4, [True, True, True, False]) == pytest.approx(0.0)
    assert expected_calibration_error([0.95] * 4, [True, False, True, False]) == pytest.approx(0.45)


def test_an_argument_the_architecture_does_not_take_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    data = make_fma(tmp_path / "fma", fma_tracks(per_genre=2), seconds=4.0)
    code = cli.main(["train", "--dataset", "fma", str(data), "--arch", "musicnn_transfer",
                     "--arch-kwargs", '{"width": 4}', "--epochs", "1", "--out", str(tmp_path / "m.pt")])
    err = capsys.readouterr().err
    assert code != 0 and "musicnn_transfer takes no argument 'width'" in err and "Traceback" not in err


def test_a_heads_epoch_is_every_window_in_the_configured_batches_until_the_library_is_large():
    from training.train import HEAD_BATCH, HEAD_STEPS, head_epoch

    assert head_epoch(1000, 64) == (64, 16)  # ~200 tracks: as ever
    assert head_epoch(64 * HEAD_STEPS, 64) == (64, HEAD_STEPS)
    batch, steps = head_epoch(8000, 64)  # larger batches, every window still once an epoch
    assert steps == HEAD_STEPS and batch * steps >= 8000 and batch <= HEAD_BATCH
    assert head_epoch(80_000, 64) == (HEAD_BATCH, HEAD_STEPS)  # 10,000 tracks: a bounded epoch
    assert head_epoch(5, 64) == (64, 1)


def test_the_cheap_dropout_mask_keeps_half_the_elements_reproducibly():
    import numpy as np
    import torch

    from training.train import _half_mask, _leading_half_dropout

    x = torch.ones(256, 1506)
    mask = _half_mask(x, np.random.default_rng(0))
    assert mask.shape == x.shape and set(mask.unique().tolist()) == {0, 1}
    assert abs(float(mask.float().mean()) - 0.5) < 0.01
    assert abs(float(mask.float().mean(0).std()) - 0.5 / 16) < 0.01  # independent per element (binomial sd)
    assert torch.equal(mask, _half_mask(x, np.random.default_rng(0)))
    assert _leading_half_dropout(torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(3, 2)))
    assert not _leading_half_dropout(torch.nn.Sequential(torch.nn.Dropout(0.3), torch.nn.Linear(3, 2)))


def test_mixup_in_place_mixes_each_row_with_its_partner_as_given():
    import numpy as np
    import torch

    from training.train import mix_in_place

    x = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    mixed, lam, perm = mix_in_place(x.clone(), 0.2, np.random.default_rng(0), scale=2.0)
    assert torch.allclose(mixed, 2.0 * (lam * x + (1 - lam) * x[perm]))
    same, lam, perm = mix_in_place(x.clone(), 0.0, np.random.default_rng(0), scale=2.0)
    assert torch.equal(same, 2 * x) and lam == 1.0 and perm is None


def test_a_heads_training_grid_is_every_window_hop_frames_apart():
    from training.train import grid_starts, train_hop_frames

    assert grid_starts(1000, 187, 94) == [0, 94, 188, 282, 376, 470, 564, 658, 752]
    assert grid_starts(187, 187, 94) == [0] and grid_starts(100, 187, 94) == [0]
    assert train_hop_frames(TrainConfig(sources=[])) is None  # the eval windows, as before
    assert train_hop_frames(TrainConfig(sources=[], train_hop=1.5)) == 94  # 16 kHz, hop 256
    with pytest.raises(ValueError, match="positive"):
        train_hop_frames(TrainConfig(sources=[], train_hop=0.0))


def test_train_hop_is_a_command_line_option():
    from tagger.cli import build_parser
    from training.cli import train_config

    args = build_parser().parse_args(["train", "--dataset", "folder", "/music", "--train-hop", "1.5"])
    assert train_config(args).train_hop == 1.5


def test_a_frozen_head_with_train_hop_trains_on_the_grid_and_validates_on_the_eval_windows(gtzan_dir, tmp_path):
    import numpy as np

    from tagger.resources import resource_path
    from training.crossval import cross_validate
    from training.splitting import make_split
    from training.train import Trainer, load_sources

    if not resource_path("models", "msd_musicnn.pt").is_file():
        pytest.skip("the converted musicnn checkpoint is not shipped")
    cache = tmp_path / "features"
    config = tiny_config(gtzan_dir, tmp_path / "m.pt", cache, arch="musicnn_transfer", arch_kwargs={},
                         eval_windows=1, epochs=2, batch_size=4, train_hop=1.0)  # 62 frames
    result = train(config)
    assert result.stopped == "completed" and load_checkpoint(result.checkpoint).labels == ("Blues", "Metal")
    grid = sorted((cache.parent / "embeddings").rglob("*.h62.npy"))
    assert len(grid) == result.split_sizes["train"]
    assert all(len(np.load(f)) == 2 for f in grid)  # 4 s = 250 frames: windows at 0 and 62
    assert len(list((cache.parent / "embeddings").rglob("*.w1.npy"))) == result.split_sizes["valid"]
    # The trainer's training rows are the grid windows, its validation rows the eval windows.
    split = make_split(load_sources(config), config.split, config.seed)
    trainer = Trainer(config, ("Blues", "Metal"), split)
    trainer.load_features(), trainer.load_clips(), trainer.build_model()
    trainer.load_embeddings()
    assert len(trainer.train_x) == 2 * len(split.train) and trainer.valid_sizes == [1] * len(split.valid)
    summary = cross_validate(config, folds=2)
    assert sum(f["test_clips"] for f in summary["folds"]) == 10
