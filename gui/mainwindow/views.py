"""Which view of the review table is shown (All, Needs review, ... and the search), the counts on
the view buttons and in the status bar, the note when a view is empty, and the detail pane
following the selection. Counting and the detail pane are coalesced by short timers: a big
library changes many rows at once.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QTimer

from gui.review.model import FILTER_LABELS, Column, Filter
from tagger.review import ReviewCounts

ALBUM_VIEW_MAX_WIDTH = 420


def single_shot(parent, ms: int, slot) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(ms)
    timer.timeout.connect(slot)
    return timer


class Views:
    def __init__(self, window) -> None:
        self.window = window
        self.counts = ReviewCounts()
        self.user_chose = False  # a view the user picked is kept after classification
        self._album_width: int | None = None  # the Album column's width before the album view
        self._counts_timer = single_shot(window, 150, self.update_counts)
        self._detail_timer = single_shot(window, 120, self.show_detail)

    def connect(self) -> None:
        w = self.window
        for signal in (w.model.dataChanged, w.model.rowsInserted, w.model.modelReset):
            signal.connect(self.schedule_counts)
        w.model.dataChanged.connect(self._on_model_data_changed)
        for signal in (w.proxy.rowsInserted, w.proxy.rowsRemoved, w.proxy.modelReset, w.proxy.layoutChanged):
            signal.connect(self.update_empty_note)
        w.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        w.table.selectionModel().currentRowChanged.connect(self._on_selection_changed)

    def set_filter(self, f: Filter, user: bool = True) -> None:
        self.user_chose = self.user_chose or user
        self.window.filter_actions[f].setChecked(True)
        self.window.proxy.set_mode(f)
        self._fit_album_column(f)
        self._detail_timer.start()

    def _fit_album_column(self, f: Filter) -> None:
        """The album view's Album cells name the majority: wide enough to read while it is shown,
        the user's width again after."""
        header = self.window.table.horizontalHeader()
        if f == Filter.ALBUM and self._album_width is None:
            self._album_width = header.sectionSize(Column.ALBUM)
            wanted = self.window.table.sizeHintForColumn(Column.ALBUM)
            header.resizeSection(Column.ALBUM, min(max(wanted, self._album_width), ALBUM_VIEW_MAX_WIDTH))
        elif f != Filter.ALBUM and self._album_width is not None:
            header.resizeSection(Column.ALBUM, self._album_width)
            self._album_width = None

    def folder_opened(self) -> None:
        self.user_chose = False
        self.set_filter(Filter.ALL, user=False)

    def classified(self) -> None:
        """After classification: show what needs review unless the user chose a view, and select."""
        if not self.user_chose and self.window.model.counts().needs_review > 0:
            self.set_filter(Filter.NEEDS_REVIEW, user=False)
        if not self.window.table.selectionModel().hasSelection():
            self.select_first_needing_review()

    def select_first_needing_review(self) -> bool:
        """Select the first visible row whose prediction needs review (else the first row)."""
        w = self.window
        shown = [w.model.row_at(w.proxy.mapToSource(w.proxy.index(r, 0)).row()) for r in range(w.proxy.rowCount())]
        target = next((r for r, row in enumerate(shown) if w.model.needs_review(row)), 0 if shown else None)
        if target is None:
            return False
        w.decisions.select(target)
        self.show_detail()
        return True

    def update_empty_note(self, *args) -> None:
        w = self.window
        empty = w.model.rowCount() > 0 and w.proxy.rowCount() == 0
        if empty:
            view = FILTER_LABELS[w.proxy.mode]
            needle = w.search.text().strip()
            w.empty_note.setText(f"No tracks match \u201c{needle}\u201d in {view}." if needle else
                                 f"No tracks in {view}." + (" Choose All to see every file."
                                                            if w.proxy.mode != Filter.ALL else ""))
        w.empty_note.setVisible(empty)

    def schedule_counts(self, *args) -> None:
        if not self._counts_timer.isActive():
            # counting is one pass over the rows: coalesce more for big libraries
            self._counts_timer.setInterval(150 if self.window.model.rowCount() < 20_000 else 750)
            self._counts_timer.start()

    def update_counts(self) -> None:
        w = self.window
        c = self.counts = w.model.counts()
        for f, a in w.filter_actions.items():
            a.setText(f"{FILTER_LABELS[f]} ({c.views.get(f, 0):,})")
        w.counts_label.setText(f"{c.total:,} files \u00b7 {c.needs_review:,} to review \u00b7 "
                               f"{c.to_write:,} to write" if c.total else "")
        w.update_actions()

    def _on_selection_changed(self, *args) -> None:
        self.window.update_actions()
        self._detail_timer.start()

    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles=()) -> None:
        shown = self.window.detail.current_rows()
        if len(shown) > 1:  # the summary of a multi-selection recounts
            self._detail_timer.start()
            return
        i = self.window.model.row_of(shown[0].track.path) if shown else None
        if i is not None and top.row() <= i <= bottom.row():
            self._detail_timer.start()

    def show_detail(self) -> None:
        """One selected track in full; several as a summary; none: the current row, if any."""
        w = self.window
        rows = w.decisions.selected_rows()
        index = w.table.currentIndex()
        if not rows and index.isValid():
            rows = [w.proxy.mapToSource(index).row()]
        w.detail.set_rows([w.model.row_at(r) for r in rows])
