"""Colours come from gui/theme.py by meaning, for light and dark palettes; forcing dark works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QGuiApplication, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel  # noqa: E402

from gui import theme  # noqa: E402

GUI = Path(__file__).resolve().parents[1] / "gui"
HEX_COLOUR = re.compile(r"""["'][^"']*#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?\b""")


@pytest.fixture
def restore_app_look(qapp):
    theme.apply_appearance(qapp, "system")  # remembers the look before the test
    yield qapp
    theme.apply_appearance(qapp, "system")


def test_dark_palette_is_dark_and_the_light_standard_palette_is_not(qapp):
    assert theme.is_dark(theme.dark_palette())
    assert not theme.is_dark(qapp.style().standardPalette())


def test_a_colour_is_lighter_on_a_dark_palette(qapp):
    light = theme.colour("error", qapp.style().standardPalette())
    dark = theme.colour("error", theme.dark_palette())
    assert dark.lightness() > light.lightness()


def test_shade_darkens_on_light_and_lightens_on_dark(qapp):
    assert theme.shade(30, qapp.style().standardPalette()).lightness() == 0
    assert theme.shade(30, theme.dark_palette()).lightness() == 255


def test_every_colour_name_has_a_light_and_a_dark_value():
    for name in theme._COLOURS:
        assert theme.colour(name).isValid()


def test_forcing_dark_recolours_styled_labels(restore_app_look):
    theme.apply_appearance(restore_app_look, "light")
    label = QLabel("note")
    theme.style_label(label, "muted")
    before = label.palette().color(QPalette.ColorRole.WindowText)
    theme.apply_appearance(restore_app_look, "dark")
    theme.restyle(label)
    assert theme.is_dark()
    assert label.palette().color(QPalette.ColorRole.WindowText).lightness() > before.lightness()


def test_system_appearance_leaves_the_palette_alone(restore_app_look):
    before = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    theme.apply_appearance(restore_app_look, "system")
    assert QApplication.palette().color(QPalette.ColorRole.Window) == before


def test_no_gui_module_but_the_theme_spells_a_colour():
    offenders = [f"{p.relative_to(GUI)}:{n}" for p in GUI.rglob("*.py") if p.name != "theme.py"
                 for n, line in enumerate(p.read_text().splitlines(), 1) if HEX_COLOUR.search(line)]
    assert offenders == []


def test_system_after_dark_gives_the_desktop_look_back(restore_app_look):
    before = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    style = restore_app_look.style().name()
    theme.apply_appearance(restore_app_look, "dark")
    theme.apply_appearance(restore_app_look, "system")
    assert QGuiApplication.palette().color(QPalette.ColorRole.Window) == before
    assert restore_app_look.style().name() == style
