"""Read a TensorFlow checkpoint bundle (`<prefix>.index` + `<prefix>.data-NNNNN-of-NNNNN`) without
TensorFlow.

The `.index` file is a LevelDB-format table (an SSTable): data blocks of prefix-compressed
key/value entries with restart points, each block followed by a 5-byte trailer (compression type,
masked CRC-32C), a metaindex block, an index block whose values are handles of the data blocks,
and a 48-byte footer (the metaindex and index handles, padding, a magic number). Its keys are
tensor names; the empty key holds a BundleHeaderProto, every other value a BundleEntryProto
(dtype, shape, shard_id, offset, size, crc32c). The `.data` shards hold the tensors' raw
little-endian bytes at those offsets. Only uncompressed blocks are accepted (TensorFlow writes
bundle indexes without compression); sliced (partitioned) variables are refused.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the 8-byte magic
BLOCK_TRAILER_SIZE = 5  # compression type byte + masked crc32c
NO_COMPRESSION = 0
HEADER_KEY = b""

# tensorflow/core/framework/types.proto -> numpy (little-endian)
DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}


class CheckpointFormatError(ValueError):
    """The files are not a readable TensorFlow checkpoint bundle (the message says why)."""


# --- CRC-32C (Castagnoli), as LevelDB and TensorFlow use it -----------------------------------

def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()
_MASK_DELTA = 0xA282EAD8


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C of `data` (continuing from `crc`)."""
    table = _CRC_TABLE
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    """LevelDB's masked CRC (stored so that a CRC of data holding CRCs stays meaningful)."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


# --- varints and protobuf ---------------------------------------------------------------------

def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at `pos`: (value, position after it)."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointFormatError("varint longer than 10 bytes")


def parse_protobuf(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """The (field number, wire type, value) triples of a serialized protobuf message.

    Varints come back as int, fixed32/fixed64 as int, length-delimited fields as bytes.
    """
    fields = []
    pos = 0
    while pos < len(buf):
        tag, pos = read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise CheckpointFormatError("truncated fixed64 field")
            (value,) = struct.unpack_from("<Q", buf, pos)
            pos += 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            if pos + length > len(buf):
                raise CheckpointFormatError("truncated length-delimited field")
            value = bytes(buf[pos : pos + length])
            pos += length
        elif wire == 5:
            if pos + 4 > len(buf):
                raise CheckpointFormatError("truncated fixed32 field")
            (value,) = struct.unpack_from("<I", buf, pos)
            pos += 4
        else:
            raise CheckpointFormatError(f"unsupported protobuf wire type {wire}")
        fields.append((number, wire, value))
    return fields


# --- the SSTable ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BlockHandle:
    offset: int
    size: int


def _read_handle(buf: bytes, pos: int) -> tuple[BlockHandle, int]:
    offset, pos = read_varint(buf, pos)
    size, pos = read_varint(buf, pos)
    return BlockHandle(offset, size), pos


def _read_block(data: bytes, handle: BlockHandle, what: str) -> bytes:
    end = handle.offset + handle.size
    if end + BLOCK_TRAILER_SIZE > len(data):
        raise CheckpointFormatError(f"{what} block runs past the end of the index file")
    contents = data[handle.offset : end]
    kind = data[end]
    (stored_crc,) = struct.unpack_from("<I", data, end + 1)
    if kind != NO_COMPRESSION:
        raise CheckpointFormatError(
            f"{what} block is compressed (type {kind}); only uncompressed bundle indexes are supported"
        )
    if mask_crc(crc32c(data[handle.offset : end + 1])) != stored_crc:
        raise CheckpointFormatError(f"{what} block fails its CRC check (corrupt index file)")
    return contents


def _block_entries(block: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """Decode a block's prefix-compressed entries, in order."""
    if len(block) < 4:
        raise CheckpointFormatError(f"{what} block too short")
    (n_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * n_restarts
    if limit < 0:
        raise CheckpointFormatError(f"{what} block has a bad restart count")
    entries = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = read_varint(block, pos)
        unshared, pos = read_varint(block, pos)
        value_len, pos = read_varint(block, pos)
        if shared > len(key) or pos + unshared + value_len > limit:
            raise CheckpointFormatError(f"{what} block holds a malformed entry")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + value_len]))
        pos += value_len
    return entries


def read_table(path: Path) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of a LevelDB-format table file, in key order."""
    data = Path(path).read_bytes()
    if len(data) < FOOTER_SIZE:
        raise CheckpointFormatError(f"{Path(path).name} is too short to be a checkpoint index")
    footer = data[-FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
    if magic != TABLE_MAGIC:
        raise CheckpointFormatError(f"{Path(path).name} is not a checkpoint index (bad table magic)")
    _metaindex, pos = _read_handle(footer, 0)
    index_handle, _ = _read_handle(footer, pos)
    entries = []
    for _separator, handle_bytes in _block_entries(_read_block(data, index_handle, "index"), "index"):
        handle, _ = _read_handle(handle_bytes, 0)
        entries += _block_entries(_read_block(data, handle, "data"), "data")
    return entries


# --- the bundle -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lies in the data shards (a decoded BundleEntryProto)."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None  # masked CRC-32C of the tensor's bytes


def parse_bundle_entry(name: str, buf: bytes) -> TensorEntry:
    dtype_code = shard_id = offset = size = 0
    crc = None
    shape: tuple[int, ...] = ()
    for number, _wire, value in parse_protobuf(buf):
        if number == 1:
            dtype_code = value
        elif number == 2:
            shape = _parse_shape(name, value)
        elif number == 3:
            shard_id = value
        elif number == 4:
            offset = value
        elif number == 5:
            size = value
        elif number == 6:
            crc = value
        elif number == 7:
            raise CheckpointFormatError(f"{name}: sliced (partitioned) variables are not supported")
    if dtype_code not in DTYPES:
        raise CheckpointFormatError(f"{name}: unsupported tensor dtype code {dtype_code}")
    dtype = DTYPES[dtype_code]
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != size:
        raise CheckpointFormatError(f"{name}: {size} bytes do not hold a {dtype} tensor of shape {list(shape)}")
    return TensorEntry(name, dtype, shape, shard_id, offset, size, crc)


def _parse_shape(name: str, buf: bytes) -> tuple[int, ...]:
    dims = []
    for number, _wire, value in parse_protobuf(buf):
        if number == 2:  # repeated Dim dim = 2 { int64 size = 1; string name = 2; }
            size = next((v for n, _w, v in parse_protobuf(value) if n == 1), 0)
            if size >= 1 << 63:
                raise CheckpointFormatError(f"{name}: tensor has an unknown dimension")
            dims.append(size)
        elif number == 3 and value:
            raise CheckpointFormatError(f"{name}: tensor has unknown rank")
    return tuple(dims)


def bundle_prefix(path: Path | str) -> str:
    """The bundle prefix from a prefix, an `.index` file, or a folder holding `.index`."""
    text = str(path)
    if text.endswith(".index"):
        return text[: -len(".index")]
    if Path(text).is_dir():
        return str(Path(text)) + "/"  # musicnn's checkpoints are "<folder>/" + ".index"
    return text


class CheckpointBundle:
    """A TensorFlow checkpoint bundle opened for reading: `names()`, `entry(name)`, `read(name)`."""

    def __init__(self, path: Path | str):
        self.prefix = bundle_prefix(path)
        index = Path(self.prefix + ".index")
        if not index.is_file():
            raise CheckpointFormatError(f"checkpoint index not found: {index}")
        self.num_shards = 1
        self.entries: dict[str, TensorEntry] = {}
        for key, value in read_table(index):
            if key == HEADER_KEY:
                self._read_header(value)
                continue
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                raise CheckpointFormatError(f"tensor name is not UTF-8: {key!r}") from None
            self.entries[name] = parse_bundle_entry(name, value)

    def _read_header(self, buf: bytes) -> None:
        for number, _wire, value in parse_protobuf(buf):
            if number == 1:
                self.num_shards = value
            elif number == 2 and value != 0:
                raise CheckpointFormatError("big-endian checkpoints are not supported")

    def names(self) -> list[str]:
        return sorted(self.entries)

    def entry(self, name: str) -> TensorEntry:
        try:
            return self.entries[name]
        except KeyError:
            raise KeyError(f"no variable {name!r} in the checkpoint") from None

    def shard_path(self, shard_id: int) -> Path:
        return Path(f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}")

    def read(self, name: str, *, verify: bool = True) -> np.ndarray:
        """The tensor `name` as a numpy array (its CRC checked unless verify=False)."""
        entry = self.entry(name)
        shard = self.shard_path(entry.shard_id)
        try:
            with open(shard, "rb") as fh:
                fh.seek(entry.offset)
                raw = fh.read(entry.size)
        except OSError as exc:
            raise CheckpointFormatError(f"cannot read {shard.name}: {exc.strerror or exc}") from None
        if len(raw) != entry.size:
            raise CheckpointFormatError(f"{name}: data file {shard.name} is truncated")
        if verify and entry.crc32c is not None and mask_crc(crc32c(raw)) != entry.crc32c:
            raise CheckpointFormatError(f"{name}: data fails its CRC check (corrupt {shard.name})")
        return np.frombuffer(raw, dtype=entry.dtype).reshape(entry.shape).copy()
