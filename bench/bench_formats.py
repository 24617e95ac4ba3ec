"""Decode speed and exactness per format, in the same run, on the same real music.

The shared full-length mp3 tracks are decoded once and encoded as FLAC, Ogg Vorbis, Opus,
M4A AAC and M4A ALAC (stereo, the track's own rate; Opus at 48 kHz). Each file is then decoded
whole, to float32 at its native rate, by every decoder that can read it:

- libsndfile (soundfile): what genrenet uses for MP3, FLAC, Ogg Vorbis and Opus;
- PyAV (FFmpeg's libraries in its wheels): what genrenet uses for M4A;
- the `ffmpeg` program of imageio-ffmpeg (a static FFmpeg on PyPI) through a pipe, the other
  wheel-only way to decode M4A, when that package is installed (`pip install imageio-ffmpeg`).

It prints tracks/s and CPU-ms per track for each, the largest sample difference between the
decoders of one file, and genrenet's own path (tagger.audio.Segments: the 8 analysis windows
at 16 kHz) per format.

    python -m bench formats -- [--tracks N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from tagger.audio import Segments, decode_with_ffmpeg, load_audio
from tagger.features import window_starts

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fulltracks"
FORMATS = ("mp3", "flac", "ogg", "opus", "aac.m4a", "alac.m4a")


def _encode(source: np.ndarray, rate: int, out: Path, fmt: str) -> Path:
    path = out.with_suffix("." + fmt)
    if fmt == "flac":
        _write_blocks(path, source, rate, "FLAC", "PCM_16")
    elif fmt == "ogg":
        _write_blocks(path, source, rate, "OGG", "VORBIS")
    elif fmt == "opus":
        import soxr

        _write_blocks(path, soxr.resample(source, rate, 48000).astype(np.float32), 48000, "OGG", "OPUS")
    else:
        _encode_m4a(source, rate, path, fmt.split(".")[0])
    return path


def _write_blocks(path: Path, audio: np.ndarray, rate: int, fmt: str, subtype: str) -> None:
    """sf.write in blocks: libsndfile 1.2's Vorbis encoder crashes on one write of a whole track."""
    with sf.SoundFile(path, "w", rate, audio.shape[1], subtype, format=fmt) as f:
        for start in range(0, len(audio), 1 << 15):
            f.write(audio[start : start + (1 << 15)])


def _encode_m4a(source: np.ndarray, rate: int, path: Path, codec: str) -> None:
    import av

    with av.open(str(path), "w", format="ipod") as container:
        stream = container.add_stream(codec, rate=rate, layout="stereo")
        planar = np.ascontiguousarray(source.T)
        fmt = "s16p" if source.dtype == np.int16 else "fltp"
        for start in range(0, planar.shape[1], 1 << 16):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, start : start + (1 << 16)]),
                                               format=fmt, layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _libsndfile(path: Path) -> np.ndarray:
    return sf.read(path, dtype="float32", always_2d=True)[0]


def _pyav(path: Path) -> np.ndarray:
    return decode_with_ffmpeg(path)[0]


def _ffmpeg_program() -> Callable[[Path], np.ndarray] | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    exe = imageio_ffmpeg.get_ffmpeg_exe()

    def decode(path: Path) -> np.ndarray:
        probe = sf.info(path).channels if path.suffix != ".m4a" else 2
        raw = subprocess.run([exe, "-v", "error", "-i", str(path), "-f", "f32le", "-acodec", "pcm_f32le", "-"],
                             capture_output=True, check=True).stdout
        return np.frombuffer(raw, dtype=np.float32).reshape(-1, probe)

    return decode


def _windows(path: Path) -> None:
    """genrenet's classify input: the 8 analysis windows of the track at 16 kHz."""
    with Segments(path, 16000) as parts:
        for start in window_starts(parts.length, 3 * 16000, 8):
            parts.read(start, start + 3 * 16000)


def _timed(fn: Callable[[Path], object], files: Sequence[Path], repeat: int) -> tuple[float, float, object]:
    """Best wall time and CPU time (this process and its children: the ffmpeg program) of R passes."""
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu()
        result = [fn(p) for p in files]
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, _cpu() - cpu)
    return best_wall, best_cpu, result


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench formats", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=3, help="how many of the shared full tracks (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="best of R passes (default 3)")
    args = parser.parse_args(argv)
    sources = sorted(DATA.glob("*.mp3"))[: args.tracks]
    if not sources:
        print(f"bench formats: no full tracks in {DATA}; nothing measured")
        return 1
    ffmpeg = _ffmpeg_program()
    decoders: dict[str, Callable[[Path], np.ndarray]] = {"libsndfile": _libsndfile, "PyAV": _pyav}
    if ffmpeg is not None:
        decoders["ffmpeg program"] = ffmpeg
    else:
        print("(imageio-ffmpeg is not installed: the ffmpeg-program column is left out)")
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, list[Path]] = {fmt: [] for fmt in FORMATS}
        minutes = 0.0
        for i, src in enumerate(sources):
            audio, rate = sf.read(src, dtype="float32", always_2d=True)
            minutes += len(audio) / rate / 60
            files["mp3"].append(src)  # the shared file itself (real encoder, real tags)
            for fmt in FORMATS[1:]:
                if fmt == "alac.m4a":  # the FLAC file's 16-bit samples, so the two lossless files hold the same
                    audio = sf.read(files["flac"][-1], dtype="int16", always_2d=True)[0]
                files[fmt].append(_encode(audio, rate, Path(tmp) / f"t{i}", fmt))
        print(f"{len(sources)} full tracks ({minutes:.1f} min in all), best of {args.repeat}; whole-track decode to "
              "float32 at the native rate, and genrenet's 8 windows at 16 kHz")
        print(f"{'format':<10} {'decoder':<15} {'tracks/s':>9} {'CPU-ms/track':>13} {'max diff vs first':>18}")
        for fmt, paths in files.items():
            reference = None
            for name, decode in decoders.items():
                if name == "libsndfile" and fmt.endswith("m4a"):
                    continue
                wall, cpu, decoded = _timed(decode, paths, args.repeat)
                if reference is None:
                    reference, diff = decoded, "-"
                else:
                    diff = f"{_max_diff(reference, decoded):.2e}"
                print(f"{fmt:<10} {name:<15} {len(paths) / wall:>9.1f} {1000 * cpu / len(paths):>13.0f} {diff:>18}")
            wall, cpu, _ = _timed(_windows, paths, args.repeat)
            print(f"{fmt:<10} {'genrenet 8 win':<15} {len(paths) / wall:>9.1f} {1000 * cpu / len(paths):>13.0f}")
        exact = [_max_diff([load_audio(p, 16000)], [load_audio(files["flac"][i], 16000)])
                 for i, p in enumerate(files["alac.m4a"])]
        print(f"ALAC vs FLAC of the same 16-bit audio, at 16 kHz: largest difference {max(exact):.2e}")
    return 0


def _max_diff(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    """Largest sample difference over the common length (decoders may differ in trailing padding)."""
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        n = min(len(x), len(y))
        worst = max(worst, float(np.max(np.abs(x[:n] - y[:n]))) if n else 0.0)
    return worst
