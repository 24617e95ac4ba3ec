"""Choose the compute device and keep CPU threads from oversubscribing the machine."""

from __future__ import annotations

import os

import torch

CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    """Devices this machine can run on, best first; "cpu" is always there."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA, then Apple MPS, then CPU. An unavailable explicit choice raises."""
    if name not in CHOICES:
        raise ValueError(f"unknown device {name!r} (choose from {', '.join(CHOICES)})")
    have = available_devices()
    chosen = have[0] if name == "auto" else name
    if chosen not in have:
        raise ValueError(f"device {name!r} is not available here (available: {', '.join(have)})")
    if chosen == "cpu":
        configure_cpu_threads()
    return torch.device(chosen)


def configure_cpu_threads(threads: int | None = None) -> int:
    """Give torch the cores and keep numpy/BLAS single-threaded beside it. Returns torch's count."""
    threads = threads or max(1, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    return threads
