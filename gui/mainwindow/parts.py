"""Parts of the main window that only show things: the filter bar, the problem banner, the
welcome page with the recent folders, the Problems dock, the status bar's stage text, progress
bar and Cancel, and the window state kept between runs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QModelIndex, QSettings, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStatusBar,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.review.columns import FIRST_COLUMNS, place_new_columns
from gui.review.model import Column
from gui.tasks import Eta
from tagger.text import counted


def filter_bar(filter_actions: dict) -> tuple[QHBoxLayout, dict, QLineEdit]:
    """One button per view (its action shows the count) and the search box, in one row."""
    bar = QHBoxLayout()
    bar.setContentsMargins(6, 4, 6, 4)
    bar.setSpacing(2)
    buttons: dict = {}
    for f, a in filter_actions.items():
        b = QToolButton()
        b.setDefaultAction(a)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        b.setAutoRaise(True)
        b.setObjectName("FilterButton")
        buttons[f] = b
        bar.addWidget(b)
    bar.addStretch(1)
    search = QLineEdit()
    search.setPlaceholderText("Search title, artist, album, genre…  (Ctrl+F)")
    search.setClearButtonEnabled(True)
    search.setMinimumWidth(260)
    bar.addWidget(search)
    return bar, buttons, search


class Banner(QFrame):
    """A problem that stops the work (no model, unreadable folder), with an optional button."""

    button_clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Banner")
        self.setStyleSheet(theme.banner_style())
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton("Open Settings")
        self.button.clicked.connect(self.button_clicked)
        bl = QHBoxLayout(self)
        bl.setContentsMargins(10, 6, 10, 6)
        bl.addWidget(self.text, 1)
        bl.addWidget(self.button)
        self.hide()

    def show_problem(self, text: str, button: str | None) -> None:
        self.text.setText(text)
        self.button.setVisible(button is not None)
        if button:
            self.button.setText(button)
        self.show()


class WelcomePage(QWidget):
    """The empty state, shown until a folder is open: what to do, and the recent folders."""

    open_requested = Signal()  # the Open Folder button
    folder_chosen = Signal(str)  # a recent folder was clicked

    def __init__(self, recent_folders: tuple[str, ...] | list[str]) -> None:
        super().__init__()
        intro = QLabel(
            "<div style='font-size:15pt; font-weight:600'>Open a music folder to begin</div>"
            "<p>Choose <b>File \u25b8 Open Folder\u2026</b> (Ctrl+O) or drop a folder here.<br>"
            "genrenet listens to each track, predicts its genre and shows the uncertain ones first.<br>"
            "Nothing is written until you review and press <b>Write</b>; every write can be undone.</p>")
        intro.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.style_label(intro, "muted")
        open_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Open Folder\u2026")
        open_button.clicked.connect(self.open_requested)
        self.recent_box = QVBoxLayout()
        wl = QVBoxLayout(self)
        wl.addStretch(1)
        wl.addWidget(intro)
        wl.addWidget(open_button, 0, Qt.AlignmentFlag.AlignHCenter)
        wl.addSpacing(12)
        wl.addLayout(self.recent_box)
        wl.addStretch(2)
        self._fill_recent(recent_folders)

    def _fill_recent(self, recent_folders) -> None:
        recent = [f for f in recent_folders if Path(f).is_dir()][:5]
        if recent:
            title = QLabel("Recent folders")
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            theme.style_label(title, "muted")
            bold = title.font()
            bold.setBold(True)
            title.setFont(bold)
            self.recent_box.addWidget(title)
        for folder in recent:
            b = QPushButton(folder)
            b.setFlat(True)
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            theme.style_label(b, "link")
            underlined = b.font()
            underlined.setUnderline(True)
            b.setFont(underlined)
            b.clicked.connect(lambda _=False, f=folder: self.folder_chosen.emit(f))
            self.recent_box.addWidget(b, 0, Qt.AlignmentFlag.AlignHCenter)


class ProblemsDock(QDockWidget):
    """The files that could not be read, classified, written or undone (a gui.dialogs.errors.ErrorsModel)."""

    activated = Signal(QModelIndex)  # a problem was double-clicked

    def __init__(self, errors_model, parent: QWidget) -> None:
        super().__init__("Problems", parent)
        view = QTableView()
        view.setModel(errors_model)
        view.verticalHeader().hide()
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.horizontalHeader().setStretchLastSection(True)
        view.setColumnWidth(0, 110)
        view.setColumnWidth(1, 420)
        view.setWordWrap(False)
        view.doubleClicked.connect(self.activated)
        self.setObjectName("ProblemsDock")
        self.setWidget(view)
        self.view = view
        self.errors_model = errors_model

    def add(self, what: str, entries: list) -> bool:
        """List these problems; True when that showed the dock."""
        self.errors_model.add(what, entries)
        self.setWindowTitle(f"Problems ({len(self.errors_model.items):,})")
        if self.isVisible():
            return False
        self.show()
        return True


class StageStatus:
    """The status bar's left part: what the running stage does, its progress and ETA, Cancel."""

    def __init__(self, sb: QStatusBar, on_cancel) -> None:
        self.stage = ""
        self._eta = Eta()
        self.text = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(240)
        self.bar.setTextVisible(True)
        self.bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(on_cancel)
        self.cancel_button.hide()
        sb.addWidget(self.text, 1)
        sb.addWidget(self.bar)
        sb.addWidget(self.cancel_button)

    def begin(self, stage: str, text: str) -> None:
        self.stage = stage
        self._eta.restart()
        self.text.setText(text)
        self.bar.setRange(0, 0)
        self.bar.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)

    def end(self, text: str) -> None:
        self.stage = ""
        self.bar.hide()
        self.cancel_button.hide()
        self.text.setText(text)

    def show_progress(self, done: int, total: int, errors: int = 0) -> None:
        if total <= 0:
            return
        self.bar.setRange(0, total)
        self.bar.setValue(done)
        self.bar.setFormat(f"{done:,} / {total:,}")
        eta = self._eta.text(done, total)
        parts = [f"{self.stage} {done:,} of {total:,}"]
        if errors:
            parts.append(counted(errors, "error"))
        if eta:
            parts.append(eta)
        self.text.setText(" \u00b7 ".join(parts))

    def stopping(self) -> None:
        self.cancel_button.setEnabled(False)
        self.text.setText("Stopping…")


FIRST_SIZE = QSize(1360, 820)


def first_size(screen: QSize) -> QSize:
    """The window's size at first start: FIRST_SIZE, or what fits a smaller screen (a 1366x768
    laptop keeps the window's frame and the desktop's panel on screen)."""
    return FIRST_SIZE.boundedTo(QSize(screen.width() - 16, screen.height() - 64))


class WindowState:
    """The window's geometry, the table header (column widths, order and which are shown) and
    the splitter, kept in gui.ini between runs."""

    def __init__(self, path: Path) -> None:
        self._store = QSettings(str(path), QSettings.Format.IniFormat)

    def restore(self, window: QWidget, hh: QHeaderView, splitter: QSplitter) -> None:
        geometry = self._store.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            window.restoreGeometry(geometry)
        else:
            window.resize(first_size(window.screen().availableGeometry().size()))
        header = self._store.value("header")
        if isinstance(header, QByteArray) and not header.isEmpty():
            hh.restoreState(header)  # column widths, order and which are shown
            place_new_columns(hh, since=int(self._store.value("header_columns", FIRST_COLUMNS)))
            hh.setSortIndicator(Column.CONFIDENCE, Qt.SortOrder.AscendingOrder)
        state = self._store.value("splitter")
        if isinstance(state, QByteArray) and not state.isEmpty():
            splitter.restoreState(state)

    def save(self, window: QWidget, hh: QHeaderView, splitter: QSplitter) -> None:
        self._store.setValue("geometry", window.saveGeometry())
        self._store.setValue("header", hh.saveState())
        self._store.setValue("header_columns", len(Column))
        self._store.setValue("splitter", splitter.saveState())
        self._store.sync()
