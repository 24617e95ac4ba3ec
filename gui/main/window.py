"""The main window: open a folder, watch it scan and classify, review, write, undo.

It holds the widgets, actions, menus and dialogs and wires them to a gui.controller.AppController,
which owns the settings, the stores, the model and every slow job (scan, model load,
classification, writes, undo): the window calls its methods and follows its signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.controller import AppController
from gui.dialogs.about import show_about, show_shortcuts
from gui.dialogs.errors import ErrorListDialog, ErrorsModel
from gui.dialogs.history import HistoryDialog
from gui.dialogs.write_summary import WriteSummaryDialog
from gui.gc_guard import collect_on_ui_thread
from gui.main.parts import Banner, ProblemsDock, StageStatus, WelcomePage, WindowState, filter_bar
from gui.review.detail import DetailPane
from gui.review.model import (
    FILTER_LABELS,
    FILTER_TIPS,
    Column,
    Filter,
    TrackFilterModel,
    TrackTableModel,
)
from gui.review.table import build_review_table
from tagger import paths
from tagger.ops import UndoOutcome, WriteOutcome
from tagger.review import Review, ReviewCounts, Skip
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

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        collect_on_ui_thread()
        self.controller = AppController(settings, self)
        self.setWindowTitle("genrenet")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._user_chose_filter = False
        self._counts = ReviewCounts()
        self._ui_state = WindowState(paths.config_dir() / "gui.ini")

        self.model = TrackTableModel(Review(self.controller.review_store), self)
        self.model.problem.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.proxy = TrackFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self._apply_settings_to_model()

        self._build_table()
        self.detail = DetailPane()
        self.errors_model = ErrorsModel(self)
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        self._build_statusbar()
        self._build_errors_dock()

        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(150)
        self._counts_timer.timeout.connect(self._on_update_counts)
        self.model.dataChanged.connect(self._schedule_counts)
        self.model.rowsInserted.connect(self._schedule_counts)
        self.model.modelReset.connect(self._schedule_counts)
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(120)
        self._detail_timer.timeout.connect(self._on_show_detail)
        self.model.dataChanged.connect(self._on_model_data_changed)

        self._connect_controller()
        self._ui_state.restore(self, self.table.horizontalHeader(), self.splitter)
        self.controller.refresh_last_batch()
        self._set_filter(Filter.ALL, user=False)
        self._update_actions()
        self._on_update_counts()
        if self.controller.store_problem:
            self._show_banner(self.controller.store_problem, button=None)

    def _connect_controller(self) -> None:
        c = self.controller
        c.folder_opened.connect(self._on_folder_opened)
        c.stage_started.connect(lambda stage, text: self.stage_status.begin(stage, text))
        c.progress.connect(self._on_progress)
        c.stage_finished.connect(self._end_stage)
        c.tracks_found.connect(self.model.add_tracks)
        c.tracks_loaded.connect(self.model.set_tracks)
        c.scan_finished.connect(lambda _report: self.scan_finished.emit())
        c.errors.connect(self._add_errors)
        c.problem.connect(lambda text, fixable: self._show_banner(text, "Open Settings" if fixable else None))
        c.model_loaded.connect(self._on_model_loaded)
        c.model_failed.connect(lambda _message: self.model_label.setText("No model"))
        c.results.connect(self.model.apply_results)
        c.classify_finished.connect(self._on_classify_done)
        c.pipeline_finished.connect(self.classification_finished)
        c.write_finished.connect(self._on_write_done)
        c.write_failed.connect(self._on_write_failed)
        c.undo_finished.connect(self._on_undo_done)
        c.undo_failed.connect(self._on_undo_failed)
        c.last_batch_changed.connect(self._on_last_batch_changed)
        c.history_loaded.connect(self._on_history_loaded)
        c.history_failed.connect(lambda message: QMessageBox.warning(self, "Write history", message))
        c.jobs_changed.connect(self._update_actions)

    # --- construction ----------------------------------------------------------------------

    def _build_table(self) -> None:
        t, self.confidence_delegate, self.genre_delegate, self.empty_note = build_review_table(
            self.proxy, lambda: self.model.threshold, self._genre_choices)
        t.customContextMenuRequested.connect(self._on_table_menu)
        t.selectionModel().selectionChanged.connect(self._on_selection_changed)
        t.selectionModel().currentRowChanged.connect(self._on_selection_changed)
        self.table = t
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset,
                       self.proxy.layoutChanged):
            signal.connect(self._update_empty_note)

    def _action(self, text: str, slot, shortcut: str | QKeySequence | None = None, tip: str = "",
                icon: QStyle.StandardPixmap | None = None, table_only: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setToolTip(tip + (f" ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                                if shortcut else ""))
            a.setStatusTip(tip)
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        a.triggered.connect(slot)
        if table_only:
            a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.table.addAction(a)
        return a

    def _build_actions(self) -> None:
        S = QStyle.StandardPixmap
        self.act_open = self._action("&Open Folder…", self._on_open_folder, QKeySequence.StandardKey.Open,
                                     "Open a folder of music", S.SP_DirOpenIcon)
        self.act_rescan = self._action("&Rescan", self._on_rescan, "F5",
                                       "Scan the folder again; only new or changed files are classified again",
                                       S.SP_BrowserReload)
        self.act_cancel = self._action("&Cancel", self._on_cancel, "Esc", "Stop the running scan or classification",
                                       S.SP_BrowserStop)
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_undo_decision = self._action("&Undo Decision", self._on_undo_decision, "Ctrl+Alt+Z",
                                              "Take back the last accept, reject or edit (files are not touched; "
                                              "a write ends what can be undone here: Tags \u25b8 Undo Last Write)")
        self.act_accept = self._action("&Accept", self._on_accept, "A", "Accept the selected predictions",
                                       S.SP_DialogApplyButton, table_only=True)
        self.act_reject = self._action("&Reject", self._on_reject, "R",
                                       "Reject the selected rows: their files are left alone",
                                       S.SP_DialogCancelButton, table_only=True)
        self.act_reset = self._action("Re&set to Prediction", self._on_reset, "U",
                                      "Back to pending, with the model's genre", table_only=True)
        self.act_edit = self._action("&Edit Genre", self._on_edit, "F2", "Type or pick the genre to write")
        self.act_accept_all = self._action("Accept All &Above Threshold", self._on_accept_confident, "Ctrl+Shift+A",
                                           "Accept every pending prediction at or above the review threshold")
        self.act_album = self._action("Use Album's &Majority Genre", self._on_use_album_majority, "M",
                                      "Give the selected tracks the genre most of their album got", table_only=True)
        self.act_play = self._action("&Play / Pause", self._on_play, "Space", "Listen to the selected track",
                                     S.SP_MediaPlay, table_only=True)
        self.act_write = self._action("&Write Genres…", self._on_write, "Ctrl+S",
                                      "Write the accepted and edited genres into the files", S.SP_DialogSaveButton)
        self.act_undo = self._action("&Undo Last Write", self._on_undo, QKeySequence.StandardKey.Undo,
                                     "Put back exactly the genre tags the last write replaced", S.SP_ArrowBack)
        self.act_history = self._action("Write &History…", self._on_history, None, "Earlier writes; undo any of them")
        self.act_tidy = self._action("&Tidy Genre Spellings…", self._on_tidy, None,
                                     "Rewrite the genres the files carry as the genre tree spells them "
                                     "('hip hop' -> Hip-Hop); see Settings -> Genres")
        self.act_settings = self._action("&Settings…", self._on_settings, QKeySequence.StandardKey.Preferences,
                                         "Review threshold, device, ID3 version, genre names, model",
                                         S.SP_FileDialogDetailedView)
        self.act_retrain = self._action("&Retrain…", self._on_retrain, None, "Train a model on your data")
        self.act_learn = self._action("&Learn from My Tags…", self._on_learn, None,
                                      "Train a genre model on the genres this folder's files already carry, "
                                      "in your spelling, and compare it with the model you use")
        self.act_find = self._action("&Find", self._on_find, QKeySequence.StandardKey.Find)
        self.act_about = self._action("&About genrenet", self._on_about)
        self.act_shortcuts = self._action("&Keyboard Shortcuts", self._on_shortcuts, "F1")
        self.filter_group = QActionGroup(self)
        self.filter_actions: dict[Filter, QAction] = {}
        for i, f in enumerate(FILTER_LABELS):  # the tabs in reading order
            a = QAction(FILTER_LABELS[f], self, checkable=True)
            a.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            a.setToolTip(FILTER_TIPS[f])
            a.setData(int(f))
            a.triggered.connect(lambda _=False, f=f: self._set_filter(f, user=True))
            self.filter_group.addAction(a)
            self.filter_actions[f] = a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._on_fill_recent)
        m.addAction(self.act_rescan)
        m.addAction(self.act_cancel)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        m.addAction(self.act_undo_decision)
        m.addSeparator()
        for a in (self.act_accept, self.act_reject, self.act_reset, self.act_edit):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_accept_all)
        m.addAction(self.act_album)
        m.addSeparator()
        m.addAction(self.act_find)
        m = mb.addMenu("&View")
        for a in self.filter_actions.values():
            m.addAction(a)
        m.addSeparator()
        self.act_toggle_detail = QAction("&Detail Pane", self, checkable=True, checked=True)
        self.act_toggle_detail.toggled.connect(lambda on: self.detail.setVisible(on))
        m.addAction(self.act_toggle_detail)
        self.view_menu = m
        m = mb.addMenu("&Tags")
        m.addAction(self.act_play)
        m.addSeparator()
        m.addAction(self.act_write)
        m.addAction(self.act_undo)
        m.addAction(self.act_history)
        m.addSeparator()
        m.addAction(self.act_tidy)
        m = mb.addMenu("&Tools")
        m.addAction(self.act_settings)
        m.addAction(self.act_retrain)
        m.addAction(self.act_learn)
        m = mb.addMenu("&Help")
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("MainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setIconSize(QSize(18, 18))
        tb.addAction(self.act_open)
        tb.addAction(self.act_rescan)
        tb.addSeparator()
        tb.addAction(self.act_accept)
        tb.addAction(self.act_reject)
        tb.addAction(self.act_accept_all)
        tb.addSeparator()
        tb.addAction(self.act_write)
        tb.addAction(self.act_undo)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        tb.addWidget(spacer)
        tb.addAction(self.act_settings)
        self.toolbar = tb

    def _build_central(self) -> None:
        bar, self.filter_buttons, self.search = filter_bar(self.filter_actions)
        self.search.textChanged.connect(self._on_search_changed)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(lambda: self.proxy.set_search(self.search.text()))
        self.banner = Banner()
        self.banner_text, self.banner_button = self.banner.text, self.banner.button
        self.banner.button_clicked.connect(self._on_banner_button)
        self.welcome = WelcomePage(self.settings.recent_folders)
        self.welcome.open_requested.connect(self._on_open_folder)
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
        self.stage_status = StageStatus(sb, self._on_cancel)
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

    def _update_actions(self) -> None:
        busy, writing = self.controller.busy, self.controller.writing
        has_folder = self.folder is not None
        rows = self._selected_source_rows()
        counts = self._counts
        self.act_rescan.setEnabled(has_folder and not busy and not writing)
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

    # --- opening, scanning and classifying (the controller's jobs) ---------------------------

    def open_folder(self, folder: Path | str) -> None:
        """Open a folder: scan it, then classify what needs it. Replaces what was shown."""
        folder = Path(folder).expanduser()
        if self.controller.writing:
            self.statusBar().showMessage("Wait until the write is finished before opening another folder", 5000)
            return
        if not folder.is_dir():
            self._show_banner(f"Cannot open {folder}: it is not a folder (or it is gone).", button=None)
            self.classification_finished.emit()
            return
        self.controller.open_folder(folder)

    def _on_folder_opened(self, folder: Path) -> None:
        self.setWindowTitle(f"{folder.name} \u2014 genrenet")
        self.errors_model.clear()
        self.errors_dock.hide()
        self._hide_banner()
        self.model.clear()
        self.detail.set_row(None)
        self.table_stack.setCurrentWidget(self.table)
        self.table.setFocus()  # A, R, Space and F2 work at once
        self._user_chose_filter = False
        self._set_filter(Filter.ALL, user=False)

    def _on_model_loaded(self, model) -> None:
        self.detail.set_feature_config(model.features)
        name = Path(model.path).name if model.path else "default model"
        self.model_label.setText(f"Model: {name} ({model.device.type})")
        self.model_label.setToolTip(f"{model.path}\n{model.arch}, {len(model.labels)} genres")

    def _on_classify_done(self, cancelled: bool) -> None:
        counts = self.model.counts()
        flagged = self.model.update_albums()
        if self.table.horizontalHeader().sortIndicatorSection() >= 0:
            hh = self.table.horizontalHeader()
            self.model.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())
        if cancelled:
            self._end_stage(f"Classification cancelled: {counts.classified:,} of {counts.total:,} "
                            "files classified. Rescan (F5) to go on.")
        else:
            extra = f", {flagged} disagree with their album" if flagged else ""
            self._end_stage(f"{self.controller.scan_summary}. Classified {counts.classified:,}: "
                            f"{counts.needs_review:,} need review{extra}.")
        if not self._user_chose_filter and counts.needs_review > 0:
            self._set_filter(Filter.NEEDS_REVIEW, user=False)
        if not self.table.selectionModel().hasSelection():
            self.select_first_needing_review()

    def select_first_needing_review(self) -> bool:
        """Select the first visible row whose prediction needs review (else the first row)."""
        target = None
        for r in range(self.proxy.rowCount()):
            src = self.proxy.mapToSource(self.proxy.index(r, 0)).row()
            row = self.model.row_at(src)
            if self.model.needs_review(row):
                target = r
                break
        if target is None and self.proxy.rowCount():
            target = 0
        if target is None:
            return False
        index = self.proxy.index(target, Column.TITLE)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        self._on_show_detail()
        return True

    # --- progress --------------------------------------------------------------------------

    def _end_stage(self, text: str) -> None:
        self.stage_status.end(text)
        self._update_actions()

    def _on_progress(self, done: int, total: int) -> None:
        classifying = self.stage_status.stage == "Classifying"
        self.stage_status.show_progress(done, total, self._counts.errors if classifying else 0)

    def _on_cancel(self) -> None:
        if self.controller.cancel():
            self.stage_status.stopping()

    def cancel_classification(self) -> None:
        self._on_cancel()

    # --- review ----------------------------------------------------------------------------

    def _selected_source_rows(self) -> list[int]:
        sel = self.table.selectionModel()
        if sel is None:
            return []
        rows = {self.proxy.mapToSource(i).row() for i in sel.selectedRows()}
        return sorted(r for r in rows if r >= 0)

    def _advance_after_decision(self, rows: list[int]) -> None:
        """After deciding one row, move to the next one, as a reviewer works down the list."""
        if len(rows) != 1:
            return
        current = self.table.currentIndex()
        nxt = current.row() + 1
        if current.isValid() and nxt < self.proxy.rowCount():
            index = self.proxy.index(nxt, current.column())
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _on_accept(self) -> None:
        rows = self._selected_source_rows()
        n = self.model.accept(rows)
        self.statusBar().showMessage(f"Accepted {n} row{'s' if n != 1 else ''}", 3000)
        self._advance_after_decision(rows)

    def _on_reject(self) -> None:
        rows = self._selected_source_rows()
        n = self.model.reject(rows)
        self.statusBar().showMessage(f"Rejected {n} row{'s' if n != 1 else ''}: their files stay as they are", 3000)
        self._advance_after_decision(rows)

    def _on_reset(self) -> None:
        self.model.reset(self._selected_source_rows())

    def _on_edit(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.table.edit(self.proxy.index(index.row(), Column.NEW))

    def _on_table_menu(self, pos) -> None:
        if not self._selected_source_rows():
            return
        menu = QMenu(self)
        for a in (self.act_accept, self.act_reject, self.act_reset, self.act_edit, None, self.act_album,
                  None, self.act_play):
            if a is None:
                menu.addSeparator()
            else:
                menu.addAction(a)
        menu.addSeparator()
        rows = self._selected_source_rows()
        path = self.model.row_at(rows[0]).track.path
        menu.addAction("Open Containing Folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent))))
        menu.addAction("Copy Path", lambda: QApplication.clipboard().setText(
            "\n".join(str(self.model.row_at(r).track.path) for r in rows)))
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _on_accept_confident(self) -> None:
        n = self.model.accept_confident()
        kept = sum(1 for plan in self.model.review.plans() if plan.skip is Skip.KEEPS_GENRE)
        text = f"Accepted {n:,} prediction{'s' if n != 1 else ''} at or above {self.model.threshold:.0%}"
        if kept:
            text += (f"; {kept:,} confident file{'s' if kept != 1 else ''} already having a genre stay pending "
                     f"(write policy: {self.settings.write_policy}; accept them one by one to replace)")
        self.statusBar().showMessage(text, 8000)

    def _on_use_album_majority(self) -> None:
        rows = self._selected_source_rows()
        n = self.model.use_album_majority(rows)
        if n == 0:
            self.statusBar().showMessage("The selected tracks have no album majority (an album needs two or more "
                                         "classified tracks with the same album tag in one folder)", 6000)
        else:
            self.statusBar().showMessage(f"{n} track{'s' if n != 1 else ''} set to the album's majority genre", 4000)

    def _on_undo_decision(self) -> None:
        text = self.model.review.undo_text
        if text is None:
            return
        self.model.undo_decision()
        self.statusBar().showMessage(f"Undone: {text}", 4000)
        self._update_actions()

    def _on_play(self) -> None:
        self.detail.toggle_playback()

    def _on_find(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _genre_choices(self) -> list[str]:
        """The picker's genres: the model's and the library's, each once, as the genre tree
        spells them ("rock" and "Rock", "Hip Hop" and "Hip-Hop" are one entry)."""
        from tagger.taxonomy import distinct

        names = list(self.model.genre_names())
        if self.controller.loaded_model is not None:
            names += [self.model.namer(label) for label in self.controller.loaded_model.labels]
        return sorted(distinct(names, self.model.review.tidy), key=str.casefold)

    def _set_filter(self, f: Filter, user: bool) -> None:
        if user:
            self._user_chose_filter = True
        self.filter_actions[f].setChecked(True)
        self.proxy.set_mode(f)
        self._schedule_detail()

    def _update_empty_note(self) -> None:
        empty = self.model.rowCount() > 0 and self.proxy.rowCount() == 0
        if empty:
            view = FILTER_LABELS[self.proxy.mode]
            needle = self.search.text().strip()
            self.empty_note.setText(f"No tracks match \u201c{needle}\u201d in {view}." if needle else
                                    f"No tracks in {view}." + (" Choose All to see every file."
                                                               if self.proxy.mode != Filter.ALL else ""))
        self.empty_note.setVisible(empty)

    def _on_search_changed(self, _text: str) -> None:
        self._search_timer.start()

    def _schedule_counts(self, *args) -> None:
        if not self._counts_timer.isActive():
            # counting is one pass over the rows: coalesce more for big libraries
            self._counts_timer.setInterval(150 if self.model.rowCount() < 20_000 else 750)
            self._counts_timer.start()

    def _on_update_counts(self) -> None:
        c = self._counts = self.model.counts()
        for f, a in self.filter_actions.items():
            a.setText(f"{FILTER_LABELS[f]} ({c.views.get(f, 0):,})")
        if c.total:
            self.counts_label.setText(f"{c.total:,} files \u00b7 {c.needs_review:,} to review \u00b7 "
                                      f"{c.to_write:,} to write")
        else:
            self.counts_label.setText("")
        self._update_actions()

    def _on_selection_changed(self, *args) -> None:
        self._update_actions()
        self._schedule_detail()

    def _schedule_detail(self) -> None:
        self._detail_timer.start()

    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles=()) -> None:
        row = self.detail.current_row()
        if row is None:
            return
        i = self.model.row_of(row.track.path)
        if i is not None and top.row() <= i <= bottom.row():
            self._schedule_detail()

    def _on_show_detail(self) -> None:
        index = self.table.currentIndex()
        rows = self._selected_source_rows()
        if index.isValid():
            src = self.proxy.mapToSource(index).row()
            self.detail.set_row(self.model.row_at(src) if (not rows or src in rows) else self.model.row_at(rows[0]))
        elif rows:
            self.detail.set_row(self.model.row_at(rows[0]))
        else:
            self.detail.set_row(None)
    # --- write and undo --------------------------------------------------------------------

    def _on_write(self) -> None:
        decisions = self.model.decisions()
        if not decisions:
            QMessageBox.information(self, "Write genres", "Nothing to write: accept or edit some rows first.")
            return
        rows = {r.track.path: r for r in self.model.rows()}
        dialog = WriteSummaryDialog([(d.path, rows[d.path].track.current_genre or "", "; ".join(d.genres))
                                     for d in decisions], self.settings, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.start_write(decisions)

    def _on_tidy(self) -> None:
        plans = [p for p in self.model.review.canonical_plans() if p.writes]
        if not plans:
            QMessageBox.information(self, "Tidy genre spellings",
                                    "Every genre in these files is already spelled as the genre tree spells it "
                                    "(or is one it does not know: Settings → Genres lets you merge those).")
            return
        dialog = WriteSummaryDialog([(p.path, "; ".join(p.old), "; ".join(p.new)) for p in plans], self.settings, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.start_write([p.decision() for p in plans], decided=False, what="genre spellings")

    def start_write(self, decisions, decided: bool = True, what: str = "genre") -> None:
        """Write these decisions off the UI thread (the summary was confirmed); see AppController.write."""
        self.controller.write(decisions, decided, what)

    def _on_write_done(self, outcome: WriteOutcome) -> None:
        self.model.refresh_tracks(outcome.tracks)
        self.model.mark_errors(outcome.errors)
        report = outcome.report
        text = f"Wrote {len(report.written):,} files"
        if report.batch_id is not None:
            text += f" (batch {report.batch_id}; Ctrl+Z undoes it)"
        if report.cancelled:
            text += "; cancelled before the end"
        if outcome.errors:
            text += f"; {len(outcome.errors):,} could not be written (see Problems)"
        self._end_stage(text)
        if outcome.errors and not self._quiet:
            dialog = ErrorListDialog("Some files were not written", outcome.errors, self)
            if dialog.exec() and dialog.rescan_requested and self.act_rescan.isEnabled():
                self.act_rescan.trigger()
        self.write_finished.emit()

    def _on_write_failed(self, message: str) -> None:
        self._end_stage("")
        self._show_banner(f"Writing stopped: {message}", button=None)
        self.write_finished.emit()

    _quiet = False  # tests and --screenshot set this: no modal dialogs pop up

    def _on_last_batch_changed(self, batch, tip: str) -> None:
        """Undo Last Write names what it would undo, and is off when there is nothing to undo."""
        if batch is None:
            self.act_undo.setText("&Undo Last Write")
            self.act_undo.setToolTip(tip or "Nothing written yet that could be undone")
        else:
            left = batch.file_count - batch.restored
            self.act_undo.setText(f"&Undo Last Write ({left:,} file{'s' if left != 1 else ''})")
            self.act_undo.setToolTip(f"Put back the genres of batch {batch.id}: {batch.description}")
        self._update_actions()

    def _on_undo(self) -> None:
        """Ctrl+Z: ask first; the files on disk change."""
        batch = self.controller.last_batch
        if batch is None:
            return
        left = batch.file_count - batch.restored
        if not self._quiet:
            answer = QMessageBox.question(
                self, "Undo last write",
                f"Put back the genres {left:,} file{'s' if left != 1 else ''} had before the write of "
                f"{batch.created_at.replace('T', ' ')[:16]} ({batch.description})?\n\n"
                "Files changed since then are left alone.")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.controller.undo(batch.id)

    def _on_undo_done(self, outcome: UndoOutcome) -> None:
        report = outcome.report
        self.model.refresh_tracks(outcome.tracks)
        if report is None:
            self._end_stage(f"Nothing undone: {outcome.message}.")
        else:
            text = f"Undid batch {report.batch_id}: {len(report.restored):,} files restored"
            if outcome.errors:
                text += f"; {len(outcome.errors):,} refused (see Problems)"
            self._end_stage(text)
        self.undo_finished.emit()

    def _on_undo_failed(self, message: str) -> None:
        self._end_stage("")
        self._show_banner(f"Undo failed: {message}", button=None)
        self.undo_finished.emit()

    def _on_history(self) -> None:
        self.controller.load_history()

    def _on_history_loaded(self, batches) -> None:
        dialog = HistoryDialog(batches, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.chosen is not None:
            self.controller.undo(dialog.chosen)

    # --- settings and retrain --------------------------------------------------------------

    def _on_settings(self, page: str | None = None) -> None:
        from gui.settings.dialog import SettingsDialog

        labels = list(self.controller.loaded_model.labels) if self.controller.loaded_model is not None else []
        dialog = SettingsDialog(self.settings, labels, self, current_folder=self.folder,
                                genre_lists=[r.track.genres for r in self.model.rows() if not r.track.error])
        if isinstance(page, str):
            dialog.show_page(page)
        dialog.model_chosen.connect(self._on_model_chosen)
        self._settings_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.result_settings is not None:
            self.apply_settings(dialog.result_settings)
        self._settings_dialog = None

    def _on_learn(self) -> None:
        from gui.dialogs.learn import LearnDialog

        if self.folder is None:
            return
        dialog = LearnDialog(self.folder, self)
        dialog.model_chosen.connect(self._on_model_chosen)
        self._learn_dialog = dialog
        dialog.start()
        dialog.exec()
        self._learn_dialog = None

    def _on_retrain(self) -> None:
        self._on_settings("Retrain")

    def _on_model_chosen(self, path: str) -> None:
        """Retrain's 'Use this model': switch now and classify the folder again."""
        self.apply_settings(self.settings.with_changes(model_path=path))

    def apply_settings(self, new: Settings) -> None:
        """Save settings and follow them: names, threshold, the cache folder (reopened for the next
        scan), and a reclassify if the model changed."""
        model_changed = self.controller.apply_settings(new)
        self._apply_settings_to_model()
        self.model.update_albums()
        if model_changed:
            self._hide_banner()
            self.controller.reclassify()

    # --- folders, recent, drag and drop ----------------------------------------------------

    def _on_open_folder(self) -> None:
        start = str(self.folder or (Path(self.settings.recent_folders[0]) if self.settings.recent_folders
                                    else Path.home()))
        name = QFileDialog.getExistingDirectory(self, "Open a music folder", start)
        if name:
            self.open_folder(Path(name))

    def _on_rescan(self) -> None:
        if self.folder is not None and not self.controller.busy and not self.controller.writing:
            self._hide_banner()
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

    # --- problems and banner ---------------------------------------------------------------

    def _add_errors(self, what: str, entries: list[tuple[Path | str, str]]) -> None:
        if entries and self.errors_dock.add(what, entries):
            self.resizeDocks([self.errors_dock], [150], Qt.Orientation.Vertical)

    def _on_error_activated(self, index: QModelIndex) -> None:
        path = Path(self.errors_model.items[index.row()][1])
        i = self.model.row_of(path)
        if i is None:
            return
        self.search.clear()
        self.proxy.set_search("")
        self._set_filter(Filter.ALL, user=True)
        proxy_index = self.proxy.mapFromSource(self.model.index(i, Column.TITLE))
        self.table.selectionModel().setCurrentIndex(
            proxy_index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(proxy_index)

    def _show_banner(self, text: str, button: str | None) -> None:
        self.banner.show_problem(text, button)

    def _hide_banner(self) -> None:
        self.banner.hide()

    def _on_banner_button(self) -> None:
        self._on_settings("Model")

    def shortcuts(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every action that has a shortcut, in menu order."""
        seen, out = set(), []
        for action in self.findChildren(QAction):
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys and action not in seen:
                seen.add(action)
                out.append((keys, action.text().replace("&", "").rstrip("…")))
        return out

    def _on_shortcuts(self) -> None:
        show_shortcuts(self, self.shortcuts())

    def _on_about(self) -> None:
        show_about(self)

    # --- closing ---------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.controller.writing:
            answer = QMessageBox.question(self, "Writing in progress",
                                          "Files are being written. Stop after the current file and quit?")
            if answer != QMessageBox.StandardButton.Yes:
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
