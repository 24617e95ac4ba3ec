"""The CPU inference path: the model's network run by ONNX Runtime, without importing PyTorch.

On a CPU, ONNX Runtime runs musicnn's network in about two thirds of PyTorch's time (measured in
bench/bench_classify.py), and a process that finds the exported graph in the cache never
imports torch (about 2.5 s here). A checkpoint is exported once: PyTorch loads and checks it
(tagger.checkpoint), the network is exported to ONNX, and ONNX Runtime must reproduce PyTorch's
probabilities within PROBABILITY_TOLERANCE on a probe batch before the graph is used. The graph
and what the app needs of the checkpoint (labels, features, output, temperature) are kept in the
cache folder, keyed by the checkpoint's content hash, so a changed model file is exported anew.
Anything that goes wrong on the way (no onnxruntime, an architecture the exporter cannot take, a
mismatch) is an ExportError, and the caller runs the model with PyTorch instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tagger import paths
from tagger.features import FeatureConfig

log = logging.getLogger(__name__)

PROBABILITY_TOLERANCE = 1e-5  # ORT against PyTorch on the probe batch (the bar is 1e-4)
CACHE_VERSION = 3  # bump when the export or its metadata change: older exports are redone


class ExportError(Exception):
    """This model cannot run on ONNX Runtime here; use PyTorch."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the pipeline asks of a device (torch.device has the same `type`)."""

    type: str = "cpu"


@dataclass
class OrtModel:
    """A genre model run by ONNX Runtime; the same fields the app reads from a LoadedModel."""

    session: Any  # onnxruntime.InferenceSession
    arch: str
    labels: tuple[str, ...]
    features: FeatureConfig
    output: str
    temperature: float
    model_id: str
    path: Path | None = None
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_on: dict[str, Any] = field(default_factory=dict)
    device: DeviceInfo = field(default_factory=DeviceInfo)
    backend: str = "onnxruntime"
    tag_labels: tuple[str, ...] = ()  # the last.fm tags judged beside the genres (tagger.tag_head)

    def judge(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (batch, n_labels) of windows x (batch, frames, n_mels)."""
        logits = self.session.run(["logits"], {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]
        return calibrated(logits, self.temperature, self.output)

    def judge_all(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """judge(x), and the tag probabilities (batch, n_tags) when the model has tags."""
        if not self.tag_labels:
            return self.judge(x), None
        logits, tag_logits = self.session.run(["logits", "tag_logits"], {"x": np.ascontiguousarray(x, dtype=np.float32)})
        return calibrated(logits, self.temperature, self.output), calibrated(tag_logits, 1.0, "sigmoid")

    @contextlib.contextmanager
    def threads(self, count: int) -> Iterator[None]:
        yield  # each session runs on one thread; the pipeline runs one per core


def calibrated(logits: np.ndarray, temperature: float, output: str) -> np.ndarray:
    scaled = logits.astype(np.float32) / np.float32(temperature)
    if output == "softmax":
        shifted = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
        return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)
    return (1.0 / (1.0 + np.exp(-scaled))).astype(np.float32)


def file_id(path: Path) -> str:
    """The model file's content hash: cached predictions and exports are valid while it matches."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def load_onnx(path: Path) -> OrtModel:
    """The model at `path` on ONNX Runtime, exporting it first when the cache has no graph for
    it. Raises ModelError for a file that is not a usable model, ExportError when ONNX Runtime
    cannot take it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ExportError(f"onnxruntime is not installed ({exc})") from None
    path = Path(path)
    model_id = file_id(path)
    folder = paths.cache_dir() / "models"
    graph, meta_file = folder / f"{model_id}.onnx", folder / f"{model_id}.json"
    meta = _read_meta(meta_file)
    if meta is None or not graph.is_file():
        meta = _export(path, model_id, graph, meta_file)
    if not meta.get("usable"):
        raise ExportError(meta.get("why", "not usable on ONNX Runtime"))
    session = _session(onnxruntime, graph)
    return OrtModel(session=session, arch=meta["arch"], labels=tuple(meta["labels"]),
                    features=FeatureConfig.from_dict(meta["features"]), output=meta["output"],
                    temperature=float(meta["temperature"]), model_id=model_id, path=path,
                    arch_kwargs=meta.get("arch_kwargs", {}), metrics=meta.get("metrics", {}),
                    trained_on=meta.get("trained_on", {}), tag_labels=tuple(meta.get("tag_labels", ())))


def _session(onnxruntime, graph: Path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a cached graph that no longer loads: export again next time
        graph.unlink(missing_ok=True)
        raise ExportError(f"the cached ONNX graph {graph} does not load ({exc})") from None


def _read_meta(meta_file: Path) -> dict | None:
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("cache_version") == CACHE_VERSION else None


def _export(path: Path, model_id: str, graph: Path, meta_file: Path) -> dict:
    """Export with PyTorch, check ONNX Runtime's outputs against it, and keep both files."""
    from tagger.checkpoint import load_checkpoint  # torch: only when there is no export yet

    loaded = load_checkpoint(path, "cpu")  # ModelError for a file that is not a usable model
    meta: dict[str, Any] = {
        "cache_version": CACHE_VERSION, "model_id": model_id, "arch": loaded.arch,
        "labels": list(loaded.labels), "features": loaded.features.to_dict(), "output": loaded.output,
        "temperature": loaded.temperature, "arch_kwargs": _plain(loaded.arch_kwargs),
        "metrics": _plain(loaded.metrics), "trained_on": _plain(loaded.trained_on),
        "tag_labels": list(loaded.tag_labels),
    }
    tmp = graph.with_name(f".{graph.name}.{os.getpid()}.tmp")
    try:
        try:
            graph.parent.mkdir(parents=True, exist_ok=True)
            _export_graph(loaded, tmp)
            _check_against_torch(loaded, tmp)
            os.replace(tmp, graph)
        except OSError as exc:  # an unwritable cache folder: PyTorch it is, this time
            raise ExportError(f"the exported graph cannot be kept in {graph.parent} ({exc})") from None
        meta["usable"] = True
    except ExportError as exc:
        meta.update(usable=False, why=str(exc))
        log.info("%s runs on PyTorch: %s", path.name, exc)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    _write_json(meta_file, meta)
    return meta


def _export_graph(loaded, dest: Path) -> None:
    import warnings

    import torch

    example = torch.zeros(1, loaded.features.window_frames, loaded.features.n_mels)
    network, outputs = (loaded.model, ["logits"]) if loaded.tagged is None else (loaded.tagged, ["logits", "tag_logits"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(network, (example,), str(dest), dynamo=False, input_names=["x"],
                              output_names=outputs, dynamic_axes={"x": {0: "batch"}, **{o: {0: "batch"} for o in outputs}},
                              opset_version=17)
    except Exception as exc:  # the exporter raises many kinds for what it cannot take
        raise ExportError(f"the network could not be exported to ONNX ({type(exc).__name__}: {exc})") from None


def _check_against_torch(loaded, graph: Path) -> None:
    import onnxruntime

    rng = np.random.default_rng(0)
    x = (rng.random((3, loaded.features.window_frames, loaded.features.n_mels), dtype=np.float32) * 4)
    expected = loaded.judge_all(x)
    outputs = _session(onnxruntime, graph).run(None, {"x": x})
    got = [calibrated(outputs[0], loaded.temperature, loaded.output)]
    if expected[1] is not None:
        got.append(calibrated(outputs[1], 1.0, "sigmoid"))
    worst = max(float(np.max(np.abs(g - e))) for g, e in zip(got, expected, strict=False))
    if not worst <= PROBABILITY_TOLERANCE:
        raise ExportError(f"ONNX Runtime's probabilities differ from PyTorch's by {worst:.2g}")


def _plain(value: Any) -> Any:
    """JSON-safe copy of checkpoint metadata (numbers, text, lists, mappings)."""
    return json.loads(json.dumps(value, default=str))


def _write_json(dest: Path, data: dict) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, dest)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        log.info("could not keep %s (%s); the model is exported again next time", dest, exc)
