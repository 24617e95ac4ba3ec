"""M4A/MP4 files (AAC, ALAC): read tags with mutagen, write the genre item of iTunes metadata raw.

Reading goes through mutagen. Writing does not let mutagen save: its save re-renders the whole
`ilst` (items re-sorted, values re-encoded, padding reshuffled). Instead the atom tree is walked
here (size u32 BE + type; size 1: a u64 size follows; size 0: to the end of the file, top level
only) along moov > udta > meta (a full box: 4 bytes of version/flags before its children) > ilst,
and the new file is described as pieces: ranges of the original for every atom that is not edited
(other ilst items, covr, `----` atoms, hdlr, mvhd, trak, the mdat payload) and literal bytes only
for what changes: the genre item, the size fields of its ancestors, one `free` atom, and, when
the audio has to move, the chunk offset tables. tagger.tags.base.rewrite does the rest (copy,
verify, atomic swap, undo snapshot).

Decisions:
- **The genre field.** `©gen` holds one `data` atom per genre (type 1 = UTF-8, locale 0), the
  way mutagen writes several values and reads them back as a list. An old `gnre` atom (an ID3v1
  genre code) is the same field in another form: it is removed whenever the genre is written, so
  no reader can show a stale value. The new `©gen` takes the place of the first old `©gen` or
  `gnre` in `ilst`, else it goes at the end of `ilst`. No genres: both are removed. The journal's
  old value (Edit.old_genre) is the old `©gen` and `gnre` atoms as stored, concatenated. Where
  there are several moov/udta/meta/ilst candidates, the first is used, as mutagen does.
- **Missing atoms.** A file without udta, meta or ilst gets what is missing, after the last
  child of its parent that is not padding: meta with an `hdlr` of handler type 'mdir' and
  manufacturer 'appl' (what iTunes writes; FFmpeg writes the same bytes). Removing genres from
  such a file changes nothing.
- **Keeping the audio in place.** The genre item changes the size of ilst by `delta`, and so the
  sizes of meta, udta and moov. In this order:
  (a) a `free`/`skip` atom right after ilst in meta, right after meta in udta, right after udta
      in moov, or right after moov at the top level is resized by -delta (it stays >= 8 bytes,
      else it is not used), so nothing after it moves;
  (b) otherwise, when no media data lies after moov (moov at the end, as FFmpeg writes by
      default) moov simply grows: nothing that anything points at moves; no padding is added;
  (c) otherwise (moov before mdat) the audio moves: when the genre shrinks by >= 8 bytes a new
      `free` atom of that size fills the gap after ilst instead; when it grows, a fresh 1 KiB
      `free` atom is left after ilst in meta (replacing a too small one there) so that later
      edits fit without moving the audio again, and every chunk offset in every `stco` (u32)
      and `co64` (u64) table under moov/trak/mdia/minf/stbl that points past moov is shifted.
      A u32 offset that would pass 4 GiB is refused, as are fragmented files (`moof` atoms),
      whose fragments carry offsets of their own, and tables with auxiliary offsets (`saio`).
- **Damage.** An atom that runs past its parent or the end of the file, a size below the header,
  a size-0 atom below the top level, non-zero stray bytes inside a container, no ftyp or no moov:
  all refused with a LayoutError (WriteError for the user) before anything is written; the file
  is left alone. Reading never lets a mutagen exception escape: it becomes a ReadError, and
  reading checks the same atom structure (headers only), so a file that mutagen reads past its
  damage (a truncated moov or mdat) is reported as damaged when scanned, not only when written.
- **Verification.** The finished copy is re-read with mutagen (`©gen` as intended, absent when
  removed; codec and duration as before) and the first and last chunk of every track are
  compared with the original's through the new offset tables.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mutagen.mp4 import MP4

from tagger.errors import ReadError, WriteError
from tagger.tags import fields
from tagger.tags.base import Edit, LayoutError, Piece, TagInfo, read_exact, reason

GENRE = b"\xa9gen"
GNRE = b"gnre"
PADDING_TYPES = (b"free", b"skip")
NEW_PADDING = 1024  # the free atom left after ilst when the audio has to move anyway
_U32 = 0xFFFFFFFF
_CHUNK_CHECK = 32  # bytes compared at a chunk's offset when verifying the copy


# ---------------------------------------------------------------------------------- reading


def read_tags(path: Path) -> TagInfo:
    """Title, artist, album, genres, duration and format (AAC or ALAC) of one MP4 file.

    Raises ReadError when the file cannot be parsed or holds no audio genrenet supports.
    """
    path = Path(path)
    try:  # mutagen reads past some damage (a truncated moov or mdat) that a write refuses
        with open(path, "rb") as f:
            parse(f, os.fstat(f.fileno()).st_size)
        audio = MP4(path)
    except Damaged as exc:
        raise ReadError(f"{path}: not a readable MP4 file ({exc.detail})") from None
    except LayoutError:  # a layout a write refuses (several moov atoms) is still readable
        audio = _mutagen(path)
    except FileNotFoundError:
        raise ReadError(f"{path}: file not found") from None
    except PermissionError:
        raise ReadError(f"{path}: permission denied") from None
    except Exception as exc:  # mutagen raises many kinds of exception on a damaged file
        raise ReadError(f"{path}: not a readable MP4 file ({reason(exc)})") from None
    codec = str(getattr(audio.info, "codec", "") or "")
    if codec.startswith("mp4a"):
        fmt = "AAC"
    elif codec == "alac":
        fmt = "ALAC"
    else:
        raise ReadError(f"{path}: MP4 file with a codec genrenet does not support ({codec or 'no audio track'})")
    length = getattr(audio.info, "length", None)
    tags = audio.tags or {}
    genres = tuple(g for g in (str(v).strip() for v in tags.get("\xa9gen", [])) if g)
    return TagInfo(
        title=_text(tags, "\xa9nam"),
        artist=_text(tags, "\xa9ART"),
        album=_text(tags, "\xa9alb"),
        genres=genres,
        duration=float(length) if length else None,
        format=fmt,
        **_album_fields(tags),
    )


def _album_fields(tags) -> dict:
    track, track_total = _pair(tags, "trkn")
    return {
        "track_number": track,
        "track_total": track_total,
        "disc_number": _pair(tags, "disk")[0],
        "year": fields.year(_text(tags, "\xa9day")),
        "album_artist": _text(tags, "aART"),
        "compilation": bool(tags.get("cpil")),
    }


def _pair(tags, key: str) -> tuple[int | None, int | None]:
    """trkn and disk hold (number, total) pairs; 0 means not set."""
    values = tags.get(key) or [()]
    number, total = (tuple(values[0]) + (0, 0))[:2]
    return number or None, total or None


def _mutagen(path: Path) -> MP4:
    try:
        return MP4(path)
    except Exception as exc:  # mutagen raises many kinds of exception on a damaged file
        raise ReadError(f"{path}: not a readable MP4 file ({reason(exc)})") from None


def _text(tags, key: str) -> str | None:
    values = [str(v) for v in tags.get(key, []) if str(v)]
    return "; ".join(values) if values else None


# ---------------------------------------------------------------------------------- atoms


class Damaged(LayoutError):
    """The atom structure is broken, or the file is no MP4 at all; `detail` says how."""

    def __init__(self, detail: str, what: str = "damaged MP4 file") -> None:
        super().__init__(f"{what}: {detail}")
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Atom:
    kind: bytes
    start: int
    end: int
    header: int  # 8, or 16 with a 64-bit size
    size_field: int  # the stored 32-bit size field: 0 (to the end of the file), 1 (64-bit) or the size

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def body(self) -> int:
        return self.start + self.header


def _name(kind: bytes) -> str:
    text = kind.decode("latin-1")
    return f"'{text}'" if text.isprintable() else f"0x{kind.hex()}"


def _read_exact(src: BinaryIO, at: int, n: int) -> bytes:
    return read_exact(src, at, n, "it is shorter than its atoms say", Damaged)


def children(src: BinaryIO, start: int, end: int, parent: Atom | None) -> list[Atom]:
    """The atoms in [start, end) of the file; `parent` None for the top level."""
    where = "the end of the file" if parent is None else f"the end of its parent {_name(parent.kind)}"
    atoms: list[Atom] = []
    pos = start
    while end - pos >= 8:
        size_field, kind = struct.unpack(">I4s", _read_exact(src, pos, 8))
        size, header = size_field, 8
        if size == 1:
            if end - pos < 16:
                raise Damaged(f"the {_name(kind)} atom at byte {pos} runs past {where}")
            (size,) = struct.unpack(">Q", _read_exact(src, pos + 8, 8))
            header = 16
        elif size == 0:
            if parent is not None:
                raise Damaged(f"the {_name(kind)} atom at byte {pos} has no size")
            size = end - pos
        if size < header:
            raise Damaged(f"the {_name(kind)} atom at byte {pos} has an impossible size ({size})")
        if pos + size > end:
            raise Damaged(f"the {_name(kind)} atom at byte {pos} runs past {where}")
        atoms.append(Atom(kind, pos, pos + size, header, size_field))
        pos += size
    if parent is not None and pos < end and any(_read_exact(src, pos, end - pos)):
        raise Damaged(f"stray bytes at the end of the {_name(parent.kind)} atom at byte {parent.start}")
    return atoms


def _first(atoms: Iterable[Atom], kind: bytes) -> Atom | None:
    return next((a for a in atoms if a.kind == kind), None)


def _meta_children(src: BinaryIO, meta: Atom) -> list[Atom]:
    if meta.size < meta.header + 4:
        raise Damaged(f"the 'meta' atom at byte {meta.start} is too short")
    return children(src, meta.body + 4, meta.end, meta)


@dataclass(slots=True)
class Tree:
    """The atoms genrenet needs: the top level, and the moov > udta > meta > ilst chain as far as
    it exists (chain[0] is moov), each container's children."""

    top: list[Atom]
    chain: list[Atom]
    kids: list[list[Atom]] = field(default_factory=list)  # kids[i]: the children of chain[i]

    def parent_kids(self, level: int) -> list[Atom]:
        """The siblings of chain[level] (the top level for moov)."""
        return self.top if level == 0 else self.kids[level - 1]


def parse(src: BinaryIO, size: int) -> Tree:
    """The file's top level and metadata chain; LayoutError when damaged or not MP4."""
    src.seek(0)
    if src.read(8)[4:8] != b"ftyp":
        raise Damaged("it does not start with an 'ftyp' atom", "not an MP4 file")
    top = children(src, 0, size, None)
    moovs = [a for a in top if a.kind == b"moov"]
    if not moovs:
        raise Damaged("it has no 'moov' atom (the index of its audio)")
    if len(moovs) > 1:
        raise LayoutError("the file has more than one 'moov' atom; genrenet does not rewrite such files")
    tree = Tree(top, [moovs[0]], [children(src, moovs[0].body, moovs[0].end, moovs[0])])
    for kind in (b"udta", b"meta", b"ilst"):
        atom = _first(tree.kids[-1], kind)
        if atom is None:
            break
        tree.chain.append(atom)
        tree.kids.append(_meta_children(src, atom) if kind == b"meta" else children(src, atom.body, atom.end, atom))
    return tree


@dataclass(frozen=True, slots=True)
class OffsetTable:
    atom: Atom  # stco or co64
    width: int  # 4 or 8
    offsets: tuple[int, ...]

    @property
    def entries_start(self) -> int:
        return self.atom.body + 8  # version/flags, entry count


def offset_tables(src: BinaryIO, tree: Tree) -> tuple[list[OffsetTable], bool]:
    """Every chunk offset table under moov/trak/mdia/minf/stbl, and whether any stbl holds
    auxiliary-information offsets (saio) that would also point into the media data."""
    tables: list[OffsetTable] = []
    has_saio = False
    for trak in (a for a in tree.kids[0] if a.kind == b"trak"):
        atom: Atom | None = trak
        for kind in (b"mdia", b"minf", b"stbl"):
            atom = _first(children(src, atom.body, atom.end, atom), kind) if atom is not None else None
        if atom is None:
            continue
        for child in children(src, atom.body, atom.end, atom):
            has_saio |= child.kind == b"saio"
            if child.kind not in (b"stco", b"co64"):
                continue
            width = 4 if child.kind == b"stco" else 8
            if child.end - child.body < 8:
                raise Damaged(f"the {_name(child.kind)} atom at byte {child.start} is too short")
            (count,) = struct.unpack(">I", _read_exact(src, child.body + 4, 4))
            if 8 + count * width > child.end - child.body:
                raise Damaged(f"the {_name(child.kind)} table at byte {child.start} "
                                  "is shorter than its entry count")
            raw = _read_exact(src, child.body + 8, count * width)
            offsets = struct.unpack(f">{count}{'I' if width == 4 else 'Q'}", raw)
            tables.append(OffsetTable(child, width, offsets))
    return tables, has_saio


# ---------------------------------------------------------------------------------- writing


@dataclass(frozen=True, slots=True)
class Splice:
    """Replace [start, stop) of the original with `data`; `level` is the chain container the
    bytes lie in (-1: top level, 0: moov, 1: udta, 2: meta, 3: ilst), which decides whose size
    the change counts in."""

    start: int
    stop: int
    data: bytes
    level: int

    @property
    def delta(self) -> int:
        return len(self.data) - (self.stop - self.start)


def atom(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def free_atom(size: int) -> bytes:
    return struct.pack(">I4s", size, b"free") + bytes(size - 8)


def genre_item(genres: tuple[str, ...]) -> bytes:
    """`©gen` with one UTF-8 `data` atom (type 1, locale 0) per genre; b"" for no genres."""
    if not genres:
        return b""
    return atom(GENRE, b"".join(atom(b"data", struct.pack(">II", 1, 0) + g.encode("utf-8")) for g in genres))


META_HDLR = atom(b"hdlr", struct.pack(">II4s4sII", 0, 0, b"mdir", b"appl", 0, 0) + b"\x00")


def _insertion_point(kids: list[Atom], content_start: int) -> int:
    """After the last child that is not padding (a free atom that follows may then absorb)."""
    last = [a for a in kids if a.kind not in PADDING_TYPES]
    return last[-1].end if last else (kids[0].start if kids else content_start)


def _content_start(a: Atom) -> int:
    return a.body + 4 if a.kind == b"meta" else a.body


def plan_genres(src: BinaryIO, st: os.stat_result, genres: tuple[str, ...]) -> Edit:
    """The new file as pieces of the original: the genre item replaced, nothing else touched."""
    size = st.st_size
    tree = parse(src, size)
    genres = tuple(genres)
    chain, kids = tree.chain, tree.kids
    deep = len(chain) - 1  # the deepest chain container that exists
    splices: list[Splice] = []
    old_items = [a for a in kids[3] if a.kind in (GENRE, GNRE)] if deep == 3 else []
    old_genre = b"".join(_read_exact(src, a.start, a.size) for a in old_items) or None
    item = genre_item(genres)
    inserted_at: int | None = None  # where a new ilst/meta/udta goes in chain[deep]

    if deep == 3:
        ilst = chain[3]
        if old_items:
            splices.append(Splice(old_items[0].start, old_items[0].end, item, 3))
            splices += [Splice(a.start, a.end, b"", 3) for a in old_items[1:]]
        elif item:
            at = kids[3][-1].end if kids[3] else ilst.body
            splices.append(Splice(at, at, item, 3))
    elif not genres:
        return Edit([range(0, size)], None)  # nothing to remove
    else:
        inserted_at = _insertion_point(kids[deep], _content_start(chain[deep]))
        splices.append(Splice(inserted_at, inserted_at, _created(deep, item, 0), deep))

    delta = sum(s.delta for s in splices)
    if delta != 0:
        splices += _settle(src, tree, splices, delta, inserted_at, item)

    # the size fields of the chain containers whose content changed
    for level, container in enumerate(chain):
        change = sum(s.delta for s in splices if s.level >= level)
        if change and container.size_field != 0:  # size 0 (to the end of the file) stays right
            splices.append(_size_splice(container, container.size + change))
    return Edit(_pieces(splices, size), old_genre)


def _created(deep: int, item: bytes, padding: int) -> bytes:
    """The atoms created below chain[deep]: ilst (in meta), meta (in udta) or udta (in moov)."""
    made = atom(b"ilst", item) + (free_atom(padding) if padding else b"")
    if deep <= 1:
        made = atom(b"meta", struct.pack(">I", 0) + META_HDLR + made)
    if deep == 0:
        made = atom(b"udta", made)
    return made


def _settle(src: BinaryIO, tree: Tree, splices: list[Splice], delta: int, inserted_at: int | None,
            item: bytes) -> list[Splice]:
    """Extra splices so that the size change `delta` of the genre edit moves as little as possible:
    a free atom absorbs it, or moov grows at the end of the file, or the audio moves (offsets).
    When the audio moves and atoms are created, their splice in `splices` is rebuilt with padding."""
    chain, kids = tree.chain, tree.kids
    deep = len(chain) - 1
    # (a) free atoms right after the edit, from the innermost level out
    candidates: list[tuple[Atom, int]] = []
    if inserted_at is not None:
        after = next((a for a in kids[deep] if a.start == inserted_at), None)
        if after is not None:
            candidates.append((after, deep))
    for level in range(deep, -1, -1):
        after = next((a for a in tree.parent_kids(level) if a.start == chain[level].end), None)
        if after is not None:
            candidates.append((after, level - 1))
    for free, level in candidates:
        if free.kind in PADDING_TYPES and 8 <= free.size - delta <= _U32:
            return [Splice(free.start, free.end, free_atom(free.size - delta), level)]

    moov = chain[0]
    after_moov = [a for a in tree.top if a.start >= moov.end]
    if not after_moov:
        return []  # (b) moov is the last atom: it grows, nothing moves
    tables, has_saio = offset_tables(src, tree)
    moves_media = any(a.kind in (b"mdat", b"moof") for a in after_moov) or any(
        o >= moov.end for t in tables for o in t.offsets)
    if not moves_media:
        return []  # (b) only atoms nothing points at follow moov: moov grows
    if any(a.kind == b"moof" for a in tree.top):
        raise LayoutError("fragmented MP4 files are not rewritten when the audio would move")
    if has_saio:
        raise LayoutError("the file has auxiliary-information offsets (saio, e.g. encryption); "
                          "genrenet does not rewrite it when the audio would move")

    # (c) the audio moves: fill a shrink with a new free atom, or grow with fresh padding
    extra: list[Splice] = []
    if delta < 0:
        if -delta >= 8:  # shrinking always means an existing ilst lost its genre items
            return [Splice(chain[3].end, chain[3].end, free_atom(-delta), 2)]
    elif deep == 3:
        small = next((a for a in kids[2] if a.start == chain[3].end and a.kind in PADDING_TYPES), None)
        if small is not None:
            extra.append(Splice(small.start, small.end, free_atom(NEW_PADDING), 2))
        else:
            extra.append(Splice(chain[3].end, chain[3].end, free_atom(NEW_PADDING), 2))
    else:  # rebuild the created atoms with the padding after their ilst
        created = next(i for i, s in enumerate(splices) if s.start == s.stop == inserted_at)
        old = splices[created]
        splices[created] = Splice(old.start, old.stop, _created(deep, item, NEW_PADDING), old.level)
    shift = sum(s.delta for s in splices + extra)
    for table in tables:
        new = []
        for o in table.offsets:
            if moov.start <= o < moov.end:
                raise Damaged("a chunk offset points into the 'moov' atom")
            new.append(o + shift if o >= moov.end else o)
        if table.width == 4 and any(o > _U32 for o in new):
            raise LayoutError("the audio would move past 4 GiB, where this file's 32-bit chunk offsets "
                              "(stco) cannot point; not rewritten")
        if new != list(table.offsets):
            data = struct.pack(f">{len(new)}{'I' if table.width == 4 else 'Q'}", *new)
            extra.append(Splice(table.entries_start, table.entries_start + len(data), data, 0))
    return extra


def _size_splice(a: Atom, new_size: int) -> Splice:
    if a.header == 16:
        return Splice(a.start + 8, a.start + 16, struct.pack(">Q", new_size), -1)
    if new_size > _U32:
        raise LayoutError(f"the {_name(a.kind)} atom would grow past 4 GiB; not rewritten")
    return Splice(a.start, a.start + 4, struct.pack(">I", new_size), -1)


def _pieces(splices: list[Splice], size: int) -> list[Piece]:
    pieces: list[Piece] = []
    pos = 0
    # at one position: an insertion before a replacement, and the deeper insertion first
    for s in sorted(splices, key=lambda s: (s.start, s.stop, -s.level)):
        if s.start < pos:
            raise AssertionError("overlapping MP4 edits")  # a bug here, never the file's fault
        pieces.append(range(pos, s.start))
        pieces.append(s.data)
        pos = s.stop
    pieces.append(range(pos, size))
    return pieces


# ---------------------------------------------------------------------------------- verifying


def verify_genres(path: Path, tmp: Path, genres: tuple[str, ...]) -> None:
    """Re-read the finished copy: the genres as intended, the audio where its tables say."""
    failed = WriteError(f"{path}: the rewritten copy did not read back as intended; not written")
    try:
        new, old = MP4(tmp), MP4(path)
    except Exception:  # any failure to parse the copy means it is not right
        raise failed from None
    got = new.tags.get("\xa9gen") if new.tags is not None else None
    if (list(got) if got is not None else None) != (list(genres) if genres else None):
        raise failed
    if new.info.codec != old.info.codec or abs((new.info.length or 0) - (old.info.length or 0)) > 1e-6:
        raise failed
    try:
        if not _same_chunks(path, tmp):
            raise failed
    except LayoutError:
        raise failed from None


def _same_chunks(path: Path, tmp: Path) -> bool:
    """The first and last chunk of every offset table start with the same bytes in both files."""
    with open(path, "rb") as a, open(tmp, "rb") as b:
        old, _ = offset_tables(a, parse(a, os.fstat(a.fileno()).st_size))
        new, _ = offset_tables(b, parse(b, os.fstat(b.fileno()).st_size))
        if [len(t.offsets) for t in old] != [len(t.offsets) for t in new]:
            return False
        for t_old, t_new in zip(old, new, strict=True):
            for i in {0, len(t_old.offsets) - 1} if t_old.offsets else ():
                a.seek(t_old.offsets[i])
                b.seek(t_new.offsets[i])
                if a.read(_CHUNK_CHECK) != b.read(_CHUNK_CHECK):
                    return False
    return True
