"""Tools menu: Settings (modal: it edits values), Learn from My Tags, and Retrain, which is a window
of its own so that the review goes on while it trains. A model chosen in either becomes the
model in use and the folder is classified again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog


class Tools:
    def __init__(self, window) -> None:
        self.window = window
        self.settings_dialog = None  # while open (tests reach into it)
        self.learn_dialog = None
        self.retrain_window = None  # one, raised when asked again

    def settings(self, page: str | None = None) -> None:
        from gui.settings.dialog import SettingsDialog

        w = self.window
        loaded = w.controller.loaded_model
        dialog = SettingsDialog(w.settings, list(loaded.labels) if loaded is not None else [], w,
                                genre_lists=[r.track.genres for r in w.model.rows() if not r.track.error])
        if isinstance(page, str):
            dialog.show_page(page)
        self.settings_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.result_settings is not None:
            w.apply_settings(dialog.result_settings)
        self.settings_dialog = None

    def learn(self) -> None:
        from gui.dialogs.learn import LearnDialog

        if self.window.folder is None:
            return
        dialog = LearnDialog(self.window.folder, self.window)
        dialog.model_chosen.connect(self.use_model)
        self.learn_dialog = dialog
        dialog.start()
        dialog.exec()
        self.learn_dialog = None

    def retrain(self) -> None:
        from gui.retrain.window import RetrainWindow

        if self.retrain_window is None:
            model_path = self.window.settings.model_path
            self.retrain_window = RetrainWindow(self.window.folder, Path(model_path) if model_path else None)
            self.retrain_window.model_chosen.connect(self.use_model)
        self.retrain_window.show()
        self.retrain_window.raise_()
        self.retrain_window.activateWindow()

    def use_model(self, path: str) -> None:
        """'Use this model' (Retrain, Learn): switch now and classify the folder again."""
        self.window.apply_settings(self.window.settings.with_changes(model_path=path))

    def close(self) -> bool:
        """Before the app quits: a running training may stop (asked); False keeps the app open."""
        if self.retrain_window is None:
            return True
        return self.retrain_window.close()
