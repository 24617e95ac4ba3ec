"""The review table's Track, Year, Disc and Album artist columns, album order when sorting by
artist or album, and the header's column chooser (kept with the saved header state)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QStandardItemModel  # noqa: E402
from PySide6.QtWidgets import QHeaderView, QTableView  # noqa: E402

from gui.mainwindow.window import MainWindow  # noqa: E402
from gui.review.columns import DEFAULT_WIDTHS, FIRST_COLUMNS, column_menu, place_new_columns  # noqa: E402
from gui.review.model import HEADERS, Column, TrackTableModel  # noqa: E402
from tagger import paths  # noqa: E402
from tagger.review import Review  # noqa: E402
from tagger.review_store import ReviewStore  # noqa: E402
from tagger.track import Fingerprint, Track  # noqa: E402


def song(name: str, artist: str | None = None, album: str | None = None, disc: int | None = None,
         number: int | None = None, **fields) -> Track:
    return Track(Path(f"/music/{name}.mp3"), Fingerprint(1, 1), title=name, artist=artist, album=album,
                 disc_number=disc, track_number=number, **fields)


@pytest.fixture
def model(qapp, tmp_path) -> TrackTableModel:
    store = ReviewStore(tmp_path / "review.sqlite")
    yield TrackTableModel(Review(store, namer=str.title))
    store.close()


def titles(model: TrackTableModel) -> list[str]:
    return [r.track.title for r in model.rows()]


def shown(model: TrackTableModel, col: Column) -> list[str]:
    return [model.index(i, col).data() for i in range(model.rowCount())]


def test_track_year_disc_and_album_artist_are_shown(model):
    model.add_tracks([song("a", number=3, track_total=12, year=2004, disc=2, album_artist="VA"),
                      song("b", number=7), song("c")])
    assert shown(model, Column.TRACK) == ["3/12", "7", ""]
    assert shown(model, Column.YEAR) == ["2004", "", ""]
    assert shown(model, Column.DISC) == ["2", "", ""]
    assert shown(model, Column.ALBUM_ARTIST) == ["VA", "", ""]
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in (Column.TRACK, Column.YEAR)] == ["Track", "Year"]


ALBUMS = [  # (title, artist, album, disc, track), in no order
    ("b2-1", "Band", "Beta", 2, 1), ("a1", "Band", "Alpha", None, 1), ("b1-2", "Band", "Beta", 1, 2),
    ("z", "Zed", "Alpha", None, 1), ("b1-1", "Band", "Beta", 1, 1), ("a2", "Band", "Alpha", None, 2),
    ("a?", "Band", "Alpha", None, None), ("x", None, None, None, None),
]


@pytest.fixture
def albums(model) -> TrackTableModel:
    model.add_tracks([song(t, a, al, d, n) for t, a, al, d, n in ALBUMS])
    return model


def test_sorting_by_artist_keeps_each_album_in_disc_and_track_order(albums):
    albums.sort(Column.ARTIST, Qt.SortOrder.AscendingOrder)
    assert titles(albums) == ["a1", "a2", "a?", "b1-1", "b1-2", "b2-1", "z", "x"]


def test_sorting_by_artist_descending_keeps_the_albums_in_track_order(albums):
    albums.sort(Column.ARTIST, Qt.SortOrder.DescendingOrder)
    assert titles(albums) == ["z", "a1", "a2", "a?", "b1-1", "b1-2", "b2-1", "x"]


def test_sorting_by_album_orders_its_tracks_by_disc_and_number(albums):
    albums.sort(Column.ALBUM, Qt.SortOrder.AscendingOrder)
    assert titles(albums) == ["a1", "z", "a2", "a?", "b1-1", "b1-2", "b2-1", "x"]
    albums.sort(Column.ALBUM, Qt.SortOrder.DescendingOrder)
    assert titles(albums) == ["b1-1", "b1-2", "b2-1", "a1", "z", "a2", "a?", "x"]


def test_sorting_by_track_or_year_puts_files_without_one_last(model):
    model.add_tracks([song("none"), song("two", number=2, year=1990), song("one", number=1, year=2001)])
    model.sort(Column.TRACK, Qt.SortOrder.AscendingOrder)
    assert titles(model) == ["one", "two", "none"]
    model.sort(Column.YEAR, Qt.SortOrder.DescendingOrder)
    assert titles(model) == ["one", "two", "none"]


# --- the column chooser ---------------------------------------------------------------------------


@pytest.fixture
def header(qtbot, model) -> QHeaderView:
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    place_new_columns(view.horizontalHeader())
    yield view.horizontalHeader()  # while the view lives


def visible(header: QHeaderView) -> list[Column]:
    order = [Column(header.logicalIndex(v)) for v in range(header.count())]
    return [c for c in order if not header.isSectionHidden(c)]


def test_new_columns_stand_by_their_neighbours_and_disc_and_album_artist_start_hidden(header):
    assert visible(header)[:6] == [Column.STATUS, Column.TRACK, Column.TITLE, Column.ARTIST, Column.ALBUM,
                                   Column.YEAR]
    assert header.isSectionHidden(Column.DISC) and header.isSectionHidden(Column.ALBUM_ARTIST)


def test_the_menu_lists_every_column_in_header_order_checked_when_shown(header):
    actions = column_menu(header).actions()
    order = [Column(header.logicalIndex(v)) for v in range(header.count())]
    assert [a.text() for a in actions] == [HEADERS[c] for c in order]
    assert [a.isChecked() for a in actions] == [not header.isSectionHidden(c) for c in order]


def test_unchecking_hides_a_column_and_checking_shows_it(header):
    by_name = {a.text(): a for a in column_menu(header).actions()}
    by_name["Year"].toggle()
    by_name["Album artist"].toggle()
    assert header.isSectionHidden(Column.YEAR) and not header.isSectionHidden(Column.ALBUM_ARTIST)


def test_the_last_shown_column_cannot_be_hidden(header):
    for col in Column:
        header.setSectionHidden(col, col != Column.TITLE)
    enabled = {a.text(): a.isEnabled() for a in column_menu(header).actions()}
    assert enabled["Title"] is False and enabled["Year"] is True


# --- the window keeps the choice ------------------------------------------------------------------


def ui_state() -> QSettings:
    return QSettings(str(paths.config_dir() / "gui.ini"), QSettings.Format.IniFormat)


def make_window(qtbot) -> MainWindow:
    w = MainWindow()
    w.quiet = True
    qtbot.addWidget(w)
    return w


def test_the_shown_columns_survive_a_restart(qtbot):
    first = make_window(qtbot)
    hh = first.table.horizontalHeader()
    {a.text(): a for a in column_menu(hh).actions()}["Year"].toggle()
    hh.setSectionHidden(Column.ALBUM_ARTIST, False)
    first.close()
    assert int(ui_state().value("header_columns")) == len(Column)
    again = make_window(qtbot).table.horizontalHeader()
    assert again.isSectionHidden(Column.YEAR) and not again.isSectionHidden(Column.ALBUM_ARTIST)
    assert not again.isSectionHidden(Column.TRACK)


def test_a_header_saved_before_the_new_columns_gets_them_in_place(qtbot):
    old = QTableView()
    qtbot.addWidget(old)
    old.setModel(QStandardItemModel(0, FIRST_COLUMNS, old))  # the table as versions before Track had it
    old.horizontalHeader().setSectionsMovable(True)
    old.horizontalHeader().moveSection(Column.FILE, 0)
    old.horizontalHeader().hideSection(Column.FORMAT)
    old.horizontalHeader().resizeSection(Column.ARTIST, 222)
    settings = ui_state()
    settings.setValue("header", old.horizontalHeader().saveState())
    settings.sync()
    hh = make_window(qtbot).table.horizontalHeader()
    assert visible(hh)[:4] == [Column.FILE, Column.STATUS, Column.TRACK, Column.TITLE]  # the user's order kept
    assert hh.isSectionHidden(Column.FORMAT) and hh.sectionSize(Column.ARTIST) == 222
    assert not hh.isSectionHidden(Column.YEAR) and hh.isSectionHidden(Column.DISC)
    assert hh.sectionSize(Column.TRACK) == DEFAULT_WIDTHS[Column.TRACK]



def test_an_opened_folder_shows_its_files_track_and_year(qtbot, tmp_path, tiny_model_path):
    from tagger.settings import Settings, save_settings
    from tests.helpers import make_track

    folder = tmp_path / "Music" / "Band - Alpha"
    for i, name in enumerate(["b.flac", "a.mp3", "c.m4a"]):
        make_track(folder / name, seconds=2.0, seed=i, title=f"Song {i}", artist="Band", album="Alpha",
                   track=f"{3 - i}/3", date="1999-01-02")
    save_settings(Settings(model_path=str(tiny_model_path)))
    w = make_window(qtbot)
    with qtbot.waitSignal(w.classification_finished, timeout=180_000):
        w.open_folder(folder.parent)
    w.proxy.sort(Column.ARTIST, Qt.SortOrder.AscendingOrder)
    rows = range(w.proxy.rowCount())
    assert [w.proxy.index(r, Column.TRACK).data() for r in rows] == ["1/3", "2/3", "3/3"]
    assert [w.proxy.index(r, Column.TITLE).data() for r in rows] == ["Song 2", "Song 1", "Song 0"]
    assert {w.proxy.index(r, Column.YEAR).data() for r in rows} == {"1999"}


def test_the_first_window_fits_a_small_screen_and_keeps_its_size_on_a_large_one():
    from PySide6.QtCore import QSize

    from gui.mainwindow.parts import FIRST_SIZE, first_size

    small = first_size(QSize(1366, 768))
    assert small.width() <= 1366 and small.height() <= 768 - 48
    assert first_size(QSize(1920, 1080)) == FIRST_SIZE
