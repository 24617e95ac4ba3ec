"""FeatureConfig and log-mel: THE feature function used by both training and inference.

A checkpoint stores its FeatureConfig; everything that feeds a model builds features from that
config, never from constants elsewhere.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import librosa
import numpy as np

from tagger.audio import load_audio


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
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa's mel filterbank with melspectrogram's defaults: (n_mels, 1 + n_fft // 2)."""
    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)
    basis.setflags(write=False)
    return basis


def log_mel_windows(audio: np.ndarray, cfg: FeatureConfig, starts: list[int]) -> np.ndarray:
    """Exactly cut_windows(log_mel(audio, cfg), starts, cfg.window_frames), bit for bit, but
    computing only the frames the windows cover: (n_windows, window_frames, n_mels) float32.

    Frame t of log_mel (librosa's centred STFT, zero padding) is the FFT of the n_fft samples
    centred on t * hop; each window's frames are cut from the padded signal and transformed
    with the same STFT, power, filterbank product and log as log_mel. For a 6-minute track with
    8 windows that is 1,496 frames instead of 27,500. tests/test_audio_features.py checks the
    equality against log_mel on many lengths.
    """
    hop, n_fft, width = cfg.hop_length, cfg.n_fft, cfg.window_frames
    try:
        compress = LOG_FUNCTIONS[cfg.log]
    except KeyError:
        raise ValueError(f"unknown log compression {cfg.log!r}") from None
    n_frames = 1 + len(audio) // hop  # what the centred STFT of the whole track yields
    half = n_fft // 2
    spectra, lengths = [], []
    for start in starts:
        stop = min(start + width, n_frames)
        first, last = start * hop - half, (stop - 1) * hop + half  # padded-sample span
        segment = np.zeros(last - first, dtype=audio.dtype)
        lo, hi = max(first, 0), min(last, len(audio))
        segment[lo - first : hi - first] = audio[lo:hi]
        stft = librosa.stft(segment, n_fft=n_fft, hop_length=hop, center=False)  # (bins, frames)
        spectra.append(np.abs(stft) ** 2)
        lengths.append(stop - start)
    power = np.asfortranarray(np.concatenate(spectra, axis=1))  # (bins, frames), stft's layout
    basis = _mel_basis(cfg.sample_rate, n_fft, cfg.n_mels)
    mel = np.einsum("...ft,mf->...mt", power, basis, optimize=True)  # as librosa's melspectrogram
    frames = compress(mel.astype(np.float32)).T  # (frames, n_mels)
    out = np.zeros((len(starts), width, cfg.n_mels), dtype=np.float32)
    row = 0
    for i, length in enumerate(lengths):
        out[i, :length] = frames[row : row + length]
        row += length
    return out


@dataclass(frozen=True, slots=True)
class TrackWindows:
    windows: np.ndarray  # (n_windows, window_frames, n_mels) float32
    starts_seconds: tuple[float, ...]
    duration: float


def track_windows(path: Path, cfg: FeatureConfig, max_windows: int) -> TrackWindows:
    """Decode a file and cut the analysis windows the model judges it by. Raises AudioError."""
    audio = load_audio(path, cfg.sample_rate)
    n_frames = 1 + len(audio) // cfg.hop_length  # len(log_mel(audio, cfg))
    starts = window_starts(n_frames, cfg.window_frames, max_windows)
    if 2 * len(starts) * cfg.window_frames < n_frames:  # windows cover under half the track
        windows = log_mel_windows(audio, cfg, starts)
    else:  # same numbers; one STFT over the whole clip is quicker here
        windows = cut_windows(log_mel(audio, cfg), starts, cfg.window_frames)
    return TrackWindows(
        windows=windows,
        starts_seconds=tuple(cfg.frames_to_seconds(s) for s in starts),
        duration=len(audio) / cfg.sample_rate,
    )
