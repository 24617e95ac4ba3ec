"""Start the desktop app: `genrenet gui [FOLDER] [--screenshot FILE.png]` and `genrenet-gui`.

With --screenshot the app opens FOLDER, waits until classification is done, selects the first
row that needs review, waits for its spectrogram, saves a PNG of the main window and quits.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

SCREENSHOT_TIMEOUT_MS = 15 * 60 * 1000


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The app's arguments, the same for `genrenet-gui` and `genrenet gui`."""
    parser.add_argument("folder", nargs="?", type=Path, help="music folder to open")
    parser.add_argument("--screenshot", type=Path, metavar="FILE.png",
                        help="open FOLDER, classify, save a PNG of the window and quit")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="genrenet-gui", description="genrenet desktop app")
    return add_arguments(parser).parse_args(argv)


def register(subparsers) -> argparse.ArgumentParser:
    """`genrenet gui`: the app registers its command with the core CLI through the
    "genrenet.commands" entry point (pyproject.toml); the core never imports gui/."""
    p = add_arguments(subparsers.add_parser("gui", help="open the desktop app"))
    p.set_defaults(func=start)
    return p


def main(argv: list[str] | None = None) -> int:
    """The `genrenet-gui` command (argv None: sys.argv)."""
    if argv is None:  # run as the genrenet-gui command
        from tagger.quiet import filter_decoder_noise

        filter_decoder_noise()
    return start(parse_args(sys.argv[1:] if argv is None else argv))


def start(args: argparse.Namespace) -> int:
    """Open the app as the parsed arguments say (`genrenet gui` and `genrenet-gui`)."""
    if args.screenshot is not None and args.folder is None:
        print("genrenet gui: --screenshot needs a FOLDER", file=sys.stderr)
        return 2
    return run(args.folder, args.screenshot)


# Qt messages printed without a category that the logging rules above cannot silence: no
# PulseAudio (the player says so in the app), and what the offscreen platform of --screenshot lacks
QUIET_QT_MESSAGES = ("PulseAudioService:", "This plugin does not support")


def _qt_message(mode, context, message: str) -> None:
    """Qt's messages go to the log (stderr at WARNING), but for the multimedia notes above."""
    from PySide6.QtCore import QtMsgType

    if message.startswith(QUIET_QT_MESSAGES):
        return
    level = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO}.get(mode, logging.WARNING)
    logging.getLogger("qt").log(level, "%s", message)


def make_app():
    """The QApplication (created once), named so platform integrations know it."""
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        # Qt Multimedia's start-up notes (FFmpeg version, VA-API, PulseAudio) are not the user's
        # business: the player says in the app when there is no sound
        os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia*=false")
        qInstallMessageHandler(_qt_message)
        app = QApplication(sys.argv[:1])
    app.setApplicationName("genrenet")
    app.setApplicationDisplayName("genrenet")
    app.setOrganizationName("genrenet")
    app.setDesktopFileName("genrenet")
    return app


def run(folder: Path | None = None, screenshot: Path | None = None) -> int:
    """Show the main window (optionally on FOLDER); with `screenshot`, save a PNG and quit."""
    logging.basicConfig(level=os.environ.get("GENRENET_LOG", "WARNING"))
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if screenshot is not None and headless and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a screenshot needs no screen
    app = make_app()
    from gui import theme
    from gui.mainwindow.window import MainWindow, app_icon
    from tagger.settings import load_settings

    theme.apply_appearance(app, load_settings().appearance)

    app.setWindowIcon(app_icon())
    window = MainWindow()
    if screenshot is not None:
        window.quiet = True
        shooter = Screenshooter(window, Path(screenshot))
        window.resize(1440, 860)
    window.show()
    if folder is not None:
        window.open_folder(folder)
    if screenshot is not None:
        if folder is None:
            shooter.take()
        code = app.exec()
        return code if code else (0 if shooter.saved else 1)
    return app.exec()


class Screenshooter:
    """Waits for classification and the selected row's spectrogram, then saves the window."""

    def __init__(self, window, path: Path) -> None:
        from PySide6.QtCore import QTimer

        self.window = window
        self.path = path
        self.saved = False
        self._polls = 0
        window.classification_finished.connect(self._on_classified)
        self._deadline = QTimer(window)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self._on_deadline)
        self._deadline.start(SCREENSHOT_TIMEOUT_MS)
        self._poll = QTimer(window)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._on_poll)

    def _on_classified(self) -> None:
        self.window.views.select_first_needing_review()
        self._poll.start()

    def _on_poll(self) -> None:
        self._polls += 1
        if self.window.detail.spectrogram_ready() or self._polls > 300:
            self._poll.stop()
            self.take()

    def _on_deadline(self) -> None:
        print("genrenet gui: classification did not finish in time; saving the window as it is",
              file=sys.stderr)
        self.take()

    def take(self) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.saved = self.window.grab().save(str(self.path), "PNG")
        if self.saved:
            print(f"saved {self.path}")
        else:
            print(f"genrenet gui: could not save {self.path}", file=sys.stderr)
        self.window.close()
        QApplication.instance().exit(0 if self.saved else 1)


if __name__ == "__main__":
    sys.exit(main())
