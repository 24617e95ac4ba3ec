"""AppController headless: no window is built. A real Library and journal in tmp dirs, real mp3
files, the tiny model; the pipeline is followed through the controller's signals."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from mutagen.id3 import ID3  # noqa: E402

from gui.controller import AppController  # noqa: E402
from tagger import paths  # noqa: E402
from tagger.settings import Settings, load_settings  # noqa: E402
from tagger.track import Decision  # noqa: E402
from tests.helpers import make_track  # noqa: E402

TIMEOUT = 180_000


@pytest.fixture
def controller(qtbot, tiny_model_path):
    c = AppController(Settings(model_path=str(tiny_model_path)))
    yield c
    c.close()


class Seen:
    """What the controller told its views, in order."""

    def __init__(self, c: AppController) -> None:
        self.stages: list[str] = []
        self.found: list = []
        self.results: list = []
        self.errors: list[tuple[str, list]] = []
        self.problems: list[tuple[str, bool]] = []
        self.models: list = []
        self.model_failures: list[str] = []
        self.classified: list[bool] = []
        c.stage_started.connect(lambda stage, _text: self.stages.append(stage))
        c.tracks_found.connect(self.found.extend)
        c.results.connect(self.results.extend)
        c.errors.connect(lambda source, entries: self.errors.append((source, entries)))
        c.problem.connect(lambda text, fixable: self.problems.append((text, fixable)))
        c.model_loaded.connect(self.models.append)
        c.model_failed.connect(self.model_failures.append)
        c.classify_finished.connect(self.classified.append)


def open_and_wait(qtbot, c: AppController, folder: Path) -> Seen:
    seen = Seen(c)
    with qtbot.waitSignal(c.pipeline_finished, timeout=TIMEOUT):
        c.open_folder(folder)
    return seen


def test_opening_a_folder_brings_tracks_then_predictions(qtbot, controller, music_folder):
    seen = open_and_wait(qtbot, controller, music_folder)
    assert seen.stages == ["Scanning", "Loading model", "Classifying"]
    assert {t.path for t in seen.found} == {p.resolve() for p in music_folder.rglob("*.mp3")}
    assert len(seen.results) == 4 and all(r.prediction is not None for r in seen.results)
    by_name = {r.path.name: r.prediction.genre for r in seen.results}
    assert by_name["03 tone.mp3"] == "Tone" and by_name["04 noise.mp3"] == "Noise"
    assert seen.classified == [False] and len(seen.models) == 1 and not seen.problems
    assert controller.loaded_model is seen.models[0]
    assert "4 new" in controller.scan_summary
    assert controller.library.db_path == paths.library_db()  # the test's own cache dir
    assert load_settings().recent_folders[0] == str(music_folder.resolve())

    again = Seen(controller)
    with qtbot.waitSignal(controller.pipeline_finished, timeout=TIMEOUT):
        controller.rescan()
    assert again.stages == ["Scanning", "Classifying"]  # the loaded model is kept
    assert all(r.cached for r in again.results) and "4 unchanged" in controller.scan_summary


def test_cancel_stops_classifying_and_keeps_what_arrived(qtbot, controller, tmp_path):
    seed = make_track(tmp_path / "seed.mp3", "tone", seconds=20.0, seed=1)
    folder = tmp_path / "Many"
    folder.mkdir()
    for i in range(40):
        shutil.copy(seed, folder / f"{i:03d}.mp3")
    seen = Seen(controller)
    with qtbot.waitSignal(controller.pipeline_finished, timeout=TIMEOUT):
        controller.open_folder(folder)
        qtbot.waitUntil(lambda: len(seen.results) >= 1, timeout=TIMEOUT)
        assert controller.busy
        assert controller.cancel()
    assert seen.classified == [True]
    assert 1 <= len(seen.results) < 40
    assert not controller.busy


def test_a_file_that_is_not_a_model_reports_model_failed(qtbot, music_folder, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_text("not a model")
    c = AppController(Settings(model_path=str(bad)))
    try:
        seen = open_and_wait(qtbot, c, music_folder)
        assert len(seen.model_failures) == 1 and seen.model_failures[0]
        assert c.loaded_model is None and seen.classified == [] and not seen.results
        assert len(seen.found) == 4  # the files are listed all the same
        assert seen.problems and seen.problems[-1][1] is True  # Settings can fix it
        assert [source for source, _ in seen.errors] == ["model"]
    finally:
        c.close()


def test_write_then_undo_restores_the_file_byte_for_byte(qtbot, controller, music_folder):
    open_and_wait(qtbot, controller, music_folder)
    tone = (music_folder / "Artist A" / "Album 1" / "01 tone.mp3").resolve()
    before = tone.read_bytes()
    track = next(t for t in controller.tracks if t.path == tone)
    assert controller.last_batch is None
    with qtbot.waitSignal(controller.write_finished, timeout=TIMEOUT) as wrote:
        controller.write([Decision(tone, ("Ambient",), track.fingerprint)])
    outcome = wrote.args[0]
    assert outcome.report.written == [tone] and not outcome.errors
    assert list(ID3(tone)["TCON"].text) == ["Ambient"]
    assert controller.last_batch is not None and controller.last_batch.id == outcome.report.batch_id

    with qtbot.waitSignal(controller.undo_finished, timeout=TIMEOUT) as undone:
        controller.undo()
    assert undone.args[0].report.restored == [tone]
    assert tone.read_bytes() == before
    assert controller.last_batch is None and not controller.writing


def test_close_closes_the_stores(qtbot, controller, music_folder):
    open_and_wait(qtbot, controller, music_folder)
    library, store = controller.library, controller.review_store
    controller.refresh_last_batch()
    journal = controller._journal
    controller.close()
    for con in (library._con, store._con, journal._con):
        with pytest.raises(sqlite3.ProgrammingError):
            con.execute("SELECT 1")
    controller.close()  # a second close (the window's closeEvent may come twice) does nothing


def test_settings_are_saved_and_a_model_change_classifies_again(qtbot, tiny_model_path, music_folder, tmp_path,
                                                               monkeypatch):
    monkeypatch.delenv("GENRENET_CACHE_DIR")  # the settings' cache folder, not the test's override
    c = AppController(Settings(model_path=str(tiny_model_path), cache_dir=str(tmp_path / "cache")))
    try:
        open_and_wait(qtbot, c, music_folder)  # saves the settings (recent folders) before the scan
        first_library = c.library
        assert first_library.db_path == tmp_path / "cache" / "library.sqlite"
        assert c.apply_settings(c.settings.with_changes(review_threshold=0.6)) is False
        assert c.loaded_model is not None and c.library is first_library
        assert load_settings().review_threshold == pytest.approx(0.6)

        changed = c.settings.with_changes(windows_per_track=c.settings.windows_per_track + 1,
                                          cache_dir=str(tmp_path / "other cache"))
        assert c.apply_settings(changed) is True
        assert c.loaded_model is None
        assert c.library.db_path == tmp_path / "other cache" / "library.sqlite"
        seen = Seen(c)
        with qtbot.waitSignal(c.pipeline_finished, timeout=TIMEOUT):
            c.reclassify()
        assert seen.stages == ["Scanning", "Loading model", "Classifying"]
        assert len(seen.results) == 4 and seen.classified == [False]
    finally:
        c.close()
