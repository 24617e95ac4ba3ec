"""How a row's decision status looks: its theme colour and the small round icon the Status
column draws (a ring while pending, a filled disc with a glyph once decided)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from gui import theme
from tagger.track import DecisionStatus


def status_colour(status: DecisionStatus) -> QColor:
    return theme.colour(f"status.{status.value}")


STATUS_GLYPHS = {
    DecisionStatus.PENDING: "",
    DecisionStatus.ACCEPTED: "\u2713",
    DecisionStatus.REJECTED: "\u2715",
    DecisionStatus.EDITED: "\u270e",
    DecisionStatus.WRITTEN: "\u2714",
    DecisionStatus.ERROR: "!",
}


def status_icon(status: DecisionStatus) -> QIcon:
    size = 14
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = status_colour(status)
    if status == DecisionStatus.PENDING:
        p.setPen(color)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(2, 2, size - 4, size - 4)
    else:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawEllipse(1, 1, size - 2, size - 2)
        p.setPen(QColor("white"))
        font = QFont()
        font.setPixelSize(10)
        font.setBold(True)
        p.setFont(font)
        p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, STATUS_GLYPHS[status])
    p.end()
    return QIcon(pix)
