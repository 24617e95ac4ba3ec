"""The main window's actions, menus and toolbar, declared once (Picard's action registry).

Each action is a row: its name (the window gets it as `act_<name>`), its text, the window method
it triggers (a dotted path, so a part of the window can own it), its shortcut, tip and icon.
Menus and the toolbar list action names; "-" is a separator.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QSizePolicy, QStyle, QWidget

from gui.review.model import FILTER_LABELS, FILTER_TIPS, Filter

K = QKeySequence.StandardKey
S = QStyle.StandardPixmap


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    slot: str  # attribute path on the window
    shortcut: str | QKeySequence.StandardKey | None = None
    tip: str = ""
    icon: QStyle.StandardPixmap | None = None
    table_only: bool = False  # a single key (A, R, Space): only while the table has focus


ACTIONS = (
    ActionSpec("open", "&Open Folder…", "on_open_folder", K.Open, "Open a folder of music", S.SP_DirOpenIcon),
    ActionSpec("rescan", "&Rescan", "on_rescan", "F5",
               "Scan the folder again; only new or changed files are classified again", S.SP_BrowserReload),
    ActionSpec("cancel", "&Cancel", "cancel_classification", "Esc", "Stop the running scan or classification",
               S.SP_BrowserStop),
    ActionSpec("quit", "&Quit", "close", K.Quit),
    ActionSpec("undo_decision", "&Undo Decision", "decisions.undo", "Ctrl+Alt+Z",
               "Take back the last accept, reject or edit (files are not touched; a write ends what can be "
               "undone here: Tags \u25b8 Undo Last Write)"),
    ActionSpec("accept", "&Accept", "decisions.accept", "A", "Accept the selected predictions",
               S.SP_DialogApplyButton, table_only=True),
    ActionSpec("reject", "&Reject", "decisions.reject", "R", "Reject the selected rows: their files are left alone",
               S.SP_DialogCancelButton, table_only=True),
    ActionSpec("reset", "Re&set to Prediction", "decisions.reset", "U", "Back to pending, with the model's genre",
               table_only=True),
    ActionSpec("edit", "&Edit Genre", "decisions.edit", "F2",
               "Type or pick the genre to write (for every selected row)"),
    ActionSpec("accept_all", "Accept All &Above Threshold", "decisions.accept_confident", "Ctrl+Shift+A",
               "Accept every pending prediction at or above the review threshold"),
    ActionSpec("album", "Use Album's &Majority Genre", "decisions.use_album_majority", "M",
               "Give the selected tracks the genre most of their album got", table_only=True),
    ActionSpec("play", "&Play / Pause", "detail.toggle_playback", "Space", "Listen to the selected track",
               S.SP_MediaPlay, table_only=True),
    ActionSpec("write", "&Write Genres…", "writes.write", "Ctrl+S",
               "Write the accepted and edited genres into the files", S.SP_DialogSaveButton),
    ActionSpec("undo", "&Undo Last Write", "writes.undo_last", K.Undo,
               "Put back exactly the genre tags the last write replaced", S.SP_ArrowBack),
    ActionSpec("history", "Write &History…", "writes.history", None, "Earlier writes; undo any of them"),
    ActionSpec("tidy", "&Tidy Genre Spellings…", "writes.tidy", None,
               "Rewrite the genres the files carry as the genre tree spells them ('hip hop' -> Hip-Hop); "
               "see Settings -> Genres"),
    ActionSpec("settings", "&Settings…", "tools.settings", K.Preferences,
               "Review threshold, device, ID3 version, genre names, model", S.SP_FileDialogDetailedView),
    ActionSpec("retrain", "&Retrain…", "tools.retrain", None,
               "Train a model on your data in its own window; review goes on meanwhile"),
    ActionSpec("learn", "&Learn from My Tags…", "tools.learn", None,
               "Train a genre model on the genres this folder's files already carry, in your spelling, "
               "and compare it with the model you use"),
    ActionSpec("find", "&Find", "on_find", K.Find),
    ActionSpec("about", "&About genrenet", "on_about"),
    ActionSpec("shortcuts", "&Keyboard Shortcuts", "on_shortcuts", "F1"),
)

MENUS = (
    ("&File", ("open", "@recent", "rescan", "cancel", "-", "quit")),
    ("&Edit", ("undo_decision", "-", "accept", "reject", "reset", "edit", "-", "accept_all", "album", "-", "find")),
    ("&View", ("@filters", "-", "@detail")),
    ("&Tags", ("play", "-", "write", "undo", "history", "-", "tidy")),
    ("&Tools", ("settings", "retrain", "learn")),
    ("&Help", ("shortcuts", "about")),
)
TOOLBAR = ("open", "rescan", "-", "accept", "reject", "accept_all", "-", "write", "undo", "<>", "settings")
TABLE_MENU = ("accept", "reject", "reset", "edit", "-", "album", "-", "play")


def build_actions(window: QMainWindow, table: QWidget) -> None:
    """Create every action as `window.act_<name>`, wired to its slot."""
    for spec in ACTIONS:
        action = QAction(spec.text, window)
        if spec.shortcut:
            action.setShortcut(QKeySequence(spec.shortcut))
        if spec.tip:
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(spec.tip + (f" ({keys})" if keys else ""))
            action.setStatusTip(spec.tip)
        if spec.icon is not None:
            action.setIcon(window.style().standardIcon(spec.icon))
        action.triggered.connect(lambda _=False, slot=spec.slot: attrgetter(slot)(window)())
        if spec.table_only:
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            table.addAction(action)
        setattr(window, f"act_{spec.name}", action)


def build_filter_actions(window: QMainWindow, choose) -> dict[Filter, QAction]:
    """One checkable action per view of the table (Ctrl+1...), `choose(filter)` when triggered."""
    group = QActionGroup(window)
    actions: dict[Filter, QAction] = {}
    for i, f in enumerate(FILTER_LABELS):  # the tabs in reading order
        a = QAction(FILTER_LABELS[f], window, checkable=True)
        a.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
        a.setToolTip(FILTER_TIPS[f])
        a.setData(int(f))
        a.triggered.connect(lambda _=False, f=f: choose(f))
        group.addAction(a)
        actions[f] = a
    return actions


def build_menus(window: QMainWindow, extras: dict[str, object]) -> dict[str, object]:
    """The menu bar; `extras` fills the @ places (a submenu title, a list of actions, or one action).
    Returns the menus by title without '&' and the submenus made for @ titles."""
    made: dict[str, object] = {}
    for title, items in MENUS:
        menu = window.menuBar().addMenu(title)
        made[title.replace("&", "")] = menu
        for item in items:
            if item == "-":
                menu.addSeparator()
            elif item.startswith("@"):
                extra = extras[item[1:]]
                if isinstance(extra, str):
                    made[item[1:]] = menu.addMenu(extra)
                else:
                    for a in extra if isinstance(extra, list | tuple) else [extra]:
                        menu.addAction(a)
            else:
                menu.addAction(getattr(window, f"act_{item}"))
    return made


def fill(menu, window: QMainWindow, names: tuple[str, ...]) -> None:
    for name in names:
        if name == "-":
            menu.addSeparator()
        else:
            menu.addAction(getattr(window, f"act_{name}"))


def build_toolbar(window: QMainWindow):
    tb = window.addToolBar("Main")
    tb.setObjectName("MainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.setIconSize(QSize(18, 18))
    for name in TOOLBAR:
        if name == "-":
            tb.addSeparator()
        elif name == "<>":
            spacer = QWidget()
            spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            tb.addWidget(spacer)
        else:
            tb.addAction(getattr(window, f"act_{name}"))
    return tb
