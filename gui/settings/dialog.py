"""The settings dialog: one page per topic, each with paired load(settings) / save() -> changes.

Pages only edit values; the Settings dataclass (tagger/settings.py) owns defaults, descriptions
and validation. Every page is a gui.settings.page.Page; the Retrain page is gui/retrain/page.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
)

from gui import theme
from gui.gc_guard import collect_on_ui_thread
from gui.retrain.page import RetrainPage
from gui.settings.page import Page, hint
from gui.tasks import Task
from tagger import paths
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


class ProcessingPage(Page):
    title = "Processing"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        from tagger.device import available_devices

        have = available_devices()
        self.device = QComboBox()
        best = have[0].upper() if have[0] != "cpu" else "CPU"
        for value, text in (("auto", f"Automatic (uses {best} here)"), ("cpu", "CPU"),
                            ("cuda", "NVIDIA CUDA"), ("mps", "Apple MPS")):
            ok = value == "auto" or value in have
            self.device.addItem(text if ok else f"{text} (not available here)", value)
            if not ok:
                self.device.model().item(self.device.count() - 1).setEnabled(False)
        self.device.setToolTip(description("device"))
        self.windows = QSpinBox()
        self.windows.setRange(1, 64)
        self.windows.setToolTip(description("windows_per_track"))
        self.speed = _speed_choice()
        form = QFormLayout(self)
        form.addRow("Speed:", self.speed)
        form.addRow(hint(description("speed")))
        form.addRow("Device:", self.device)
        form.addRow(hint(f"{description('device')} Available here: {', '.join(have)}."))
        form.addRow("Windows per track:", self.windows)
        form.addRow(hint(description("windows_per_track") + " More windows: slower, steadier."))

    def load(self, settings: Settings) -> None:
        i = self.device.findData(settings.device)
        self.device.setCurrentIndex(i if i >= 0 else 0)
        self.windows.setValue(settings.windows_per_track)
        self.speed.setCurrentIndex(max(0, self.speed.findData(settings.speed)))

    def save(self) -> dict[str, Any]:
        return {"device": self.device.currentData(), "windows_per_track": self.windows.value(),
                "speed": self.speed.currentData()}


def _speed_choice() -> QComboBox:
    """Exact, adaptive and fast; fast is offered only where a fast model is shipped."""
    from tagger.resources import fast_model_path

    box = QComboBox()
    box.setToolTip(description("speed"))
    for value, text in (("exact", "Exact: every window (the default)"),
                        ("adaptive", "Adaptive: fewer windows once they agree"),
                        ("fast", "Fast: the small distilled model")):
        shipped = value != "fast" or fast_model_path() is not None
        box.addItem(text if shipped else f"{text} (not shipped with this version)", value)
        if not shipped:
            box.model().item(box.count() - 1).setEnabled(False)
    return box


def model_summary(path: Path, *, progress, cancel) -> str:
    """Worker: a short description of a model file; raises ModelError for a bad one."""
    from tagger.checkpoint import read_checkpoint

    data = read_checkpoint(path)
    labels = data["labels"]
    metrics = data.get("metrics") or {}
    acc = next((metrics[k] for k in ("test_accuracy", "accuracy", "val_accuracy") if k in metrics), None)
    trained = data.get("trained_on") or {}
    parts = [f"{data['arch']}, {len(labels)} genres: {', '.join(labels[:12])}{'…' if len(labels) > 12 else ''}"]
    if acc is not None:
        parts.append(f"accuracy {float(acc):.1%}")
    datasets = trained.get("datasets") or []
    if datasets:
        names = [str(d.get("name") or d.get("kind")) if isinstance(d, dict) else str(d) for d in datasets]
        parts.append("trained on " + ", ".join(names))
    return "; ".join(parts)


class ModelPage(Page):
    title = "Model"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        from tagger.resources import default_model_path

        self._default = default_model_path()
        self.use_default = QRadioButton("The shipped default model")
        self.use_file = QRadioButton("A model file:")
        group = QButtonGroup(self)
        group.addButton(self.use_default)
        group.addButton(self.use_file)
        if self._default is None:
            self.use_default.setText("The shipped default model (none is shipped in this build)")
            self.use_default.setEnabled(False)
        self.path = QLineEdit()
        self.path.setPlaceholderText("/path/to/model.pt")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._problem: str | None = None
        self._task: Task | None = None
        row = QHBoxLayout()
        row.addWidget(self.use_file)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.use_default)
        layout.addLayout(row)
        layout.addWidget(self.info)
        layout.addWidget(hint(description("model_path") + " Train your own on the Retrain page."))
        layout.addStretch(1)
        self.path.editingFinished.connect(self._on_path_changed)
        self.use_file.toggled.connect(self._on_path_changed)

    def load(self, settings: Settings) -> None:
        if settings.model_path or self._default is None:
            self.use_file.setChecked(True)
            self.path.setText(settings.model_path or "")
        else:
            self.use_default.setChecked(True)
        self._on_path_changed()

    def save(self) -> dict[str, Any]:
        if self.use_file.isChecked() and self.path.text().strip():
            return {"model_path": str(Path(self.path.text().strip()).expanduser())}
        return {"model_path": None}

    def problem(self) -> str | None:
        return self._problem

    def set_path(self, path: Path) -> None:
        self.use_file.setChecked(True)
        self.path.setText(str(path))
        self._on_path_changed()

    def _on_browse(self) -> None:
        start = self.path.text() or str(paths.data_dir())
        name, _ = QFileDialog.getOpenFileName(self, "Choose a genre model", start,
                                              "genrenet models (*.pt);;All files (*)")
        if name:
            self.set_path(Path(name))

    def _on_path_changed(self) -> None:
        if self.use_default.isChecked():
            target = self._default
        else:
            text = self.path.text().strip()
            target = Path(text).expanduser() if text else None
        if target is None:
            self._problem = "Choose a model file (or train one on the Retrain page)." if self.use_file.isChecked() else None
            self.info.setText(self._problem or "")
            return
        self._problem = None
        self.info.setText("Checking the model…")
        task = Task(model_summary, target, name="model summary")
        task.succeeded.connect(self._on_summary)
        task.failed.connect(self._on_summary_failed)
        self._task = task.start()

    def _on_summary(self, text: str) -> None:
        self._problem = None
        self.info.setStyleSheet("")
        self.info.setText(text)

    def _on_summary_failed(self, message: str) -> None:
        self._problem = f"This model cannot be used: {message}"
        theme.style_label(self.info, "error")
        self.info.setText(self._problem)


class GenreNamesPage(Page):
    title = "Genre names"

    def __init__(self, labels: list[str], parent=None) -> None:
        super().__init__(parent)
        from tagger.taxonomy import Taxonomy

        self._base = Taxonomy.load({})
        self._labels = list(dict.fromkeys(list(labels) + list(self._base.names)))
        self.table_model = QStandardItemModel(0, 3, self)
        self.table_model.setHorizontalHeaderLabels(["Model label", "Default name", "Write as"])
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        reset = QPushButton("Reset all to defaults")
        reset.clicked.connect(self._on_reset)
        layout = QVBoxLayout(self)
        layout.addWidget(hint("The genre name written into your files for each model label. "
                               "Leave 'Write as' empty to use the default name."))
        layout.addWidget(self.table, 1)
        layout.addWidget(reset, 0, Qt.AlignmentFlag.AlignRight)

    def load(self, settings: Settings) -> None:
        self.table_model.removeRows(0, self.table_model.rowCount())
        extra = [k for k in settings.genre_map if k not in self._labels]
        for label in self._labels + extra:
            items = [QStandardItem(label), QStandardItem(self._base.name_for(label)),
                     QStandardItem(settings.genre_map.get(label, ""))]
            for item in items[:2]:
                item.setEditable(False)
            self.table_model.appendRow(items)

    def save(self) -> dict[str, Any]:
        mapping = {}
        for r in range(self.table_model.rowCount()):
            label = self.table_model.item(r, 0).text()
            name = self.table_model.item(r, 2).text().strip()
            if name and name != self._base.name_for(label):
                mapping[label] = name
        return {"genre_map": mapping}

    def _on_reset(self) -> None:
        for r in range(self.table_model.rowCount()):
            self.table_model.item(r, 2).setText("")


class GenresPage(Page):
    """The genre values found in the open folder's tags, as genrenet spells them, with "Merge into"."""

    title = "Genres"
    VALUE, FILES, SHOWN, MERGE = range(4)

    def __init__(self, genre_lists: list[tuple[str, ...]], parent=None) -> None:
        super().__init__(parent)
        self._genre_lists = genre_lists
        self._merges: dict[str, str] = {}
        self.table_model = QStandardItemModel(0, 4, self)
        self.table_model.setHorizontalHeaderLabels(["In your files", "Files", "genrenet writes", "Merge into"])
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.verticalHeader().hide()
        self.table.setSortingEnabled(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(self.FILES, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(hint("Every genre value in the open folder's tags. genrenet shows and writes each one as "
                               "'genrenet writes' says (its genre tree knows spelling variants such as "
                               "'hip hop' for Hip-Hop). Type a name under 'Merge into' to choose your own: "
                               "for genres the tree does not know, or to prefer another spelling. "
                               "Tags → Tidy Genre Spellings rewrites the files (undoable)."))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)

    def load(self, settings: Settings) -> None:
        from tagger.taxonomy import GenreTree, census, genre_key

        self._merges = dict(settings.genre_merges)
        tree = GenreTree.load(self._merges)
        values = census(self._genre_lists, tree)
        merged = {genre_key(k): v for k, v in self._merges.items()}
        self.table_model.removeRows(0, self.table_model.rowCount())
        for v in values:
            shown = QStandardItem(v.canonical + ("" if v.known else "  (not in the genre tree)"))
            items = [QStandardItem(v.value), QStandardItem(f"{v.count:,}"), shown,
                     QStandardItem(merged.get(genre_key(v.value), ""))]
            for item in items[:3]:
                item.setEditable(False)
            if v.is_variant:
                shown.setForeground(theme.colour("link"))
            self.table_model.appendRow(items)
        variants = sum(1 for v in values if v.is_variant)
        unknown = sum(1 for v in values if not v.known)
        self.summary.setText(f"{len(values):,} genre values: {variants:,} spelling variants of known genres, "
                             f"{unknown:,} the genre tree does not know." if values else
                             "Open a folder to see the genres its files carry.")

    def save(self) -> dict[str, Any]:
        from tagger.taxonomy import genre_key

        merges = dict(self._merges)
        for r in range(self.table_model.rowCount()):
            value = self.table_model.item(r, self.VALUE).text()
            target = self.table_model.item(r, self.MERGE).text().strip()
            for old in [k for k in merges if genre_key(k) == genre_key(value)]:
                del merges[old]
            if target and target != value:
                merges[value] = target
        return {"genre_merges": merges}


def clear_cache_job(*, progress, cancel) -> None:
    from tagger.library import Library

    with Library() as library:
        library.clear()


class StoragePage(Page):
    """Where the cache lives (the ``cache_dir`` setting), clearing it, and the other folders.

    The cache folder is edited here and saved with the other settings; the main window reopens its
    Library at the new place for the next scan. The write journal never moves with it.
    """

    title = "Storage"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cache = QLineEdit()
        self.cache.setPlaceholderText(f"Default: {paths.default_cache_dir()}")
        self.cache.setToolTip(description("cache_dir"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse)
        self.reset = QPushButton("Reset to default")
        self.reset.clicked.connect(lambda: self.cache.setText(""))
        open_cache = QPushButton("Open")
        open_cache.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.cache_dir()))))
        self.env_note = QLabel()
        self.env_note.setWordWrap(True)
        theme.style_label(self.env_note, "error")
        self.data = QLabel(str(paths.data_dir()))
        self.data.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.config = QLabel(str(paths.config_dir()))
        self.config.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.clear = QPushButton("Clear cache")
        self.clear.setToolTip("Forget scanned tags and predictions; the next scan reads and classifies everything again. "
                              "The write journal (undo) is kept.")
        self.clear.clicked.connect(self._on_clear)
        self.status = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.cache, 1)
        row.addWidget(browse)
        row.addWidget(self.reset)
        row.addWidget(open_cache)
        form = QFormLayout(self)
        form.addRow("Cache (scans, predictions):", row)
        form.addRow(hint(description("cache_dir")))
        form.addRow(self.env_note)
        form.addRow("", self.clear)
        form.addRow("", self.status)
        form.addRow("Write journal (undo):", self.data)
        form.addRow("Settings:", self.config)
        form.addRow(hint("Set GENRENET_DATA_DIR or GENRENET_CONFIG_DIR before starting genrenet to keep "
                          "these elsewhere. The write journal stays where it is when the cache moves."))
        self._task: Task | None = None

    def load(self, settings: Settings) -> None:
        self.cache.setText(settings.cache_dir or "")
        env = os.environ.get("GENRENET_CACHE_DIR")
        self.env_note.setText(f"GENRENET_CACHE_DIR is set, so {env} is used instead while it is." if env else "")
        self.env_note.setVisible(bool(env))

    def save(self) -> dict[str, Any]:
        text = self.cache.text().strip()
        return {"cache_dir": str(Path(text).expanduser()) if text else None}

    def problem(self) -> str | None:
        text = self.cache.text().strip()
        if text and Path(text).expanduser().exists() and not Path(text).expanduser().is_dir():
            return f"The cache folder {text} is a file, not a folder."
        return None

    def _on_browse(self) -> None:
        start = self.cache.text().strip() or str(paths.cache_dir())
        name = QFileDialog.getExistingDirectory(self, "Choose a folder for the cache", start)
        if name:
            self.cache.setText(name)

    def _on_clear(self) -> None:
        self.clear.setEnabled(False)
        self.status.setText("Clearing…")
        task = Task(clear_cache_job, name="clear cache")
        task.succeeded.connect(lambda _: self.status.setText("Cache cleared."))
        task.failed.connect(lambda msg: self.status.setText(f"Could not clear the cache: {msg}"))
        task.done.connect(lambda _c: self.clear.setEnabled(True))
        self._task = task.start()


class SettingsDialog(QDialog):
    """Pages on the left, the chosen page on the right; OK saves every page at once."""

    model_chosen = Signal(str)

    def __init__(self, settings: Settings, labels: list[str] | None = None, parent=None,
                 current_folder: Path | None = None, genre_lists: list[tuple[str, ...]] | None = None) -> None:
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
        self.retrain = RetrainPage(current_folder)
        self.retrain.model_ready.connect(self._on_model_ready)
        self.pages: list[Page] = [self.review, self.processing, self.model_page, self.names, self.genres,
                                  self.storage, self.retrain]
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
        if not self._confirm_stop_training():
            return
        super().accept()

    def reject(self) -> None:
        if not self._confirm_stop_training():
            return
        super().reject()

    def _confirm_stop_training(self) -> bool:
        if not self.retrain.running:
            return True
        answer = QMessageBox.question(self, "Training is running",
                                      "Stop training and close the settings?")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.retrain.stop()
        self.retrain.runner.wait(8000)
        return True

    def _on_defaults(self) -> None:
        page = self.pages[self.nav.currentRow()]
        page.load(Settings(recent_folders=self._settings.recent_folders))

    def _on_model_ready(self, path: str) -> None:
        self.model_page.set_path(Path(path))
        self.model_chosen.emit(path)
