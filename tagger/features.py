"""FeatureConfig and log-mel: THE feature function used by both training and inference.

A checkpoint stores its FeatureConfig; everything that feeds a model builds features from that
config, never from constants elsewhere.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import librosa
import numpy as np

from tagger.audio import Segments, load_audio


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """How audio becomes a model input. The defaults are musicnn's (Pons & Serra 2019)."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 96
    window_frames: int = 187  # one analysis window (musicnn's 3 s patch)
    log: str = "log10_10000"  # log10(10000 * mel_power + 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        """A FeatureConfig from untrusted data (a model file): types and sizes are checked."""
        if not isinstance(data, dict):
            raise ValueError("feature settings must be a mapping")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown feature settings: {sorted(unknown)}")
        for name, (lo, hi) in _LIMITS.items():
            value = data.get(name, getattr(cls, name))
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ValueError(f"{name} must be a whole number from {lo} to {hi}, not {value!r}")
        if not isinstance(data.get("log", cls.log), str):
            raise ValueError("log must be a name")
        return cls(**data)

    @property
    def window_seconds(self) -> float:
        return self.window_frames * self.hop_length / self.sample_rate

    def frames_to_seconds(self, frames: int) -> float:
        return frames * self.hop_length / self.sample_rate


# What a real model can use; anything outside is refused before memory is allocated for it.
_LIMITS = {"sample_rate": (4000, 192_000), "n_fft": (16, 65_536), "hop_length": (1, 65_536),
           "n_mels": (1, 1024), "window_frames": (1, 100_000)}

LOG_FUNCTIONS = {
    "log10_10000": lambda power: np.log10(10000.0 * power + 1.0),
}


def log_mel(audio: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Log-mel spectrogram of mono audio at cfg.sample_rate: (frames, n_mels) float32."""
    power = librosa.feature.melspectrogram(
        y=audio, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels
    )
    try:
        compress = LOG_FUNCTIONS[cfg.log]
    except KeyError:
        raise ValueError(f"unknown log compression {cfg.log!r}") from None
    return np.ascontiguousarray(compress(power.astype(np.float32)).T, dtype=np.float32)


def window_starts(n_frames: int, window_frames: int, max_windows: int) -> list[int]:
    """Start frames of up to `max_windows` windows spread evenly over the whole track.

    A track shorter than one window gets one window at 0 (padded by cut_windows). Windows do not
    overlap unless the track is shorter than `max_windows` windows would need.
    """
    if n_frames <= window_frames:
        return [0]
    if max_windows <= 1:
        return [(n_frames - window_frames) // 2]
    count = min(max_windows, math.ceil(n_frames / window_frames))
    last = n_frames - window_frames
    return sorted({round(i * last / (count - 1)) for i in range(count)})


def cut_windows(mel: np.ndarray, starts: list[int], window_frames: int) -> np.ndarray:
    """Stack windows of `mel` at `starts`: (n_windows, window_frames, n_mels) float32.

    Windows running past the end are padded with zeros (the log-mel of silence).
    """
    out = np.zeros((len(starts), window_frames, mel.shape[1]), dtype=np.float32)
    for i, start in enumerate(starts):
        piece = mel[start : start + window_frames]
        out[i, : len(piece)] = piece
    return out


@functools.lru_cache(maxsize=8)
def _analysis_kit(sample_rate: int, n_fft: int, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    """librosa's STFT window (periodic Hann, float64, as a column) and mel filterbank (melspectrogram's
    defaults: (n_mels, 1 + n_fft // 2) float32), computed with librosa once per machine and kept in the
    cache folder: importing librosa's signal code costs about 2 s, which a one-file classify should not pay.
    """
    from tagger import paths

    name = f"mel-kit-{sample_rate}-{n_fft}-{n_mels}.npz"
    folder: Path | None = None
    try:
        folder = paths.cache_dir() / "features"
        with np.load(folder / name) as kit:
            window, basis = kit["window"], kit["basis"]
        if window.shape == (n_fft, 1) and basis.shape == (n_mels, 1 + n_fft // 2):
            return _read_only(window), _read_only(basis)
    except (OSError, ValueError, KeyError):
        pass
    window = librosa.filters.get_window("hann", n_fft, fftbins=True).reshape(n_fft, 1)
    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.{os.getpid()}.tmp.npz"
            np.savez(tmp, window=window, basis=basis)
            os.replace(tmp, folder / name)
        except OSError:
            pass  # an unwritable cache only costs the next run the same 2 s
    return _read_only(window), _read_only(basis)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _log_mel_span(audio: np.ndarray, cfg: FeatureConfig, start: int, stop: int) -> np.ndarray:
    """Frames [start, stop) of log_mel(audio, cfg): (stop - start, n_mels) float32, the same
    numbers but for the filterbank product's rounding (BLAS may sum a narrower matrix in another
    order: 4.8e-7 at most on values up to 6.3, measured).

    Frame t of log_mel (librosa's centred STFT, zero padding) is the FFT of the n_fft samples
    centred on t * hop; the span's samples are cut from the zero-padded signal and transformed
    the way librosa.stft does it (window * frames in float64, numpy's rfft, complex64), then
    power, the filterbank product and the log as melspectrogram and log_mel do.
    """
    first, last = _span(cfg, start, stop)
    segment = np.zeros(last - first, dtype=audio.dtype)
    lo, hi = max(first, 0), min(last, len(audio))
    segment[lo - first : hi - first] = audio[lo:hi]
    return _log_mel_of(segment, cfg)


def _span(cfg: FeatureConfig, start: int, stop: int) -> tuple[int, int]:
    """The samples [first, last) that frames [start, stop) of the centred STFT are made of (the
    zero padding before the track's start and after its end included)."""
    half = cfg.n_fft // 2
    return start * cfg.hop_length - half, (stop - 1) * cfg.hop_length + half


def _log_mel_of(segment: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Log-mel frames of samples already cut (and padded) for them: (frames, n_mels) float32."""
    hop, n_fft = cfg.hop_length, cfg.n_fft
    window, basis = _analysis_kit(cfg.sample_rate, n_fft, cfg.n_mels)
    frames = np.lib.stride_tricks.sliding_window_view(segment, n_fft)[::hop].T  # (n_fft, frames)
    spectrum = np.fft.rfft(window * frames, axis=-2).astype(np.complex64)
    power = np.asfortranarray(np.abs(spectrum) ** 2)  # (bins, frames), stft's layout
    mel = np.einsum("...ft,mf->...mt", power, basis, optimize=True)  # as librosa's melspectrogram
    return np.ascontiguousarray(LOG_FUNCTIONS[cfg.log](mel.astype(np.float32)).T, dtype=np.float32)


def log_mel_windows(audio: np.ndarray, cfg: FeatureConfig, starts: list[int]) -> np.ndarray:
    """cut_windows(log_mel(audio, cfg), starts, cfg.window_frames) within float rounding (see
    _log_mel_span), computing only the frames the windows cover: (n_windows, window_frames, n_mels) float32.

    For a 6-minute track with 8 windows that is 1,496 frames instead of 27,500. When the windows
    cover most of a short clip, its frames are computed once and the windows cut from them.
    tests/test_audio_features.py checks the equality against log_mel on many lengths.
    """
    if cfg.log not in LOG_FUNCTIONS:
        raise ValueError(f"unknown log compression {cfg.log!r}")
    width = cfg.window_frames
    n_frames = 1 + len(audio) // cfg.hop_length  # what the centred STFT of the whole track yields
    if 2 * len(starts) * width >= n_frames:
        return cut_windows(_log_mel_span(audio, cfg, 0, n_frames), starts, width)
    out = np.zeros((len(starts), width, cfg.n_mels), dtype=np.float32)
    for i, start in enumerate(starts):
        stop = min(start + width, n_frames)
        out[i, : stop - start] = _log_mel_span(audio, cfg, start, stop)
    return out


@dataclass(frozen=True, slots=True)
class TrackWindows:
    windows: np.ndarray  # (n_windows, window_frames, n_mels) float32
    starts_seconds: tuple[float, ...]
    duration: float


def track_windows(path: Path, cfg: FeatureConfig, max_windows: int) -> TrackWindows:
    """Decode a file and cut the analysis windows the model judges it by. Raises AudioError.

    A long track is not decoded whole: only the samples its windows need are (audio.Segments),
    which gives the same windows within float rounding (tests/test_audio_features.py)."""
    with Segments(path, cfg.sample_rate) as source:
        n_frames = 1 + source.length // cfg.hop_length  # len(log_mel(load_audio(path), cfg))
        starts = window_starts(n_frames, cfg.window_frames, max_windows)
        if 2 * len(starts) * cfg.window_frames >= n_frames:  # most of it: decode it whole
            audio = load_audio(path, cfg.sample_rate)
            windows = log_mel_windows(audio, cfg, starts)
        else:
            windows = _segment_windows(source, cfg, starts, n_frames)
            source.check_not_silent()
        duration = source.length / cfg.sample_rate
    return TrackWindows(windows=windows, starts_seconds=tuple(cfg.frames_to_seconds(s) for s in starts),
                        duration=duration)


def _segment_windows(source: Segments, cfg: FeatureConfig, starts: list[int], n_frames: int) -> np.ndarray:
    """log_mel_windows over the decoded parts: each window's frames from the samples they span."""
    width = cfg.window_frames
    out = np.zeros((len(starts), width, cfg.n_mels), dtype=np.float32)
    for i, start in enumerate(starts):
        stop = min(start + width, n_frames)
        out[i, : stop - start] = _log_mel_of(source.read(*_span(cfg, start, stop)), cfg)
    return out
