"""The Qt binding keeps Python's references: signals emitted from Python and event-loop passes
do not drop references to None, True or False (PySide6 6.12.0 did, on Python 3.11: the app aborted
after a few hundred signals with "Fatal Python error: bool_dealloc")."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, Signal  # noqa: E402


class _Emitter(QObject):
    changed = Signal(int)


@pytest.mark.parametrize("singleton", [None, True, False], ids=repr)
def test_emitting_signals_and_processing_events_keeps_references(qapp, singleton):
    emitter = _Emitter()
    emitter.changed.connect(lambda _value: None)
    before = sys.getrefcount(singleton)
    for i in range(200):
        emitter.changed.emit(i)
        qapp.processEvents()
    assert sys.getrefcount(singleton) - before == 0
