"""gui.tasks: the one background-task helper."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QThread  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.tasks import Eta, Task, format_duration  # noqa: E402


def test_result_and_progress_arrive_on_the_ui_thread(qtbot):
    seen: dict[str, object] = {}

    def job(n, *, progress, cancel):
        seen["worker"] = threading.current_thread().name
        for i in range(n):
            progress(i + 1, n)
        return n * 2

    task = Task(job, 5)
    progress: list[tuple[int, int]] = []
    task.progress.connect(lambda d, t: progress.append((d, t)))
    task.succeeded.connect(lambda r: seen.update(result=r, ui=QThread.currentThread() is QApplication.instance().thread()))
    with qtbot.waitSignal(task.done, timeout=10_000) as done:
        task.start()
    assert seen["result"] == 10 and seen["ui"] is True
    assert seen["worker"] != threading.main_thread().name
    assert progress[-1] == (5, 5)
    assert done.args == [False]
    assert not task.running


def test_an_exception_becomes_a_one_line_message(qtbot):
    def job(*, progress, cancel):
        raise ValueError("cannot read /music/x.mp3: truncated\nmore detail")

    task = Task(job)
    messages: list[str] = []
    task.failed.connect(messages.append)
    with qtbot.waitSignal(task.done, timeout=10_000):
        task.start()
    assert messages == ["cannot read /music/x.mp3: truncated"]


def test_cancel_stops_the_job_and_done_says_so(qtbot):
    started = threading.Event()

    def job(*, progress, cancel):
        started.set()
        while not cancel.wait(0.01):
            pass
        return "stopped"

    task = Task(job).start()
    qtbot.waitUntil(started.is_set, timeout=10_000)
    with qtbot.waitSignal(task.done, timeout=10_000) as done:
        task.cancel()
    assert done.args == [True]


def test_streamed_items_arrive_in_batches_and_all_of_them(qtbot):
    def job(n, *, progress, cancel):
        for i in range(n):
            if i % 1000 == 0:
                time.sleep(0.02)
            yield i

    task = Task(job, 10_000, stream=True)
    batches: list[list[int]] = []
    task.items.connect(batches.append)
    results: list[int] = []
    task.succeeded.connect(results.append)
    with qtbot.waitSignal(task.done, timeout=20_000):
        task.start()
    assert [x for b in batches for x in b] == list(range(10_000))
    assert len(batches) < 100
    assert results == [10_000]


def test_eta_needs_some_progress_then_estimates_the_rest():
    eta = Eta()
    assert eta.text(0, 100) == ""
    eta.start -= 10  # ten seconds ago
    assert eta.text(50, 100) == "about 10 s left"
    assert format_duration(3700) == "1 h 01 min"


def test_partial_results_arrive_before_the_return_value_and_all_of_them(qtbot):
    def job(n, *, progress, cancel, partial):
        for start in range(0, n, 64):
            partial(list(range(start, min(start + 64, n))))
            time.sleep(0.002)
        return "report"

    task = Task(job, 1000, partial=True)
    order: list[str] = []
    batches: list[list[int]] = []
    task.items.connect(lambda b: (batches.append(b), order.append("items")))
    task.succeeded.connect(lambda v: order.append(v))
    with qtbot.waitSignal(task.done, timeout=20_000):
        task.start()
    assert [x for b in batches for x in b] == list(range(1000))
    assert batches[0] == list(range(64))  # the first batch is not held back
    assert order[-1] == "report" and order.count("report") == 1
