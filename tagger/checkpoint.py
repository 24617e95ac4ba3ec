"""Save and load genrenet checkpoints: one file holding one plain dict.

Keys: format, arch, arch_kwargs, labels, features (FeatureConfig dict), output ("softmax" for
single-label genre models, "sigmoid" for multi-label taggers), calibration ({"temperature": T}),
state_dict, metrics, trained_on. A model file is untrusted input: it is loaded with
weights_only=True, and everything in it is checked before a network is built.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tagger import models
from tagger.errors import ModelError
from tagger.features import FeatureConfig
from tagger.onnx_model import file_id

FORMAT = "genrenet-checkpoint/1"
OUTPUTS = ("softmax", "sigmoid")
MAX_LABELS = 100_000
MAX_ARCH_NUMBER = 1_000_000  # no layer size or count of a model genrenet runs is larger
REQUIRED = ("format", "arch", "arch_kwargs", "labels", "features", "output", "state_dict")


@dataclass
class LoadedModel:
    """A checkpoint turned into a ready network (eval mode, on `device`) plus what it needs."""

    model: nn.Module
    arch: str
    labels: tuple[str, ...]
    features: FeatureConfig
    output: str
    temperature: float
    model_id: str  # content hash of the file: cached predictions are valid while it matches
    device: torch.device
    path: Path | None = None
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_on: dict[str, Any] = field(default_factory=dict)
    tag_labels: tuple[str, ...] = ()  # the last.fm tags judged beside the genres (tagger.tag_head)
    tagged: nn.Module | None = None  # the model with the tags beside it, when tag_labels

    backend = "torch"

    def judge(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (batch, n_labels) of windows x (batch, frames, n_mels)."""
        with torch.inference_mode():
            return self.probabilities(self.model(torch.from_numpy(x).to(self.device)))

    def judge_all(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """judge(x), and the tag probabilities (batch, n_tags) when the model has tags."""
        if self.tagged is None:
            return self.judge(x), None
        with torch.inference_mode():
            logits, tag_logits = self.tagged(torch.from_numpy(x).to(self.device))
            return self.probabilities(logits), torch.sigmoid(tag_logits).cpu().numpy().astype(np.float32)

    @contextlib.contextmanager
    def threads(self, count: int):
        """torch's intra-op threads for a run (CPU only), restored afterwards."""
        before = torch.get_num_threads()
        if self.device.type != "cpu" or count == before:
            yield
            return
        torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def probabilities(self, logits: torch.Tensor) -> np.ndarray:
        """Calibrated probabilities from logits (batch, n_labels): float32 numpy."""
        scaled = logits.float() / self.temperature
        probs = torch.softmax(scaled, dim=-1) if self.output == "softmax" else torch.sigmoid(scaled)
        return probs.cpu().numpy().astype(np.float32)


def save_checkpoint(
    path: Path,
    *,
    model: nn.Module,
    arch: str,
    arch_kwargs: dict[str, Any],
    labels: list[str] | tuple[str, ...],
    features: FeatureConfig,
    output: str = "softmax",
    temperature: float = 1.0,
    metrics: dict[str, Any] | None = None,
    trained_on: dict[str, Any] | None = None,
) -> None:
    """Write a checkpoint atomically (temp file in the same folder, then rename)."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}")
    payload = {
        "format": FORMAT,
        "arch": arch,
        "arch_kwargs": dict(arch_kwargs),
        "labels": list(labels),
        "features": features.to_dict(),
        "output": output,
        "calibration": {"temperature": float(temperature)},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metrics": metrics or {},
        "trained_on": trained_on or {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checked checkpoint dict, without building the network. Raises ModelError."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise ModelError(f"{path.name} is not a genrenet model file ({_load_failure(path, exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ModelError(f"{path.name} is not a genrenet model file (format {found!r}, expected {FORMAT!r})")
    missing = [k for k in REQUIRED if k not in payload]
    if missing:
        raise ModelError(f"{path.name} is incomplete: missing {', '.join(missing)}")
    if payload["output"] not in OUTPUTS:
        raise ModelError(f"{path.name}: unknown output type {payload['output']!r}")
    labels = payload["labels"]
    if not isinstance(labels, list | tuple) or not labels or not all(isinstance(x, str) and x for x in labels):
        raise ModelError(f"{path.name}: labels must be a non-empty list of names")
    if len(labels) > MAX_LABELS:
        raise ModelError(f"{path.name}: {len(labels)} labels is more than a genre model has")
    if not isinstance(payload["arch"], str):
        raise ModelError(f"{path.name}: the architecture must be a name, not {type(payload['arch']).__name__}")
    kwargs = payload["arch_kwargs"]
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ModelError(f"{path.name}: arch_kwargs must be a mapping of names to values")
    for name, value in kwargs.items():
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > MAX_ARCH_NUMBER:
            raise ModelError(f"{path.name}: arch_kwargs {name}={value!r} is out of range")
    if "n_labels" in kwargs and kwargs["n_labels"] != len(labels):
        raise ModelError(f"{path.name}: the network has {kwargs['n_labels']} outputs but {len(labels)} labels")
    calibration = payload.get("calibration", {})
    temperature = calibration.get("temperature", 1.0) if isinstance(calibration, dict) else None
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not (
            math.isfinite(temperature) and temperature > 0):
        raise ModelError(f"{path.name}: calibration temperature must be a positive number, not {temperature!r}")
    if not isinstance(payload["state_dict"], dict) or not all(
            isinstance(t, torch.Tensor) for t in payload["state_dict"].values()):
        raise ModelError(f"{path.name}: the weights are not a mapping of tensors")
    bad = [k for k, t in payload["state_dict"].items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise ModelError(f"{path.name}: weights hold NaN or infinite values ({bad[0]}); the model is broken")
    return payload


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> LoadedModel:
    """Load, check and build a model ready for inference. Raises ModelError with the reason."""
    path = Path(path)
    payload = read_checkpoint(path)
    try:
        features = FeatureConfig.from_dict(payload["features"])
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path.name}: bad feature settings ({exc})") from None
    try:
        model = models.build(payload["arch"], **payload["arch_kwargs"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path.name}: cannot build architecture {payload['arch']!r} ({exc})") from None
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except (RuntimeError, KeyError) as exc:
        raise ModelError(f"{path.name}: weights do not fit {payload['arch']!r} ({_first_line(exc)})") from None
    device = torch.device(device)
    model.to(device).eval()
    temperature = float(payload.get("calibration", {}).get("temperature", 1.0))
    _probe(path, model, features, len(payload["labels"]), device)
    from tagger.tag_head import tags_for

    tag_labels, tagged = tags_for(model) or ((), None)
    return LoadedModel(
        model=model,
        arch=payload["arch"],
        labels=tuple(payload["labels"]),
        features=features,
        output=payload["output"],
        temperature=temperature,
        model_id=file_id(path),
        device=device,
        path=path,
        arch_kwargs=dict(payload["arch_kwargs"]),
        metrics=dict(payload.get("metrics", {})),
        trained_on=dict(payload.get("trained_on", {})),
        tag_labels=tag_labels,
        tagged=None if tagged is None else tagged.to(device),
    )


def _probe(path: Path, model: nn.Module, features: FeatureConfig, n_labels: int, device: torch.device) -> None:
    """One window of silence through the network: it must give one finite output per label."""
    try:
        with torch.inference_mode():
            out = model(torch.zeros(1, features.window_frames, features.n_mels, device=device))
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ModelError(f"{path.name}: the network does not take its own feature settings ({_first_line(exc)})") from None
    if tuple(out.shape) != (1, n_labels):
        raise ModelError(f"{path.name}: the network gives {tuple(out.shape)[1:]} outputs for {n_labels} labels")
    if not torch.isfinite(out).all():
        raise ModelError(f"{path.name}: the network gives NaN or infinite outputs; the model is broken")


def _load_failure(path: Path, exc: BaseException) -> str:
    """torch.load's reason in user terms (its own message suggests weights_only=False)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head and not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):
        return "not a PyTorch file"  # neither torch.save's zip nor a pickle
    text = str(exc)
    if "Weights only load failed" in text:
        return "it holds Python objects, not only weights; refused, since loading them could run code"
    if isinstance(exc, EOFError):
        return "the file is empty or cut short"
    if isinstance(exc, (pickle.UnpicklingError, IndexError, KeyError)):
        return "not a PyTorch file"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
