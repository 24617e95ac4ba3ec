"""Decoding through PyAV (FFmpeg's libraries, shipped in its wheels), for what libsndfile cannot
decode: M4A/MP4 audio (AAC, ALAC).

Samples come out as (samples, channels) float32 at the stream's own rate. Each frame is taken in
the decoder's own sample format and scaled here as libsndfile scales integers (1/32768 for
16-bit): no FFmpeg resampler (it would cost more than the decoding) and no FFmpeg channel mixing
(tagger.audio mixes every format the same way).

`Source` reads parts of a file. For AAC-LC and ALAC it seeks: every packet is a key frame, and
AAC's overlap between frames reaches back one frame only, so after a seek the decoder's output
is bit-identical to a whole-file decode from the second frame on (WARMUP frames are decoded and
thrown away). Other codecs (HE-AAC's SBR state reaches further, MP3 in MP4 has a bit
reservoir) are decoded whole, once.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from tagger.errors import AudioError

WARMUP = 2  # frames decoded and dropped after a seek
_SEEKABLE = {("aac", "LC"), ("alac", None)}


def decode_whole(path: Path) -> tuple[np.ndarray, int]:
    """(samples, channels) float32 and the sample rate of the file's first audio stream: what
    Source.read gives for the whole stream, so windows cut from either agree exactly."""
    with Source(path) as source:
        return source.read(0, source.length), source.rate


class Source:
    """One file's first audio stream: `rate`, exact `length` in samples, and read(first, last)."""

    def __init__(self, path: Path, seek: bool = True) -> None:
        import av  # about 0.1 s to load FFmpeg's libraries: only for the files that need them

        self._av = av
        self.path = Path(path)
        self._raw = None
        self._container = None
        self._whole: np.ndarray | None = None
        try:
            self._raw = open(self.path, "rb")  # a file object: any file name reaches FFmpeg exactly
            self._open()
            ctx = self._stream.codec_context
            self.rate = int(ctx.sample_rate or 0)
            if not self.rate:
                raise AudioError("the audio stream has no sample rate")
            self._to_samples = Fraction(self._stream.time_base) * self.rate
            self._seekable = seek and (ctx.name, ctx.profile) in _SEEKABLE and self._stream.duration is not None
            if self._seekable:
                self.length = self._true_length()
            else:
                self._whole = self._decode_from(0, None)
                self.length = len(self._whole)
        except self._errors() as exc:
            self.close()
            raise AudioError(f"cannot decode audio: {_reason(exc)}") from None
        except BaseException:
            self.close()
            raise
        if self.length == 0:
            self.close()
            raise AudioError("no audio in the file")

    def _open(self) -> None:
        """A fresh container and decoder at the start of the file."""
        if self._container is not None:
            self._container.close()
        self._raw.seek(0)
        self._container = self._av.open(self._raw, "r")
        self._stream = next((s for s in self._container.streams if s.type == "audio"), None)
        if self._stream is None:
            raise AudioError("the file has no audio stream")

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (self._av.FFmpegError, OSError, ValueError)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, first: int, last: int) -> np.ndarray:
        """Samples [first, last) as (samples, channels) float32 (fewer at the end of the stream)."""
        first, last = max(0, first), min(last, self.length)
        if self._whole is not None:
            return self._whole[first:last]
        try:
            return self._decode_from(first, last)
        except self._errors() as exc:
            raise AudioError(f"cannot decode audio: {_reason(exc)}") from None

    def _true_length(self) -> int:
        """The end of the last frame the decoder gives, found by decoding the last seconds."""
        estimate = int(self._stream.duration * self._to_samples)
        tail = self._decode_from(max(0, estimate - 4 * self.rate), None, keep=False)
        return int(tail)

    def _decode_from(self, first: int, last: int | None, keep: bool = True):
        """Decode [first, last) (None: to the end). keep=False: only the end sample index."""
        target = first - (WARMUP + 2) * 8192  # ALAC frames are 4096 samples, AAC's 1024
        warm = self._seekable and target > 0
        if warm:
            self._container.seek(int(target / self._to_samples), stream=self._stream, backward=True)
            self._stream.codec_context.flush_buffers()
        elif self._seekable:
            self._open()  # from the start: a fresh decoder, exactly as a whole-file decode starts
        chunks: list[tuple[int, np.ndarray]] = []
        end, dropped, position = 0, 0, 0
        for frame in self._container.decode(self._stream):
            samples = _samples(frame)
            at = position if frame.pts is None or not self._seekable else int(round(frame.pts * self._to_samples))
            position = at + len(samples)
            if warm and dropped < WARMUP:
                dropped += 1
                continue
            end = at + len(samples)
            if keep and end > first:
                chunks.append((at, samples))
            if last is not None and end >= last:
                break
        if not keep:
            return end
        if not chunks:
            return np.zeros((0, 1), dtype=np.float32)
        begin = chunks[0][0]
        if warm and begin > first:
            raise AudioError("the decoder did not reach the part asked for after seeking")
        data = np.concatenate([c for _, c in chunks])
        return data[first - begin : (last - begin) if last is not None else None]


def _samples(frame) -> np.ndarray:
    """(samples, channels) float32 of one decoded frame."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    data = data.T if frame.format.is_planar else data.reshape(-1, channels)
    if data.dtype.kind == "f":
        return data.astype(np.float32, copy=False)
    info = np.iinfo(data.dtype)
    scale = np.float32(-float(info.min)) if info.kind == "i" else np.float32(2.0 ** (info.bits - 1))
    values = data.astype(np.float32)
    return values / scale if info.kind == "i" else values / scale - np.float32(1)


def _reason(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__
