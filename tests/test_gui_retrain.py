"""The Retrain window, offscreen with real widgets and real subprocesses.

Most tests run a small stand-in for `genrenet train` / `genrenet evaluate` (FAKE below): a
real process that prints the real progress events (training/events.py) and the evaluation
summary's keys, writes its model atomically, and stops on SIGTERM like the trainer. Two slow
tests run the real trainer and evaluator on generated audio.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from gui.retrain import runner as runner_module  # noqa: E402
from gui.retrain.compare import Score, comparison_text, evaluate_args, verdict  # noqa: E402
from gui.retrain.output import default_output, free_name  # noqa: E402
from gui.retrain.window import (  # noqa: E402
    CANCEL,
    KEEP_CURRENT,
    KEEP_TRAINING,
    OTHER_NAME,
    REPLACE,
    STOP_AND_CLOSE,
    USE_ANYWAY,
    RetrainWindow,
)
from tests.helpers import make_track  # noqa: E402
from training import events  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FAKE = f'''
import json, os, signal, sys, time
sys.path.insert(0, {str(ROOT)!r})
from training import events

cmd, args = sys.argv[1], sys.argv[2:]
def opt(name, default=None):
    return args[args.index(name) + 1] if name in args else default

if cmd == "evaluate":
    model = json.loads(open(args[0]).read())
    if "fail" in model:
        print("genrenet evaluate: " + model["fail"], file=sys.stderr)
        sys.exit(1)
    print("features 3/240", file=sys.stderr)
    clips = 240 - model.get("unknown", 0)
    skipped = [["/x/%d.mp3" % i, "label 'Tone' is not one of the model's"] for i in range(model.get("unknown", 0))]
    print(json.dumps({{"accuracy": model["right"] / clips, "clips": clips, "skipped": skipped,
                       "macro_f1": 0.5, "labels": ["A", "B"], "per_class": {{}}, "confusion": []}}, indent=2))
    sys.exit(0)

stop = []
if not os.environ.get("FAKE_IGNORE_TERM"):
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
else:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
out, epochs = opt("--out"), int(opt("--epochs"))
delay = float(os.environ.get("FAKE_EPOCH_S", "0.05"))
def emit(event):
    print(events.serialize(event), flush=True)
emit(events.Start(arch=opt("--arch"), labels=("Tone", "Noise"), train_clips=12, valid_clips=4, test_clips=0,
                  epochs=epochs, steps_per_epoch=1, device="cpu", skipped=0, first_epoch=1))
written = None
for epoch in range(1, epochs + 1):
    end = time.monotonic() + delay
    while time.monotonic() < end and not stop:
        time.sleep(0.01)
    if stop:
        break
    if os.environ.get("FAKE_IGNORE_TERM"):
        open(os.path.join(os.path.dirname(out), "." + os.path.basename(out) + ".abc.tmp"), "w").write("half")
    tmp = out + ".writing"
    open(tmp, "w").write(json.dumps({{"right": int(os.environ.get("FAKE_RIGHT", "212"))}}))
    os.replace(tmp, out)
    written = out
    emit(events.Epoch(epoch=epoch, epochs=epochs, train_loss=0.5, val_loss=0.6, val_accuracy=0.5 + 0.1 * epoch,
                      lr=1e-3, seconds=delay, best=True))
emit(events.Done(stopped="cancelled" if stop else "completed", checkpoint=written, best_epoch=1 if written else None,
                 val_accuracy=0.6 if written else None, temperature=1.1, seconds=1.0))
'''


@pytest.fixture
def fake(tmp_path) -> Path:
    script = tmp_path / "fake_genrenet.py"
    script.write_text(FAKE, encoding="utf-8")
    return script


@pytest.fixture
def current_model(tmp_path) -> Path:
    path = tmp_path / "current.pt"
    path.write_text(json.dumps({"right": 190}))
    return path


class Answers:
    """An injectable `confirm`: answers in turn, and remembers what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str, tuple[str, ...]]] = []

    def __call__(self, title, text, buttons):
        self.asked.append((title, text, tuple(buttons)))
        return self.answers.pop(0) if self.answers else None


def make_window(qtbot, tmp_path, fake: Path, current: Path | None, *answers: str) -> RetrainWindow:
    w = RetrainWindow(None, current, confirm=Answers(*answers))
    qtbot.addWidget(w)
    w.train_program = [sys.executable, str(fake), "train"]
    w.measure.program = [sys.executable, str(fake), "evaluate"]
    data = tmp_path / "data"
    (data / "Tone").mkdir(parents=True, exist_ok=True)
    w.kind.setCurrentIndex(w.kind.findData("folder"))
    w.folder.setText(str(data))
    w.epochs.setValue(2)
    w.output.setText(str(tmp_path / "new.pt"))
    return w


def run_to_end(qtbot, w: RetrainWindow, timeout: int = 60_000) -> list:
    with qtbot.waitSignal(w.finished, timeout=timeout) as finished:
        w.start_button.click()
    return finished.args


def test_the_window_is_a_non_modal_top_level_window_with_the_training_defaults(qtbot):
    from training.config import default

    w = RetrainWindow(None, None)
    qtbot.addWidget(w)
    assert w.isWindow() and w.windowModality() == Qt.WindowModality.NonModal
    assert w.epochs.value() == default("epochs")
    assert w.arch.currentData() == default("arch")
    out = Path(w.output.text())
    assert out.name.startswith("genrenet-") and not out.exists()
    assert "shipped default" in w.in_use.text()
    assert not w.running and not w.use_button.isEnabled()


def test_the_default_output_never_names_an_existing_file():
    first = default_output()
    first.parent.mkdir(parents=True, exist_ok=True)
    first.write_bytes(b"an earlier model")
    second = default_output()
    assert second != first and not second.exists() and second.name == f"{first.stem}-2.pt"
    assert free_name(second) == second


def test_an_existing_output_is_replaced_only_when_the_user_says_so(qtbot, tmp_path, fake, current_model,
                                                                    monkeypatch):
    monkeypatch.setenv("FAKE_EPOCH_S", "60")  # no epoch ends: the file is never written
    w = make_window(qtbot, tmp_path, fake, current_model, CANCEL, OTHER_NAME, REPLACE)
    earlier = tmp_path / "new.pt"
    earlier.write_text("an earlier model")
    w.start_button.click()
    assert not w.running and w.confirm.asked[0][2] == (REPLACE, OTHER_NAME, CANCEL)
    assert str(earlier) in w.confirm.asked[0][1]
    w.start_button.click()
    assert not w.running and w.output.text() == str(tmp_path / "new-2.pt")
    w.output.setText(str(earlier))
    with qtbot.waitSignal(w.finished, timeout=30_000) as finished:
        w.start_button.click()
        assert w.running
        with qtbot.waitSignal(w.runner.event, timeout=30_000):
            pass
        w.stop_button.click()
    assert finished.args[1] is True
    assert earlier.read_text() == "an earlier model"
    assert w.state.text() == "Stopped. No model was saved."
    assert not w.use_button.isEnabled(), "the earlier file is not offered as the new model"


def test_the_model_in_use_is_never_the_output(qtbot, tmp_path, fake, current_model):
    w = make_window(qtbot, tmp_path, fake, current_model, REPLACE)
    w.output.setText(str(current_model))
    w.start_button.click()
    assert not w.running and not w.confirm.asked
    assert "uses now" in w.state.text()


def test_a_better_model_is_compared_on_the_same_clips_and_offered(qtbot, tmp_path, fake, current_model):
    w = make_window(qtbot, tmp_path, fake, current_model)
    assert run_to_end(qtbot, w) == [0, False]
    text = w.result.text()
    assert ("The new model was right on 212 of 240 clips (88%); the model you use now (current.pt) on "
            "190 of 240 (79%) on the same clips. The new model is better by 22 clips.") in text
    assert "optimistic" in text
    assert w.curve.points["val_accuracy"] == [(1, 0.6), (2, pytest.approx(0.7))]
    assert w.use_button.isEnabled() and w.use_button.isDefault()
    with qtbot.waitSignal(w.model_chosen) as chosen:
        w.use_button.click()
    assert chosen.args == [str(tmp_path / "new.pt")] and not w.confirm.asked


def test_a_worse_model_is_not_the_default_and_using_it_repeats_the_comparison(qtbot, tmp_path, fake,
                                                                              current_model, monkeypatch):
    monkeypatch.setenv("FAKE_RIGHT", "170")
    w = make_window(qtbot, tmp_path, fake, current_model, KEEP_CURRENT, USE_ANYWAY)
    run_to_end(qtbot, w)
    assert "The new model is worse by 20 clips." in w.result.text()
    assert w.use_button.isEnabled() and not w.use_button.isDefault()
    chosen = []
    w.model_chosen.connect(chosen.append)
    w.use_button.click()
    assert chosen == [] and "worse by 20 clips" in w.confirm.asked[0][1]
    assert w.confirm.asked[0][2] == (KEEP_CURRENT, USE_ANYWAY)
    w.use_button.click()
    assert chosen == [str(tmp_path / "new.pt")]


def test_a_current_model_that_cannot_be_measured_is_said_so(qtbot, tmp_path, fake, current_model):
    current_model.write_text(json.dumps({"fail": "folder 'Tone' matches no label (Blues, Rock)"}))
    w = make_window(qtbot, tmp_path, fake, current_model)
    run_to_end(qtbot, w)
    assert "could not be measured on them: folder 'Tone' matches no label (Blues, Rock)" in w.result.text()
    assert w.use_button.isEnabled()


def test_stop_returns_at_once_keeps_the_best_model_and_says_stopped(qtbot, tmp_path, fake, current_model,
                                                                    monkeypatch):
    monkeypatch.setenv("FAKE_EPOCH_S", "0.3")
    w = make_window(qtbot, tmp_path, fake, current_model)
    w.epochs.setValue(100)
    with qtbot.waitSignal(w.finished, timeout=30_000) as finished:
        with qtbot.waitSignal(w.runner.event, timeout=30_000,
                              check_params_cb=lambda e: isinstance(e, events.Epoch)):
            w.start_button.click()
        w.stop()
        assert w.state.text() == "Stopping…" and w.running, "stop() asks and returns; the trainer ends later"
    assert finished.args[1] is True
    assert w.state.text() == "Stopped. The best model so far was kept; you can use it."
    assert json.loads((tmp_path / "new.pt").read_text()) == {"right": 212}
    assert w.use_button.isEnabled() and w.start_button.isEnabled() and not w.stop_button.isEnabled()


def test_a_trainer_that_ignores_stop_is_killed_and_leaves_no_temp_file(qtbot, tmp_path, fake, current_model,
                                                                      monkeypatch):
    monkeypatch.setenv("FAKE_IGNORE_TERM", "1")
    monkeypatch.setenv("FAKE_EPOCH_S", "0.2")
    monkeypatch.setattr(runner_module, "GRACE_MS", 300)
    w = make_window(qtbot, tmp_path, fake, current_model)
    w.epochs.setValue(100)
    with qtbot.waitSignal(w.finished, timeout=30_000) as finished:
        with qtbot.waitSignal(w.runner.event, timeout=30_000,
                              check_params_cb=lambda e: isinstance(e, events.Epoch)):
            w.start_button.click()
        w.stop()
    assert finished.args[1] is True and not w.running
    assert w.state.text().startswith("Stopped.")
    assert list(tmp_path.glob(".new.pt*tmp*")) == []
    assert json.loads((tmp_path / "new.pt").read_text()) == {"right": 212}


def test_closing_while_training_asks_and_closes_once_stopped(qtbot, tmp_path, fake, current_model, monkeypatch):
    monkeypatch.setenv("FAKE_EPOCH_S", "0.3")
    w = make_window(qtbot, tmp_path, fake, current_model, KEEP_TRAINING, STOP_AND_CLOSE)
    w.epochs.setValue(100)
    w.show()
    with qtbot.waitSignal(w.runner.event, timeout=30_000):
        w.start_button.click()
    w.close()
    assert w.isVisible() and w.running and w.confirm.asked[0][2] == (STOP_AND_CLOSE, KEEP_TRAINING)
    with qtbot.waitSignal(w.finished, timeout=30_000):
        w.close()
        assert w.isVisible(), "the window stays until the trainer has gone"
    assert not w.isVisible() and not w.running


def test_quitting_the_app_while_training_stops_the_trainer_then_quits(qtbot, tmp_path, fake, current_model,
                                                                      monkeypatch):
    from gui.mainwindow.window import MainWindow

    monkeypatch.setenv("FAKE_EPOCH_S", "0.3")
    main = MainWindow()
    main.quiet = True
    qtbot.addWidget(main)
    main.show()
    w = make_window(qtbot, tmp_path, fake, current_model, STOP_AND_CLOSE)
    main.tools.retrain_window = w
    w.epochs.setValue(100)
    w.show()
    with qtbot.waitSignal(w.runner.event, timeout=30_000):
        w.start_button.click()
    main.close()
    assert main.isVisible() and w.closing, "the app waits for the trainer it was asked to stop"
    qtbot.waitUntil(lambda: not main.isVisible(), timeout=30_000)
    assert not w.running and not w.isVisible()


def test_scores_count_unknown_genres_as_wrong_and_refuse_different_clips():
    new = Score.from_summary({"accuracy": 0.75, "clips": 8, "skipped": [["/a.mp3", "unreadable audio"]]})
    current = Score.from_summary({"accuracy": 0.5, "clips": 6, "skipped": [
        ["/a.mp3", "unreadable audio"], ["/b.mp3", "label 'Tone' is not one of the model's"],
        ["/c.mp3", "label 'Tone' is not one of the model's"]]})
    assert (new.right, new.total, current.right, current.total, current.unknown) == (6, 8, 3, 8, 2)
    assert verdict(new, current) == "better"
    text = comparison_text(new, current, "default")
    assert "does not know the genre of 2 of them; those count as wrong" in text
    assert "1 clips could not be read" in text
    other = Score.from_summary({"accuracy": 0.5, "clips": 10, "skipped": []})
    assert verdict(new, other) == "unknown"
    assert "cannot be compared" in comparison_text(new, other, "default")
    assert Score.parse('features 1/2\n{"accuracy": 1.0, "clips": 2, "skipped": []}').right == 2
    with pytest.raises(ValueError):
        Score.parse("genrenet evaluate: nothing")


def test_evaluation_uses_the_held_out_part_of_the_trainers_split():
    from training.config import default

    args = evaluate_args(Path("m.pt"), "folder", Path("/data"))
    assert args[:4] == ["m.pt", "--dataset", "folder", "/data"]
    assert args[args.index("--split") + 1] == default("split")
    assert args[args.index("--seed") + 1] == str(default("seed"))
    assert args[args.index("--part") + 1] == "valid" and "--json" in args


def training_data(tmp_path: Path) -> Path:
    data = tmp_path / "train"
    for i in range(8):
        make_track(data / "Tone" / f"t{i}.mp3", "tone", seconds=4.0, seed=10 + i)
        make_track(data / "Noise" / f"n{i}.mp3", "noise", seconds=4.0, seed=10 + i)
    return data


@pytest.mark.slow
def test_retrain_trains_a_tiny_model_compares_it_and_use_this_model_reclassifies(qtbot, tmp_path, tiny_model_path,
                                                                                  music_folder):
    from gui.mainwindow.window import MainWindow
    from tagger.settings import Settings, load_settings, save_settings

    save_settings(Settings(model_path=str(tiny_model_path)))
    main = MainWindow()
    main.quiet = True
    qtbot.addWidget(main)
    with qtbot.waitSignal(main.classification_finished, timeout=180_000):
        main.open_folder(music_folder)
    main.tools.retrain()  # Tools -> Retrain: one window, raised when asked again
    w = main.tools.retrain_window
    qtbot.addWidget(w)
    main.tools.retrain()
    assert main.tools.retrain_window is w and w.isVisible() and w.isWindow()
    assert w.in_use.text() == "Model in use now: tiny.pt"
    w.kind.setCurrentIndex(w.kind.findData("folder"))
    w.folder.setText(str(training_data(tmp_path)))
    w.arch.setCurrentIndex(w.arch.findData("compact_cnn"))
    w.epochs.setValue(2)
    out = tmp_path / "retrained.pt"
    w.output.setText(str(out))
    assert run_to_end(qtbot, w, timeout=600_000) == [0, False], "\n".join(w.runner.tail)
    assert out.is_file() and w.curve.points["val_accuracy"]
    assert "Best validation accuracy" in w.details.text()
    assert "on the same clips" in w.result.text(), w.result.text()
    assert w.use_button.isEnabled()
    w.confirm = lambda *_: USE_ANYWAY  # if the tiny new model did worse
    with qtbot.waitSignal(main.classification_finished, timeout=180_000):
        w.use_button.click()
    assert main.settings.model_path == str(out) and load_settings().model_path == str(out)
    w.close()
    main.close()


@pytest.mark.slow
def test_retrain_stop_ends_the_real_trainer(qtbot, tmp_path):
    w = RetrainWindow(None, None)
    qtbot.addWidget(w)
    w.kind.setCurrentIndex(w.kind.findData("folder"))
    w.folder.setText(str(training_data(tmp_path)))
    w.arch.setCurrentIndex(w.arch.findData("compact_cnn"))
    w.epochs.setValue(200)
    w.output.setText(str(tmp_path / "never.pt"))
    with qtbot.waitSignal(w.finished, timeout=120_000) as finished:
        with qtbot.waitSignal(w.runner.event, timeout=120_000):
            w.start_button.click()
        w.stop_button.click()
    assert finished.args[1] is True
    assert not w.running and w.start_button.isEnabled()
    assert w.state.text().startswith("Stopped.")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".never")] == []
