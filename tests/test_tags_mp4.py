"""M4A/MP4 genre writes (tagger.tags.mp4) on real files: PyAV (FFmpeg's mp4 muxer) writes AAC or
ALAC, mutagen tags it, and the layouts a genre write has to handle are made from those files with
the small atom toolkit below (independent of the module under test):

- moov_end: FFmpeg's default (mdat, then moov), tagged by mutagen, which leaves a `free` atom
  after ilst in meta: the free atom absorbs the change.
- moov_end_untagged: FFmpeg's own udta/meta/ilst (©too only), no free atom: moov grows at the
  end of the file, nothing moves.
- moov_first: `movflags=faststart`, tagged by mutagen (free after ilst): the free atom absorbs.
- moov_first_no_free: the same with every free atom removed: the audio moves, `stco` is shifted.
- moov_first_co64: the same with `co64` offset tables and a 64-bit mdat size: `co64` is shifted.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import pytest
from mutagen.mp4 import MP4

from tagger.errors import ReadError, WriteError
from tagger.tags import read_tags, restore_snapshot, snapshot_matches, write_genres
from tests.helpers import PICTURE, SR, _write_m4a, make_track, tag_file, tone

CODECS = ["aac", "alac"]
TAGS = {"title": "Song", "artist": "Artist", "album": "Album", "genre": "Jazz", "rich": True}
NEW = ["Electronic", "Ambient"]
GEN, GNRE = b"\xa9gen", b"gnre"

# ---------------------------------------------------------------------------- atom toolkit

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"meta", b"ilst", b"edts", b"dinf"}


@dataclass
class Node:
    kind: bytes
    payload: bytes = b""  # a leaf's bytes after its header
    kids: list[Node] | None = None  # a container's children
    prefix: bytes = b""  # meta's version/flags
    start: int = 0  # where it was in the parsed file
    header: int = 8  # 16: 64-bit size
    end: int = field(default=0)

    def child(self, kind: bytes) -> Node | None:
        return next((k for k in self.kids or () if k.kind == kind), None)


def parse(data: bytes, start: int = 0, end: int | None = None) -> list[Node]:
    end = len(data) if end is None else end
    nodes, pos = [], start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        node = Node(kind, start=pos, header=header, end=pos + size)
        body = pos + header
        if kind in CONTAINERS:
            if kind == b"meta":
                node.prefix, body = data[body:body + 4], body + 4
            node.kids = parse(data, body, pos + size)
        else:
            node.payload = data[body:pos + size]
        nodes.append(node)
        pos += size
    return nodes


def render(nodes: list[Node]) -> bytes:
    out = []
    for n in nodes:
        body = n.prefix + render(n.kids) if n.kids is not None else n.payload
        if n.header == 16:
            out.append(struct.pack(">I4sQ", 1, n.kind, 16 + len(body)) + body)
        else:
            out.append(struct.pack(">I4s", 8 + len(body), n.kind) + body)
    return b"".join(out)


def find(nodes: list[Node], *path: bytes) -> Node | None:
    node = None
    for kind in path:
        node = next((n for n in nodes if n.kind == kind), None)
        if node is None:
            return None
        nodes = node.kids or []
    return node


def walk(nodes: list[Node], path: tuple[bytes, ...] = ()):
    for n in nodes:
        yield path + (n.kind,), n
        if n.kids is not None:
            yield from walk(n.kids, path + (n.kind,))


def mdat_at(data: bytes) -> int:
    """Where the mdat payload starts."""
    node = find(parse(data), b"mdat")
    return node.start + node.header


def offset_tables(nodes: list[Node]) -> list[tuple[bytes, list[int]]]:
    tables = []
    for _, n in walk(nodes):
        if n.kind in (b"stco", b"co64"):
            (count,) = struct.unpack_from(">I", n.payload, 4)
            fmt = f">{count}{'I' if n.kind == b'stco' else 'Q'}"
            tables.append((n.kind, list(struct.unpack_from(fmt, n.payload, 8))))
    return tables


def set_offsets(node: Node, offsets: list[int]) -> None:
    fmt = f">{len(offsets)}{'I' if node.kind == b'stco' else 'Q'}"
    node.payload = node.payload[:4] + struct.pack(">I", len(offsets)) + struct.pack(fmt, *offsets)


def rebuild(nodes: list[Node], old: bytes) -> bytes:
    """Render edited atoms, shifting every chunk offset by how far the mdat payload moved."""
    shift = mdat_at(render(nodes)) - mdat_at(old)
    for _, n in walk(nodes):
        if n.kind in (b"stco", b"co64"):
            (count,) = struct.unpack_from(">I", n.payload, 4)
            fmt = f">{count}{'I' if n.kind == b'stco' else 'Q'}"
            set_offsets(n, [o + shift for o in struct.unpack_from(fmt, n.payload, 8)])
    return render(nodes)


def without_padding(nodes: list[Node]) -> list[Node]:
    kept = [n for n in nodes if n.kind not in (b"free", b"skip")]
    for n in kept:
        if n.kids is not None:
            n.kids = without_padding(n.kids)
    return kept


def edit_file(path: Path, change: Callable[[list[Node]], list[Node] | None]) -> None:
    old = path.read_bytes()
    nodes = parse(old)
    nodes = change(nodes) or nodes
    path.write_bytes(rebuild(nodes, old))


def strip_padding(nodes: list[Node]) -> list[Node]:
    return without_padding(nodes)


def to_co64(nodes: list[Node]) -> list[Node]:
    nodes = without_padding(nodes)
    for _, n in walk(nodes):
        if n.kind == b"stco":
            (count,) = struct.unpack_from(">I", n.payload, 4)
            offsets = list(struct.unpack_from(f">{count}I", n.payload, 8))
            n.kind = b"co64"
            set_offsets(n, offsets)
    find(nodes, b"mdat").header = 16
    return nodes


def gnre_item(code: int) -> Node:
    return Node(GNRE, payload=struct.pack(">I4sII", 18, b"data", 0, 0) + struct.pack(">H", code))


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ilst_kinds(path: Path) -> list[bytes]:
    return [n.kind for n in find(parse(path.read_bytes()), b"moov", b"udta", b"meta", b"ilst").kids]


# ---------------------------------------------------------------------------- layouts


def moov_first(path: Path, codec: str, **tags) -> Path:
    _write_m4a(path, tone(3.0), SR, codec, faststart=True)
    if tags:
        tag_file(path, **tags)
    return path


def build(layout: str, tmp_path: Path, codec: str) -> Path:
    path = tmp_path / f"{layout}-{codec}.m4a"
    if layout == "moov_end":
        return make_track(path, seconds=3.0, codec=codec, **TAGS)
    if layout == "moov_end_untagged":
        return make_track(path, seconds=3.0, codec=codec)
    moov_first(path, codec, **TAGS)
    if layout == "moov_first_no_free":
        edit_file(path, strip_padding)
    elif layout == "moov_first_co64":
        edit_file(path, to_co64)
    return path


LAYOUTS = ["moov_end", "moov_end_untagged", "moov_first", "moov_first_no_free", "moov_first_co64"]


@pytest.fixture(params=[(layout, codec) for layout in LAYOUTS for codec in CODECS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def track(request, tmp_path) -> Path:
    layout, codec = request.param
    return build(layout, tmp_path, codec)


def test_layouts_are_what_the_tests_say(tmp_path):
    """The files really have the layouts the module's decisions are about."""
    def top(layout):
        return [n.kind for n in parse(build(layout, tmp_path, "aac").read_bytes())]

    def meta(layout):
        return [n.kind for n in find(parse(build(layout, tmp_path, "aac").read_bytes()),
                                     b"moov", b"udta", b"meta").kids]

    assert top("moov_end") == [b"ftyp", b"free", b"mdat", b"moov"] and meta("moov_end")[-2:] == [b"ilst", b"free"]
    assert meta("moov_end_untagged") == [b"hdlr", b"ilst"]
    assert top("moov_first")[:2] == [b"ftyp", b"moov"] and meta("moov_first")[-2:] == [b"ilst", b"free"]
    assert top("moov_first_no_free") == [b"ftyp", b"moov", b"mdat"] and meta("moov_first_no_free") == [b"hdlr", b"ilst"]
    co64 = parse(build("moov_first_co64", tmp_path, "aac").read_bytes())
    assert [k for k, _ in offset_tables(co64)] == [b"co64"] and find(co64, b"mdat").header == 16


# ---------------------------------------------------------------------------- 1. genres


def test_written_genres_read_back(track):
    write_genres(track, NEW)
    assert read_tags(track).genres == tuple(NEW)


def test_several_genres_are_a_list_to_mutagen(track):
    write_genres(track, NEW)
    assert MP4(track).tags["\xa9gen"] == NEW


def test_non_ascii_genre_round_trips(tmp_path):
    path = build("moov_end", tmp_path, "aac")
    write_genres(path, ["Música Popular Brasileira", "J-Pop 日本"])
    assert read_tags(path).genres == ("Música Popular Brasileira", "J-Pop 日本")


@pytest.mark.parametrize("codec, fmt", [("aac", "AAC"), ("alac", "ALAC")])
def test_read_tags_gives_fields_format_and_duration(tmp_path, codec, fmt):
    info = read_tags(build("moov_end", tmp_path, codec))
    assert (info.title, info.artist, info.album, info.genres, info.format) == ("Song", "Artist", "Album", ("Jazz",), fmt)
    assert info.duration == pytest.approx(3.0, abs=0.1)


def test_other_tags_keep_their_values(track):
    before = MP4(track).tags
    write_genres(track, NEW)
    after = MP4(track).tags
    assert {k: v for k, v in after.items() if k != "\xa9gen"} == {k: v for k, v in before.items() if k != "\xa9gen"}


# ---------------------------------------------------------------------------- 2. other atoms


def _untouched_atoms(data: bytes) -> list[tuple[tuple[bytes, ...], bytes]]:
    """Every leaf atom (and meta's version/flags) that a genre write must keep byte for byte:
    all but the genre items, padding, the chunk offset tables (shifted when the audio moves)
    and mdat (compared on its own)."""
    skip = {GEN, GNRE, b"free", b"skip", b"stco", b"co64", b"mdat"}
    return [(path, n.prefix if n.kind == b"meta" else n.payload)
            for path, n in walk(parse(data)) if n.kind not in skip and (n.kids is None or n.kind == b"meta")]


def test_every_other_atom_is_byte_identical(track):
    before = track.read_bytes()
    write_genres(track, NEW)
    assert _untouched_atoms(track.read_bytes()) == _untouched_atoms(before)


def test_cover_art_bytes_are_identical(tmp_path):
    path = build("moov_first_no_free", tmp_path, "aac")
    covr = find(parse(path.read_bytes()), b"moov", b"udta", b"meta", b"ilst", b"covr").payload
    write_genres(path, NEW)
    assert find(parse(path.read_bytes()), b"moov", b"udta", b"meta", b"ilst", b"covr").payload == covr
    assert bytes(MP4(path).tags["covr"][0]) == PICTURE


def test_chunk_offsets_still_point_at_the_same_audio(track):
    before = track.read_bytes()
    write_genres(track, NEW)
    after = track.read_bytes()

    def relative(data):
        return [(kind, [o - mdat_at(data) for o in offsets]) for kind, offsets in offset_tables(parse(data))]

    assert relative(after) == relative(before)


# ---------------------------------------------------------------------------- 3. audio


def test_mdat_payload_is_byte_identical(track):
    before = find(parse(track.read_bytes()), b"mdat").payload
    write_genres(track, NEW)
    assert find(parse(track.read_bytes()), b"mdat").payload == before


def test_decoded_audio_is_identical(track):
    before = decoded(track)
    write_genres(track, NEW)
    assert np.array_equal(decoded(track), before)


@pytest.mark.parametrize("layout", ["moov_end", "moov_first"])
def test_a_free_atom_absorbs_the_change(tmp_path, layout):
    path = build(layout, tmp_path, "aac")
    size, at = path.stat().st_size, mdat_at(path.read_bytes())
    write_genres(path, NEW)
    assert (path.stat().st_size, mdat_at(path.read_bytes())) == (size, at)


def test_moov_at_the_end_grows_without_moving_the_audio(tmp_path):
    path = build("moov_end_untagged", tmp_path, "aac")
    data = path.read_bytes()
    write_genres(path, NEW)
    after = path.read_bytes()
    assert mdat_at(after) == mdat_at(data) and data[:mdat_at(data)] == after[:mdat_at(data)]
    assert len(after) - len(data) == len(render([Node(GEN, payload=_data_atoms(NEW))]))  # no padding added
    assert b"free" not in ilst_kinds(path)


def _data_atoms(genres):
    return b"".join(struct.pack(">I4sII", 16 + len(g.encode()), b"data", 1, 0) + g.encode() for g in genres)


@pytest.mark.parametrize("layout", ["moov_first_no_free", "moov_first_co64"])
def test_moving_the_audio_leaves_padding_so_the_next_write_does_not(tmp_path, layout):
    path = build(layout, tmp_path, "alac")
    at = mdat_at(path.read_bytes())
    write_genres(path, NEW)
    moved = mdat_at(path.read_bytes())
    meta = find(parse(path.read_bytes()), b"moov", b"udta", b"meta")
    assert moved > at and [n.kind for n in meta.kids][-2:] == [b"ilst", b"free"]
    assert meta.kids[-1].end - meta.kids[-1].start == 1024
    size = path.stat().st_size
    write_genres(path, ["A much longer genre name than before", "Second", "Third"])
    assert (mdat_at(path.read_bytes()), path.stat().st_size) == (moved, size)
    assert read_tags(path).genres == ("A much longer genre name than before", "Second", "Third")


def test_removing_genres_fills_the_gap_instead_of_moving_the_audio(tmp_path):
    path = build("moov_first_no_free", tmp_path, "aac")
    size, at = path.stat().st_size, mdat_at(path.read_bytes())
    write_genres(path, [])
    assert (path.stat().st_size, mdat_at(path.read_bytes())) == (size, at)
    assert read_tags(path).genres == () and np.array_equal(decoded(path), decoded(build("moov_first", tmp_path, "aac")))


def _insert_free(where: str) -> Callable[[list[Node]], None]:
    """Put a 2000-byte free atom right after ilst (in meta), meta (in udta), udta (in moov) or
    moov (at the top level) of a file that has no other padding."""
    def change(nodes):
        parents = {"ilst": (b"moov", b"udta", b"meta"), "meta": (b"moov", b"udta"), "udta": (b"moov",)}
        siblings = find(nodes, *parents[where]).kids if where in parents else nodes
        at = next(i for i, n in enumerate(siblings) if n.kind == where.encode()) + 1
        siblings.insert(at, Node(b"free", payload=bytes(1992)))
    return change


@pytest.mark.parametrize("where", ["ilst", "meta", "udta", "moov"])
def test_a_free_atom_right_after_any_level_absorbs_the_change(tmp_path, where):
    path = build("moov_first_no_free", tmp_path, "aac")
    edit_file(path, _insert_free(where))
    data = path.read_bytes()
    write_genres(path, NEW)
    after = path.read_bytes()
    assert (len(after), mdat_at(after)) == (len(data), mdat_at(data))
    assert after[mdat_at(data) - 8:] == data[mdat_at(data) - 8:]  # mdat and its header in place
    assert np.array_equal(decoded(path), decoded(build("moov_first", tmp_path, "aac")))


def test_a_free_atom_after_where_ilst_is_created_absorbs_it(tmp_path):
    path = build("moov_first", tmp_path, "aac")

    def change(nodes):
        meta = find(nodes, b"moov", b"udta", b"meta")
        meta.kids = [n for n in meta.kids if n.kind != b"ilst"]
        assert [n.kind for n in meta.kids] == [b"hdlr", b"free"]
    edit_file(path, change)
    data = path.read_bytes()
    write_genres(path, NEW)
    assert (path.stat().st_size, mdat_at(path.read_bytes())) == (len(data), mdat_at(data))
    assert MP4(path).tags["\xa9gen"] == NEW


def test_a_small_free_atom_after_moov_that_cannot_absorb_is_left_alone(tmp_path):
    """FFmpeg's faststart output has an 8-byte free atom before mdat: too small to give bytes."""
    path = moov_first(tmp_path / "bare.m4a", "aac")
    assert [n.kind for n in parse(path.read_bytes())] == [b"ftyp", b"moov", b"free", b"mdat"]
    before = decoded(path)
    write_genres(path, NEW)
    assert [n.kind for n in parse(path.read_bytes())] == [b"ftyp", b"moov", b"free", b"mdat"]
    assert find(parse(path.read_bytes()), b"free").end - find(parse(path.read_bytes()), b"free").start == 8
    assert np.array_equal(decoded(path), before) and read_tags(path).genres == tuple(NEW)


# ---------------------------------------------------------------------------- 4. the genre field


def _with_gnre(path: Path, keep_gen: bool) -> None:
    """Put a gnre atom (ID3v1 code 18 = Rock) where ©gen is; keep ©gen after it if asked."""
    def change(nodes):
        ilst = find(nodes, b"moov", b"udta", b"meta", b"ilst")
        at = next(i for i, n in enumerate(ilst.kids) if n.kind == GEN)
        ilst.kids[at:at + (0 if keep_gen else 1)] = [gnre_item(18)]
    edit_file(path, change)


@pytest.mark.parametrize("layout", ["moov_end", "moov_first_no_free"])
def test_gnre_is_replaced_by_gen_in_its_place(tmp_path, layout):
    path = build(layout, tmp_path, "aac")
    _with_gnre(path, keep_gen=False)
    assert read_tags(path).genres == ("Rock",)
    kinds = ilst_kinds(path)
    write_genres(path, NEW)
    assert ilst_kinds(path) == [GEN if k == GNRE else k for k in kinds]
    assert MP4(path).tags["\xa9gen"] == NEW


def test_gen_and_gnre_together_become_one_gen(tmp_path):
    path = build("moov_end", tmp_path, "aac")
    _with_gnre(path, keep_gen=True)
    result = write_genres(path, NEW)
    kinds = ilst_kinds(path)
    assert kinds.count(GEN) == 1 and GNRE not in kinds and MP4(path).tags["\xa9gen"] == NEW
    assert result.old_frame.startswith(render([gnre_item(18)])) and GEN in result.old_frame


def test_removing_genres_removes_gen_and_gnre(tmp_path):
    path = build("moov_end", tmp_path, "aac")
    _with_gnre(path, keep_gen=True)
    write_genres(path, [])
    assert GEN not in ilst_kinds(path) and GNRE not in ilst_kinds(path)
    assert "\xa9gen" not in MP4(path).tags and read_tags(path).genres == ()


def test_new_gen_takes_the_old_ones_place(tmp_path):
    path = build("moov_first", tmp_path, "aac")
    kinds = ilst_kinds(path)
    write_genres(path, NEW)
    assert ilst_kinds(path) == kinds


def test_gen_goes_at_the_end_of_ilst_when_there_was_none(tmp_path):
    path = build("moov_end_untagged", tmp_path, "aac")
    kinds = ilst_kinds(path)
    write_genres(path, NEW)
    assert ilst_kinds(path) == kinds + [GEN]


def test_old_genre_is_the_old_item_as_stored(tmp_path):
    path = build("moov_end", tmp_path, "aac")
    old = find(parse(path.read_bytes()), b"moov", b"udta", b"meta", b"ilst", GEN)
    assert write_genres(path, NEW).old_frame == render([old])


def test_same_genres_twice_leaves_the_file_alone(track):
    write_genres(track, NEW)
    digest, mtime = sha(track), track.stat().st_mtime_ns
    assert write_genres(track, NEW).changed is False
    assert (sha(track), track.stat().st_mtime_ns) == (digest, mtime)


def test_removing_genres_from_a_file_without_them_changes_nothing(tmp_path):
    path = build("moov_end_untagged", tmp_path, "alac")
    digest = sha(path)
    assert write_genres(path, []).changed is False and sha(path) == digest


# ---------------------------------------------------------------------------- missing atoms


def _drop(path: Path, missing: bytes) -> None:
    def change(nodes):
        parent_path = {b"udta": (b"moov",), b"meta": (b"moov", b"udta"), b"ilst": (b"moov", b"udta", b"meta")}
        parent = find(nodes, *parent_path[missing])
        parent.kids = [n for n in parent.kids if n.kind != missing]
        return without_padding(nodes)
    edit_file(path, change)


@pytest.mark.parametrize("layout", ["moov_end", "moov_first"])
@pytest.mark.parametrize("missing", [b"udta", b"meta", b"ilst"], ids=lambda m: m.decode())
def test_missing_metadata_atoms_are_created(tmp_path, layout, missing):
    path = build(layout, tmp_path, "aac")
    _drop(path, missing)
    assert MP4(path).tags is None
    before = decoded(path)
    write_genres(path, NEW)
    assert MP4(path).tags["\xa9gen"] == NEW and np.array_equal(decoded(path), before)


@pytest.mark.parametrize("missing", [b"udta", b"meta"], ids=lambda m: m.decode())
def test_a_created_meta_has_an_itunes_handler(tmp_path, missing):
    path = build("moov_end", tmp_path, "aac")
    _drop(path, missing)
    write_genres(path, NEW)
    hdlr = find(parse(path.read_bytes()), b"moov", b"udta", b"meta", b"hdlr").payload
    assert hdlr[8:12] == b"mdir" and hdlr[12:16] == b"appl"


def test_removing_genres_from_a_file_without_metadata_changes_nothing(tmp_path):
    path = build("moov_first", tmp_path, "aac")
    _drop(path, b"udta")
    digest = sha(path)
    assert write_genres(path, []).changed is False and sha(path) == digest


# ---------------------------------------------------------------------------- 5. undo


def test_restore_snapshot_gives_back_the_original_bytes(track):
    digest = sha(track)
    result = write_genres(track, NEW)
    assert sha(track) != digest and not snapshot_matches(track, result.snapshot)
    restore_snapshot(track, result.snapshot)
    assert sha(track) == digest and snapshot_matches(track, result.snapshot)


def test_restore_after_creating_metadata(tmp_path):
    path = build("moov_first", tmp_path, "alac")
    _drop(path, b"udta")
    digest = sha(path)
    result = write_genres(path, NEW)
    restore_snapshot(path, result.snapshot)
    assert sha(path) == digest


# ---------------------------------------------------------------------------- 6. refused files


def _truncated_moov(path: Path) -> None:
    data = path.read_bytes()  # moov at the end: cut inside it
    path.write_bytes(data[:-200])


def _truncated_audio(path: Path) -> None:
    data = path.read_bytes()  # moov first: cut inside mdat
    path.write_bytes(data[:mdat_at(data) + 500])


def _moov_size_past_eof(path: Path) -> None:
    data = bytearray(path.read_bytes())
    moov = find(parse(bytes(data)), b"moov")
    data[moov.start:moov.start + 4] = struct.pack(">I", len(data) * 2)
    path.write_bytes(bytes(data))


def _ilst_past_its_parent(path: Path) -> None:
    data = bytearray(path.read_bytes())
    ilst = find(parse(bytes(data)), b"moov", b"udta", b"meta", b"ilst")
    data[ilst.start:ilst.start + 4] = struct.pack(">I", ilst.end - ilst.start + 5000)
    path.write_bytes(bytes(data))


def _garbage_with_ftyp(path: Path) -> None:
    rng = np.random.default_rng(1)
    path.write_bytes(struct.pack(">I4s4sI", 24, b"ftyp", b"M4A ", 0) + b"M4A mp42" + rng.bytes(3000))


DAMAGE = {
    "truncated_moov": ("moov_end", _truncated_moov, "runs past the end of the file"),
    "truncated_audio": ("moov_first", _truncated_audio, "runs past the end of the file"),
    "moov_size_past_eof": ("moov_first", _moov_size_past_eof, "runs past the end of the file"),
    "ilst_past_its_parent": ("moov_end", _ilst_past_its_parent, "runs past the end of its parent 'meta'"),
    "garbage_with_ftyp": ("moov_end", _garbage_with_ftyp, "damaged MP4 file"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_file_is_refused_and_left_unchanged(tmp_path, damage):
    layout, spoil, message = DAMAGE[damage]
    path = build(layout, tmp_path, "aac")
    spoil(path)
    digest = sha(path)
    with pytest.raises(WriteError) as err:
        write_genres(path, NEW)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert sha(path) == digest and sorted(os.listdir(tmp_path)) == [path.name]


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_file_gives_a_read_error(tmp_path, damage):
    layout, spoil, _ = DAMAGE[damage]
    path = build(layout, tmp_path, "aac")
    spoil(path)
    with pytest.raises(ReadError, match="not a readable MP4 file"):
        read_tags(path)


@pytest.mark.parametrize("content", [b"", b"hello, this is not audio at all" * 10], ids=["empty", "text"])
def test_a_file_that_is_not_mp4_is_refused(tmp_path, content):
    path = tmp_path / "fake.m4a"
    path.write_bytes(content)
    with pytest.raises(WriteError, match="not an MP4 file"):
        write_genres(path, NEW)
    with pytest.raises(ReadError, match="not a readable MP4 file"):
        read_tags(path)
    assert path.read_bytes() == content


def _frag(path: Path) -> Path:
    """A fragmented file (empty moov, then moof + mdat fragments), as FFmpeg streams it."""
    with av.open(str(path), "w", format="ipod", options={"movflags": "frag_keyframe+empty_moov"}) as out:
        stream = out.add_stream("aac", rate=SR, layout="mono")
        frame = av.AudioFrame.from_ndarray(tone(2.0)[None, :], format="fltp", layout="mono")
        frame.sample_rate = SR
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


def test_a_fragmented_file_is_refused_when_the_audio_would_move(tmp_path):
    path = _frag(tmp_path / "frag.m4a")
    assert b"moof" in [n.kind for n in parse(path.read_bytes())]
    digest = sha(path)
    with pytest.raises(WriteError, match="fragmented MP4 files are not rewritten when the audio would move"):
        write_genres(path, NEW)
    assert sha(path) == digest


def test_a_chunk_offset_that_would_pass_4_gib_is_refused(tmp_path):
    path = build("moov_first_no_free", tmp_path, "aac")

    def change(nodes):
        for _, n in walk(nodes):
            if n.kind == b"stco":
                (count,) = struct.unpack_from(">I", n.payload, 4)
                set_offsets(n, [0xFFFFFFF0] * count)
    old = path.read_bytes()
    nodes = parse(old)
    change(nodes)
    path.write_bytes(render(nodes))
    digest = sha(path)
    with pytest.raises(WriteError, match="4 GiB"):
        write_genres(path, NEW)
    assert sha(path) == digest


def test_a_video_only_file_is_not_supported(tmp_path):
    path = tmp_path / "video.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for _ in range(3):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode(None))
    with pytest.raises(ReadError, match="MP4 file with a codec genrenet does not support"):
        read_tags(path)
