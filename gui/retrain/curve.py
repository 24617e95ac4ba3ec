"""The live training curve of the Retrain window: validation accuracy per epoch, drawn with QPainter."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui import theme


class CurveView(QWidget):
    """Accuracy per epoch (validation), on a 0-100 % scale over the planned epochs."""

    SERIES = (("val_accuracy", "validation accuracy", "chart.line"),)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.points: dict[str, list[tuple[float, float]]] = {k: [] for k, _, _ in self.SERIES}
        self.epochs = 1
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def clear(self, epochs: int) -> None:
        self.points = {k: [] for k, _, _ in self.SERIES}
        self.epochs = max(1, epochs)
        self.update()

    def add(self, key: str, epoch: float, value: float) -> None:
        self.points.setdefault(key, []).append((epoch, value))
        self.update()

    def _frame(self) -> tuple[float, float, float, float]:
        return 40, 26, self.width() - 12, self.height() - 22

    def _xy(self, epoch: float, value: float) -> QPointF:
        left, top, right, bottom = self._frame()
        return QPointF(left + (right - left) * min(epoch, self.epochs) / self.epochs,
                       bottom - (bottom - top) * max(0.0, min(1.0, value)))

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        self._draw_axes(p)
        left, top, _right, _bottom = self._frame()
        lx = left + 8
        for key, name, colour_name in self.SERIES:
            color = theme.colour(colour_name)
            pts = self.points.get(key, [])
            if pts:
                path = QPainterPath(self._xy(0, pts[0][1]) if len(pts) == 1 else self._xy(*pts[0]))
                for e, v in pts[1:]:
                    path.lineTo(self._xy(e, v))
                p.setPen(QPen(color, 2))
                p.drawPath(path)
                p.setBrush(color)
                for e, v in pts:
                    p.drawEllipse(self._xy(e, v), 2.5, 2.5)
            p.setPen(color)
            p.drawText(QPointF(lx, top - 8), f"\u25cf {name}")
            lx += 160

    def _draw_axes(self, p: QPainter) -> None:
        fg = self.palette().color(self.foregroundRole())
        left, top, right, bottom = self._frame()
        for k in range(0, 11, 2):
            y = bottom - (bottom - top) * k / 10
            p.setPen(QPen(theme.shade(40)))
            p.drawLine(QPointF(left, y), QPointF(right, y))
            p.setPen(fg)
            p.drawText(QRectF(0, y - 8, left - 4, 16), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{k * 10}%")
        step = max(1, round(self.epochs / 10))
        for e in range(0, self.epochs + 1, step):
            x = left + (right - left) * e / self.epochs
            p.drawText(QRectF(x - 15, bottom + 2, 30, 16), Qt.AlignmentFlag.AlignCenter, str(e))
        p.drawText(QRectF(right - 60, top - 22, 60, 16), Qt.AlignmentFlag.AlignRight, "epoch →")
