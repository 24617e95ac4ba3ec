"""A track's cover art: the picture embedded in its tags, else an image file in its folder.

Embedded pictures are read with mutagen, per format: ID3 APIC frames, FLAC PICTURE blocks, Ogg
METADATA_BLOCK_PICTURE comments (base64 FLAC picture blocks), MP4 `covr`. The front cover (type 3)
wins over other pictures. Without one, the folder's cover.jpg, folder.jpg, front.jpg (or .png),
as most players look for them. Read-only: nothing is ever written here.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import mutagen
from mutagen.flac import Picture

FRONT_COVER = 3
FOLDER_IMAGES = ("cover", "folder", "front", "albumart")
MAX_BYTES = 32 << 20  # a larger "picture" is not one we show


def read_cover(path: Path) -> bytes | None:
    """The image bytes to show for `path`, or None. Never raises for an odd file."""
    try:
        embedded = _embedded(Path(path))
    except Exception:  # a damaged tag still has a folder image, maybe
        embedded = None
    return embedded if embedded else _folder_image(Path(path).parent)


def _embedded(path: Path) -> bytes | None:
    audio = mutagen.File(path)
    if audio is None or audio.tags is None:
        return None
    pictures: list[tuple[int, bytes]] = []  # (picture type, data)
    tags = audio.tags
    if hasattr(tags, "getall"):  # ID3
        pictures += [(frame.type, frame.data) for frame in tags.getall("APIC")]
    pictures += [(p.type, p.data) for p in getattr(audio, "pictures", [])]  # FLAC
    if "covr" in tags:  # MP4: no types; the first is the front cover by convention
        pictures += [(FRONT_COVER, bytes(c)) for c in tags["covr"][:1]]
    for value in (tags.get("metadata_block_picture", []) if not hasattr(tags, "getall") else []):
        try:
            picture = Picture(base64.b64decode(value))
            pictures.append((picture.type, picture.data))
        except (ValueError, TypeError, mutagen.MutagenError):
            continue
    pictures = [(t, d) for t, d in pictures if d and len(d) <= MAX_BYTES]
    if not pictures:
        return None
    return next((d for t, d in pictures if t == FRONT_COVER), pictures[0][1])


def _folder_image(folder: Path) -> bytes | None:
    try:
        names = {e.name.lower(): e.path for e in os.scandir(folder) if e.is_file()}
    except OSError:
        return None
    for stem in FOLDER_IMAGES:
        for suffix in (".jpg", ".jpeg", ".png"):
            found = names.get(stem + suffix)
            if found:
                try:
                    if os.path.getsize(found) <= MAX_BYTES:
                        return Path(found).read_bytes()
                except OSError:
                    continue
    return None
