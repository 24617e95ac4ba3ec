"""The progress events of `genrenet train` and `genrenet learn`, typed once for both sides.

With --progress-json each command prints one JSON object per line on stdout, its "event" naming
the kind; the app (gui/retrain/runner.py) reads them back. In Python, train() and learn() hand
the same objects to their `progress` callback as plain dicts (Event.to_dict()).

    line = serialize(Epoch(epoch=1, ...))   # the trainer
    event = parse(line, TRAIN)              # the app: an Event, Unknown, or None (not an event)

`genrenet train` (TRAIN): features and embeddings come first (decoding, then a frozen backbone once
per clip), then start, then step and epoch, and done last; error only from the CLI (exit status 1).
Epochs and steps count from 1. `genrenet learn` (LEARN): start (the label set), features,
embeddings, one fold per cross-validation fold, learned (the report) last.

A reader keeps up with a newer trainer: fields it does not know are ignored, and a kind it does
not know comes back as Unknown. A line that is an event of a known kind with a field missing or of
the wrong type, or a line that starts like JSON and is not, raises EventError (a ValueError).

Torch- and numpy-free: the app imports this module.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from dataclasses import dataclass, fields
from typing import Any, ClassVar


class EventError(ValueError):
    """A line that should be a progress event and is not a valid one."""


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        """{"event": kind, field: value, ...}: plain JSON types (tuples as lists)."""
        return {"event": self.kind, **{f.name: _plain(getattr(self, f.name)) for f in fields(self)}}


@dataclass(frozen=True)
class Count(Event):
    """Work done of the total, for a progress bar."""

    done: int
    total: int


@dataclass(frozen=True)
class Features(Count):
    """Decoding clips into the feature cache."""

    kind: ClassVar[str] = "features"


@dataclass(frozen=True)
class Embeddings(Count):
    """A frozen backbone run once per clip."""

    kind: ClassVar[str] = "embeddings"


@dataclass(frozen=True)
class Start(Event):
    """Training starts; the clip counts leave out clips that failed to decode."""

    kind: ClassVar[str] = "start"
    arch: str
    labels: tuple[str, ...]
    train_clips: int
    valid_clips: int
    test_clips: int
    epochs: int
    steps_per_epoch: int
    device: str
    skipped: int
    first_epoch: int  # > 1 when resumed


@dataclass(frozen=True)
class Step(Event):
    kind: ClassVar[str] = "step"
    epoch: int
    step: int
    steps: int
    loss: float
    lr: float


@dataclass(frozen=True)
class Epoch(Event):
    kind: ClassVar[str] = "epoch"
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
    best: bool  # the best epoch so far: its checkpoint was written


STOPPED = ("completed", "early_stop", "cancelled", "max_steps")


@dataclass(frozen=True)
class Done(Event):
    kind: ClassVar[str] = "done"
    stopped: str  # one of STOPPED
    checkpoint: str | None
    best_epoch: int | None
    val_accuracy: float | None
    temperature: float
    seconds: float


@dataclass(frozen=True)
class Error(Event):
    """The run could not go on (CLI only; the exit status is 1)."""

    kind: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True)
class LearnStart(Event):
    """`genrenet learn` starts: the genres it learns, from how many tracks, in how many folds."""

    kind: ClassVar[str] = "start"
    labels: tuple[str, ...]
    tracks: int
    folds: int


@dataclass(frozen=True)
class Fold(Event):
    """One cross-validation fold done: accuracy on tracks its model never saw."""

    kind: ClassVar[str] = "fold"
    fold: int
    test_clips: int
    accuracy: float
    best_epoch: int | None
    epochs_run: int
    temperature: float
    seconds: float
    mean_confidence: float


@dataclass(frozen=True)
class Learned(Event):
    """`genrenet learn`'s report, the last line."""

    kind: ClassVar[str] = "learned"
    checkpoint: str | None
    labels: tuple[str, ...]
    tracks: dict[str, int]  # label -> tracks
    skipped: dict[str, int]  # reason -> tracks
    folds: int
    cross_validated_accuracy: float
    default_model_accuracy: float | None  # the model in use, on the same tracks
    seconds: float


@dataclass(frozen=True)
class Unknown(Event):
    """An event of a kind this reader does not know (a newer trainer): the data as it came."""

    kind: ClassVar[str] = "unknown"
    event: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


Schema = dict[str, type[Event]]


def _schema(*kinds: type[Event]) -> Schema:
    return {k.kind: k for k in kinds}


TRAIN: Schema = _schema(Features, Embeddings, Start, Step, Epoch, Done, Error)
LEARN: Schema = _schema(LearnStart, Features, Embeddings, Fold, Learned, Error)


def serialize(event: Event) -> str:
    """One JSON line (no newline) for --progress-json."""
    return json.dumps(event.to_dict(), ensure_ascii=False)


def parse(line: str, schema: Schema = TRAIN) -> Event | None:
    """The event on one line of output, Unknown for a kind `schema` does not have, or None when
    the line is not JSON at all (ordinary output). Raises EventError for a garbled event."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise EventError(f"garbled progress line ({exc}): {_short(line)}") from None
    return from_dict(data, schema)


def from_dict(data: Any, schema: Schema = TRAIN) -> Event:
    """The typed event of a decoded JSON object (fields checked, extra ones ignored)."""
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise EventError(f'a progress event is a JSON object with an "event" name: {_short(json.dumps(data))}')
    kind = schema.get(data["event"])
    if kind is None:
        return Unknown(data["event"], dict(data))
    values = {}
    for f in fields(kind):
        if f.name not in data:
            raise EventError(f"{data['event']!r} event has no {f.name!r}: {_short(json.dumps(data))}")
        try:
            values[f.name] = _checked(data[f.name], _hints(kind)[f.name])
        except TypeError as exc:
            raise EventError(f"{data['event']!r} event: {f.name!r} {exc}") from None
    return kind(**values)


@functools.cache
def _hints(kind: type[Event]) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _checked(value: Any, hint: Any) -> Any:
    """`value` as the type `hint` (int, float, str, bool, X | None, tuple[str, ...],
    dict[str, int]); TypeError saying what was wrong."""
    if isinstance(hint, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        return _checked(value, next(o for o in options if o is not type(None)))
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"should be a list, not {value!r}")
        return tuple(_checked(v, typing.get_args(hint)[0]) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"should be an object, not {value!r}")
        key_type, value_type = typing.get_args(hint)
        return {_checked(k, key_type): _checked(v, value_type) for k, v in value.items()}
    if hint is Any:
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise TypeError(f"should be {'a number' if hint in (int, float) else hint.__name__}, not {value!r}")


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
