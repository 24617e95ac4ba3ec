"""Settings -> Review and writing: the threshold, what a write does to existing genres, styles, ID3."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
)

from gui.settings.page import Page, hint
from tagger.review import WritePolicy
from tagger.settings import Settings, description


class ReviewPage(Page):
    title = "Review and writing"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setToolTip(description("review_threshold"))
        self.genres = QSpinBox()
        self.genres.setRange(1, 5)
        self.genres.setToolTip(description("genres_to_write"))
        self.separator = QLineEdit()
        self.separator.setMaximumWidth(80)
        self.separator.setToolTip(description("separator"))
        self.id3 = QComboBox()
        self.id3.addItem("ID3 v2.3 (most compatible)", 3)
        self.id3.addItem("ID3 v2.4", 4)
        self.id3.setToolTip(description("id3_version"))
        self.policy = QComboBox()
        for policy, label in ((WritePolicy.FILL_MISSING, "Fill missing genres only"),
                              (WritePolicy.REPLACE, "Replace existing genres"),
                              (WritePolicy.ADD, "Add to existing genres")):
            self.policy.addItem(label, policy.value)
            self.policy.setItemData(self.policy.count() - 1, policy.description, Qt.ItemDataRole.ToolTipRole)
        self.policy.setToolTip(description("write_policy"))
        self.keep_mtime = QCheckBox("Keep file modification times")
        self.keep_mtime.setToolTip(description("keep_mtime"))
        self.styles = QComboBox()
        for value, label in (("genre", "The genre"), ("genre+style", "The genre and its style (Rock; Hard Rock)"),
                             ("style", "The style in the genre's place (Hard Rock)")):
            self.styles.addItem(label, value)
        self.styles.setToolTip(description("styles"))
        form = QFormLayout(self)
        form.addRow("Review threshold:", self.threshold)
        form.addRow(hint(description("review_threshold")))
        form.addRow("Existing genres:", self.policy)
        form.addRow(hint(description("write_policy")))
        form.addRow("Genres to write:", self.genres)
        form.addRow(hint(description("genres_to_write")))
        form.addRow("Styles:", self.styles)
        form.addRow(hint(description("styles")))
        form.addRow("Separator:", self.separator)
        form.addRow(hint(description("separator")))
        form.addRow("ID3 version (MP3):", self.id3)
        form.addRow(hint(description("id3_version")))
        form.addRow("", self.keep_mtime)
        form.addRow(hint(description("keep_mtime")))

    def load(self, settings: Settings) -> None:
        self.threshold.setValue(settings.review_threshold)
        self.genres.setValue(settings.genres_to_write)
        self.separator.setText(settings.separator)
        self.id3.setCurrentIndex(max(0, self.id3.findData(settings.id3_version)))
        self.policy.setCurrentIndex(max(0, self.policy.findData(settings.write_policy)))
        self.keep_mtime.setChecked(settings.keep_mtime)
        self.styles.setCurrentIndex(max(0, self.styles.findData(settings.styles)))

    def save(self) -> dict[str, Any]:
        return {
            "review_threshold": round(self.threshold.value(), 4),
            "genres_to_write": self.genres.value(),
            "styles": self.styles.currentData(),
            "separator": self.separator.text() or "; ",
            "id3_version": self.id3.currentData(),
            "write_policy": self.policy.currentData(),
            "keep_mtime": self.keep_mtime.isChecked(),
        }
