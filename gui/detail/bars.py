"""The detail pane's small charts: horizontal bars of the top genres, and the timeline's legend."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

from gui import theme

ROW_H = 20
SHOWN = 5


def color_for(index: int) -> QColor:
    return theme.SERIES[index % len(theme.SERIES)]


class ProbabilityBars(QWidget):
    """Horizontal bars of the top genres' shares: a track's probabilities, or how many tracks of a
    selection got each genre (`values` then says what is written beside each bar)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._top: list[tuple[str, float]] = []
        self._colors: dict[str, QColor] = {}
        self._values: list[str] | None = None
        self.empty_text = "No prediction"
        self.setFixedHeight(24)

    def set_top(self, top: list[tuple[str, float]], colors: dict[str, QColor],
                values: Sequence[str] | None = None) -> None:
        self._top = top[:SHOWN]
        self._colors = colors
        self._values = list(values[:SHOWN]) if values is not None else None
        self.setFixedHeight(max(1, len(self._top)) * ROW_H + 4)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(300, SHOWN * ROW_H + 4)

    def _value(self, i: int, share: float) -> str:
        return self._values[i] if self._values is not None and i < len(self._values) else f"{share:.1%}"

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = p.fontMetrics()
        fg = self.palette().color(self.foregroundRole())
        p.setPen(fg)
        if not self._top:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            return
        name_w = min(max(fm.horizontalAdvance(n) for n, _ in self._top) + 10, self.width() // 3)
        widest = max(fm.horizontalAdvance(self._value(i, s)) for i, (_, s) in enumerate(self._top))
        pct_w = (widest if self._values is not None else max(fm.horizontalAdvance("100.0%"), widest)) + 8
        bar_w = self.width() - name_w - pct_w
        right = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
        for i, (name, share) in enumerate(self._top):
            y = 2 + i * ROW_H
            p.setPen(fg)
            p.drawText(QRect(0, y, name_w - 6, ROW_H), right,
                       fm.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 6))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.shade(25))
            p.drawRoundedRect(QRectF(name_w, y + 4, bar_w, ROW_H - 8), 3, 3)
            p.setBrush(self._colors.get(name, theme.colour("genre.other")))
            p.drawRoundedRect(QRectF(name_w, y + 4, max(2.0, bar_w * share), ROW_H - 8), 3, 3)
            p.setPen(fg)
            p.drawText(QRect(name_w + bar_w, y, pct_w, ROW_H), right, self._value(i, share))


class Legend(QWidget):
    """Coloured squares naming the genres the timeline draws."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._items: list[tuple[str, QColor]] = []
        self.setFixedHeight(18)

    def set_items(self, items: list[tuple[str, QColor]]) -> None:
        self._items = items
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        fm = p.fontMetrics()
        x = 0
        for name, color in self._items:
            p.fillRect(QRect(x, 4, 10, 10), color)
            x += 14
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(QRect(x, 0, fm.horizontalAdvance(name) + 2, 18), Qt.AlignmentFlag.AlignVCenter, name)
            x += fm.horizontalAdvance(name) + 14
