"""The CPU path on ONNX Runtime: same probabilities as PyTorch, exported once, no torch import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tagger import paths
from tagger.checkpoint import load_checkpoint
from tagger.classify import classify_files, load_model
from tagger.resources import default_model_path
from tests.helpers import make_track, train_tiny_model


def test_cpu_models_run_on_onnx_runtime(tiny_model_path):
    model = load_model(tiny_model_path, "cpu")
    assert model.backend == "onnxruntime" and model.labels == ("Tone", "Noise")


def test_onnx_runtime_gives_pytorchs_probabilities_on_real_audio(tmp_path, tiny_model_path, monkeypatch):
    files = [make_track(tmp_path / f"{i}.mp3", "tone" if i % 2 else "noise", seconds=9, seed=i) for i in range(4)]
    fast = {r.path: r.prediction.window_probabilities for r in classify_files(files, load_model(tiny_model_path))}
    monkeypatch.setenv("GENRENET_BACKEND", "torch")
    reference = load_model(tiny_model_path, "cpu")
    assert reference.backend == "torch"
    slow = {r.path: r.prediction.window_probabilities for r in classify_files(files, reference)}
    for path in files:
        np.testing.assert_allclose(fast[path], slow[path], atol=1e-5)


@pytest.mark.slow
def test_the_shipped_musicnn_model_matches_pytorch_within_1e_5(tmp_path):
    rng = np.random.default_rng(1)
    x = (rng.random((4, 187, 96), dtype=np.float32) * 4)
    ort_model = load_model(default_model_path(), "cpu")
    torch_model = load_checkpoint(default_model_path())
    with torch.inference_mode():
        expected = torch_model.probabilities(torch_model.model(torch.from_numpy(x)))
    assert ort_model.backend == "onnxruntime"
    np.testing.assert_allclose(ort_model.judge(x), expected, atol=1e-5)


def test_the_export_is_made_once_and_redone_for_a_changed_model_file(tmp_path):
    path = train_tiny_model(tmp_path / "m.pt")
    first = load_model(path, "cpu")
    graph = paths.cache_dir() / "models" / f"{first.model_id}.onnx"
    made = graph.stat().st_mtime_ns
    load_model(path, "cpu")
    assert graph.stat().st_mtime_ns == made
    train_tiny_model(path, seed=3)  # a retrained model at the same path
    second = load_model(path, "cpu")
    assert second.model_id != first.model_id
    assert (paths.cache_dir() / "models" / f"{second.model_id}.onnx").is_file()


def test_a_model_onnx_runtime_cannot_match_runs_on_pytorch(tmp_path, tiny_model_path):
    first = load_model(tiny_model_path, "cpu")
    meta = paths.cache_dir() / "models" / f"{first.model_id}.json"
    data = json.loads(meta.read_text())
    meta.write_text(json.dumps({**data, "usable": False, "why": "differs by 0.3"}))
    assert load_model(tiny_model_path, "cpu").backend == "torch"


def test_a_one_file_classify_with_an_exported_model_never_imports_torch(tmp_path, tiny_model_path):
    clip = make_track(tmp_path / "clip.mp3", "tone", seconds=6)
    load_model(tiny_model_path, "cpu")  # export once
    program = ("import sys; from tagger.cli import main; "
               f"code = main(['classify', {str(clip)!r}, '--model', {str(tiny_model_path)!r}, '--device', 'cpu']); "
               "print('torch imported' if 'torch' in sys.modules else 'no torch'); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert "no torch" in done.stdout and "Tone" in done.stdout


def test_an_unwritable_cache_folder_means_pytorch_not_a_crash(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "models").write_text("a file where the exports folder should be")
    monkeypatch.setenv("GENRENET_CACHE_DIR", str(cache))
    model = load_model(train_tiny_model(tmp_path / "m.pt"), "cpu")
    assert model.backend == "torch" and model.labels == ("Tone", "Noise")
