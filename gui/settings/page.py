"""What every settings page is: load(settings) fills the widgets, save() returns the changes."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QLabel,
    QWidget,
)

from gui import theme
from tagger.settings import Settings


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
