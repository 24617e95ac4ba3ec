"""Measure the new model and the current one on the same clips (`genrenet evaluate --json`)
and say in plain words which did better.

Both evaluations use the split the trainer used (training.config defaults: `random`, seed 0)
and its validation part: clips the new model never learned from, though it did use them to
pick its best epoch (and its calibration), so its figure is a little optimistic. Clips whose
genre a model does not know count as wrong for that model; clips whose audio failed are left
out. The two runs are the same clips when they cover the same number of clips and the same
failures; otherwise the text says the figures cannot be compared.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui.retrain.runner import TrainingRunner, train_command
from training.config import default as train_default

UNKNOWN_LABEL = "is not one of the model's"  # training/evaluate.py's reason for a skipped clip


@dataclass(frozen=True)
class Score:
    """One model's result on the evaluation clips."""

    right: int
    total: int  # clips measured + clips of a genre the model does not know
    unknown: int  # clips of a genre the model does not know (counted as wrong)
    failed: frozenset[str]  # clips whose audio could not be read (left out)

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 0.0

    @classmethod
    def from_summary(cls, summary: dict) -> Score:
        clips = int(summary["clips"])
        skipped = [(str(path), str(why)) for path, why in summary.get("skipped", [])]
        unknown = sum(1 for _, why in skipped if UNKNOWN_LABEL in why)
        failed = frozenset(path for path, why in skipped if UNKNOWN_LABEL not in why)
        return cls(round(float(summary["accuracy"]) * clips), clips + unknown, unknown, failed)

    @classmethod
    def parse(cls, stdout: str) -> Score:
        """The Score of `genrenet evaluate --json` output. Raises ValueError when it is not one."""
        start = stdout.find("{")
        if start < 0:
            raise ValueError("the evaluation printed no summary")
        try:
            return cls.from_summary(json.loads(stdout[start:]))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"unreadable evaluation summary: {exc}") from exc


def evaluate_args(model: Path, kind: str, folder: Path | None) -> list[str]:
    """`genrenet evaluate` arguments: the held-out (validation) clips of the trainer's split."""
    data = [kind] + ([str(folder)] if folder is not None else [])
    return [str(model), "--dataset", *data, "--split", str(train_default("split")),
            "--seed", str(train_default("seed")), "--part", "valid", "--json"]


def _clips(score: Score) -> str:
    return f"{score.right} of {score.total} clips ({score.share:.0%})"


def verdict(new: Score, current: Score | None) -> str:
    """'better', 'worse', 'same' or 'unknown' (no comparable figure for the current model)."""
    if current is None or not comparable(new, current):
        return "unknown"
    if new.right == current.right:
        return "same"
    return "better" if new.right > current.right else "worse"


def comparable(new: Score, current: Score) -> bool:
    return new.total == current.total and new.failed == current.failed and new.total > 0


def comparison_text(new: Score, current: Score | None, current_name: str, why_not: str = "",
                    library: bool = False) -> str:
    """The result in plain words, with what makes the figures optimistic."""
    lines = [f"The new model was right on {_clips(new)} held back from training."]
    if current is None:
        lines.append(f"The model you use now ({current_name}) could not be measured on them"
                     + (f": {why_not}" if why_not else "."))
    elif not comparable(new, current):
        lines.append(f"The model you use now ({current_name}) was right on {_clips(current)}, but "
                     "not on the same clips, so the two figures cannot be compared.")
    else:
        lines[0] = (f"The new model was right on {_clips(new)}; the model you use now "
                    f"({current_name}) on {current.right} of {current.total} ({current.share:.0%}) "
                    "on the same clips.")
        if current.unknown:
            lines.append(f"The model you use now does not know the genre of {current.unknown} of them; "
                         "those count as wrong.")
        diff = new.right - current.right
        lines.append("Both models got the same number right." if diff == 0 else
                     f"The new model is {'better' if diff > 0 else 'worse'} by {abs(diff)} "
                     f"clip{'s' if abs(diff) != 1 else ''}.")
    notes = [f"{len(new.failed)} clips could not be read and were left out."] if new.failed else []
    notes.append("These clips were held back from training, but the new model used them to choose "
                 "its best epoch, so its figure is a little optimistic. If the model you use now was "
                 "trained on some of them, its figure is optimistic too.")
    if library:
        notes.append("Your reviewed genres began as suggestions of the model you use now, which "
                     "favours it.")
    return " ".join(lines) + "\n\n" + " ".join(notes)


class Measurement(QObject):
    """`genrenet evaluate` of several models on the same clips, one after the other."""

    progress = Signal(str)  # who is being measured now, in words
    finished = Signal(object, bool)  # {role: Score, or why it could not be measured}, stopped

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.runner = TrainingRunner(self)
        self.runner.finished.connect(self._on_finished)
        self._queue: list[tuple[str, Path, str]] = []
        self._data: tuple[str, Path | None] = ("folder", None)
        self.scores: dict[str, Score | str] = {}
        self.program: list[str] | None = None  # default: `genrenet evaluate`

    @property
    def running(self) -> bool:
        return self.runner.running

    def start(self, models: Sequence[tuple[str, Path, str]], kind: str, folder: Path | None) -> None:
        """Measure each (role, model file, name in words) on the held-out clips of KIND FOLDER."""
        self._queue, self._data, self.scores = list(models), (kind, folder), {}
        self._next()

    def stop(self) -> None:
        self._queue.clear()
        self.runner.stop()

    def _next(self) -> None:
        if not self._queue:
            self.finished.emit(self.scores, False)
            return
        _role, model, who = self._queue[0]
        self.progress.emit(who)
        self.runner.start(evaluate_args(model, *self._data), program=self.program or train_command() + ["evaluate"],
                          raw=True)

    def _on_finished(self, code: int, stopped: bool) -> None:
        if stopped or not self._queue:
            self._queue.clear()
            self.finished.emit(self.scores, True)
            return
        role, _, _ = self._queue.pop(0)
        try:
            if code != 0:
                raise ValueError(_reason(self.runner.tail, code))
            self.scores[role] = Score.parse(self.runner.stdout)
        except ValueError as exc:
            self.scores[role] = str(exc)
        self._next()


def _reason(tail: Sequence[str], code: int) -> str:
    lines = [line.removeprefix("genrenet evaluate: ") for line in tail if line.strip()]
    return lines[-1] if lines else f"the evaluation ended with exit code {code}"
