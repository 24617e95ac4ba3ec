"""The detail pane with real widgets (offscreen): one track, a multi-selection's summary, none,
playback that stops when the selection grows, and the cover of a track with embedded art."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QUrl  # noqa: E402

from gui.detail.pane import DetailPane  # noqa: E402
from gui.detail.player import unavailable_reason  # noqa: E402
from gui.detail.selection import SelectionFacts  # noqa: E402
from gui.review.model import TrackTableModel  # noqa: E402
from tagger.review import Review  # noqa: E402
from tagger.review_store import ReviewStore  # noqa: E402
from tagger.track import Fingerprint, Prediction, Track  # noqa: E402
from tests.helpers import make_track  # noqa: E402

LABELS = ("rock", "pop", "jazz")
PROBS = {"rock": (0.9, 0.06, 0.04), "pop": (0.2, 0.7, 0.1), "jazz": (0.3, 0.1, 0.6)}


def song(i: int, album: str | None, artist: str | None = "Band", genres: tuple[str, ...] = (),
         path: Path | None = None) -> Track:
    path = path or Path(f"/music/{i:03d}.mp3")
    return Track(path, Fingerprint(100 + i, i), title=f"Song {i}", artist=artist, album=album, genres=genres,
                 duration=8.0)


def result(t: Track, genre: str) -> SimpleNamespace:
    p = np.array(PROBS[genre], dtype=np.float32)
    windows = np.stack([p, p, p])
    pred = Prediction(path=t.path, model_id="m", labels=LABELS, probabilities=p, window_probabilities=windows,
                      window_starts=(0.0, 2.5, 5.0))
    return SimpleNamespace(path=t.path, prediction=pred, error=None)


def text(label) -> str:
    return label.text().replace("\u00a0", " ")


@pytest.fixture
def model(qapp, tmp_path) -> TrackTableModel:
    store = ReviewStore(tmp_path / "review.sqlite")
    yield TrackTableModel(Review(store, namer=str.title))
    store.close()


@pytest.fixture
def library(model) -> TrackTableModel:
    """12 tracks: 7 rock, 4 pop, 1 jazz on three albums (one untagged); some decided."""
    genres = ["rock"] * 7 + ["pop"] * 4 + ["jazz"]
    albums = ["Alpha"] * 5 + ["Beta"] * 4 + ["Gamma"] * 2 + [None]
    artists = ["Band"] * 9 + ["Zed", "Zed", None]
    tracks = [song(i, al, ar, genres=("Jazz",) if i == 0 else ()) for i, (al, ar) in enumerate(zip(albums, artists,
                                                                                                strict=True))]
    model.add_tracks(tracks)
    model.apply_results([result(t, g) for t, g in zip(tracks, genres, strict=True)])
    model.accept([0, 1, 2])  # rock over Jazz, rock, rock: three files change
    model.set_genres([7], ["Pop Rock"])  # edited
    model.reject([8])
    model.mark_errors([(tracks[11].path, "cannot write: read-only")])
    return model


@pytest.fixture
def pane(qtbot) -> DetailPane:
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.resize(400, 700)
    pane.show()
    return pane


def test_several_rows_show_a_summary_of_them(pane, library):
    pane.set_rows(library.rows())
    s = pane.summary
    assert pane.title.text() == "12 tracks selected"
    assert pane.subtitle.text() == "From 3 albums, by 2 artists"
    assert s.isVisibleTo(pane) and not pane.track_view.isVisibleTo(pane)
    assert text(s.genres) == "Rock 7, Pop 4, Jazz 1"
    assert s.confidence.text() == "60% to 90%"
    facts = s.facts
    assert facts.status_text() == "7 pending, 3 accepted, 1 edited, 1 rejected, 1 with an error"
    assert s.albums.text() == "Alpha, Beta, Gamma; 1 without an album tag"
    assert s.artists.text() == "Band, Zed"
    # accepted rock x3 and the edited Pop Rock change their files; 7 pending would once accepted
    assert text(s.write) == ("Write would change 4 files: Rock 3, Pop Rock 1.\n"
                              "7 pending would change theirs once accepted")
    assert "Edit (F2) sets the genre of all 12" in s.hint.text()
    assert pane.current_row() is None and len(pane.current_rows()) == 12
    assert not pane.cover.isVisibleTo(pane) and not pane.play_button.isVisibleTo(pane)
    assert pane.spectrogram_ready()


def test_a_track_that_cannot_be_read_counts_as_an_error(pane, model):
    tracks = [song(1, "A"), Track(Path("/music/bad.mp3"), Fingerprint(1, 1), error="truncated file")]
    model.add_tracks(tracks)
    model.apply_results([result(tracks[0], "pop")])
    pane.set_rows(model.rows())
    assert pane.summary.facts.status_text() == "1 pending, 1 with an error"
    assert text(pane.summary.genres) == "Pop 1; 1 not classified"
    assert pane.summary.confidence.text() == "70%"


def test_many_names_end_in_a_count_of_the_rest():
    rows = [SimpleNamespace(track=SimpleNamespace(album=f"Album {i}", artist=f"Artist {i}", error=None),
                            status=None, error=None, confidence=None, predicted="", changes_file=False)
            for i in range(6)]
    facts = SelectionFacts.of(rows)
    assert facts.albums_text() == "Album 0, Album 1, Album 2, and 3 more"
    assert facts.genres_text() == "None classified yet" and facts.confidence_text() == "\u2014"
    facts = SelectionFacts.of([SimpleNamespace(track=SimpleNamespace(album="A", artist=None, error=None),
                                               status=None, error=None, confidence=0.5, predicted=f"G{i % 10}",
                                               changes_file=False) for i in range(10)])
    assert facts.genres_text().endswith("and 2 more") and facts.artists_text() == "No artist tag"


def test_back_to_one_row_shows_the_track_and_none_the_empty_state(pane, library):
    rows = library.rows()
    pane.set_rows(rows)
    pane.set_rows(rows[3:4])
    assert pane.current_row() is rows[3] and pane.current_rows() == [rows[3]]
    assert pane.title.text() == "Song 3" and pane.subtitle.text() == "Band \u2014 Alpha"
    assert pane.track_view.isVisibleTo(pane) and not pane.summary.isVisibleTo(pane)
    assert pane.bars._top[0] == ("Rock", pytest.approx(0.9))
    assert pane.timeline._window_probs is not None and len(pane.timeline._starts) == 3
    pane.set_rows([])
    assert pane.current_row() is None and pane.current_rows() == []
    assert pane.title.text() == "No track selected"
    assert pane.track_view.isVisibleTo(pane) and not pane.summary.isVisibleTo(pane)
    assert pane.bars._top == [] and not pane.play_button.isEnabled()
    assert pane.timeline._message == "The spectrogram of the selected track appears here"


def test_playback_stops_when_the_selection_grows(pane, model, qtbot, tmp_path):
    files = [make_track(tmp_path / f"{i}.flac", title=f"T{i}") for i in range(2)]
    tracks = [song(i, "A", path=f) for i, f in enumerate(files)]
    model.add_tracks(tracks)
    rows = model.rows()
    pane.set_rows(rows[:1])
    qtbot.waitUntil(pane.spectrogram_ready, timeout=30_000)
    pane.play_button.click()
    if pane._player is None:
        pytest.skip(pane._player_error or "Qt Multimedia is unavailable here")
    assert pane._player.source() == QUrl.fromLocalFile(str(files[0]))
    pane.set_rows(rows)
    assert pane._player.source() == QUrl() and not pane.player.is_playing()
    assert pane.player.path() is None and pane.player.clock.text() == "0:00 / 0:00"
    pane.toggle_playback()  # Space with several rows: nothing plays, the pane says why
    assert pane._player.source() == QUrl()
    assert pane.summary.note.isVisibleTo(pane) and "one track" in pane.summary.note.text()
    pane.set_rows(rows[1:])
    assert pane.play_button.isEnabled() and pane.player.path() == files[1]


def test_the_cover_of_a_track_with_embedded_art_is_shown_and_hidden_for_several(pane, model, qtbot, tmp_path):
    with_cover = make_track(tmp_path / "a.flac", title="A", rich=True)
    tracks = [song(1, "A", path=with_cover), song(2, "A", path=tmp_path / "missing.flac")]
    model.add_tracks(tracks)
    rows = model.rows()
    pane.set_rows(rows[:1])
    qtbot.waitUntil(lambda: pane.cover.isVisibleTo(pane) and not pane.cover.pixmap().isNull(), timeout=10_000)
    pane.set_rows(rows)
    assert not pane.cover.isVisibleTo(pane)
    pane.set_rows(rows[:1])  # cached: shown at once
    assert pane.cover.isVisibleTo(pane)


def test_missing_pulseaudio_library_is_named():
    text = unavailable_reason(ImportError("libpulse.so.0: cannot open shared object file"))
    assert "PulseAudio client library" in text and "libpulse0" in text
    assert "could not be loaded (boom)" in unavailable_reason(ImportError("boom"))
