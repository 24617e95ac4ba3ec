"""Decode audio files to mono float32 at the model's sample rate."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from tagger.errors import AudioError

SILENCE_PEAK = 1e-4  # below this peak amplitude a track carries nothing to classify


def load_audio(path: Path, sample_rate: int) -> np.ndarray:
    """The whole file as mono float32 at `sample_rate`. Raises AudioError with a clear reason.

    libsndfile decodes mp3 (and wav, flac, ogg); resampling uses soxr_hq, as librosa.load does,
    so features match those of models trained with librosa.
    """
    _check_readable(Path(path))
    try:
        # bytes on POSIX: a file name that is not valid UTF-8 reaches libsndfile exactly
        name = os.fsencode(path) if os.name == "posix" else str(path)
        data, native_rate = sf.read(name, dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise AudioError("file not found") from None
    except PermissionError:
        raise AudioError("permission denied") from None
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioError(f"cannot decode audio: {_reason(exc)}") from None
    if data.size == 0:
        raise AudioError("no audio in the file")
    mono = _mono(data)
    if not np.all(np.isfinite(mono)):
        raise AudioError("the decoded audio holds invalid samples")
    if float(np.max(np.abs(mono))) < SILENCE_PEAK:
        raise AudioError("the audio is silent")
    if native_rate != sample_rate:
        mono = resample(mono, native_rate, sample_rate)
    return np.ascontiguousarray(mono, dtype=np.float32)


def resample(audio: np.ndarray, native_rate: int, sample_rate: int) -> np.ndarray:
    """librosa.resample(audio, res_type="soxr_hq"), bit for bit, calling soxr directly: librosa's
    resample module imports scipy.signal and numba (about 2 s) on first use."""
    n_samples = int(np.ceil(len(audio) * (float(sample_rate) / native_rate)))
    out = soxr.resample(audio, native_rate, sample_rate, quality="soxr_hq")
    if len(out) > n_samples:
        out = out[:n_samples]
    elif len(out) < n_samples:
        out = np.pad(out, (0, n_samples - len(out)))
    return np.asarray(out, dtype=audio.dtype)


def _mono(data: np.ndarray) -> np.ndarray:
    """Mean of the channels of (samples, channels) float32, as data.mean(axis=1) gives it.

    For stereo, (left + right) / 2 on the two columns is bit-identical to mean(axis=1) and
    about 20 times faster (mean reduces each two-sample row separately).
    """
    if data.shape[1] == 1:
        return data[:, 0]
    if data.shape[1] == 2:
        return np.add(data[:, 0], data[:, 1]) / np.float32(2)
    return data.mean(axis=1)


def _check_readable(path: Path) -> None:
    """Name the common reasons up front: libsndfile reports them all as 'System error' or
    'File does not exist or is not a regular file'."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioError("file not found") from None
    except PermissionError:
        raise AudioError("permission denied") from None
    except OSError as exc:
        raise AudioError(f"cannot open the file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AudioError("not a regular file")
    if st.st_size == 0:
        raise AudioError("the file is empty")
    if not os.access(path, os.R_OK):
        raise AudioError("permission denied")


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    # libsndfile's messages start with the path, which the caller already shows.
    text = text.split(": ", 1)[-1] if ": " in text else text or type(exc).__name__
    if text.startswith("File does not exist or is not a regular file"):
        # What libsndfile says when no decoder recognises the bytes (the file itself exists).
        return "not a recognised audio format, or the file is damaged"
    return text
