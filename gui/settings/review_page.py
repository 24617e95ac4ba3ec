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

from gui.settings.page import Page, setting_row
from tagger.review import WritePolicy
from tagger.settings import Settings


class ReviewPage(Page):
    title = "Review and writing"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.genres = QSpinBox()
        self.genres.setRange(1, 5)
        self.separator = QLineEdit()
        self.separator.setMaximumWidth(80)
        self.id3 = QComboBox()
        self.id3.addItem("ID3 v2.3 (most compatible)", 3)
        self.id3.addItem("ID3 v2.4", 4)
        self.policy = QComboBox()
        for policy, label in ((WritePolicy.FILL_MISSING, "Fill missing genres only"),
                              (WritePolicy.REPLACE, "Replace existing genres"),
                              (WritePolicy.ADD, "Add to existing genres")):
            self.policy.addItem(label, policy.value)
            self.policy.setItemData(self.policy.count() - 1, policy.description, Qt.ItemDataRole.ToolTipRole)
        self.keep_mtime = QCheckBox("Keep file modification times")
        self.styles = QComboBox()
        for value, label in (("genre", "The genre"), ("genre+style", "The genre and its style (Rock; Hard Rock)"),
                             ("style", "The style in the genre's place (Hard Rock)")):
            self.styles.addItem(label, value)
        form = QFormLayout(self)
        setting_row(form, "Review threshold:", self.threshold, "review_threshold")
        setting_row(form, "Existing genres:", self.policy, "write_policy")
        setting_row(form, "Genres to write:", self.genres, "genres_to_write")
        setting_row(form, "Styles:", self.styles, "styles")
        setting_row(form, "Separator:", self.separator, "separator")
        setting_row(form, "ID3 version (MP3):", self.id3, "id3_version")
        setting_row(form, "", self.keep_mtime, "keep_mtime")

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
