"""Training from the app runs as a separate process: `genrenet train ... --progress-json`.

TrainingRunner wraps QProcess: every progress line the trainer prints on stdout arrives as
`event(Event)`, typed by training/events.py (the TRAIN schema, or the one given: LEARN for
`genrenet learn`; a kind the schema does not know comes as events.Unknown); other output as
`output(str)`, kept in `tail` for the error message, and so is a garbled progress line, with why.
`stop()` asks the process to end (SIGTERM, the trainer's clean stop) and kills it if it has not
gone within a grace period; it never blocks (the UI thread must not wait on the trainer).
`finished(exit_code, cancelled)` always comes last. With `start(..., raw=True)` (for
`genrenet evaluate --json`) stdout is not read as progress lines but kept whole in `stdout`.
"""

from __future__ import annotations

import shutil
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from training import events

GRACE_MS = 5000


def train_command() -> list[str]:
    """How to start `genrenet` with the same Python the app runs on."""
    beside = Path(sys.executable).with_name("genrenet")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("genrenet")
    if found and Path(found).resolve().parent == Path(sys.executable).resolve().parent:
        return [found]
    return [sys.executable, "-c", "import sys; from tagger.cli import main; sys.exit(main())"]


class TrainingRunner(QObject):
    event = Signal(object)  # a training.events.Event
    output = Signal(str)
    started = Signal()
    finished = Signal(int, bool)  # exit code, cancelled

    def __init__(self, parent=None, schema: events.Schema = events.TRAIN) -> None:
        super().__init__(parent)
        self.schema = schema
        self._process: QProcess | None = None
        self._buffer = b""
        self._cancelled = False
        self._raw: list[bytes] | None = None
        self.tail: deque[str] = deque(maxlen=40)  # last lines of non-JSON output, for errors
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._on_kill_timeout)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    @property
    def stdout(self) -> str:
        """Everything the last raw run printed on stdout."""
        return b"".join(self._raw or []).decode("utf-8", "replace")

    def start(self, args: list[str], program: list[str] | None = None, raw: bool = False) -> None:
        """Run `genrenet train ARGS --progress-json` (or `program + args` as given)."""
        if self.running:
            raise RuntimeError("training is already running")
        command = (program or train_command() + ["train"]) + list(args)
        if program is None and "--progress-json" not in command:
            command.append("--progress-json")
        self._buffer = b""
        self._cancelled = False
        self._raw = [] if raw else None
        self.tail.clear()
        proc = QProcess(self)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        proc.readyReadStandardOutput.connect(self._on_stdout)
        proc.readyReadStandardError.connect(self._on_stderr)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        proc.started.connect(self.started)
        self._process = proc
        proc.start(command[0], command[1:])

    def stop(self) -> None:
        """Ask the trainer to stop; kill it if it is still there after GRACE_MS."""
        if not self.running:
            return
        self._cancelled = True
        self._process.terminate()
        self._kill_timer.start(GRACE_MS)

    def wait(self, ms: int = 10000) -> bool:
        """Block until the process ends: for scripts and tests, never on the UI thread."""
        return self._process is None or self._process.waitForFinished(ms)

    def _on_stdout(self) -> None:
        data = bytes(self._process.readAllStandardOutput())
        if self._raw is not None:
            self._raw.append(data)
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self._line(raw.decode("utf-8", "replace").strip())

    def _line(self, line: str) -> None:
        if not line:
            return
        try:
            event = events.parse(line, self.schema)
        except events.EventError as exc:
            line = f"unreadable progress line: {exc}"
            event = None
        if event is not None:
            self.event.emit(event)
            return
        self.tail.append(line)
        self.output.emit(line)

    def _on_stderr(self) -> None:
        text = bytes(self._process.readAllStandardError()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self.tail.append(line.rstrip())
                self.output.emit(line.rstrip())

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.tail.append(f"could not start the trainer: {self._process.errorString()}")
            self.finished.emit(-1, False)
            self._process = None

    def _on_finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        if self._process is not None:
            self._on_stdout()  # what is still unread
        if self._buffer:
            self._line(self._buffer.decode("utf-8", "replace").strip())
            self._buffer = b""
        self.finished.emit(code, self._cancelled)

    def _on_kill_timeout(self) -> None:
        if self.running:
            self._process.kill()
