"""Model registry: architecture name -> constructor. Checkpoints name their arch; never eval().

Every model takes a batch of log-mel windows shaped (batch, frames, n_mels) and returns logits
shaped (batch, n_labels). Constructors take keyword arguments only; those are stored in the
checkpoint as `arch_kwargs`, so build(arch, **arch_kwargs) rebuilds the same network.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from torch import nn

REGISTRY: dict[str, Callable[..., nn.Module]] = {}

F = TypeVar("F", bound=Callable[..., nn.Module])


def register(name: str) -> Callable[[F], F]:
    def add(constructor: F) -> F:
        if name in REGISTRY:
            raise ValueError(f"architecture {name!r} registered twice")
        REGISTRY[name] = constructor
        return constructor

    return add


def build(arch: str, **arch_kwargs) -> nn.Module:
    _load_builtin_models(wanted=arch)
    try:
        constructor = REGISTRY[arch]
    except KeyError:
        _load_builtin_models()
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown architecture {arch!r} (known: {known})") from None
    check_arguments(arch, arch_kwargs)
    return constructor(**arch_kwargs)


def check_arguments(arch: str, arch_kwargs: dict) -> None:
    """ValueError naming the arguments `arch` does not take (a typo in --arch-kwargs)."""
    _load_builtin_models(wanted=arch)
    constructor = REGISTRY.get(arch)
    if constructor is None or _takes_any_keyword(constructor):
        return
    unknown = sorted(set(arch_kwargs) - _keywords(constructor))
    if unknown:
        takes = ", ".join(sorted(_keywords(constructor))) or "none"
        raise ValueError(f"{arch} takes no argument {', '.join(map(repr, unknown))} (it takes: {takes})")


def _keywords(constructor: Callable[..., nn.Module]) -> set[str]:
    params = inspect.signature(constructor).parameters.values()
    return {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"}


def _takes_any_keyword(constructor: Callable[..., nn.Module]) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(constructor).parameters.values())


def available() -> list[str]:
    _load_builtin_models()
    return sorted(REGISTRY)


# Imported lazily so `import tagger.models` stays cheap; each module registers itself. The
# torchvision networks come last: importing torchvision costs about 2 s, paid only for them.
_BUILTIN = ("compact", "musicnn", "short_chunk", "student", "vision")


def _load_builtin_models(wanted: str | None = None) -> None:
    for name in _BUILTIN:
        if wanted is not None and wanted in REGISTRY:
            return
        try:
            __import__(f"tagger.models.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tagger.models.{name}":
                raise
