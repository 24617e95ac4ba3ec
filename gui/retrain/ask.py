"""The Retrain window's questions (replace a file, stop a training, use a worse model), injectable."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QMessageBox, QWidget

# confirm(title, text, buttons) -> the text of the button pressed (the first is the default), or None
Confirm = Callable[[str, str, Sequence[str]], "str | None"]


def ask(parent: QWidget, title: str, text: str, buttons: Sequence[str]) -> str | None:
    """A question box with these buttons; the text of the one pressed, None when closed."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    made = [box.addButton(b, QMessageBox.ButtonRole.AcceptRole if i == 0 else QMessageBox.ButtonRole.RejectRole)
            for i, b in enumerate(buttons)]
    box.setDefaultButton(made[0])
    box.exec()
    return next((b for b, m in zip(buttons, made, strict=True) if box.clickedButton() is m), None)
