"""Batched whole-track inference: real mp3 files, a real (tiny) trained model, real threads."""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from tagger.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from tagger.classify import (
    MODEL_THREAD_NAME,
    WORKER_NAME,
    Adaptive,
    ClassifyResult,
    analysis_for,
    analysis_id,
    classify_files,
    load_model,
    window_order,
)
from tagger.errors import ModelError
from tagger.features import track_windows
from tests.helpers import make_track, noise, tone, write_mp3


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    return load_model(tiny_model_path, device="cpu")


def _by_name(results: list[ClassifyResult]) -> dict[str, ClassifyResult]:
    return {r.path.name: r for r in results}


def _decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith((WORKER_NAME, MODEL_THREAD_NAME))]


def _mixed_folder(root: Path, count: int, seconds: float = 8.0) -> list[Path]:
    kinds = ("tone", "noise")
    return [make_track(root / f"{i:02d} {kinds[i % 2]}.mp3", kinds[i % 2], seconds=seconds, seed=i)
            for i in range(count)]


# --- what the model says ------------------------------------------------------------------------


def test_tones_are_classified_tone_and_noise_noise(music_folder, tiny):
    paths = sorted(music_folder.rglob("*.mp3"))
    results = list(classify_files(paths, tiny))
    assert sorted(r.path for r in results) == paths
    for r in results:
        assert r.error is None
        assert r.prediction.genre == ("Tone" if "tone" in r.path.name else "Noise")


def test_prediction_keeps_model_id_labels_and_window_rows(music_folder, tiny):
    path = next(music_folder.rglob("*tone.mp3"))
    (result,) = classify_files([path], tiny)
    p = result.prediction
    assert p.path == path
    assert p.model_id == analysis_id(tiny, 8)
    assert p.labels == ("Tone", "Noise")
    assert p.window_probabilities.shape == (len(p.window_starts), 2)
    assert p.probabilities.dtype == np.float32


def test_aggregate_is_mean_of_calibrated_window_probabilities(tmp_path, tiny_model_path):
    """Temperature scaling is applied per window, before the mean."""
    payload = read_checkpoint(tiny_model_path)
    hot = load_checkpoint(tiny_model_path)
    save_checkpoint(tmp_path / "t3.pt", model=hot.model, arch=payload["arch"],
                    arch_kwargs=payload["arch_kwargs"], labels=payload["labels"],
                    features=hot.features, temperature=3.0)
    model = load_model(tmp_path / "t3.pt", device="cpu")
    path = make_track(tmp_path / "a.mp3", "tone", seconds=12, seed=5)
    (result,) = classify_files([path], model)

    windows = track_windows(path, model.features, 8).windows
    with torch.inference_mode():
        logits = load_checkpoint(tmp_path / "t3.pt").model(torch.from_numpy(windows))
    expected = torch.softmax(logits / 3.0, dim=-1).numpy()
    np.testing.assert_allclose(result.prediction.window_probabilities, expected, atol=1e-6)
    np.testing.assert_allclose(result.prediction.probabilities, expected.mean(axis=0), atol=1e-6)


def test_sigmoid_model_gives_independent_per_tag_probabilities(tmp_path, tiny_model_path):
    payload = read_checkpoint(tiny_model_path)
    base = load_checkpoint(tiny_model_path)
    save_checkpoint(tmp_path / "tagger.pt", model=base.model, arch=payload["arch"],
                    arch_kwargs=payload["arch_kwargs"], labels=["tonal", "noisy"],
                    features=base.features, output="sigmoid")
    model = load_model(tmp_path / "tagger.pt", device="cpu")
    path = make_track(tmp_path / "n.mp3", "noise", seconds=10, seed=2)
    (result,) = classify_files([path], model)

    windows = track_windows(path, model.features, 8).windows
    with torch.inference_mode():
        expected = torch.sigmoid(load_checkpoint(tmp_path / "tagger.pt").model(torch.from_numpy(windows))).numpy()
    np.testing.assert_allclose(result.prediction.window_probabilities, expected, atol=1e-6)
    assert not np.allclose(result.prediction.window_probabilities.sum(axis=1), 1.0)
    assert result.prediction.labels == ("tonal", "noisy")


# --- whole tracks -------------------------------------------------------------------------------


def test_long_file_is_judged_by_windows_spread_to_its_end(tmp_path, tiny):
    path = make_track(tmp_path / "long.mp3", "tone", seconds=40, seed=1)
    (result,) = classify_files([path], tiny, max_windows=8)
    starts = result.prediction.window_starts
    window = tiny.features.window_seconds
    assert len(starts) == 8
    assert starts[0] == 0.0
    assert 40 - window - 0.2 < starts[-1] <= 40 - window + 0.1
    assert all(b - a >= window - 0.05 for a, b in zip(starts, starts[1:], strict=False))


def test_one_second_file_gets_one_padded_window(tmp_path, tiny):
    path = make_track(tmp_path / "short.mp3", "tone", seconds=1, seed=1)
    (result,) = classify_files([path], tiny)
    assert result.error is None
    assert result.prediction.window_starts == (0.0,)
    assert result.prediction.window_probabilities.shape == (1, 2)


# --- per-file errors ----------------------------------------------------------------------------


def test_bad_files_are_per_file_errors_and_the_others_are_classified(tmp_path, tiny):
    good = [make_track(tmp_path / "tone.mp3", "tone", seed=1),
            make_track(tmp_path / "noise.mp3", "noise", seed=2)]
    silent = write_mp3(tmp_path / "silent.mp3", np.zeros(22050 * 3, dtype=np.float32))
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    text = tmp_path / "readme.mp3"
    text.write_text("this is not audio\n" * 50)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(good[0].read_bytes()[:600] + bytes(range(256)) * 8)
    missing = tmp_path / "gone.mp3"

    results = _by_name(list(classify_files(good + [silent, empty, text, corrupt, missing], tiny)))

    assert len(results) == 7
    assert results["tone.mp3"].prediction.genre == "Tone"
    assert results["noise.mp3"].prediction.genre == "Noise"
    assert "silent" in results["silent.mp3"].error
    assert "not found" in results["gone.mp3"].error
    assert "empty" in results["empty.mp3"].error
    assert "not a recognised audio format" in results["readme.mp3"].error
    for name in ("empty.mp3", "readme.mp3", "corrupt.mp3", "silent.mp3", "gone.mp3"):
        assert results[name].prediction is None
        assert results[name].error


# --- progress, cancel, threads ------------------------------------------------------------------


def test_progress_counts_every_file_up_to_total(tmp_path, tiny):
    paths = _mixed_folder(tmp_path, 5) + [tmp_path / "missing.mp3"]
    calls = []
    results = list(classify_files(paths, tiny, progress=lambda d, t: calls.append((d, t))))
    assert len(results) == 6
    assert calls == [(n, 6) for n in range(1, 7)]


def test_cancel_mid_run_stops_promptly_with_fewer_results(tmp_path, tiny):
    paths = _mixed_folder(tmp_path, 16, seconds=20)
    cancel = threading.Event()
    results = []
    for result in classify_files(paths, tiny, workers=2, batch_size=8, cancel=cancel):
        results.append(result)
        if len(results) == 2:
            cancel.set()
    assert len(results) == 2  # nothing was handed out after the cancel
    assert _decode_threads() == []


def test_cancel_set_before_start_yields_nothing(music_folder, tiny):
    cancel = threading.Event()
    cancel.set()
    assert list(classify_files(sorted(music_folder.rglob("*.mp3")), tiny, cancel=cancel)) == []
    assert _decode_threads() == []


def test_leaving_the_loop_early_shuts_the_workers_down(tmp_path, tiny):
    paths = _mixed_folder(tmp_path, 10, seconds=15)
    results = classify_files(paths, tiny, workers=2)
    next(results)
    results.close()
    assert _decode_threads() == []


def test_no_worker_thread_is_left_after_a_full_run(music_folder, tiny):
    list(classify_files(sorted(music_folder.rglob("*.mp3")), tiny, workers=3))
    assert _decode_threads() == []


# --- determinism of the pipeline ----------------------------------------------------------------


def test_results_do_not_depend_on_workers_or_batch_size(tmp_path, tiny):
    """Batches spanning tracks (batch 3 with 8-window tracks) map windows back correctly."""
    paths = _mixed_folder(tmp_path, 4, seconds=30) + [make_track(tmp_path / "short.mp3", seconds=2)]
    reference = _by_name(list(classify_files(paths, tiny, workers=1, batch_size=1)))
    for workers, batch_size in ((2, 3), (2, 32), (1, 64), (3, 5)):
        other = _by_name(list(classify_files(paths, tiny, workers=workers, batch_size=batch_size)))
        assert other.keys() == reference.keys()
        for name, ref in reference.items():
            got = other[name].prediction
            assert got.window_starts == ref.prediction.window_starts
            np.testing.assert_allclose(got.window_probabilities, ref.prediction.window_probabilities,
                                       rtol=0, atol=1e-6, err_msg=f"{name} workers={workers} batch={batch_size}")


def test_empty_list_yields_nothing(tiny):
    assert list(classify_files([], tiny)) == []


# --- model files --------------------------------------------------------------------------------


def test_no_shipped_default_model_is_a_clear_model_error(monkeypatch):
    monkeypatch.setattr("tagger.classify.default_model_path", lambda: None)
    with pytest.raises(ModelError, match="no default model is shipped yet; pass --model FILE"):
        load_model(None)


def test_default_model_is_loaded_when_shipped(monkeypatch, tiny_model_path):
    monkeypatch.setattr("tagger.classify.default_model_path", lambda: tiny_model_path)
    assert load_model(None, device="cpu").labels == ("Tone", "Noise")


def test_auto_device_loads_on_an_available_device(tiny_model_path):
    model = load_model(tiny_model_path)
    if model.backend == "torch":
        assert next(model.model.parameters()).device.type == model.device.type
    else:
        assert model.device.type == "cpu"


def test_unavailable_device_is_a_model_error(tiny_model_path):
    with pytest.raises(ModelError, match="device"):
        load_model(tiny_model_path, device="tpu")


def test_text_file_is_not_a_model(tmp_path):
    path = tmp_path / "model.pt"
    path.write_text("definitely not weights")
    with pytest.raises(ModelError, match="not a genrenet model file \\(not a PyTorch file\\)"):
        load_model(path, device="cpu")


def test_saved_plain_tensor_is_not_a_model(tmp_path):
    torch.save(torch.ones(4), tmp_path / "tensor.pt")
    with pytest.raises(ModelError, match="not a genrenet model file"):
        load_model(tmp_path / "tensor.pt", device="cpu")


class _Sneaky:
    def __reduce__(self):
        return (Path.touch, (Path("/tmp/genrenet-should-not-exist"),))


def test_pickle_with_a_class_is_refused_without_running_it(tmp_path):
    marker = Path("/tmp/genrenet-should-not-exist")
    marker.unlink(missing_ok=True)
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": "genrenet-checkpoint/1", "x": _Sneaky()}))
    with pytest.raises(ModelError, match="not a genrenet model file.*refused") as info:
        load_model(path, device="cpu")
    assert "\n" not in str(info.value)
    assert "weights_only" not in str(info.value)
    assert not marker.exists()


# --- classify_tracks: the library cache ----------------------------------------------------------


@pytest.fixture
def library(tmp_path):
    from tagger.library import Library

    with Library(tmp_path / "library.sqlite") as lib:
        yield lib


def _scan(library, root: Path):
    return library.scan([root]).tracks


def test_first_run_classifies_and_stores_every_track(music_folder, library, tiny):
    from tagger.classify import classify_tracks

    tracks = _scan(library, music_folder)
    results = list(classify_tracks(library, tracks, tiny))
    assert len(results) == len(tracks) == 4
    assert not any(r.cached for r in results)
    for track in tracks:
        stored = library.cached_prediction(track, analysis_id(tiny, 8))
        assert stored is not None and stored.genre == ("Tone" if "tone" in track.path.name else "Noise")


def test_second_run_reuses_cached_predictions_without_decoding(music_folder, library, tiny):
    from tagger.classify import classify_tracks

    tracks = _scan(library, music_folder)
    first = _by_name(list(classify_tracks(library, tracks, tiny)))
    # Same size and mtime but undecodable bytes: only a cache hit can still give a prediction.
    for track in tracks:
        track.path.write_bytes(b"\0" * track.fingerprint.size)
        os.utime(track.path, ns=(track.fingerprint.mtime_ns, track.fingerprint.mtime_ns))
    second = _by_name(list(classify_tracks(library, _scan(library, music_folder), tiny)))
    assert all(r.cached for r in second.values())
    for name, result in second.items():
        np.testing.assert_array_equal(result.prediction.probabilities, first[name].prediction.probabilities)
        assert result.prediction.window_starts == first[name].prediction.window_starts


def test_changed_file_is_classified_again(music_folder, library, tiny):
    from tagger.classify import classify_tracks

    list(classify_tracks(library, _scan(library, music_folder), tiny))
    changed = next(music_folder.rglob("03 tone.mp3"))
    make_track(changed, "noise", seed=9)
    results = _by_name(list(classify_tracks(library, _scan(library, music_folder), tiny)))
    assert not results["03 tone.mp3"].cached
    assert results["03 tone.mp3"].prediction.genre == "Noise"
    assert sum(r.cached for r in results.values()) == 3


def test_prediction_of_another_model_is_not_reused(music_folder, library, tiny, tmp_path):
    from tagger.classify import classify_tracks
    from tests.helpers import train_tiny_model

    tracks = _scan(library, music_folder)
    list(classify_tracks(library, tracks, tiny))
    other = load_model(train_tiny_model(tmp_path / "other.pt", seed=1), device="cpu")
    assert other.model_id != tiny.model_id
    results = list(classify_tracks(library, tracks, other))
    assert not any(r.cached for r in results)
    assert all(r.prediction.model_id == analysis_id(other, 8) for r in results)


def test_prediction_with_another_window_count_is_not_reused(music_folder, library, tiny):
    from tagger.classify import classify_tracks

    tracks = _scan(library, music_folder)
    list(classify_tracks(library, tracks, tiny, max_windows=8))
    results = list(classify_tracks(library, tracks, tiny, max_windows=2))
    assert not any(r.cached for r in results)
    assert all(len(r.prediction.window_starts) <= 2 for r in results)


def test_failed_files_are_not_cached_and_are_retried(tmp_path, library, tiny):
    from tagger.classify import classify_tracks

    root = tmp_path / "lib"
    make_track(root / "ok.mp3", "tone", seed=1)
    (root / "bad.mp3").write_text("not audio at all\n" * 40)
    tracks = _scan(library, root)
    list(classify_tracks(library, tracks, tiny))
    again = _by_name(list(classify_tracks(library, tracks, tiny)))
    assert again["ok.mp3"].cached
    assert again["bad.mp3"].error and not again["bad.mp3"].cached


def test_progress_counts_cached_and_new_tracks_to_total(music_folder, library, tiny):
    from tagger.classify import classify_tracks

    tracks = _scan(library, music_folder)
    list(classify_tracks(library, tracks[:2], tiny))
    calls = []
    results = list(classify_tracks(library, tracks, tiny, progress=lambda d, t: calls.append((d, t))))
    assert sum(r.cached for r in results) == 2
    assert calls == [(n, 4) for n in range(1, 5)]


@pytest.mark.shared_data
def test_shipped_musicnn_tagger_runs_through_the_pipeline_on_real_mp3s(shared_data):
    """A 50-tag sigmoid model: per-tag probabilities that need not sum to 1."""
    from tagger.resources import resource_path

    path = resource_path("models", "msd_musicnn.pt")
    if not path.is_file():
        pytest.skip("msd_musicnn.pt is not shipped in this checkout")
    model = load_model(path, device="cpu")
    clips = [shared_data / "gtzan-mini" / "genres" / g / f"{g}.00000.mp3" for g in ("metal", "classical")]
    results = _by_name(list(classify_files(clips, model, max_windows=4)))
    for result in results.values():
        p = result.prediction
        assert p.probabilities.shape == (50,)
        assert p.window_probabilities.shape == (4, 50)
        assert ((p.probabilities > 0) & (p.probabilities < 1)).all()
        assert abs(p.probabilities.sum() - 1) > 0.05
    assert dict(results["metal.00000.mp3"].prediction.top(5)).keys() & {"metal", "heavy metal", "rock", "hard rock"}
    metal = results["metal.00000.mp3"].prediction
    classical = results["classical.00000.mp3"].prediction
    m = metal.labels.index("metal")
    assert metal.probabilities[m] > 10 * classical.probabilities[m]  # windows kept to their track


# --- adaptive mode ------------------------------------------------------------------------------


def test_window_order_starts_in_the_middle_and_reaches_both_ends_first():
    order = window_order(8)
    assert sorted(order) == list(range(8))
    assert order[:3] == [4, 0, 7]


def test_window_order_of_one_window_is_that_window():
    assert window_order(1) == [0]


def _windows(*rows: tuple[float, float]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def test_adaptive_settles_when_every_judged_window_is_sure_of_the_same_genre():
    assert Adaptive(first=3, window_floor=0.9).settled(_windows((0.95, 0.05), (0.99, 0.01), (0.91, 0.09)))


def test_adaptive_does_not_settle_on_fewer_windows_than_its_first_look():
    assert not Adaptive(first=3, window_floor=0.9).settled(_windows((0.99, 0.01), (0.99, 0.01)))


def test_adaptive_does_not_settle_when_one_window_is_unsure():
    assert not Adaptive(first=3, window_floor=0.9).settled(_windows((0.99, 0.01), (0.85, 0.15), (0.99, 0.01)))


def test_adaptive_does_not_settle_when_windows_disagree():
    assert not Adaptive(first=2, window_floor=0.5).settled(_windows((0.99, 0.01), (0.3, 0.7), (0.99, 0.01)))


def _eight_window_tracks(root: Path) -> dict[str, Path]:
    """30 s tracks (8 windows each): a steady tone, and one that turns from tone to noise."""
    mixed = np.concatenate([tone(15.0, seed=1), noise(15.0, seed=1)])
    return {"steady": make_track(root / "steady.mp3", "tone", seconds=30.0, seed=2),
            "mixed": write_mp3(root / "mixed.mp3", mixed)}


def test_adaptive_judges_a_steady_track_by_its_first_windows_only(tmp_path, tiny):
    tracks = _eight_window_tracks(tmp_path)
    exact = _by_name(list(classify_files([tracks["steady"]], tiny)))["steady.mp3"].prediction
    rule = Adaptive(first=3, window_floor=0.5)
    quick = _by_name(list(classify_files([tracks["steady"]], tiny, adaptive=rule)))["steady.mp3"].prediction
    assert len(exact.window_probabilities) == 8
    assert len(quick.window_probabilities) == 3
    assert quick.genre == exact.genre == "Tone"
    first = sorted(window_order(8)[:3])
    assert quick.window_starts == tuple(exact.window_starts[i] for i in first)
    np.testing.assert_allclose(quick.window_probabilities, exact.window_probabilities[first], atol=1e-6)


def test_adaptive_judges_every_window_of_a_track_whose_windows_disagree(tmp_path, tiny):
    tracks = _eight_window_tracks(tmp_path)
    paths = list(tracks.values())
    exact = _by_name(list(classify_files(paths, tiny)))
    quick = _by_name(list(classify_files(paths, tiny, adaptive=Adaptive(first=3, window_floor=0.5))))
    assert len(quick["mixed.mp3"].prediction.window_probabilities) == 8
    np.testing.assert_allclose(quick["mixed.mp3"].prediction.probabilities,
                               exact["mixed.mp3"].prediction.probabilities, atol=1e-6)
    assert len(quick["steady.mp3"].prediction.window_probabilities) < 8


def test_adaptive_predictions_are_cached_apart_from_exact_ones(tiny):
    assert analysis_id(tiny, 8, Adaptive()) != analysis_id(tiny, 8)
    assert analysis_id(tiny, 8, Adaptive(first=2)) != analysis_id(tiny, 8, Adaptive(first=3))


def test_speed_exact_keeps_the_chosen_model_and_judges_every_window(tiny_model_path):
    analysis = analysis_for("exact", tiny_model_path)
    assert analysis.model_path == tiny_model_path and analysis.adaptive is None


def test_speed_adaptive_keeps_the_chosen_model_with_the_adaptive_rule(tiny_model_path):
    analysis = analysis_for("adaptive", tiny_model_path)
    assert analysis.model_path == tiny_model_path and analysis.adaptive == Adaptive()


def test_speed_fast_refuses_a_model_of_ones_own(tiny_model_path):
    with pytest.raises(ModelError, match="fast"):
        analysis_for("fast", tiny_model_path)


def test_an_unknown_speed_is_refused():
    with pytest.raises(ModelError, match="unknown speed"):
        analysis_for("ludicrous", None)
