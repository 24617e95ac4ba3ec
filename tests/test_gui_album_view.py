"""The "Album disagrees" view: the tracks that disagree with their album, grouped album by album
in disc and track order, each album's majority in the Album column; compilations have none; the
table's own order comes back when another view is chosen."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QAbstractItemModelTester  # noqa: E402

from gui import theme  # noqa: E402
from gui.review.model import Column, Filter, TrackFilterModel, TrackTableModel  # noqa: E402
from gui.review.table import build_review_table  # noqa: E402
from tagger.review import Review  # noqa: E402
from tagger.review_store import ReviewStore  # noqa: E402
from tagger.track import Fingerprint, Prediction, Track  # noqa: E402

LABELS = ("rock", "jazz", "pop")
GENRE = {"Rock": 0, "Jazz": 1, "Pop": 2}

# (folder, album, disc, track, genre predicted, confidence): shuffled, as a scan may find them
LIBRARY = [
    ("abbey", "Abbey Road", 2, 3, "Jazz", 0.55),
    ("blue", "Blue", None, 2, "Jazz", 0.90),
    ("abbey", "Abbey Road", 1, 1, "Rock", 0.80),
    ("abbey", "Abbey Road", 1, 7, "Jazz", 0.60),
    ("calm", "Calm", None, 1, "Pop", 0.70),
    ("abbey", "Abbey Road", 1, 2, "Rock", 0.81),
    ("blue", "Blue", None, 1, "Jazz", 0.91),
    ("abbey", "Abbey Road", 1, 3, "Rock", 0.82),
    ("calm", "Calm", None, 2, "Pop", 0.71),
    ("abbey", "Abbey Road", 1, 4, "Rock", 0.83),
    ("blue", "Blue", None, 3, "Rock", 0.40),
    ("abbey", "Abbey Road", 1, 5, "Rock", 0.84),
    ("abbey", "Abbey Road", 1, 6, "Rock", 0.85),
    ("abbey", "Abbey Road", 2, 1, "Rock", 0.86),
    ("abbey", "Abbey Road", 2, 2, "Rock", 0.87),
    ("abbey", "Abbey Road", 2, 4, "Rock", 0.88),
]


def song(folder: str, album: str | None, disc: int | None, number: int | None, **fields) -> Track:
    path = Path(f"/music/{folder}/{disc or 0}-{number or 0:02d}.mp3")
    return Track(path, Fingerprint(1, number or 0), title=f"{album} {disc or 0}.{number}", album=album,
                 disc_number=disc, track_number=number, **fields)


def result(t: Track, genre: str, confidence: float) -> SimpleNamespace:
    p = np.full(len(LABELS), (1 - confidence) / (len(LABELS) - 1), dtype=np.float32)
    p[GENRE[genre]] = confidence
    pred = Prediction(path=t.path, model_id="m", labels=LABELS, probabilities=p, window_probabilities=p[None, :])
    return SimpleNamespace(path=t.path, prediction=pred, error=None)


def load(model: TrackTableModel, entries, **fields) -> None:
    tracks = [song(folder, album, disc, number, **fields) for folder, album, disc, number, _, _ in entries]
    model.add_tracks(tracks)
    model.apply_results([result(t, g, c) for t, (*_, g, c) in zip(tracks, entries, strict=True)])
    model.update_albums()


@pytest.fixture
def model(qapp, tmp_path) -> TrackTableModel:
    store = ReviewStore(tmp_path / "review.sqlite")
    model = TrackTableModel(Review(store, namer=str.title))
    load(model, LIBRARY)
    model.sort(Column.CONFIDENCE, Qt.SortOrder.AscendingOrder)  # the table's review order
    yield model
    store.close()


@pytest.fixture
def proxy(model) -> TrackFilterModel:
    proxy = TrackFilterModel()
    proxy.setSourceModel(model)
    QAbstractItemModelTester(proxy, QAbstractItemModelTester.FailureReportingMode.Fatal)
    return proxy


def column(proxy: TrackFilterModel, col: Column, role=Qt.ItemDataRole.DisplayRole) -> list:
    return [proxy.index(r, col).data(role) for r in range(proxy.rowCount())]


def titles(proxy: TrackFilterModel) -> list[str]:
    return column(proxy, Column.TITLE)


def test_the_tracks_that_disagree_are_grouped_by_album_in_disc_and_track_order(proxy):
    proxy.set_mode(Filter.ALBUM)
    assert titles(proxy) == ["Abbey Road 1.7", "Abbey Road 2.3", "Blue 0.3"]


def test_each_album_says_its_majority_and_how_many_tracks_voted_for_it(proxy):
    proxy.set_mode(Filter.ALBUM)
    assert column(proxy, Column.ALBUM) == ["\u26a0 Abbey Road \u2014 majority Rock (9 of 11)"] * 2 + [
        "\u26a0 Blue \u2014 majority Jazz (2 of 3)"]
    tip = proxy.index(0, Column.ALBUM).data(Qt.ItemDataRole.ToolTipRole)
    assert "9 of its 11 classified tracks are predicted Rock" in tip
    assert "Votes: Rock 9, Jazz 2." in tip
    assert "This track is predicted Jazz" in tip and "gives it Rock" in tip


def test_the_genre_that_disagrees_is_in_the_warning_colour(proxy):
    proxy.set_mode(Filter.ALBUM)
    assert proxy.index(0, Column.PREDICTED).data() == "Jazz"
    brush = proxy.index(0, Column.PREDICTED).data(Qt.ItemDataRole.ForegroundRole)
    assert brush.color() == theme.colour("warning")


def test_other_views_show_the_album_as_before(proxy):
    proxy.set_mode(Filter.NEEDS_REVIEW)
    albums = set(column(proxy, Column.ALBUM))
    assert albums and not any("majority" in a for a in albums)
    proxy.set_mode(Filter.ALL)
    assert "\u26a0 Abbey Road" in column(proxy, Column.ALBUM)


def test_the_tab_count_is_the_number_of_rows_shown(proxy, model):
    proxy.set_mode(Filter.ALBUM)
    assert proxy.rowCount() == model.counts().views[Filter.ALBUM] == 3


def test_a_compilation_is_not_grouped_as_one_artists_album(qapp, tmp_path):
    mixed = [("va", "Hits", None, n, g, 0.8) for n, g in enumerate(("Rock", "Rock", "Jazz", "Pop"), 1)]
    flagged = [("flag", "Mix", None, n, g, 0.8) for n, g in enumerate(("Jazz", "Jazz", "Rock"), 1)]
    with ReviewStore(tmp_path / "review.sqlite") as store:
        model = TrackTableModel(Review(store, namer=str.title))
        load(model, mixed, album_artist="Various Artists")
        load(model, flagged, compilation=True)
        load(model, [("band", "Hits", None, n, g, 0.8) for n, g in enumerate(("Pop", "Pop", "Rock"), 1)])
        proxy = TrackFilterModel()
        proxy.setSourceModel(model)
        proxy.set_mode(Filter.ALBUM)
        assert column(proxy, Column.ALBUM) == ["\u26a0 Hits \u2014 majority Pop (2 of 3)"]
        assert model.row_at(proxy.source_rows([0])[0]).track.path.parent.name == "band"


def test_albums_of_one_name_in_two_folders_do_not_interleave(qapp, tmp_path):
    first = [("one", "Greatest Hits", None, n, g, 0.8) for n, g in enumerate(("Rock", "Rock", "Jazz", "Pop"), 1)]
    second = [("two", "Greatest Hits", None, n, g, 0.8) for n, g in enumerate(("Jazz", "Jazz", "Rock", "Pop"), 1)]
    with ReviewStore(tmp_path / "review.sqlite") as store:
        model = TrackTableModel(Review(store, namer=str.title))
        load(model, [x for pair in zip(first, second, strict=True) for x in pair])
        proxy = TrackFilterModel()
        proxy.setSourceModel(model)
        proxy.set_mode(Filter.ALBUM)
        folders = [model.row_at(r).track.path.parent.name for r in proxy.source_rows(range(proxy.rowCount()))]
        assert folders == ["one", "one", "two", "two"]
        assert column(proxy, Column.TRACK) == ["3", "4", "3", "4"]


def test_choosing_another_view_brings_back_the_tables_order(proxy):
    before = titles(proxy)
    proxy.set_mode(Filter.ALBUM)
    assert titles(proxy) != sorted(before)
    proxy.set_mode(Filter.ALL)
    assert titles(proxy) == before
    proxy.set_mode(Filter.ALBUM)
    proxy.set_mode(Filter.NEEDS_REVIEW)
    shown = titles(proxy)
    assert shown == [t for t in before if t in shown]  # least confident first, as the table was sorted


def test_a_header_click_in_the_album_view_keeps_album_order_and_shows_later(proxy, model):
    proxy.set_mode(Filter.ALBUM)
    proxy.sort(Column.TITLE, Qt.SortOrder.DescendingOrder)
    assert titles(proxy) == ["Abbey Road 1.7", "Abbey Road 2.3", "Blue 0.3"]
    proxy.set_mode(Filter.ALL)
    assert titles(proxy) == sorted(titles(proxy), reverse=True)


def test_rows_changed_in_the_album_view_stay_in_album_order(proxy, model):
    proxy.set_mode(Filter.ALBUM)
    rows = proxy.source_rows(range(proxy.rowCount()))
    assert model.use_album_majority(rows) == 3
    assert titles(proxy) == ["Abbey Road 1.7", "Abbey Road 2.3", "Blue 0.3"]
    assert column(proxy, Column.NEW) == ["Rock", "Rock", "Jazz"]


def test_the_table_hides_its_sort_arrow_while_the_album_view_orders_the_rows(proxy):
    table, *_ = build_review_table(proxy, lambda: 0.8, list)
    header = table.horizontalHeader()
    proxy.set_mode(Filter.ALBUM)
    assert not header.isSortIndicatorShown()
    proxy.set_mode(Filter.CONFIDENT)
    assert header.isSortIndicatorShown()
