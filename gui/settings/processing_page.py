"""Settings -> Processing: device, speed, windows per track, appearance."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QSpinBox,
)

from gui.settings.page import Page, hint, setting_row
from tagger.settings import Settings, description


class ProcessingPage(Page):
    title = "Processing"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        from tagger.device import available_devices

        have = available_devices()
        self.device = QComboBox()
        best = have[0].upper() if have[0] != "cpu" else "CPU"
        for value, text in (("auto", f"Automatic (uses {best} here)"), ("cpu", "CPU"),
                            ("cuda", "NVIDIA CUDA"), ("mps", "Apple MPS")):
            ok = value == "auto" or value in have
            self.device.addItem(text if ok else f"{text} (not available here)", value)
            if not ok:
                self.device.model().item(self.device.count() - 1).setEnabled(False)
        self.device.setToolTip(description("device"))
        self.windows = QSpinBox()
        self.windows.setRange(1, 64)
        self.windows.setToolTip(description("windows_per_track"))
        self.speed = _speed_choice()
        self.appearance = QComboBox()
        for value, text in (("system", "Follow the desktop"), ("light", "Light"), ("dark", "Dark")):
            self.appearance.addItem(text, value)
        form = QFormLayout(self)
        setting_row(form, "Speed:", self.speed, "speed")
        form.addRow("Device:", self.device)
        form.addRow(hint(f"{description('device')} Available here: {', '.join(have)}."))
        form.addRow("Windows per track:", self.windows)
        form.addRow(hint(description("windows_per_track") + " More windows: slower, steadier."))
        setting_row(form, "Appearance:", self.appearance, "appearance")

    def load(self, settings: Settings) -> None:
        i = self.device.findData(settings.device)
        self.device.setCurrentIndex(i if i >= 0 else 0)
        self.windows.setValue(settings.windows_per_track)
        self.speed.setCurrentIndex(max(0, self.speed.findData(settings.speed)))
        self.appearance.setCurrentIndex(max(0, self.appearance.findData(settings.appearance)))

    def save(self) -> dict[str, Any]:
        return {"device": self.device.currentData(), "windows_per_track": self.windows.value(),
                "speed": self.speed.currentData(), "appearance": self.appearance.currentData()}


def _speed_choice() -> QComboBox:
    """Exact, adaptive and fast; fast is offered only where a fast model is shipped."""
    from tagger.resources import fast_model_path

    box = QComboBox()
    for value, text in (("exact", "Exact: every window (the default)"),
                        ("adaptive", "Adaptive: fewer windows once they agree"),
                        ("fast", "Fast: the small distilled model")):
        shipped = value != "fast" or fast_model_path() is not None
        box.addItem(text if shipped else f"{text} (not shipped with this version)", value)
        if not shipped:
            box.model().item(box.count() - 1).setEnabled(False)
    return box
