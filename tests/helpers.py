"""Small real test material: audio files written with soundfile (mp3, FLAC, Ogg Vorbis, Opus) or
PyAV (M4A: AAC, ALAC), tagged with mutagen, and a tiny genre model trained for a few steps on
generated audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from mutagen.id3 import (
    APIC,
    COMM,
    ID3,
    TALB,
    TCMP,
    TCON,
    TDRC,
    TIT2,
    TPE1,
    TPE2,
    TPOS,
    TRCK,
    TXXX,
    TYER,
    USLT,
)

from tagger import models
from tagger.checkpoint import save_checkpoint
from tagger.features import FeatureConfig, cut_windows, log_mel, window_starts

SR = 22050
TINY_LABELS = ("Tone", "Noise")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def tone(seconds: float, freq: float = 330.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a little vibrato: clearly 'Tone' to the tiny model."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f = freq * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    y = sum(np.sin(k * phase) / k for k in (1, 2, 3))
    return (0.3 * y / 1.83 + 0.002 * rng.standard_normal(len(t))).astype(np.float32)


def noise(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Bursts of white noise: clearly 'Noise' to the tiny model."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    envelope = (np.sin(2 * np.pi * 4 * np.arange(n) / sr) > 0).astype(np.float32) * 0.8 + 0.2
    return (0.3 * rng.standard_normal(n) * envelope).astype(np.float32).clip(-1, 1)


def write_mp3(path: Path, audio: np.ndarray, sr: int = SR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, sr, format="MP3")
    return path


def tag_mp3(
    path: Path,
    *,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    genre: str | list[str] | None = None,
    rich: bool = False,
    v2_version: int = 3,
    **album_fields,
) -> None:
    """Add ID3 tags; `rich` adds cover art, a comment, lyrics and a TXXX frame to preserve;
    album_fields: ALBUM_FIELDS as text ("3/12", "2004-05-01"), compilation=True."""
    tags = ID3()
    if title:
        tags.add(TIT2(encoding=3, text=title))
    if artist:
        tags.add(TPE1(encoding=3, text=artist))
    if album:
        tags.add(TALB(encoding=3, text=album))
    if genre:
        tags.add(TCON(encoding=3, text=[genre] if isinstance(genre, str) else genre))
    for name, value in _album_texts(album_fields).items():
        if name == "date" and v2_version == 3:
            tags.add(TYER(encoding=3, text=value[:4]))  # v2.3 has no TDRC: taggers write the year as TYER
        else:
            tags.add(_ID3_FRAMES[name](encoding=3, text=value))
    if rich:
        tags.add(APIC(encoding=3, mime="image/png", type=3, desc="cover", data=b"\x89PNG\r\n" + bytes(range(256))))
        tags.add(COMM(encoding=3, lang="eng", desc="", text="keep this comment"))
        tags.add(USLT(encoding=3, lang="eng", desc="", text="la la la"))
        tags.add(TXXX(encoding=3, desc="MusicBrainz Album Id", text="0f3f-keep"))
    tags.save(str(path), v2_version=v2_version)


OPUS_SR = 48000  # libsndfile's Opus encoder takes 8, 12, 16, 24 or 48 kHz


def write_audio(path: Path, audio: np.ndarray, sr: int = SR, codec: str | None = None) -> Path:
    """`audio` encoded by the file's suffix: .mp3, .flac, .ogg (Vorbis), .opus, .m4a (AAC, or
    `codec="alac"`). Opus is resampled to 48 kHz first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".m4a":
        return _write_m4a(path, audio, sr, codec or "aac")
    if suffix == ".opus":
        import soxr

        audio = soxr.resample(audio, sr, OPUS_SR).astype(np.float32)
        sf.write(str(path), audio, OPUS_SR, format="OGG", subtype="OPUS")
        return path
    formats = {".mp3": ("MP3", None), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}
    fmt, subtype = formats[suffix]
    sf.write(str(path), audio, sr, format=fmt, subtype=subtype)
    return path


def _write_m4a(path: Path, audio: np.ndarray, sr: int, codec: str, faststart: bool = False) -> Path:
    import av

    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format="ipod", options=options) as container:
        stream = container.add_stream(codec, rate=sr, layout="mono")
        if codec == "alac":
            data, fmt = (np.clip(audio, -1, 1) * 32767).astype(np.int16)[None, :], "s16p"
        else:
            data, fmt = audio.astype(np.float32)[None, :], "fltp"
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate = sr
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _png(width: int = 8, height: int = 8) -> bytes:
    """A real (decodable) RGB PNG: a cover image the app can show."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixel = [(40 * x % 256, 30 * y % 256, 200) for y in range(height) for x in range(width)]
    rows = b"".join(b"\x00" + bytes(c for p in pixel[y * width : (y + 1) * width] for c in p) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PICTURE = _png()


# the album fields the tag helpers write (keyword -> ID3 frame, Vorbis comment key)
ALBUM_FIELDS = ("track", "disc", "date", "album_artist", "compilation")
_ID3_FRAMES = {"track": TRCK, "disc": TPOS, "date": TDRC, "album_artist": TPE2, "compilation": TCMP}
_VORBIS_KEYS = {"track": "TRACKNUMBER", "disc": "DISCNUMBER", "date": "DATE", "album_artist": "ALBUMARTIST",
                "compilation": "COMPILATION"}


# every album field set, for tests: a compilation's third of twelve tracks on its second disc
ALBUM_TAGS = {"track": "3/12", "disc": "2", "date": "2004-05-01", "album_artist": "Various Artists",
              "compilation": True}


def _album_texts(fields: dict) -> dict[str, str]:
    """The album fields given, as the text taggers store (compilation: "1")."""
    unknown = set(fields) - set(ALBUM_FIELDS)
    if unknown:
        raise TypeError(f"unknown tag fields: {sorted(unknown)}")
    return {k: "1" if v is True else str(v) for k, v in fields.items() if v not in (None, False)}


def _mp4_album_items(fields: dict) -> dict:
    """The album fields given, as MP4 items: trkn/disk (number, total) pairs, cpil a bool."""
    items: dict = {}
    for name, text in _album_texts(fields).items():
        if name in ("track", "disc"):
            number, _, total = text.partition("/")
            items["trkn" if name == "track" else "disk"] = [(int(number), int(total or 0))]
        elif name == "compilation":
            items["cpil"] = True
        else:
            items["\xa9day" if name == "date" else "aART"] = text
    return items


def tag_file(
    path: Path,
    *,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    genre: str | list[str] | None = None,
    rich: bool = False,
    v2_version: int = 3,
    **album_fields,
) -> None:
    """Tags for any format through mutagen (tag_mp3 for .mp3); `rich` adds cover art, a comment
    and a MusicBrainz id that a genre write must keep; album_fields as tag_mp3 takes them."""
    if path.suffix.lower() == ".mp3":
        return tag_mp3(path, title=title, artist=artist, album=album, genre=genre, rich=rich, v2_version=v2_version,
                       **album_fields)
    import base64

    import mutagen
    from mutagen.flac import Picture

    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    genres = [genre] if isinstance(genre, str) else genre
    if path.suffix.lower() == ".m4a":
        from mutagen.mp4 import MP4Cover

        for key, value in (("\xa9nam", title), ("\xa9ART", artist), ("\xa9alb", album), ("\xa9gen", genres)):
            if value:
                audio.tags[key] = value
        audio.tags.update(_mp4_album_items(album_fields))
        if rich:
            audio.tags["covr"] = [MP4Cover(PICTURE, imageformat=MP4Cover.FORMAT_PNG)]
            audio.tags["\xa9cmt"] = "keep this comment"
            audio.tags["----:com.apple.iTunes:MusicBrainz Album Id"] = b"0f3f-keep"
    else:
        for key, value in (("TITLE", title), ("ARTIST", artist), ("ALBUM", album), ("GENRE", genres)):
            if value:
                audio.tags[key] = value
        for name, text in _album_texts(album_fields).items():
            audio.tags[_VORBIS_KEYS[name]] = text
        if rich:
            audio.tags["COMMENT"] = "keep this comment"
            audio.tags["MUSICBRAINZ_ALBUMID"] = "0f3f-keep"
            picture = Picture()
            picture.type, picture.mime, picture.data = 3, "image/png", PICTURE
            if path.suffix.lower() == ".flac":
                audio.add_picture(picture)
            else:
                audio.tags["METADATA_BLOCK_PICTURE"] = base64.b64encode(picture.write()).decode("ascii")
    audio.save()


def make_track(path: Path, kind: str = "tone", seconds: float = 8.0, seed: int = 0, codec: str | None = None,
               **tags) -> Path:
    """A real audio file of the format its suffix names (see write_audio), tagged when asked."""
    audio = tone(seconds, seed=seed, freq=220 + 40 * seed) if kind == "tone" else noise(seconds, seed=seed)
    write_audio(path, audio, codec=codec)
    if tags:
        tag_file(path, **tags)
    return path


def train_tiny_model(out: Path, steps: int = 40, seed: int = 0) -> Path:
    """Train compact_cnn for a few steps to tell generated tones from noise; save a checkpoint.
    On one thread: a model this small gains nothing from two, and with anything else running
    two threads spin against each other (27 s against 3.4 s measured with the other core busy)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_tiny_model(out, steps, seed)
    finally:
        torch.set_num_threads(threads)


def _train_tiny_model(out: Path, steps: int, seed: int) -> Path:
    torch.manual_seed(seed)
    cfg = FeatureConfig()
    import librosa

    def windows(audio: np.ndarray) -> np.ndarray:
        audio16 = librosa.resample(audio, orig_sr=SR, target_sr=cfg.sample_rate)
        mel = log_mel(audio16, cfg)
        return cut_windows(mel, window_starts(len(mel), cfg.window_frames, 4), cfg.window_frames)

    xs, ys = [], []
    for i in range(6):
        for label, audio in enumerate((tone(7.0, freq=200 + 50 * i, seed=i), noise(7.0, seed=i))):
            w = windows(audio)
            xs.append(w)
            ys += [label] * len(w)
    x = torch.from_numpy(np.concatenate(xs))
    y = torch.tensor(ys)
    arch_kwargs = {"n_labels": len(TINY_LABELS), "n_mels": cfg.n_mels, "width": 4}
    model = models.build("compact_cnn", **arch_kwargs)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (16,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    save_checkpoint(
        out,
        model=model,
        arch="compact_cnn",
        arch_kwargs=arch_kwargs,
        labels=TINY_LABELS,
        features=cfg,
        metrics={"final_loss": loss.item()},
        trained_on={"datasets": ["generated tones and noise"], "steps": steps},
    )
    return out
