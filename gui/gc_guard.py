"""Python's cyclic garbage collector, run on the UI thread only.

The collector runs in whichever thread happens to allocate when a threshold is crossed. A
reference cycle that holds Qt objects (a widget, the Task it started, a slot that refers back
to the widget) freed from a worker thread deletes those objects off the UI thread, and Qt
crashes (seen: a segmentation fault while a settings dialog's model check ran in a worker).
So the app turns automatic collection off and collects from a timer on the UI thread, with the
collector's own thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QTimer

INTERVAL_MS = 500
_timers: dict[int, QTimer] = {}


def collect_on_ui_thread() -> None:
    """Install the UI-thread collector for the running QApplication (once; later calls do nothing)."""
    app = QCoreApplication.instance()
    if app is None or id(app) in _timers:
        return
    gc.disable()
    timer = QTimer(app)
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(_collect)
    timer.start()
    _timers[id(app)] = timer
    app.aboutToQuit.connect(_collect)


def _collect() -> None:
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return
