"""The settings dialog: one page per topic (gui/settings/*_page.py), each with paired
load(settings) / save() -> changes.

Pages only edit values; the Settings dataclass (tagger/settings.py) owns defaults, descriptions
and validation. Every page is a gui.settings.page.Page.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QListWidget,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
)

from gui.gc_guard import collect_on_ui_thread
from gui.settings.genre_names_page import GenreNamesPage
from gui.settings.genres_page import GenresPage
from gui.settings.model_page import ModelPage
from gui.settings.page import Page
from gui.settings.processing_page import ProcessingPage
from gui.settings.review_page import ReviewPage
from gui.settings.storage_page import StoragePage
from tagger.settings import Settings


class SettingsDialog(QDialog):
    """Pages on the left, the chosen page on the right; OK saves every page at once."""

    def __init__(self, settings: Settings, labels: list[str] | None = None, parent=None,
                 genre_lists: list[tuple[str, ...]] | None = None) -> None:
        super().__init__(parent)
        collect_on_ui_thread()
        self.setWindowTitle("genrenet Settings")
        self.resize(820, 560)
        self._settings = settings
        self.result_settings: Settings | None = None
        self.review = ReviewPage()
        self.processing = ProcessingPage()
        self.model_page = ModelPage()
        self.names = GenreNamesPage(labels or [])
        self.genres = GenresPage(genre_lists or [])
        self.storage = StoragePage()
        self.pages: list[Page] = [self.review, self.processing, self.model_page, self.names, self.genres,
                                  self.storage]
        self.nav = QListWidget()
        self.nav.setMaximumWidth(180)
        self.nav.setStyleSheet("QListWidget::item { padding: 6px 8px; }")
        self.stack = QStackedWidget()
        for page in self.pages:
            page.load(settings)
            self.nav.addItem(page.title)
            box = QGroupBox(page.title)
            inner = QVBoxLayout(box)
            inner.addWidget(page)
            self.stack.addWidget(box)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                        | QDialogButtonBox.StandardButton.RestoreDefaults)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._on_defaults)
        body = QHBoxLayout()
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

    def show_page(self, title: str) -> None:
        for i, page in enumerate(self.pages):
            if page.title == title:
                self.nav.setCurrentRow(i)

    def collect(self) -> Settings:
        """The settings the pages hold now (raises ValueError for an invalid value)."""
        changes: dict[str, Any] = {}
        for page in self.pages:
            changes.update(page.save())
        return self._settings.with_changes(**changes)

    def accept(self) -> None:
        for i, page in enumerate(self.pages):
            problem = page.problem()
            if problem:
                self.nav.setCurrentRow(i)
                QMessageBox.warning(self, "Settings", problem)
                return
        try:
            self.result_settings = self.collect()
        except (TypeError, ValueError) as exc:
            QMessageBox.warning(self, "Settings", str(exc))
            return
        super().accept()

    def _on_defaults(self) -> None:
        page = self.pages[self.nav.currentRow()]
        page.load(Settings(recent_folders=self._settings.recent_folders))
