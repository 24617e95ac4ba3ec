"""The main window: open a folder, watch it scan and classify, review, write, undo.

It is wiring: gui.controller.AppController owns the settings, the stores, the model and every
slow job; the window builds its parts (gui/mainwindow/actions.py declares the actions, menus and
toolbar; decisions.py, writes.py and tools.py carry out the review's commands, writes and undo,
and the Tools menu), follows the controller's signals and keeps the views in step.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.controller import AppController
from gui.detail.pane import DetailPane
from gui.dialogs.about import show_about, show_shortcuts
from gui.dialogs.errors import ErrorsModel
from gui.gc_guard import collect_on_ui_thread
from gui.mainwindow.actions import build_actions, build_filter_actions, build_menus, build_toolbar
from gui.mainwindow.decisions import Decisions
from gui.mainwindow.parts import (
    Banner,
    ProblemsDock,
    StageStatus,
    WelcomePage,
    WindowState,
    filter_bar,
)
from gui.mainwindow.tools import Tools
from gui.mainwindow.views import Views, single_shot
from gui.mainwindow.writes import Writes
from gui.review.model import Column, Filter, TrackFilterModel, TrackTableModel
from gui.review.table import build_review_table
from tagger import paths
from tagger.review import Review
from tagger.settings import Settings


def app_icon() -> QIcon:
    try:
        from tagger.resources import resource_path

        path = resource_path("icons", "genrenet.svg")
        if path.is_file():
            return QIcon(str(path))
    except Exception:  # no resources installed: Qt's default icon
        pass
    return QIcon()


class MainWindow(QMainWindow):
    """The genre tagger's window. Signals let tests and --screenshot follow the jobs."""

    scan_finished = Signal()
    classification_finished = Signal()  # also after a cancel, a model error or an empty folder
    write_finished = Signal()
    undo_finished = Signal()
    quiet = False  # tests and --screenshot set this: no modal dialogs pop up

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        collect_on_ui_thread()
        self.controller = AppController(settings, self)
        self.setWindowTitle("genrenet")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._ui_state = WindowState(paths.config_dir() / "gui.ini")

        self.model = TrackTableModel(Review(self.controller.review_store), self)
        self.model.problem.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.proxy = TrackFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self._apply_settings_to_model()
        self.decisions, self.writes, self.tools, self.views = Decisions(self), Writes(self), Tools(self), Views(self)

        self._build_table()
        self.detail = DetailPane()
        self.errors_model = ErrorsModel(self)
        build_actions(self, self.table)
        self.filter_actions = build_filter_actions(self, self.views.set_filter)
        self._build_menus()
        self.toolbar = build_toolbar(self)
        self._build_central()
        self._build_statusbar()
        self._build_errors_dock()
        self.views.connect()

        self._connect_controller()
        self._ui_state.restore(self, self.table.horizontalHeader(), self.splitter)
        self.controller.refresh_last_batch()
        self.views.set_filter(Filter.ALL, user=False)
        self.views.update_counts()
        if self.controller.store_problem:
            self.banner.show_problem(self.controller.store_problem, None)

    def _connect_controller(self) -> None:
        c = self.controller
        c.folder_opened.connect(self._on_folder_opened)
        c.stage_started.connect(lambda stage, text: self.stage_status.begin(stage, text))
        c.progress.connect(self._on_progress)
        c.stage_finished.connect(self.end_stage)
        c.tracks_found.connect(self.model.add_tracks)
        c.tracks_loaded.connect(self.model.set_tracks)
        c.scan_finished.connect(lambda _report: self.scan_finished.emit())
        c.errors.connect(self._add_errors)
        c.problem.connect(lambda text, fixable: self.banner.show_problem(text, "Open Settings" if fixable else None))
        c.model_loaded.connect(self._on_model_loaded)
        c.model_failed.connect(lambda _message: self.model_label.setText("No model"))
        c.results.connect(self.model.apply_results)
        c.classify_finished.connect(self._on_classify_done)
        c.pipeline_finished.connect(self.classification_finished)
        c.jobs_changed.connect(self.update_actions)

    # --- construction ----------------------------------------------------------------------

    def _build_table(self) -> None:
        t, self.confidence_delegate, self.genre_delegate, self.empty_note = build_review_table(
            self.proxy, lambda: self.model.threshold, self._genre_choices)
        t.customContextMenuRequested.connect(self.decisions.table_menu)
        self.table = t

    def _build_menus(self) -> None:
        self.act_toggle_detail = QAction("&Detail Pane", self, checkable=True, checked=True)
        self.act_toggle_detail.toggled.connect(lambda on: self.detail.setVisible(on))
        menus = build_menus(self, {"recent": "Open &Recent", "filters": list(self.filter_actions.values()),
                                   "detail": self.act_toggle_detail})
        self.recent_menu, self.view_menu = menus["recent"], menus["View"]
        self.recent_menu.aboutToShow.connect(self._on_fill_recent)

    def _build_central(self) -> None:
        bar, self.filter_buttons, self.search = filter_bar(self.filter_actions)
        self._search_timer = single_shot(self, 200, lambda: self.proxy.set_search(self.search.text()))
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.banner = Banner()
        self.banner_text, self.banner_button = self.banner.text, self.banner.button
        self.banner.button_clicked.connect(lambda: self.tools.settings("Model"))
        self.welcome = WelcomePage(self.settings.recent_folders)
        self.welcome.open_requested.connect(self.on_open_folder)
        self.welcome.folder_chosen.connect(self.open_folder)
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.welcome)
        self.table_stack.addWidget(self.table)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.setSpacing(0)
        ll.addWidget(self.banner)
        ll.addLayout(bar)
        ll.addWidget(self.table_stack, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([900, 400])
        self.setCentralWidget(self.splitter)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.stage_status = StageStatus(sb, self.cancel_classification)
        self.status_text, self.progress = self.stage_status.text, self.stage_status.bar
        self.cancel_button = self.stage_status.cancel_button
        self.counts_label = QLabel()
        self.model_label = QLabel()
        theme.style_label(self.model_label, "muted")
        sb.addPermanentWidget(self.counts_label)
        sb.addPermanentWidget(self.model_label)

    def _build_errors_dock(self) -> None:
        dock = ProblemsDock(self.errors_model, self)
        dock.activated.connect(self._on_error_activated)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()
        self.errors_view = dock.view
        self.errors_dock = dock
        self.view_menu.addAction(dock.toggleViewAction())

    # --- state -----------------------------------------------------------------------------

    def _apply_settings_to_model(self) -> None:
        self.model.configure(**self.controller.review_options())
        self.proxy.refilter()

    @property
    def settings(self) -> Settings:
        """The controller's settings (read-only here: change them with apply_settings)."""
        return self.controller.settings

    @property
    def folder(self) -> Path | None:
        return self.controller.folder

    def update_actions(self) -> None:
        busy, writing = self.controller.busy, self.controller.writing
        rows = self.decisions.selected_rows()
        counts = self.views.counts
        self.act_rescan.setEnabled(self.folder is not None and not busy and not writing)
        self.act_cancel.setEnabled(busy)
        decidable = any(self.model.row_at(r).track.error is None for r in rows)  # unreadable files take none
        for a in (self.act_accept, self.act_reject, self.act_reset, self.act_album, self.act_edit):
            a.setEnabled(decidable and not writing)
        self.act_play.setEnabled(len(rows) == 1)
        self.act_accept_all.setEnabled(counts.classified > 0 and not writing)
        undo_text = self.model.review.undo_text
        self.act_undo_decision.setText(f"&Undo {undo_text}" if undo_text else "&Undo Decision")
        self.act_undo_decision.setEnabled(undo_text is not None and not writing)
        n = counts.to_write
        self.act_write.setText(f"&Write {n} Genre{'s' if n != 1 else ''}…" if n else "&Write Genres…")
        self.act_write.setEnabled(n > 0 and not writing and not busy)
        self.act_undo.setEnabled(self.controller.last_batch is not None and not writing and not busy)
        self.act_tidy.setEnabled(self.model.rowCount() > 0 and not writing and not busy)
        self.act_learn.setEnabled(self.folder is not None and not busy)
        self.act_open.setEnabled(not writing)

    def apply_settings(self, new: Settings) -> None:
        """Save settings and follow them: names, threshold, the cache folder (reopened for the next
        scan), the appearance, and a reclassify if the model changed."""
        appearance = self.settings.appearance
        model_changed = self.controller.apply_settings(new)
        if new.appearance != appearance:
            theme.apply_appearance(QApplication.instance(), new.appearance)
            for widget in QApplication.topLevelWidgets():
                theme.restyle(widget)
        self._apply_settings_to_model()
        self.model.update_albums()
        if model_changed:
            self.banner.hide()
            self.controller.reclassify()

    # --- opening, scanning and classifying (the controller's jobs) ---------------------------

    def open_folder(self, folder: Path | str) -> None:
        """Open a folder: scan it, then classify what needs it. Replaces what was shown."""
        folder = Path(folder).expanduser()
        if self.controller.writing:
            self.statusBar().showMessage("Wait until the write is finished before opening another folder", 5000)
            return
        if not folder.is_dir():
            self.banner.show_problem(f"Cannot open {folder}: it is not a folder (or it is gone).", None)
            self.classification_finished.emit()
            return
        self.controller.open_folder(folder)

    def _on_folder_opened(self, folder: Path) -> None:
        self.setWindowTitle(f"{folder.name} \u2014 genrenet")
        self.errors_model.clear()
        self.errors_dock.hide()
        self.banner.hide()
        self.model.clear()
        self.detail.set_row(None)
        self.table_stack.setCurrentWidget(self.table)
        self.table.setFocus()  # A, R, Space and F2 work at once
        self.views.folder_opened()

    def _on_model_loaded(self, model) -> None:
        self.detail.set_feature_config(model.features)
        name = Path(model.path).name if model.path else "default model"
        self.model_label.setText(f"Model: {name} ({model.device.type})")
        self.model_label.setToolTip(f"{model.path}\n{model.arch}, {len(model.labels)} genres")

    def _on_classify_done(self, cancelled: bool) -> None:
        counts = self.model.counts()
        flagged = self.model.update_albums()
        hh = self.table.horizontalHeader()
        if hh.sortIndicatorSection() >= 0:
            self.model.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())
        if cancelled:
            self.end_stage(f"Classification cancelled: {counts.classified:,} of {counts.total:,} "
                           "files classified. Rescan (F5) to go on.")
        else:
            extra = f", {flagged} disagree with their album" if flagged else ""
            self.end_stage(f"{self.controller.scan_summary}. Classified {counts.classified:,}: "
                           f"{counts.needs_review:,} need review{extra}.")
        self.views.classified()

    def end_stage(self, text: str) -> None:
        self.stage_status.end(text)
        self.update_actions()

    def _on_progress(self, done: int, total: int) -> None:
        classifying = self.stage_status.stage == "Classifying"
        self.stage_status.show_progress(done, total, self.views.counts.errors if classifying else 0)

    def cancel_classification(self) -> None:
        if self.controller.cancel():
            self.stage_status.stopping()

    # --- the genre picker ------------------------------------------------------------------

    def _genre_choices(self) -> list[str]:
        """The picker's genres: the model's and the library's, each once, as the genre tree
        spells them ("rock" and "Rock", "Hip Hop" and "Hip-Hop" are one entry)."""
        from tagger.taxonomy import distinct

        names = list(self.model.genre_names())
        if self.controller.loaded_model is not None:
            names += [self.model.namer(label) for label in self.controller.loaded_model.labels]
        return sorted(distinct(names, self.model.review.tidy), key=str.casefold)

    # --- folders, recent, drag and drop ----------------------------------------------------

    def on_open_folder(self) -> None:
        start = str(self.folder or (Path(self.settings.recent_folders[0]) if self.settings.recent_folders
                                    else Path.home()))
        name = QFileDialog.getExistingDirectory(self, "Open a music folder", start)
        if name:
            self.open_folder(Path(name))

    def on_rescan(self) -> None:
        if self.folder is not None and not self.controller.busy and not self.controller.writing:
            self.banner.hide()
            self.controller.rescan()

    def _on_fill_recent(self) -> None:
        self.recent_menu.clear()
        for i, folder in enumerate(self.settings.recent_folders):
            a = self.recent_menu.addAction(f"&{i + 1} {folder}" if i < 9 else folder)
            a.setEnabled(Path(folder).is_dir())
            a.triggered.connect(lambda _=False, f=folder: self.open_folder(Path(f)))
        if not self.settings.recent_folders:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def dragEnterEvent(self, event) -> None:
        if _dropped_folder(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        folder = _dropped_folder(event.mimeData())
        if folder is not None:
            event.acceptProposedAction()
            self.open_folder(folder)

    # --- problems, find, help --------------------------------------------------------------

    def _add_errors(self, what: str, entries: list[tuple[Path | str, str]]) -> None:
        if entries and self.errors_dock.add(what, entries):
            self.resizeDocks([self.errors_dock], [150], Qt.Orientation.Vertical)

    def _on_error_activated(self, index: QModelIndex) -> None:
        i = self.model.row_of(Path(self.errors_model.items[index.row()][1]))
        if i is None:
            return
        self.search.clear()
        self.proxy.set_search("")
        self.views.set_filter(Filter.ALL)
        self.decisions.select(self.proxy.mapFromSource(self.model.index(i, Column.TITLE)).row())

    def on_find(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def shortcuts(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every action that has a shortcut, in menu order."""
        seen, out = set(), []
        for action in self.findChildren(QAction):
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys and action not in seen:
                seen.add(action)
                out.append((keys, action.text().replace("&", "").rstrip("…")))
        return out

    def on_shortcuts(self) -> None:
        show_shortcuts(self, self.shortcuts())

    def on_about(self) -> None:
        show_about(self)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.controller.writing:
            answer = QMessageBox.question(self, "Writing in progress",
                                          "Files are being written. Stop after the current file and quit?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        if not self.tools.close():  # a training is running and the user keeps it
            event.ignore()
            return
        self._ui_state.save(self, self.table.horizontalHeader(), self.splitter)
        self.controller.close()
        event.accept()


def _dropped_folder(mime) -> Path | None:
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.is_dir():
                return path
            if path.is_file():
                return path.parent
    return None
