"""Decode audio files to mono float32 at the model's sample rate.

libsndfile decodes MP3, FLAC, Ogg Vorbis, Opus (and WAV, AIFF); what it cannot decode (M4A: AAC
and ALAC) goes through PyAV, whose wheels carry FFmpeg's decoders. Both give float32 samples
per channel, mixed to mono and resampled here the same way, so every format gets the same
features.
"""

from __future__ import annotations

import math
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

    Resampling uses soxr_hq, as librosa.load does, so features match those of models trained
    with librosa.
    """
    if _needs_ffmpeg(path):
        data, rate = decode_with_ffmpeg(path)
        return _checked_mono(data, rate, sample_rate)
    with _opened(path) as f:
        data = _read(f)
    return _checked_mono(data, f.samplerate, sample_rate)


def _needs_ffmpeg(path: Path) -> bool:
    """MP4 content (an "ftyp" box first), which libsndfile cannot decode."""
    try:
        with open(path, "rb") as f:
            return f.read(8)[4:8] == b"ftyp"
    except OSError:
        return False  # _opened names the reason


def decode_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    """(samples, channels) float32 and the native rate of a file libsndfile cannot decode."""
    _check_readable(Path(path))
    from tagger import ffmpeg_audio

    return ffmpeg_audio.decode_whole(path)


class Segments:
    """Parts of one file at `sample_rate`, each decoded by seeking to it (a 6-minute track's
    8 analysis windows are 24 s of it), as the matching part of load_audio() would give them.

    `length` is the exact length load_audio() would return. libsndfile's frame count for mp3
    is an estimate (thousands of samples long on real files), so the true end is found by
    decoding the last second or so. A part is resampled with MARGIN native samples of context
    on both sides and starts on a sample where both rates meet, so it lines up with the whole
    track resampled at once: the samples agree within about 1e-6 (soxr's filter sees the same
    neighbourhood) and mpg123's seek is exact to about 1e-8. A file only FFmpeg decodes (M4A) is
    read through tagger.ffmpeg_audio.Source, which seeks (exactly, for AAC-LC and ALAC) or decodes
    the file whole.
    """

    MARGIN = 4096  # native samples of context each side: well over soxr_hq's filter length

    def __init__(self, path: Path, sample_rate: int) -> None:
        self.path, self.sample_rate = Path(path), sample_rate
        self._file = _opened(path)
        self._ffmpeg = None  # tagger.ffmpeg_audio.Source for the files libsndfile cannot decode
        try:
            if _needs_ffmpeg(path):
                _check_readable(self.path)
                from tagger import ffmpeg_audio

                self._ffmpeg = ffmpeg_audio.Source(path)
                self.native_rate, self.native_length = self._ffmpeg.rate, self._ffmpeg.length
            else:
                f = self._file.__enter__()
                self.native_rate = f.samplerate
                self.native_length = self._true_length(f)
            if self.native_length == 0:
                raise AudioError("no audio in the file")
            self.length = int(np.ceil(self.native_length * (float(sample_rate) / self.native_rate)))
            step = math.gcd(self.native_rate, sample_rate)
            self._in_step, self._out_step = self.native_rate // step, sample_rate // step
            self._peak = 0.0
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _true_length(f: sf.SoundFile) -> int:
        start = max(0, f.frames - 4 * f.samplerate)
        try:
            f.seek(start)
        except (sf.LibsndfileError, RuntimeError):
            start = 0
            f.seek(0)
        return start + len(_read(f))

    def close(self) -> None:
        self._file.__exit__(None, None, None)
        if self._ffmpeg is not None:
            self._ffmpeg.close()

    def __enter__(self) -> Segments:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) at `sample_rate` (zeros outside the track), mono float32."""
        out = np.zeros(stop - start, dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self.length)
        if lo >= hi:
            return out
        ratio = self.native_rate / self.sample_rate
        first = max(0, int(lo * ratio) - self.MARGIN)
        first -= first % self._in_step  # a native sample that maps onto a whole output sample
        last = min(self.native_length, int(np.ceil(hi * ratio)) + self.MARGIN)
        mono = self._native(first, last)
        if not np.all(np.isfinite(mono)):
            raise AudioError("the decoded audio holds invalid samples")
        self._peak = max(self._peak, float(np.max(np.abs(mono))) if len(mono) else 0.0)
        if self.native_rate != self.sample_rate:
            # what the whole track's resampling gives from this part's first output sample on
            mono = soxr.resample(mono, self.native_rate, self.sample_rate, quality="soxr_hq")
        offset = first // self._in_step * self._out_step
        piece = mono[lo - offset : hi - offset]
        out[lo - start : lo - start + len(piece)] = piece
        return out

    def _native(self, first: int, last: int) -> np.ndarray:
        if self._ffmpeg is not None:
            return _mono(self._ffmpeg.read(first, last))
        f = self._file.handle
        try:
            f.seek(first)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"cannot decode audio: {_reason(exc)}") from None
        return _mono(_read(f, last - first))

    def check_not_silent(self) -> None:
        """After reading: the parts read carry sound (as load_audio checks for the whole track)."""
        if self._peak < SILENCE_PEAK:
            raise AudioError("the audio is silent")


class _opened:
    """libsndfile's SoundFile for `path`, with the common failures named up front."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.handle: sf.SoundFile | None = None

    def __enter__(self) -> sf.SoundFile:
        _check_readable(self.path)
        # bytes on POSIX: a file name that is not valid UTF-8 reaches libsndfile exactly
        name = os.fsencode(self.path) if os.name == "posix" else str(self.path)
        try:
            self.handle = sf.SoundFile(name)
        except FileNotFoundError:
            raise AudioError("file not found") from None
        except PermissionError:
            raise AudioError("permission denied") from None
        except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
            raise AudioError(f"cannot decode audio: {_reason(exc)}") from None
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _read(f: sf.SoundFile, frames: int = -1) -> np.ndarray:
    """(samples, channels) float32 from the current position; AudioError when decoding fails."""
    try:
        return f.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioError(f"cannot decode audio: {_reason(exc)}") from None


def _checked_mono(data: np.ndarray, native_rate: int, sample_rate: int) -> np.ndarray:
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
