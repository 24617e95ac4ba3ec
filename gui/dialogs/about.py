"""Help: the keyboard shortcuts and About."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def show_shortcuts(parent: QWidget, shortcuts: list[tuple[str, str]]) -> None:
    """The keyboard shortcuts, (keys, what they do), in a table."""
    rows = "".join(f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{what}</td></tr>" for keys, what in shortcuts)
    QMessageBox.information(parent, "Keyboard shortcuts", f"<table>{rows}</table>")


def show_about(parent: QWidget) -> None:
    from tagger import __version__

    QMessageBox.about(parent, "About genrenet",
                      f"<b>genrenet {__version__}</b><br>Consistent genre tags for your music collection, computed on your "
                      "own machine from the audio itself.<br><br>Review the uncertain predictions, write "
                      "the genres, undo any write.")
