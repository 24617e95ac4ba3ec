"""Decoding real mp3 files and turning them into the windows a model judges a track by."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from tagger.audio import _mono, load_audio
from tagger.errors import AudioError
from tagger.features import (
    FeatureConfig,
    cut_windows,
    log_mel,
    log_mel_windows,
    track_windows,
    window_starts,
)
from tests.helpers import SR, make_track, noise, tone, write_mp3

CFG = FeatureConfig()


# --- load_audio ---------------------------------------------------------------------------------


def test_mp3_decodes_to_mono_float32_at_the_requested_rate(tmp_path):
    path = make_track(tmp_path / "a.mp3", "tone", seconds=4)
    audio = load_audio(path, 16000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / 16000 - 4.0) < 0.1


def test_stereo_is_mixed_down_to_the_mean_of_the_channels(tmp_path):
    left, right = tone(3, seed=1), noise(3, seed=2)
    path = tmp_path / "stereo.wav"
    sf.write(str(path), np.stack([left, right], axis=1), SR)
    data, _ = sf.read(str(path), dtype="float32", always_2d=True)
    np.testing.assert_array_equal(load_audio(path, SR), data.mean(axis=1))


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_fast_mixdown_is_bit_identical_to_numpy_mean(channels):
    data = np.random.default_rng(channels).standard_normal((10_001, channels)).astype(np.float32)
    expected = data.mean(axis=1) if channels > 1 else data[:, 0]
    assert _mono(data).tobytes() == expected.tobytes()


def test_silent_file_is_an_audio_error(tmp_path):
    path = write_mp3(tmp_path / "silent.mp3", np.zeros(SR * 2, dtype=np.float32))
    with pytest.raises(AudioError, match="silent"):
        load_audio(path, 16000)


def test_empty_file_is_an_audio_error(tmp_path):
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(path, 16000)


def test_text_named_mp3_is_not_recognised_audio(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("shopping list\n" * 100)
    with pytest.raises(AudioError, match="not a recognised audio format"):
        load_audio(path, 16000)


def test_missing_file_is_an_audio_error(tmp_path):
    with pytest.raises(AudioError, match="file not found"):
        load_audio(tmp_path / "gone.mp3", 16000)


def test_folder_is_not_a_regular_file(tmp_path):
    (tmp_path / "album.mp3").mkdir()
    with pytest.raises(AudioError, match="not a regular file"):
        load_audio(tmp_path / "album.mp3", 16000)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file_is_permission_denied(tmp_path):
    path = make_track(tmp_path / "locked.mp3", seconds=1)
    path.chmod(0)
    try:
        with pytest.raises(AudioError, match="permission denied"):
            load_audio(path, 16000)
    finally:
        path.chmod(0o644)


# --- windows ------------------------------------------------------------------------------------


def test_windows_spread_from_start_to_end():
    starts = window_starts(10_000, 187, 8)
    assert len(starts) == 8
    assert starts[0] == 0 and starts[-1] == 10_000 - 187
    assert starts == sorted(starts)


def test_short_track_gets_one_window_at_zero():
    assert window_starts(100, 187, 8) == [0]


def test_track_needing_fewer_windows_gets_fewer():
    assert len(window_starts(187 * 3, 187, 8)) == 3


def test_cut_windows_pads_past_the_end_with_zeros():
    mel = np.ones((50, 4), dtype=np.float32)
    out = cut_windows(mel, [0], 80)
    assert out.shape == (1, 80, 4)
    assert out[0, :50].min() == 1 and out[0, 50:].max() == 0


def assert_same_log_mel(got: np.ndarray, expected: np.ndarray) -> None:
    """Equal but for the filterbank product's rounding: BLAS may sum a wider matrix in another
    order. OpenBLAS's Haswell kernels on an AMD EPYC differ from the whole track's on 0.3-0.5% of
    values, by at most 4.8e-7 (one unit in the last place of values near 5, the loudest); the
    Intel cores of earlier sessions gave the same bytes."""
    assert got.shape == expected.shape and got.dtype == expected.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.filterwarnings("ignore:n_fft=512 is too large")
@pytest.mark.parametrize("samples", [300, 16_000, 47_872, 47_873, 48_128, 160_000, 1_000_003])
@pytest.mark.parametrize("max_windows", [1, 3, 8, 20])
def test_windowed_log_mel_equals_cutting_the_whole_log_mel(samples, max_windows):
    """track_windows computes only the frames its windows need; the numbers must not change."""
    audio = (0.1 * np.random.default_rng(samples).standard_normal(samples)).astype(np.float32)
    mel = log_mel(audio, CFG)
    starts = window_starts(len(mel), CFG.window_frames, max_windows)
    expected = cut_windows(mel, starts, CFG.window_frames)
    assert_same_log_mel(log_mel_windows(audio, CFG, starts), expected)


def test_windowed_log_mel_matches_on_a_real_mp3(tmp_path):
    audio = load_audio(make_track(tmp_path / "a.mp3", "tone", seconds=30, seed=4), CFG.sample_rate)
    mel = log_mel(audio, CFG)
    starts = window_starts(len(mel), CFG.window_frames, 8)
    expected = cut_windows(mel, starts, CFG.window_frames)
    assert_same_log_mel(log_mel_windows(audio, CFG, starts), expected)


@pytest.mark.shared_data
def test_windowed_log_mel_matches_on_shared_full_tracks(shared_data):
    for path in sorted((shared_data / "fulltracks").glob("*.mp3"))[:2]:
        audio = load_audio(path, CFG.sample_rate)
        mel = log_mel(audio, CFG)
        starts = window_starts(len(mel), CFG.window_frames, 8)
        expected = cut_windows(mel, starts, CFG.window_frames)
        assert_same_log_mel(log_mel_windows(audio, CFG, starts), expected)


def test_forty_second_track_has_windows_reaching_its_end(tmp_path):
    tw = track_windows(make_track(tmp_path / "long.mp3", "noise", seconds=40), CFG, 8)
    assert tw.windows.shape == (8, CFG.window_frames, CFG.n_mels)
    assert tw.starts_seconds[0] == 0.0
    assert tw.starts_seconds[-1] + CFG.window_seconds == pytest.approx(tw.duration, abs=0.05)
    assert abs(tw.duration - 40) < 0.2


def test_one_second_track_has_one_zero_padded_window(tmp_path):
    tw = track_windows(make_track(tmp_path / "short.mp3", "tone", seconds=1), CFG, 8)
    assert tw.windows.shape == (1, CFG.window_frames, CFG.n_mels)
    assert tw.starts_seconds == (0.0,)
    filled = 1 + int(tw.duration * CFG.sample_rate) // CFG.hop_length
    assert tw.windows[0, :filled].max() > 0
    assert not tw.windows[0, filled:].any()


def test_feature_config_round_trips_and_refuses_unknown_keys():
    assert FeatureConfig.from_dict(CFG.to_dict()) == CFG
    with pytest.raises(ValueError, match="unknown feature settings"):
        FeatureConfig.from_dict({**CFG.to_dict(), "fmax": 8000})


@pytest.mark.parametrize("seconds", [0.3, 3.0, 17.7])
def test_resampling_is_librosas_soxr_hq_bit_for_bit(seconds):
    import librosa

    from tagger.audio import resample

    audio = noise(seconds, sr=22050, seed=3)
    expected = librosa.resample(audio, orig_sr=22050, target_sr=16000, res_type="soxr_hq")
    assert resample(audio, 22050, 16000).tobytes() == expected.tobytes()
    stereo_rate = resample(audio, 44100, 16000)
    assert stereo_rate.tobytes() == librosa.resample(audio, orig_sr=44100, target_sr=16000,
                                                     res_type="soxr_hq").tobytes()


def _whole_track_windows(path, max_windows=8):
    audio = load_audio(path, CFG.sample_rate)
    starts = window_starts(1 + len(audio) // CFG.hop_length, CFG.window_frames, max_windows)
    return log_mel_windows(audio, CFG, starts)


@pytest.mark.parametrize(("rate", "channels"), [(22050, 1), (44100, 2)])
def test_a_long_track_decoded_in_parts_gives_the_whole_tracks_windows(tmp_path, rate, channels):
    audio = np.concatenate([tone(40, sr=rate, seed=1), noise(50, sr=rate, seed=2), tone(30, sr=rate, seed=3)])
    path = tmp_path / "long.mp3"
    sf.write(str(path), np.stack([audio] * channels, axis=1) if channels == 2 else audio, rate, format="MP3")
    parts = track_windows(path, CFG, 8)
    whole = _whole_track_windows(path)
    assert parts.windows.shape == whole.shape == (8, CFG.window_frames, CFG.n_mels)
    np.testing.assert_allclose(parts.windows, whole, atol=1e-4)
    assert parts.duration == pytest.approx(len(load_audio(path, CFG.sample_rate)) / CFG.sample_rate)


@pytest.mark.shared_data
def test_real_full_tracks_decoded_in_parts_give_the_whole_tracks_windows(shared_data):
    for path in sorted((shared_data / "fulltracks").glob("*.mp3")):
        np.testing.assert_allclose(track_windows(path, CFG, 8).windows, _whole_track_windows(path), atol=1e-4)


def test_a_long_silent_track_is_still_an_error(tmp_path):
    path = write_mp3(tmp_path / "silence.mp3", np.zeros(SR * 90, dtype=np.float32))
    with pytest.raises(AudioError, match="silent"):
        track_windows(path, CFG, 8)
