"""What every settings page is: load(settings) fills the widgets, save() returns the changes."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from gui import theme
from tagger.settings import Settings, description


class Page(QWidget):
    """A settings page: load() fills the widgets, save() returns the changed fields."""

    title = ""

    def load(self, settings: Settings) -> None:
        raise NotImplementedError

    def save(self) -> dict[str, Any]:
        raise NotImplementedError

    def problem(self) -> str | None:
        """Why the page's values cannot be saved, or None."""
        return None


def hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    theme.style_label(label, "muted")
    return label


def setting_row(form: QFormLayout, label: str, widget: QWidget, setting: str) -> None:
    """A setting's widget with its label, and its description both as the tooltip and below it."""
    widget.setToolTip(description(setting))
    form.addRow(label, widget)
    form.addRow(hint(description(setting)))
