"""Delegates of the review table: the confidence bar and the genre editor."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from gui import theme
from gui.review.schema import Role


def confidence_color(confidence: float, threshold: float) -> QColor:
    """Green at or above the threshold; orange a little below; red well below."""
    if confidence >= threshold:
        return theme.colour("confidence.high")
    if confidence >= threshold * 0.75:
        return theme.colour("confidence.mid")
    return theme.colour("confidence.low")


class ConfidenceDelegate(QStyledItemDelegate):
    """Draws the confidence as a bar with the percentage; below-threshold bars are orange/red
    and carry a marker line at the threshold, so low confidence stands out while scrolling."""

    def __init__(self, threshold: Callable[[], float], parent=None) -> None:
        super().__init__(parent)
        self._threshold = threshold

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        confidence = index.data(Role.CONFIDENCE)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget else None
        opt.text = ""
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        if confidence is None:
            return
        threshold = self._threshold()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = option.rect.adjusted(4, 5, -4, -5)
        text_w = 38
        bar = QRect(r.left(), r.top(), max(10, r.width() - text_w - 4), r.height())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.shade(28))
        painter.drawRoundedRect(bar, 3, 3)
        fill = QRect(bar)
        fill.setWidth(max(2, round(bar.width() * min(1.0, max(0.0, confidence)))))
        painter.setBrush(confidence_color(confidence, threshold))
        painter.drawRoundedRect(fill, 3, 3)
        tx = bar.left() + round(bar.width() * threshold)
        painter.setPen(theme.shade(110))
        painter.drawLine(tx, bar.top() - 2, tx, bar.bottom() + 2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(option.palette.color(role))
        text_rect = QRect(bar.right() + 4, option.rect.top(), text_w, option.rect.height())
        font = painter.font()
        font.setBold(confidence < threshold)
        painter.setFont(font)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                         f"{confidence:.0%}")
        painter.restore()


class GenreDelegate(QStyledItemDelegate):
    """Edits 'Genre to write' with a combo: the model's genres plus free text ('Rock; Pop')."""

    def __init__(self, genres: Callable[[], list[str]], parent=None) -> None:
        super().__init__(parent)
        self._genres = genres

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        combo = QComboBox(parent)
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.setMaxVisibleItems(20)
        combo.addItems(self._genres())
        completer = QCompleter(combo.model(), combo)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        combo.setCompleter(completer)
        combo.setToolTip("Pick a genre or type your own; separate several with ';'")
        return combo

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        text = index.data(Qt.ItemDataRole.EditRole) or ""
        editor.setCurrentText(text)
        editor.lineEdit().selectAll()

    def setModelData(self, editor: QWidget, model, index: QModelIndex | QPersistentModelIndex) -> None:
        """The edited row, or every selected row when the edited one is among them (as Picard
        and Mp3tag edit a multi-selection)."""
        assert isinstance(editor, QComboBox)
        text = editor.currentText().strip()
        view = self.parent()
        selection = view.selectionModel() if isinstance(view, QAbstractItemView) else None
        targets = [QPersistentModelIndex(index)]
        if selection is not None and selection.isRowSelected(index.row(), index.parent()):
            targets = [QPersistentModelIndex(i) for i in selection.selectedRows(index.column())]
        for target in targets:  # persistent: rows may move or leave the view as they change
            if target.isValid():
                model.setData(model.index(target.row(), target.column()), text, Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem,
                             index: QModelIndex | QPersistentModelIndex) -> None:
        editor.setGeometry(option.rect)
