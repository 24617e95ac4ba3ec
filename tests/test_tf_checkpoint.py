"""The TensorFlow checkpoint reader and the musicnn converter, on bundles these tests write
themselves (a minimal LevelDB table writer and BundleEntryProto encoder below)."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from tagger.checkpoint import load_checkpoint
from tagger.features import FeatureConfig
from tagger.models.musicnn import MSD_LABELS, MTT_LABELS, Musicnn
from training import import_musicnn
from training.import_musicnn import ConversionError, convert_bundle, musicnn_state_dict
from training.tf_checkpoint import (
    CheckpointBundle,
    CheckpointFormatError,
    crc32c,
    mask_crc,
    parse_protobuf,
    read_table,
    read_varint,
)

TABLE_MAGIC = 0xDB4775248B80FB57
DT_CODES = {np.dtype("<f4"): 1, np.dtype("<f8"): 2, np.dtype("<i4"): 3, np.dtype("<i8"): 9,
            np.dtype("<f2"): 19}  # fmt: skip


# --- a minimal writer: LevelDB table + tensor bundle --------------------------------------------

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_varint(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


def pb_bytes(field: int, value: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(value)) + value


def pb_fixed32(field: int, value: int) -> bytes:
    return varint(field << 3 | 5) + struct.pack("<I", value)


def entry_proto(dtype_code: int, shape: tuple[int, ...], offset: int, size: int, crc: int | None,
                extra: bytes = b"") -> bytes:  # fmt: skip
    shape_msg = b"".join(pb_bytes(2, pb_varint(1, d)) for d in shape)
    msg = pb_varint(1, dtype_code) + pb_bytes(2, shape_msg) + pb_varint(3, 0)
    msg += (pb_varint(4, offset) if offset else b"") + pb_varint(5, size)
    return msg + (pb_fixed32(6, crc) if crc is not None else b"") + extra


def block(entries: list[tuple[bytes, bytes]], restart_interval: int) -> bytes:
    out, restarts, last = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_interval == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(last), len(key)) and last[shared] == key[shared]:
                shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        last = key
    return bytes(out) + b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))


def write_table(path: Path, items: list[tuple[bytes, bytes]], *, per_block: int = 5,
                restart_interval: int = 2, compression: int = 0) -> None:  # fmt: skip
    data = bytearray()

    def add(contents: bytes) -> bytes:
        handle = varint(len(data)) + varint(len(contents))
        trailer = bytes([compression])
        data.extend(contents + trailer + struct.pack("<I", mask_crc(crc32c(contents + trailer))))
        return handle

    index = []
    for i in range(0, len(items), per_block):
        chunk = items[i : i + per_block]
        index.append((chunk[-1][0], add(block(chunk, restart_interval))))
    meta_handle = add(block([], 1))
    index_handle = add(block(index, 1))
    handles = meta_handle + index_handle
    footer = handles + bytes(40 - len(handles)) + struct.pack("<Q", TABLE_MAGIC)
    path.write_bytes(bytes(data) + footer)


def write_bundle(prefix: str, tensors: dict[str, np.ndarray], *, with_crc: bool = True,
                 entry_extra: dict[str, bytes] | None = None, **table_kw) -> None:  # fmt: skip
    header = pb_varint(1, 1) + pb_varint(2, 0) + pb_bytes(3, pb_varint(1, 1))
    items, raw = [(b"", header)], bytearray()
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        blob = array.tobytes()
        crc = mask_crc(crc32c(blob)) if with_crc else None
        extra = (entry_extra or {}).get(name, b"")
        items.append((name.encode(), entry_proto(DT_CODES[array.dtype], array.shape, len(raw), len(blob), crc, extra)))
        raw += blob
    write_table(Path(prefix + ".index"), items, **table_kw)
    Path(prefix + ".data-00000-of-00001").write_bytes(bytes(raw))


def small_tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "layer/kernel": rng.standard_normal((3, 4, 1, 5)).astype(np.float32),
        "layer/kernel/Adam": rng.standard_normal((3, 4, 1, 5)).astype(np.float32),
        "layer/bias": rng.standard_normal(5).astype(np.float32),
        "layer_1/bias": np.arange(7, dtype=np.float64),
        "global_step": np.array(123456789012, dtype=np.int64),
        "half": np.array([1.5, -2.25], dtype=np.float16),
        "ints": np.arange(-3, 3, dtype=np.int32).reshape(2, 3),
    }


# --- primitives -------------------------------------------------------------------------------

def test_crc32c_matches_the_standard_check_value():
    assert crc32c(b"123456789") == 0xE3069283


def test_crc32c_can_be_continued_over_pieces():
    assert crc32c(b"6789", crc32c(b"12345")) == crc32c(b"123456789")


def test_varint_decodes_multibyte_values():
    assert read_varint(b"\xac\x02rest", 0) == (300, 2)


def test_truncated_varint_is_an_error():
    with pytest.raises(CheckpointFormatError, match="truncated varint"):
        read_varint(b"\xff\xff", 0)


def test_protobuf_fields_of_each_wire_type_are_decoded():
    msg = pb_varint(1, 19) + pb_bytes(2, b"abc") + pb_fixed32(6, 0xDEADBEEF)
    msg += varint(7 << 3 | 1) + struct.pack("<Q", 42)
    assert parse_protobuf(msg) == [(1, 0, 19), (2, 2, b"abc"), (6, 5, 0xDEADBEEF), (7, 1, 42)]


# --- the table --------------------------------------------------------------------------------

def test_table_keys_survive_prefix_compression_restarts_and_blocks(tmp_path):
    items = [(f"conv2d_{i}/kernel/Adam_{j}".encode(), bytes([i, j])) for i in range(4) for j in range(3)]
    write_table(tmp_path / "t.index", items, per_block=5, restart_interval=3)
    assert read_table(tmp_path / "t.index") == items


def test_compressed_table_block_is_refused(tmp_path):
    write_table(tmp_path / "t.index", [(b"a", b"1")], compression=1)
    with pytest.raises(CheckpointFormatError, match="compressed"):
        read_table(tmp_path / "t.index")


def test_table_with_bad_magic_is_refused(tmp_path):
    write_table(tmp_path / "t.index", [(b"a", b"1")])
    data = bytearray((tmp_path / "t.index").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "t.index").write_bytes(bytes(data))
    with pytest.raises(CheckpointFormatError, match="magic"):
        read_table(tmp_path / "t.index")


def test_corrupt_table_block_fails_its_crc(tmp_path):
    write_table(tmp_path / "t.index", [(b"key", b"value")])
    data = bytearray((tmp_path / "t.index").read_bytes())
    data[4] ^= 0x01  # inside the first data block
    (tmp_path / "t.index").write_bytes(bytes(data))
    with pytest.raises(CheckpointFormatError, match="CRC"):
        read_table(tmp_path / "t.index")


# --- the bundle -------------------------------------------------------------------------------

def test_bundle_reads_back_every_tensor_exactly(tmp_path):
    tensors = small_tensors()
    write_bundle(str(tmp_path / "model.ckpt"), tensors)
    bundle = CheckpointBundle(tmp_path / "model.ckpt")
    assert bundle.names() == sorted(tensors)
    for name, want in tensors.items():
        got = bundle.read(name)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert np.array_equal(got, want), name


def test_bundle_opens_from_its_index_path_or_its_folder(tmp_path):
    tensors = small_tensors()
    write_bundle(str(tmp_path) + "/", tensors)  # musicnn's layout: <folder>/.index
    assert CheckpointBundle(tmp_path).names() == sorted(tensors)
    assert CheckpointBundle(tmp_path / ".index").entry("ints").shape == (2, 3)


def test_bundle_entry_describes_dtype_shape_and_location(tmp_path):
    write_bundle(str(tmp_path / "m"), {"a": np.zeros(3, np.float32), "b": np.ones((2, 2), np.float64)})
    entry = CheckpointBundle(tmp_path / "m").entry("b")
    assert (entry.dtype, entry.shape, entry.offset, entry.size) == (np.dtype("<f8"), (2, 2), 12, 32)


def test_corrupt_tensor_data_fails_its_crc(tmp_path):
    write_bundle(str(tmp_path / "m"), {"w": np.arange(8, dtype=np.float32)})
    data = tmp_path / "m.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[5] ^= 0x10
    data.write_bytes(bytes(raw))
    with pytest.raises(CheckpointFormatError, match="w: data fails its CRC"):
        CheckpointBundle(tmp_path / "m").read("w")


def test_tensor_without_crc_is_read_unchecked(tmp_path):
    write_bundle(str(tmp_path / "m"), {"w": np.arange(4, dtype=np.float32)}, with_crc=False)
    assert CheckpointBundle(tmp_path / "m").read("w").tolist() == [0, 1, 2, 3]


def test_sliced_variable_is_refused(tmp_path):
    write_bundle(str(tmp_path / "m"), {"w": np.zeros(2, np.float32)}, entry_extra={"w": pb_bytes(7, b"")})
    with pytest.raises(CheckpointFormatError, match="sliced"):
        CheckpointBundle(tmp_path / "m")


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointFormatError, match="index not found"):
        CheckpointBundle(tmp_path / "nothing")


def test_truncated_data_file_is_a_clear_error(tmp_path):
    write_bundle(str(tmp_path / "m"), {"w": np.zeros(16, np.float32)})
    data = tmp_path / "m.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:10])
    with pytest.raises(CheckpointFormatError, match="truncated"):
        CheckpointBundle(tmp_path / "m").read("w")


def test_unknown_variable_name_is_a_key_error(tmp_path):
    write_bundle(str(tmp_path / "m"), {"w": np.zeros(1, np.float32)})
    with pytest.raises(KeyError, match="no variable 'v'"):
        CheckpointBundle(tmp_path / "m").entry("v")


# --- the musicnn converter --------------------------------------------------------------------
# musicnn's TF variables and shapes (musicnn/models.py, build_musicnn with its defaults).
TF_LAYERS = {
    "conv2d": (7, 38, 1, 204), "conv2d_1": (7, 67, 1, 204), "conv2d_2": (128, 1, 1, 51),
    "conv2d_3": (64, 1, 1, 51), "conv2d_4": (32, 1, 1, 51), "conv2d_5": (7, 561, 1, 64),
    "conv2d_6": (7, 64, 1, 64), "conv2d_7": (7, 64, 1, 64), "dense": (1506, 200), "dense_1": (200, 50),
}  # fmt: skip
TF_BATCH_NORMS = (1, 204, 204, 51, 51, 51, 64, 64, 64, 1506, 200)


def musicnn_tensors(seed: int = 0, with_slots: bool = True) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def rand(*shape: int) -> np.ndarray:
        return (0.05 * rng.standard_normal(shape)).astype(np.float32)

    tensors = {}
    for name, shape in TF_LAYERS.items():
        tensors[f"{name}/kernel"] = rand(*shape)
        tensors[f"{name}/bias"] = rand(shape[-1])
    for i, size in enumerate(TF_BATCH_NORMS):
        scope = "batch_normalization" + (f"_{i}" if i else "")
        tensors[f"{scope}/gamma"] = 1 + rand(size)
        tensors[f"{scope}/beta"] = rand(size)
        tensors[f"{scope}/moving_mean"] = rand(size)
        tensors[f"{scope}/moving_variance"] = 1 + np.abs(rand(size))
    if with_slots:
        tensors["dense_1/kernel/Adam"] = rand(200, 50)
        tensors["dense_1/kernel/Adam_1"] = rand(200, 50)
        tensors["beta1_power"] = np.array(0.9, np.float32)
        tensors["beta2_power"] = np.array(0.999, np.float32)
    return tensors


def write_musicnn_bundle(folder: Path, tensors: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_bundle(str(folder) + "/", tensors, per_block=16, restart_interval=16, with_crc=False)
    return folder


@pytest.fixture(scope="module")
def musicnn_bundle(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    tensors = musicnn_tensors()
    return write_musicnn_bundle(tmp_path_factory.mktemp("mnn") / "MSD_musicnn", tensors), tensors


def test_musicnn_has_64_variables_to_map():
    assert len(musicnn_tensors(with_slots=False)) == 64 == len(import_musicnn.VARIABLE_MAP)


def test_converter_moves_kernels_to_pytorch_layout(musicnn_bundle):
    folder, tf = musicnn_bundle
    state = convert_bundle(folder, MSD_LABELS).state_dict()
    # conv2d [h, w, in, out] -> [out, in, h, w]
    assert torch.equal(state["backbone.timbral_74.conv.weight"][5, 0, 2, 7], torch.tensor(tf["conv2d/kernel"][2, 7, 0, 5]))
    assert torch.equal(state["backbone.temporal_128.conv.weight"][:, 0, :, 0], torch.from_numpy(tf["conv2d_2/kernel"][:, 0, 0, :].T))
    # mid-end conv2d [7, features, 1, out] -> conv1d [out, features, 7]
    assert torch.equal(state["backbone.midend1.conv.weight"][3, 100, 6], torch.tensor(tf["conv2d_5/kernel"][6, 100, 0, 3]))
    # dense [in, out] -> [out, in]
    assert torch.equal(state["classifier.weight"], torch.from_numpy(tf["dense_1/kernel"].T))
    assert torch.equal(state["backbone.dense.bias"], torch.from_numpy(tf["dense/bias"]))


def test_converter_includes_batch_norm_statistics(musicnn_bundle):
    folder, tf = musicnn_bundle
    state = convert_bundle(folder, MSD_LABELS).state_dict()
    assert torch.equal(state["backbone.pool_bn.running_mean"], torch.from_numpy(tf["batch_normalization_9/moving_mean"]))
    assert torch.equal(state["backbone.pool_bn.running_var"], torch.from_numpy(tf["batch_normalization_9/moving_variance"]))
    assert torch.equal(state["backbone.input_bn.weight"], torch.from_numpy(tf["batch_normalization/gamma"]))
    assert torch.equal(state["backbone.dense_bn.bias"], torch.from_numpy(tf["batch_normalization_10/beta"]))


def test_converter_reports_a_missing_variable(tmp_path):
    tensors = musicnn_tensors()
    del tensors["batch_normalization_7/moving_variance"]
    folder = write_musicnn_bundle(tmp_path / "m", tensors)
    with pytest.raises(ConversionError, match="lacks variables: batch_normalization_7/moving_variance"):
        convert_bundle(folder, MSD_LABELS)


def test_converter_reports_a_shape_that_differs(tmp_path):
    tensors = musicnn_tensors()
    tensors["conv2d_1/kernel"] = np.zeros((7, 66, 1, 204), np.float32)
    folder = write_musicnn_bundle(tmp_path / "m", tensors)
    with pytest.raises(ConversionError, match=r"conv2d_1/kernel has shape \[7, 66, 1, 204\].*needs \[7, 67, 1, 204\]"):
        convert_bundle(folder, MSD_LABELS)


def test_converter_reports_a_variable_it_cannot_place(tmp_path):
    tensors = musicnn_tensors()
    tensors["conv2d_8/kernel"] = np.zeros((1, 1, 1, 1), np.float32)
    folder = write_musicnn_bundle(tmp_path / "m", tensors)
    with pytest.raises(ConversionError, match="no place in the network: conv2d_8/kernel"):
        musicnn_state_dict(CheckpointBundle(folder), Musicnn(n_labels=50))


def test_import_command_writes_loadable_checkpoints_from_a_wheel(tmp_path, musicnn_bundle):
    folder, tf = musicnn_bundle
    wheel = tmp_path / "musicnn-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for model in ("MSD_musicnn", "MTT_musicnn"):
            for file in folder.iterdir():
                zf.write(file, f"musicnn/{model}/{file.name}")
        zf.writestr("musicnn/MTT_musicnn/experiment.result", "Results:\nROC-AUC: 0.91\nPR-AUC: 0.38\n")
        zf.writestr("musicnn-0.1.0.dist-info/LICENSE.md", "ISC licence text")
    assert import_musicnn.main([str(wheel), "--out-dir", str(tmp_path / "out")]) == 0
    msd = load_checkpoint(tmp_path / "out" / "msd_musicnn.pt")
    mtt = load_checkpoint(tmp_path / "out" / "mtt_musicnn.pt")
    assert (msd.arch, msd.output, msd.labels, msd.features) == ("musicnn", "sigmoid", MSD_LABELS, FeatureConfig())
    assert mtt.labels == MTT_LABELS
    assert mtt.metrics == {"original_test_roc_auc": 0.91, "original_test_pr_auc": 0.38}
    assert msd.metrics == {}  # no experiment.result in this wheel's MSD folder
    assert msd.trained_on["source_sha256"] and "musicnn 0.1.0" in msd.trained_on["model"]
    assert torch.equal(msd.model.state_dict()["classifier.bias"], torch.from_numpy(tf["dense_1/bias"]))


def test_import_command_converts_one_model_from_a_folder(tmp_path, musicnn_bundle):
    folder, _ = musicnn_bundle
    assert import_musicnn.main([str(folder.parent), "--model", "msd", "--out-dir", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.glob("*.pt")] == ["msd_musicnn.pt"]


def test_import_command_fails_clearly_without_checkpoints(tmp_path, capsys):
    assert import_musicnn.main([str(tmp_path), "--out-dir", str(tmp_path / "out")]) == 1
    assert "no MSD_musicnn checkpoint" in capsys.readouterr().err


def test_import_command_is_a_genrenet_subcommand():
    from tagger.cli import build_parser
    from training.cli import run_import_musicnn

    args = build_parser().parse_args(["import-musicnn", "x.whl", "--out-dir", "models"])
    assert args.func is run_import_musicnn and args.source == Path("x.whl")
