"""Tools menu: Settings (modal: it edits values), and Learn from My Tags and Retrain, each a
window of its own so that the review goes on while they train. A model chosen in either becomes
the model in use and the folder is classified again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog


class Tools:
    def __init__(self, window) -> None:
        self.window = window
        self.learn_dialog = None
        self.retrain_window = None  # one, raised when asked again
        self._quit_when_stopped = False

    def settings(self, page: str | None = None) -> None:
        from gui.settings.dialog import SettingsDialog

        w = self.window
        loaded = w.controller.loaded_model
        dialog = SettingsDialog(w.settings, list(loaded.labels) if loaded is not None else [], w,
                                genre_lists=[r.track.genres for r in w.model.rows() if not r.track.error])
        if isinstance(page, str):
            dialog.show_page(page)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.result_settings is not None:
            w.apply_settings(dialog.result_settings)

    def learn(self) -> None:
        """Learn from My Tags, in a window of its own: one at a time, raised when asked again."""
        from gui.dialogs.learn import LearnDialog

        if self.learn_dialog is not None:
            self.learn_dialog.raise_()
            self.learn_dialog.activateWindow()
            return
        if self.window.folder is None:
            return
        dialog = LearnDialog(self.window.folder, self.window)
        dialog.setModal(False)
        dialog.model_chosen.connect(self.use_model)
        dialog.finished.connect(self._on_learn_closed)
        self.learn_dialog = dialog
        dialog.start()
        dialog.show()

    def _on_learn_closed(self, _result: int) -> None:
        self.learn_dialog = None

    def retrain(self) -> None:
        from gui.retrain.window import RetrainWindow

        if self.retrain_window is None:
            self.retrain_window = RetrainWindow(self.window.folder, self._model_in_use())
            self.retrain_window.model_chosen.connect(self.use_model)
        else:
            self.retrain_window.set_current(self.window.folder, self._model_in_use())
        self.retrain_window.show()
        self.retrain_window.raise_()
        self.retrain_window.activateWindow()

    def _model_in_use(self) -> Path | None:
        path = self.window.settings.model_path
        return Path(path) if path else None  # None: the shipped default

    def use_model(self, path: str) -> None:
        """'Use this model' (Retrain, Learn): switch now and classify the folder again."""
        self.window.apply_settings(self.window.settings.with_changes(model_path=path))
        if self.retrain_window is not None:
            self.retrain_window.set_current(self.window.folder, self._model_in_use())

    def close(self) -> bool:
        """Before the app quits: a running training stops if the user says so, and the app quits
        once the trainer is gone; False keeps the app open meanwhile."""
        if self.learn_dialog is not None:
            self.learn_dialog.runner.stop()  # a learn writes nothing until it is done
        rw = self.retrain_window
        if rw is None or rw.close():
            return True
        if rw.closing and not self._quit_when_stopped:
            self._quit_when_stopped = True
            rw.finished.connect(lambda *_: self.window.close())
        return False
