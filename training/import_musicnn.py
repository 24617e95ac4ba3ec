"""Convert musicnn's pretrained TensorFlow checkpoints into genrenet checkpoints.

`genrenet import-musicnn [SOURCE] --out-dir DIR` reads the checkpoints that ship inside the
musicnn 0.1.0 wheel (Pons & Serra 2019, ISC licence) and writes `msd_musicnn.pt` and
`mtt_musicnn.pt`. SOURCE is the .whl, or a folder holding the unpacked wheel (or its `musicnn`
package); without it the wheel is fetched with `python -m pip download --no-deps musicnn==0.1.0`.
TensorFlow is not needed: training/tf_checkpoint.py reads the bundle directly.

Every variable is mapped by name (VARIABLE_MAP), never by order; the optimiser's slots are
skipped; a missing variable, a shape that differs or a variable nobody maps is an error.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from tagger.checkpoint import save_checkpoint
from tagger.features import FeatureConfig
from tagger.models.musicnn import MSD_LABELS, MTT_LABELS, Musicnn
from training.tf_checkpoint import CheckpointBundle, CheckpointFormatError

WHEEL_REQUIREMENT = "musicnn==0.1.0"
PAPER = (
    "Jordi Pons and Xavier Serra, 'musicnn: Pre-trained convolutional neural networks for music "
    "audio tagging', ISMIR 2019 late-breaking/demo, arXiv:1909.06654"
)
SOURCE_URL = "https://github.com/jordipons/musicnn"


@dataclass(frozen=True)
class PretrainedModel:
    tf_name: str  # folder inside the wheel's musicnn package
    out_name: str
    labels: tuple[str, ...]
    dataset: str


MODELS = {
    "msd": PretrainedModel("MSD_musicnn", "msd_musicnn.pt", MSD_LABELS,
                           "Million Song Dataset (audio previews), the 50 most frequent Last.fm tags"),
    "mtt": PretrainedModel("MTT_musicnn", "mtt_musicnn.pt", MTT_LABELS,
                           "MagnaTagATune, the 50 most frequent tags"),
}  # fmt: skip


class ConversionError(Exception):
    """The checkpoint does not fit the PyTorch network (the message says which variable and why)."""


# --- the mapping ------------------------------------------------------------------------------
# How a TF tensor becomes a PyTorch one. TF keeps kernels channel-last: conv2d [h, w, in, out],
# dense [in, out]; PyTorch wants conv2d [out, in, h, w], conv1d [out, in, k], linear [out, in].

def _conv2d(a: np.ndarray) -> np.ndarray:
    return a.transpose(3, 2, 0, 1)  # [h, w, in, out] -> [out, in, h, w]


def _conv1d(a: np.ndarray) -> np.ndarray:
    # The mid-end's TF "conv2d" kernel [7, features, 1, out] slides over time only: a 1-D
    # convolution with the features as input channels.
    return a[:, :, 0, :].transpose(2, 1, 0)  # [k, in, 1, out] -> [out, in, k]


def _dense(a: np.ndarray) -> np.ndarray:
    return a.T  # [in, out] -> [out, in]


def _same(a: np.ndarray) -> np.ndarray:
    return a


# The inverse shape change, to name the shape the checkpoint should hold.
_TF_SHAPE: dict[Callable, Callable[[tuple[int, ...]], tuple[int, ...]]] = {
    _conv2d: lambda s: (s[2], s[3], s[1], s[0]),
    _conv1d: lambda s: (s[2], s[1], 1, s[0]),
    _dense: lambda s: (s[1], s[0]),
    _same: lambda s: s,
}


def _bn(tf_scope: str, module: str) -> dict[str, tuple[str, Callable]]:
    return {
        f"{tf_scope}/gamma": (f"{module}.weight", _same),
        f"{tf_scope}/beta": (f"{module}.bias", _same),
        f"{tf_scope}/moving_mean": (f"{module}.running_mean", _same),
        f"{tf_scope}/moving_variance": (f"{module}.running_var", _same),
    }


def _layer(tf_scope: str, module: str, transform: Callable) -> dict[str, tuple[str, Callable]]:
    return {
        f"{tf_scope}/kernel": (f"{module}.weight", transform),
        f"{tf_scope}/bias": (f"{module}.bias", _same),
    }


# TF variable -> (PyTorch parameter or buffer, transform). TF names layers by creation order in
# musicnn's models.build_musicnn; the comments give the layer each one is.
VARIABLE_MAP: dict[str, tuple[str, Callable]] = {
    **_bn("batch_normalization", "backbone.input_bn"),  # input normalisation
    **_layer("conv2d", "backbone.timbral_74.conv", _conv2d),  # timbral 7 x 38
    **_bn("batch_normalization_1", "backbone.timbral_74.bn"),
    **_layer("conv2d_1", "backbone.timbral_77.conv", _conv2d),  # timbral 7 x 67
    **_bn("batch_normalization_2", "backbone.timbral_77.bn"),
    **_layer("conv2d_2", "backbone.temporal_128.conv", _conv2d),  # temporal 128 x 1
    **_bn("batch_normalization_3", "backbone.temporal_128.bn"),
    **_layer("conv2d_3", "backbone.temporal_64.conv", _conv2d),  # temporal 64 x 1
    **_bn("batch_normalization_4", "backbone.temporal_64.bn"),
    **_layer("conv2d_4", "backbone.temporal_32.conv", _conv2d),  # temporal 32 x 1
    **_bn("batch_normalization_5", "backbone.temporal_32.bn"),
    **_layer("conv2d_5", "backbone.midend1.conv", _conv1d),  # mid-end 1
    **_bn("batch_normalization_6", "backbone.midend1.bn"),
    **_layer("conv2d_6", "backbone.midend2.conv", _conv1d),  # mid-end 2 (residual)
    **_bn("batch_normalization_7", "backbone.midend2.bn"),
    **_layer("conv2d_7", "backbone.midend3.conv", _conv1d),  # mid-end 3 (residual)
    **_bn("batch_normalization_8", "backbone.midend3.bn"),
    **_bn("batch_normalization_9", "backbone.pool_bn"),  # pooled max/mean
    **_layer("dense", "backbone.dense", _dense),  # penultimate, 200 units
    **_bn("batch_normalization_10", "backbone.dense_bn"),
    **_layer("dense_1", "classifier", _dense),  # output, 50 tags
}

OPTIMISER_SUFFIXES = ("/Adam", "/Adam_1")
OPTIMISER_VARIABLES = ("beta1_power", "beta2_power")


def is_optimiser_slot(name: str) -> bool:
    return name.endswith(OPTIMISER_SUFFIXES) or name in OPTIMISER_VARIABLES


def musicnn_state_dict(bundle: CheckpointBundle, model: Musicnn) -> dict[str, torch.Tensor]:
    """The state dict of `model` filled from the bundle's variables. Raises ConversionError."""
    target = model.state_dict()
    unmapped = [n for n in bundle.names() if not is_optimiser_slot(n) and n not in VARIABLE_MAP]
    if unmapped:
        raise ConversionError(f"checkpoint variables with no place in the network: {', '.join(unmapped)}")
    missing = [n for n in VARIABLE_MAP if n not in bundle.entries]
    if missing:
        raise ConversionError(f"checkpoint lacks variables: {', '.join(missing)}")
    state = dict(target)
    for tf_name, (param, transform) in VARIABLE_MAP.items():
        want = tuple(target[param].shape)
        want_tf = _TF_SHAPE[transform](want)
        have = bundle.entry(tf_name).shape
        if have != want_tf:
            raise ConversionError(
                f"variable {tf_name} has shape {list(have)} in the checkpoint, "
                f"but {param} needs {list(want_tf)}"
            )
        try:
            array = bundle.read(tf_name)
        except CheckpointFormatError as exc:
            raise ConversionError(str(exc)) from None
        if array.dtype != np.float32:
            raise ConversionError(f"variable {tf_name} is {array.dtype}, expected float32")
        state[param] = torch.from_numpy(np.ascontiguousarray(transform(array)))
    covered = {param for param, _ in VARIABLE_MAP.values()}
    uncovered = [k for k in target if k not in covered and not k.endswith("num_batches_tracked")]
    if uncovered:  # the table and the network disagree: a bug here, not in the checkpoint
        raise ConversionError(f"network parameters no variable fills: {', '.join(uncovered)}")
    return state


def convert_bundle(bundle_path: Path | str, labels: Sequence[str]) -> Musicnn:
    """A Musicnn tagger (eval mode) holding the weights of the TF bundle at `bundle_path`."""
    bundle = CheckpointBundle(bundle_path)
    model = Musicnn(n_labels=len(labels))
    model.load_state_dict(musicnn_state_dict(bundle, model), strict=True)
    return model.eval()


# --- finding the checkpoints ------------------------------------------------------------------

def download_wheel(dest: Path) -> Path:
    """Fetch the musicnn wheel with pip into `dest`; its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           WHEEL_REQUIREMENT, "-d", str(dest)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("musicnn-*.whl"))
    if result.returncode != 0 or not wheels:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ConversionError(f"could not download {WHEEL_REQUIREMENT}: {' '.join(tail)}")
    return wheels[0]


def unpack_wheel(wheel: Path, dest: Path) -> Path:
    """Extract the wheel's musicnn checkpoints and licence into `dest`; returns `dest`."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            wanted = [n for n in zf.namelist()
                      if any(f"musicnn/{m.tf_name}/" in n for m in MODELS.values())
                      or n.endswith(".dist-info/LICENSE.md")]  # fmt: skip
            for name in wanted:
                zf.extract(name, dest)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConversionError(f"{wheel.name} is not a readable wheel ({exc})") from None
    return dest


def find_model_dir(root: Path, tf_name: str) -> Path:
    """The folder holding `<tf_name>/.index` under an unpacked wheel or its musicnn package."""
    for candidate in (root / "musicnn" / tf_name, root / tf_name):
        if (candidate / ".index").is_file():
            return candidate
    found = sorted(p.parent for p in root.rglob(f"{tf_name}/.index"))
    if not found:
        raise ConversionError(f"no {tf_name} checkpoint (a {tf_name}/.index file) under {root}")
    return found[0]


def reported_results(folder: Path) -> dict[str, float]:
    """The test scores the original reports in `<folder>/experiment.result` ({} without it).

    The file gives ROC-AUC then PR-AUC ("ROC-AUC: x" / "PR-AUC: y" for MTT, "AUC: x" twice for
    MSD); the numbers are taken in that order.
    """
    path = folder / "experiment.result"
    if not path.is_file():
        return {}
    numbers = []
    for line in path.read_text(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip().endswith("AUC"):
            try:
                numbers.append(float(value))
            except ValueError:
                continue
    return dict(zip(("original_test_roc_auc", "original_test_pr_auc"), numbers, strict=False))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert(source: Path | None, out_dir: Path, which: Sequence[str] = ("msd", "mtt"),
            log: Callable[[str], None] = print) -> list[Path]:
    """Convert the chosen musicnn models from `source` (wheel, folder, or None: download)."""
    with tempfile.TemporaryDirectory(prefix="genrenet-musicnn-") as tmp:
        tmp_dir = Path(tmp)
        if source is None:
            log(f"downloading {WHEEL_REQUIREMENT} with pip ...")
            source = download_wheel(tmp_dir / "download")
        source = Path(source)
        if not source.exists():
            raise ConversionError(f"not found: {source}")
        provenance = {"source_file": source.name}
        if source.is_file():
            provenance["source_sha256"] = sha256(source)
            root = unpack_wheel(source, tmp_dir / "wheel")
        else:
            root = source
        written = []
        for key in which:
            spec = MODELS[key]
            folder = find_model_dir(root, spec.tf_name)
            model = convert_bundle(folder, spec.labels)
            out = Path(out_dir) / spec.out_name
            save_checkpoint(
                out,
                model=model,
                arch="musicnn",
                arch_kwargs={"n_labels": len(spec.labels)},
                labels=list(spec.labels),
                features=FeatureConfig(),
                output="sigmoid",
                metrics=reported_results(folder),
                trained_on={
                    "datasets": [spec.dataset],
                    "model": f"musicnn 0.1.0 {spec.tf_name}",
                    "paper": PAPER,
                    "source": SOURCE_URL,
                    "license": "ISC (see LICENSE-musicnn.txt)",
                    "converted_from": f"TensorFlow checkpoint musicnn/{spec.tf_name}/ in {WHEEL_REQUIREMENT}",
                    "converted_by": "genrenet import-musicnn (training/import_musicnn.py)",
                    "converted_at": datetime.now(UTC).strftime("%Y-%m-%d"),
                    **provenance,
                },
            )
            log(f"wrote {out} ({spec.tf_name}, {len(spec.labels)} tags)")
            written.append(out)
        return written


# --- command line (the parser lives in training/cli.py, which imports no torch) ---------------

def run(args: argparse.Namespace) -> int:
    try:
        convert(args.source, args.out_dir, args.models or sorted(MODELS))
    except (ConversionError, CheckpointFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from training.cli import configure_import_musicnn

    parser = configure_import_musicnn(argparse.ArgumentParser(prog="genrenet import-musicnn",
                                                              description=__doc__.split("\n\n")[0]))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
