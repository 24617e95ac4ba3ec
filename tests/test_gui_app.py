"""The desktop app end to end, offscreen: real mp3 files, the tiny model, real SQLite."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from mutagen.id3 import ID3, ID3NoHeaderError  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialog  # noqa: E402

from gui.dialogs.write_summary import WriteSummaryDialog  # noqa: E402
from gui.mainwindow.window import MainWindow  # noqa: E402
from gui.review.model import Column, Filter  # noqa: E402
from tagger.settings import Settings, load_settings, save_settings  # noqa: E402
from tagger.track import DecisionStatus  # noqa: E402
from tests.helpers import make_track  # noqa: E402

CLASSIFY_TIMEOUT = 180_000


@pytest.fixture
def window(qtbot, tiny_model_path):
    save_settings(Settings(model_path=str(tiny_model_path)))
    w = MainWindow()
    w.quiet = True
    qtbot.addWidget(w)
    yield w
    w.close()


def folder_of_copies(src: Path, folder: Path, count: int) -> Path:
    """A folder of `count` copies of one mp3: many files, one decode cost."""
    folder.mkdir()
    for i in range(count):
        shutil.copy(src, folder / f"{i:03d}.mp3")
    return folder


def open_and_classify(qtbot, window: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(window.classification_finished, timeout=CLASSIFY_TIMEOUT):
        window.open_folder(folder)


def row_of(window: MainWindow, path: Path):
    return window.model.row_at(window.model.row_of(path))


def tcon(path: Path) -> list[str] | None:
    try:
        tags = ID3(path)
    except ID3NoHeaderError:
        return None
    frame = tags.get("TCON")
    return None if frame is None else list(frame.text)


def accept_next_dialog(kind: type[QDialog]) -> None:
    """Press OK in the next dialog of this kind once it is on screen (it runs its own loop)."""
    def accept() -> None:
        shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
        if shown:
            shown[0].accept()
        else:
            QTimer.singleShot(20, accept)

    QTimer.singleShot(0, accept)


def test_open_classify_accept_write_then_undo_restores_tags(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    tone = music_folder / "Artist A" / "Album 1" / "01 tone.mp3"
    noise = music_folder / "Artist A" / "Album 1" / "02 noise.mp3"
    assert window.model.rowCount() == 4
    assert all(r.prediction is not None for r in window.model.rows())
    assert row_of(window, tone).predicted == "Tone"
    assert row_of(window, noise).predicted == "Noise"

    window.model.accept([window.model.row_of(tone), window.model.row_of(noise)])
    qtbot.waitUntil(lambda: "Write 2 Genres" in window.act_write.text().replace("&", ""))
    assert window.act_write.isEnabled()
    accept_next_dialog(WriteSummaryDialog)
    with qtbot.waitSignal(window.write_finished, timeout=60_000):
        window.act_write.trigger()
    assert tcon(tone) == ["Tone"]
    assert tcon(noise) == ["Noise"]
    assert row_of(window, tone).status == DecisionStatus.WRITTEN
    assert row_of(window, tone).track.genres == ("Tone",)
    assert ID3(tone).getall("COMM")[0].text == ["keep this comment"]

    with qtbot.waitSignal(window.undo_finished, timeout=60_000):
        window.act_undo.trigger()
    assert tcon(tone) == ["Jazz"]
    assert tcon(noise) is None
    assert row_of(window, tone).track.genres == ("Jazz",)
    assert row_of(window, tone).status == DecisionStatus.PENDING
    assert ID3(tone).getall("APIC")[0].data.startswith(b"\x89PNG")


def test_write_summary_lists_old_and_new_genre_per_file(qtbot, tmp_path):
    dialog = WriteSummaryDialog([(tmp_path / "a.mp3", "Jazz", "Rock"), (tmp_path / "b.mp3", "", "Pop")], Settings())
    qtbot.addWidget(dialog)
    model = dialog.view.model()
    assert model.rowCount() == 2
    assert [model.index(0, c).data() for c in range(3)] == [str(tmp_path / "a.mp3"), "Jazz", "Rock"]
    assert model.index(1, 1).data() == "(none)"
    assert dialog.write_button.text() == "Write 2 files"


def test_accept_and_reject_keys_on_the_table(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.table.setFocus()
    window.table.selectRow(0)
    first = window.model.row_at(window.proxy.mapToSource(window.proxy.index(0, 0)).row())
    qtbot.keyClick(window.table, Qt.Key.Key_A)
    assert first.status == DecisionStatus.ACCEPTED
    assert window.table.currentIndex().row() == 1  # moved on to the next row
    second = window.model.row_at(window.proxy.mapToSource(window.proxy.index(1, 0)).row())
    qtbot.keyClick(window.table, Qt.Key.Key_R)
    assert second.status == DecisionStatus.REJECTED


def test_edit_undo_takes_back_the_last_decision_and_names_it(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    assert not window.act_undo_decision.isEnabled()
    window.table.selectRow(0)
    first = window.model.row_at(window.proxy.mapToSource(window.proxy.index(0, 0)).row())
    window.act_accept.trigger()
    assert first.status == DecisionStatus.ACCEPTED
    assert window.act_undo_decision.isEnabled() and window.act_undo_decision.text() == "&Undo Accept (1 track)"
    window.act_undo_decision.trigger()
    assert first.status == DecisionStatus.PENDING
    assert not window.act_undo_decision.isEnabled()


def test_needs_review_is_the_view_after_classification_when_some_are_uncertain(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    confidences = sorted(r.confidence for r in window.model.rows())
    assert confidences[0] < confidences[-1]
    window.apply_settings(window.settings.with_changes(review_threshold=confidences[-1]))
    open_and_classify(qtbot, window, music_folder)  # cached predictions, new threshold
    assert window.proxy.mode == Filter.NEEDS_REVIEW
    below = sum(c < confidences[-1] for c in confidences)
    assert window.proxy.rowCount() == below >= 1
    row = window.detail.current_row()
    assert row is not None and window.model.needs_review(row)


def test_unreadable_file_shows_path_and_reason_and_the_rest_is_classified(qtbot, window, music_folder):
    broken = music_folder / "Artist B" / "broken.mp3"
    broken.write_bytes(b"this is not audio")
    open_and_classify(qtbot, window, music_folder)
    row = row_of(window, broken)
    assert row.status == DecisionStatus.ERROR and row.error
    assert any(p == str(broken) for _, p, _ in window.errors_model.items)
    assert sum(r.prediction is not None for r in window.model.rows()) == 4
    window.views.set_filter(Filter.ERRORS)
    assert window.proxy.rowCount() == 1


def test_bad_model_file_shows_reason_and_still_lists_files(qtbot, tmp_path, music_folder):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    save_settings(Settings(model_path=str(bad)))
    w = MainWindow()
    w.quiet = True
    qtbot.addWidget(w)
    open_and_classify(qtbot, w, music_folder)
    assert w.banner.isVisibleTo(w)
    assert "bad.pt" in w.banner_text.text()
    assert w.model.rowCount() == 4
    w.close()


def test_cancel_mid_classification_stops_and_keeps_partial_results(qtbot, window, tmp_path):
    folder = folder_of_copies(make_track(tmp_path / "seed.mp3", "tone", seconds=20.0, seed=1), tmp_path / "Many", 40)
    with qtbot.waitSignal(window.scan_finished, timeout=60_000):
        window.open_folder(folder)
    with qtbot.waitSignal(window.classification_finished, timeout=CLASSIFY_TIMEOUT):
        qtbot.waitUntil(lambda: window.model.counts().classified >= 1, timeout=CLASSIFY_TIMEOUT)
        window.cancel_classification()
    classified = window.model.counts().classified
    assert 1 <= classified < 40
    assert "cancelled" in window.status_text.text()
    qtbot.waitUntil(lambda: not any(t.name.startswith("genrenet-decode") for t in threading.enumerate()),
                    timeout=20_000)
    assert window.act_rescan.isEnabled()


def test_rescan_reuses_cached_predictions(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    with qtbot.waitSignal(window.classification_finished, timeout=CLASSIFY_TIMEOUT):
        window.act_rescan.trigger()
    assert "4 unchanged" in window.status_text.text()
    assert all(r.prediction is not None for r in window.model.rows())


def test_settings_and_recent_folders_survive_a_restart(qtbot, window, music_folder):
    from gui.settings.dialog import SettingsDialog

    open_and_classify(qtbot, window, music_folder)
    dialog = SettingsDialog(window.settings, ["Tone", "Noise"], window)
    qtbot.addWidget(dialog)
    dialog.review.threshold.setValue(0.65)
    dialog.review.id3.setCurrentIndex(dialog.review.id3.findData(4))
    names = dialog.names.table_model
    tone_row = next(r for r in range(names.rowCount()) if names.item(r, 0).text() == "Tone")
    names.item(tone_row, 2).setText("Ambient")
    qtbot.waitUntil(lambda: dialog.model_page.info.text() not in ("", "Checking the model…"))
    dialog.accept()
    assert dialog.result_settings is not None
    window.apply_settings(dialog.result_settings)
    assert row_of(window, music_folder / "Artist B" / "03 tone.mp3").predicted == "Ambient"
    window.close()

    again = MainWindow()
    qtbot.addWidget(again)
    assert again.settings.review_threshold == pytest.approx(0.65)
    assert again.settings.id3_version == 4
    assert again.settings.genre_map == {"Tone": "Ambient"}
    assert again.model.threshold == pytest.approx(0.65)
    assert again.settings.recent_folders[0] == str(music_folder.resolve())
    assert load_settings().model_path == window.settings.model_path
    again.close()


def test_dropping_a_folder_opens_it(qtbot, window, music_folder):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(music_folder))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.classification_finished, timeout=CLASSIFY_TIMEOUT):
        window.dropEvent(event)
    assert window.folder == music_folder.resolve()
    assert window.model.rowCount() == 4


def test_detail_pane_shows_probabilities_and_spectrogram(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.current_row() is window.model.row_at(
        window.proxy.mapToSource(window.proxy.index(0, 0)).row()))
    qtbot.waitUntil(lambda: window.detail.timeline._image is not None, timeout=30_000)
    assert window.detail.bars._top[0][1] > 0.5
    assert window.detail.timeline._window_probs is not None


def test_review_order_is_least_confident_first_after_classification(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    shown = [window.model.rows()[r] for r in window.proxy.source_rows(range(window.proxy.rowCount()))]
    confidences = [r.confidence for r in shown if r.confidence is not None]
    assert len(confidences) >= 2
    assert confidences == sorted(confidences)


def test_sorting_by_confidence_orders_rows(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    window.table.sortByColumn(Column.CONFIDENCE, Qt.SortOrder.AscendingOrder)
    values = [window.proxy.index(r, Column.CONFIDENCE).data(0x0100 + 3) for r in range(window.proxy.rowCount())]
    assert values == sorted(values)


@pytest.mark.slow
def test_screenshot_option_writes_a_png_of_the_classified_folder(tmp_path, tiny_model_path, music_folder):
    save_settings(Settings(model_path=str(tiny_model_path)))
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, "-m", "gui.app", str(music_folder), "--screenshot", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
    assert "PulseAudioService" not in proc.stderr and "plugin does not support" not in proc.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert image.width() >= 800 and image.height() >= 500


def test_genre_editor_offers_model_genres_and_takes_free_text(qtbot, window, music_folder):
    from PySide6.QtWidgets import QComboBox, QStyleOptionViewItem

    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    index = window.proxy.index(0, Column.NEW)
    editor = window.genre_delegate.createEditor(window.table.viewport(), QStyleOptionViewItem(), index)
    assert isinstance(editor, QComboBox)
    assert {"Tone", "Noise"} <= {editor.itemText(i) for i in range(editor.count())}
    editor.setCurrentText("Drone; Noise")
    window.genre_delegate.setModelData(editor, window.proxy, index)
    row = window.model.row_at(window.proxy.mapToSource(index).row())
    assert row.genres == ("Drone", "Noise")
    assert row.status == DecisionStatus.EDITED


def test_play_button_loads_the_selected_file(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.current_row() is not None)
    qtbot.waitUntil(window.detail.spectrogram_ready, timeout=30_000)
    window.detail.play_button.click()
    if window.detail._player is None:
        pytest.skip(window.detail._player_error or "Qt Multimedia is unavailable here")
    expected = QUrl.fromLocalFile(str(window.detail.current_row().track.path))
    assert window.detail._player.source() == expected
    window.detail._stop_playback()


def test_file_changed_since_scan_is_a_per_file_error_and_others_are_written(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    changed = music_folder / "Artist B" / "03 tone.mp3"
    other = music_folder / "Artist B" / "04 noise.mp3"
    window.model.accept([window.model.row_of(changed), window.model.row_of(other)])
    with changed.open("ab") as fh:  # someone else touches the file after the scan
        fh.write(b"\0" * 10)
    with qtbot.waitSignal(window.write_finished, timeout=60_000):
        window.writes.start_write(window.model.decisions())
    assert tcon(other) == ["Noise"]
    assert tcon(changed) is None
    row = row_of(window, changed)
    assert row.error and row.status == DecisionStatus.ACCEPTED
    assert any(p == str(changed) and step == "write" for step, p, _ in window.errors_model.items)
    assert "could not be written" in window.status_text.text()


def test_storage_page_round_trips_the_cache_folder(qtbot, tmp_path):
    from gui.settings.storage_page import StoragePage

    page = StoragePage()
    qtbot.addWidget(page)
    page.load(Settings(cache_dir=str(tmp_path / "cache here")))
    assert page.cache.text() == str(tmp_path / "cache here")
    assert page.save() == {"cache_dir": str(tmp_path / "cache here")}
    page.cache.setText(str(tmp_path / "other"))
    assert page.save() == {"cache_dir": str(tmp_path / "other")}


def test_storage_page_reset_means_the_default_cache_folder(qtbot, tmp_path):
    from gui.settings.storage_page import StoragePage

    page = StoragePage()
    qtbot.addWidget(page)
    page.load(Settings(cache_dir=str(tmp_path / "cache here")))
    page.reset.click()
    assert page.save() == {"cache_dir": None}
    page.load(Settings())
    assert page.cache.text() == "" and page.save() == {"cache_dir": None}


def test_changed_cache_folder_is_used_by_the_next_scan(qtbot, window, music_folder, tmp_path, monkeypatch):
    from tagger import paths

    monkeypatch.delenv("GENRENET_CACHE_DIR")
    journal = paths.journal_db()
    window.apply_settings(window.settings.with_changes(cache_dir=str(tmp_path / "old cache")))
    open_and_classify(qtbot, window, music_folder)
    first = window.controller.library.db_path
    assert first == tmp_path / "old cache" / "library.sqlite"
    window.apply_settings(window.settings.with_changes(cache_dir=str(tmp_path / "new cache")))
    open_and_classify(qtbot, window, music_folder)
    assert window.controller.library.db_path == tmp_path / "new cache" / "library.sqlite"
    assert window.controller.library.db_path != first
    assert len(window.controller.library.tracks()) == 4
    assert paths.journal_db() == journal


def test_rows_appear_while_the_scan_runs(qtbot, window, tmp_path):
    folder = folder_of_copies(make_track(tmp_path / "seed.mp3", "tone", seconds=1.0, seed=2), tmp_path / "Many", 150)
    finished: list[bool] = []
    window.scan_finished.connect(lambda: finished.append(True))
    first_insert: list[tuple[int, bool]] = []
    window.model.rowsInserted.connect(
        lambda *_: first_insert or first_insert.append((window.model.rowCount(), bool(finished))))
    with qtbot.waitSignal(window.scan_finished, timeout=60_000):
        window.open_folder(folder)
    rows, scan_over = first_insert[0]
    assert 0 < rows < 150 and not scan_over
    assert window.model.rowCount() == 150
    assert len({r.track.path for r in window.model.rows()}) == 150
    with qtbot.waitSignal(window.classification_finished, timeout=CLASSIFY_TIMEOUT):
        window.cancel_classification()


def test_review_decisions_survive_quitting_and_reopening_the_folder(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    tone, noise, other = (music_folder / "Artist B" / "03 tone.mp3", music_folder / "Artist B" / "04 noise.mp3",
                          music_folder / "Artist A" / "Album 1" / "02 noise.mp3")
    window.model.accept([window.model.row_of(tone)])
    window.model.reject([window.model.row_of(noise)])
    window.model.set_genres([window.model.row_of(other)], ["Drone"])
    window.close()

    again = MainWindow()
    again.quiet = True
    qtbot.addWidget(again)
    open_and_classify(qtbot, again, music_folder)
    assert row_of(again, tone).status == DecisionStatus.ACCEPTED
    assert row_of(again, noise).status == DecisionStatus.REJECTED
    assert (row_of(again, other).status, row_of(again, other).genres) == (DecisionStatus.EDITED, ("Drone",))
    assert again.model.counts().to_write == 2
    again.close()


def _write_in_app(qtbot, window, decisions) -> None:
    with qtbot.waitSignal(window.write_finished, timeout=CLASSIFY_TIMEOUT):
        window.writes.start_write(decisions)


def _genres_by_name(folder: Path) -> dict[str, list[str] | None]:
    return {str(p.relative_to(folder)): tcon(p) for p in sorted(folder.rglob("*.mp3"))}


def test_the_app_and_the_cli_write_the_same_files_for_the_same_decisions(qtbot, window, music_folder, tmp_path,
                                                                         tiny_model_path):
    from tagger.cli import main

    cli_folder = tmp_path / "CLI copy"
    shutil.copytree(music_folder, cli_folder)
    tone, noise, other = (Path("Artist B") / "03 tone.mp3", Path("Artist B") / "04 noise.mp3",
                          Path("Artist A") / "Album 1" / "01 tone.mp3")
    open_and_classify(qtbot, window, music_folder)
    window.model.accept([window.model.row_of(music_folder / tone)])
    window.model.reject([window.model.row_of(music_folder / noise)])
    window.model.set_genres([window.model.row_of(music_folder / other)], ["Bebop", "Cool Jazz"])
    _write_in_app(qtbot, window, window.model.decisions())

    model = ["--model", str(tiny_model_path)]
    assert main(["review", "accept", str(cli_folder / tone), *model]) == 0
    assert main(["review", "reject", str(cli_folder / noise)]) == 0
    assert main(["review", "set", str(cli_folder / other), "--genre", "Bebop", "--genre", "Cool Jazz"]) == 0
    assert main(["apply", "--reviewed"]) == 0
    assert _genres_by_name(cli_folder) == _genres_by_name(music_folder)
    assert _genres_by_name(music_folder)[str(other)] == ["Bebop; Cool Jazz"]  # a v2.3 tag keeps v2.3


def test_accept_all_and_write_equals_bulk_apply_under_the_policy(qtbot, window, music_folder, tmp_path,
                                                                 tiny_model_path):
    from tagger.cli import main

    cli_folder = tmp_path / "CLI copy"
    shutil.copytree(music_folder, cli_folder)
    open_and_classify(qtbot, window, music_folder)
    window.model.accept_confident()
    _write_in_app(qtbot, window, window.model.decisions())
    threshold = str(window.settings.review_threshold)
    assert main(["apply", str(cli_folder), "--model", str(tiny_model_path), "--min-confidence", threshold]) == 0
    app, cli = _genres_by_name(music_folder), _genres_by_name(cli_folder)
    assert app == cli
    assert app[str(Path("Artist A") / "Album 1" / "01 tone.mp3")] == ["Jazz"]  # fill-missing kept it


def test_a_cli_apply_shows_in_the_app_as_written_without_reclassifying(qtbot, window, music_folder, tiny_model_path):
    import sqlite3

    from tagger import paths
    from tagger.cli import main

    target = music_folder / "Artist B" / "03 tone.mp3"
    assert main(["classify", str(music_folder), "--model", str(tiny_model_path)]) == 0
    assert main(["review", "set", str(target), "--genre", "Ambient"]) == 0
    assert main(["apply", "--reviewed"]) == 0

    def newest_prediction() -> float:
        with sqlite3.connect(paths.library_db()) as con:
            return con.execute("SELECT max(created_at) FROM predictions").fetchone()[0]

    before = newest_prediction()
    open_and_classify(qtbot, window, music_folder)
    row = row_of(window, target)
    assert row.status == DecisionStatus.WRITTEN and row.track.genres == ("Ambient",)
    assert "4 unchanged" in window.controller.scan_summary
    assert all(r.prediction is not None for r in window.model.rows())
    assert newest_prediction() == before


def test_review_page_round_trips_the_write_policy_and_keep_mtime(qtbot):
    from gui.settings.dialog import SettingsDialog

    dialog = SettingsDialog(Settings(), ["Rock"])
    qtbot.addWidget(dialog)
    page = dialog.review
    page.policy.setCurrentIndex(page.policy.findData("add"))
    page.keep_mtime.setChecked(True)
    saved = page.save()
    assert saved["write_policy"] == "add" and saved["keep_mtime"] is True
    again = SettingsDialog(Settings().with_changes(**saved), ["Rock"])
    qtbot.addWidget(again)
    assert again.review.policy.currentData() == "add" and again.review.keep_mtime.isChecked()


def test_speed_and_styles_round_trip_and_fast_is_offered_only_when_shipped(qtbot):
    from gui.settings.dialog import SettingsDialog
    from tagger.resources import fast_model_path

    dialog = SettingsDialog(Settings(), ["Rock"])
    qtbot.addWidget(dialog)
    speed, styles = dialog.processing.speed, dialog.review.styles
    fast = speed.model().item(speed.findData("fast"))
    assert fast.isEnabled() == (fast_model_path() is not None)
    speed.setCurrentIndex(speed.findData("adaptive"))
    styles.setCurrentIndex(styles.findData("genre+style"))
    saved = {**dialog.processing.save(), **dialog.review.save()}
    assert saved["speed"] == "adaptive" and saved["styles"] == "genre+style"
    again = SettingsDialog(Settings().with_changes(**saved), ["Rock"])
    qtbot.addWidget(again)
    assert again.processing.speed.currentData() == "adaptive" and again.review.styles.currentData() == "genre+style"


def test_editing_the_genre_of_a_multi_selection_changes_every_selected_row(qtbot, window, music_folder):
    from PySide6.QtWidgets import QStyleOptionViewItem

    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    window.table.selectAll()
    index = window.proxy.index(1, Column.NEW)
    editor = window.genre_delegate.createEditor(window.table.viewport(), QStyleOptionViewItem(), index)
    editor.setCurrentText("Drone")
    window.genre_delegate.setModelData(editor, window.proxy, index)
    assert [r.genres for r in window.model.rows()] == [("Drone",)] * 4
    window.table.clearSelection()
    window.table.selectRow(0)
    other = window.proxy.index(2, Column.NEW)  # not selected: only that row changes
    editor.setCurrentText("Ambient")
    window.genre_delegate.setModelData(editor, window.proxy, other)
    assert sorted(r.genres for r in window.model.rows()) == [("Ambient",)] + [("Drone",)] * 3


def test_undo_last_write_says_how_many_files_and_is_off_when_nothing_can_be_undone(qtbot, window, music_folder):
    assert not window.act_undo.isEnabled()
    open_and_classify(qtbot, window, music_folder)
    window.model.set_genres([window.model.row_of(music_folder / "Artist B" / "03 tone.mp3"),
                             window.model.row_of(music_folder / "Artist B" / "04 noise.mp3")], ["Drone"])
    _write_in_app(qtbot, window, window.model.decisions())
    assert window.act_undo.isEnabled() and "(2 files)" in window.act_undo.text()
    with qtbot.waitSignal(window.undo_finished, timeout=CLASSIFY_TIMEOUT):
        window.writes.undo_last()  # quiet in tests: no question asked
    assert not window.act_undo.isEnabled()
    assert tcon(music_folder / "Artist B" / "03 tone.mp3") is None


def test_keyboard_focus_is_on_the_table_after_a_folder_opens(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    assert window.focusWidget() is window.table


def test_an_unreadable_file_takes_no_accept_or_reject(qtbot, window, music_folder):
    broken = music_folder / "Artist B" / "broken.mp3"
    broken.write_bytes(b"this is not audio")
    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    window.table.clearSelection()
    window.table.selectRow(window.proxy.mapFromSource(window.model.index(window.model.row_of(broken), 0)).row())
    window.update_actions()
    assert not window.act_accept.isEnabled() and not window.act_reject.isEnabled()


def test_help_lists_the_shortcuts_and_about_shows_the_version(window):
    from tagger import __version__

    shortcuts = dict((what, keys) for keys, what in window.shortcuts())
    assert shortcuts["Accept"] == "A" and shortcuts["Reject"] == "R" and "Undo Last Write" in shortcuts
    assert window.act_shortcuts.shortcut().toString() == "F1"
    assert __version__


def test_a_view_or_search_that_shows_nothing_says_so(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    window.search.setText("no such track anywhere")
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 0)
    qtbot.waitUntil(lambda: window.empty_note.isVisibleTo(window))
    assert "No tracks match" in window.empty_note.text()
    window.search.setText("")
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 4)
    assert not window.empty_note.isVisibleTo(window)
    window.views.set_filter(Filter.ERRORS)
    qtbot.waitUntil(lambda: window.empty_note.isVisibleTo(window))
    assert window.empty_note.text() == "No tracks in Errors. Choose All to see every file."


def test_a_folder_of_every_format_is_listed_with_its_format_written_and_undone(qtbot, window, tmp_path):
    import hashlib

    from tagger.tags import read_tags

    folder = tmp_path / "Mixed"
    names = {"a.mp3": None, "b.flac": None, "c.ogg": None, "d.opus": None, "e.m4a": "aac", "f.m4a": "alac"}
    for i, (name, codec) in enumerate(names.items()):
        make_track(folder / name, kind="tone" if i % 2 == 0 else "noise", seed=i, codec=codec, title=f"Song {i}",
                   rich=True)
    (folder / "old.wma").write_bytes(bytes(64))
    before = {p: hashlib.sha256(p.read_bytes()).digest() for p in folder.iterdir()}
    open_and_classify(qtbot, window, folder)
    shown = {window.model.row_at(r).track.path.name: window.model.index(r, Column.FORMAT).data()
             for r in range(window.model.rowCount())}
    assert shown == {"a.mp3": "MP3", "b.flac": "FLAC", "c.ogg": "Ogg Vorbis", "d.opus": "Opus", "e.m4a": "AAC",
                     "f.m4a": "ALAC"}
    assert "1 file skipped: .wma (not supported)" in window.status_text.text()

    window.model.accept(list(range(window.model.rowCount())))
    qtbot.waitUntil(lambda: "Write 6 Genres" in window.act_write.text().replace("&", ""))
    accept_next_dialog(WriteSummaryDialog)
    with qtbot.waitSignal(window.write_finished, timeout=60_000):
        window.act_write.trigger()
    for r in range(window.model.rowCount()):
        row = window.model.row_at(r)
        assert row.status == DecisionStatus.WRITTEN and read_tags(row.track.path).genres == (row.predicted,)
    with qtbot.waitSignal(window.undo_finished, timeout=60_000):
        window.act_undo.trigger()
    assert {p: hashlib.sha256(p.read_bytes()).digest() for p in folder.iterdir()} == before


def test_genres_page_lists_values_with_their_canonical_names_and_saves_merges(qtbot):
    from gui.settings.dialog import SettingsDialog

    lists = [("hip hop",), ("Hip-Hop",), ("Hip-Hop", "Zeuhl Obscura")]
    dialog = SettingsDialog(Settings(), ["Rock"], genre_lists=lists)
    qtbot.addWidget(dialog)
    page = dialog.genres
    rows = {page.table_model.item(r, 0).text(): (page.table_model.item(r, 1).text(), page.table_model.item(r, 2).text())
            for r in range(page.table_model.rowCount())}
    assert rows["hip hop"] == ("1", "Hip-Hop") and rows["Hip-Hop"] == ("2", "Hip-Hop")
    assert rows["Zeuhl Obscura"][1].endswith("(not in the genre tree)")
    zeuhl = next(r for r in range(page.table_model.rowCount()) if page.table_model.item(r, 0).text() == "Zeuhl Obscura")
    page.table_model.item(zeuhl, page.MERGE).setText("Zeuhl")
    saved = page.save()
    assert saved == {"genre_merges": {"Zeuhl Obscura": "Zeuhl"}}
    again = SettingsDialog(Settings().with_changes(**saved), ["Rock"], genre_lists=lists)
    qtbot.addWidget(again)
    shown = {again.genres.table_model.item(r, 0).text(): again.genres.table_model.item(r, 2).text()
             for r in range(again.genres.table_model.rowCount())}
    assert shown["Zeuhl Obscura"] == "Zeuhl"


def test_tidy_genre_spellings_rewrites_variants_and_keeps_decisions(qtbot, window, tmp_path):
    from tagger.tags import read_tags

    folder = tmp_path / "Spelled"
    make_track(folder / "a.mp3", genre="hip hop", title="A")
    make_track(folder / "b.flac", kind="noise", genre="Rock", title="B")
    open_and_classify(qtbot, window, folder)
    window.views.set_filter(Filter.ALL)
    b = window.model.row_of(folder / "b.flac")
    window.model.reject([b])
    accept_next_dialog(WriteSummaryDialog)
    with qtbot.waitSignal(window.write_finished, timeout=60_000):
        window.act_tidy.trigger()
    assert read_tags(folder / "a.mp3").genres == ("Hip-Hop",)
    assert row_of(window, folder / "a.mp3").track.genres == ("Hip-Hop",)
    assert row_of(window, folder / "b.flac").status == DecisionStatus.REJECTED


def test_learn_dialog_runs_learn_and_shows_why_nothing_was_learned(qtbot, tmp_path):
    from gui.dialogs.learn import LearnDialog

    folder = tmp_path / "One genre"
    for i in range(3):
        make_track(folder / f"{i}.mp3", seconds=4.0, genre="Rock", seed=i)
    dialog = LearnDialog(folder, out=tmp_path / "learned.pt", min_tracks=2)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.learn_finished, timeout=120_000) as done:
        dialog.start()
    assert done.args == [False]
    assert "No model was learned" in dialog.status.text() and "at least two genres" in dialog.status.text()
    assert not dialog.use_button.isEnabled() and not (tmp_path / "learned.pt").exists()


def test_learn_dialog_summary_compares_with_the_model_in_use():
    from dataclasses import replace

    from gui.dialogs.learn import LearnDialog
    from training.events import Learned

    report = Learned(checkpoint="learned.pt", labels=("Jazz", "Rock"), tracks={"Jazz": 40, "Rock": 60},
                     skipped={}, folds=5, cross_validated_accuracy=0.85, default_model_accuracy=0.7, seconds=1.0)
    text = LearnDialog.summary_text(report)
    assert "right 85% of the time" in text and "gets 70%" in text and "better on your music" in text
    assert "not better" in LearnDialog.summary_text(replace(report, cross_validated_accuracy=0.6))


def test_detail_pane_shows_the_cover_of_the_selected_track(qtbot, tmp_path):
    from gui.detail.pane import DetailPane
    from tagger.review import ReviewItem
    from tagger.track import Fingerprint, Track

    with_cover = make_track(tmp_path / "a.flac", title="A", rich=True)
    without = make_track(tmp_path / "sub" / "b.flac", title="B")
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.set_row(ReviewItem(Track(with_cover, Fingerprint.of(with_cover))))
    qtbot.waitUntil(lambda: pane.cover.isVisibleTo(pane) and not pane.cover.pixmap().isNull(), timeout=10_000)
    pane.set_row(ReviewItem(Track(without, Fingerprint.of(without))))
    qtbot.waitUntil(lambda: not pane.cover.isVisibleTo(pane), timeout=10_000)


def test_write_errors_for_files_changed_since_the_scan_offer_a_rescan(qtbot, tmp_path):
    from gui.dialogs.errors import ErrorListDialog

    errors = [(tmp_path / "a.mp3", "changed since it was scanned; rescan it, or force the write"),
              (tmp_path / "b.mp3", "file is read-only")]
    dialog = ErrorListDialog("Some files were not written", errors)
    qtbot.addWidget(dialog)
    assert dialog.rescan_button.text() == ErrorListDialog.RESCAN
    dialog.rescan_button.click()
    assert dialog.rescan_requested and dialog.result() == QDialog.DialogCode.Accepted
    plain = ErrorListDialog("Some files were not written", errors[1:])
    qtbot.addWidget(plain)
    assert not hasattr(plain, "rescan_button")


def test_selecting_several_rows_shows_their_summary_and_one_row_its_track(qtbot, window, music_folder):
    open_and_classify(qtbot, window, music_folder)
    window.views.set_filter(Filter.ALL)
    window.table.selectAll()
    qtbot.waitUntil(lambda: len(window.detail.current_rows()) == 4, timeout=5000)
    assert window.detail.title.text() == "4 tracks selected"
    window.decisions.select(0)
    qtbot.waitUntil(lambda: window.detail.current_row() is not None, timeout=5000)
    assert window.detail.current_row().track.path == window.model.row_at(window.decisions.selected_rows()[0]).track.path


def test_choosing_dark_in_settings_turns_the_window_dark_at_once(qtbot, window):
    from gui import theme

    try:
        window.apply_settings(window.settings.with_changes(appearance="dark"))
        assert theme.is_dark()
        muted = window.model_label.palette().color(window.model_label.foregroundRole())
        assert muted == theme.colour("muted")
    finally:
        window.apply_settings(window.settings.with_changes(appearance="system"))
    assert not theme.is_dark()


def test_the_album_view_widens_the_album_column_and_gives_the_width_back(qtbot, window):
    from tests.test_gui_album_view import LIBRARY, load

    header = window.table.horizontalHeader()
    header.resizeSection(Column.ALBUM, 60)
    load(window.model, LIBRARY)
    window.views.set_filter(Filter.ALBUM)
    assert header.sectionSize(Column.ALBUM) > 200, "the majority text is readable"
    window.views.set_filter(Filter.ALL)
    assert header.sectionSize(Column.ALBUM) == 60


def test_learn_from_my_tags_is_a_window_beside_the_review_and_closing_it_stops_learning(qtbot, window,
                                                                                        music_folder):
    open_and_classify(qtbot, window, music_folder)
    window.tools.learn()
    dialog = window.tools.learn_dialog
    assert dialog.isVisible() and not dialog.isModal() and dialog.runner.running
    window.tools.learn()
    assert window.tools.learn_dialog is dialog, "one at a time, raised when asked again"
    window.views.set_filter(Filter.ALL)
    window.decisions.select(0)
    path = window.model.row_at(window.decisions.selected_rows()[0]).track.path
    window.decisions.accept()  # the review goes on meanwhile
    assert row_of(window, path).status == DecisionStatus.ACCEPTED
    dialog.close()  # while learning: stops it, then closes
    qtbot.waitUntil(lambda: window.tools.learn_dialog is None, timeout=60_000)
    assert not dialog.runner.running and not dialog.isVisible()
