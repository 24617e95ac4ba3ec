"""Every colour the app paints, by what it means, for a light and a dark palette.

Views ask for a colour when they paint (`colour("error")`), so a palette that turns dark while the
app runs (the desktop's dark mode, or the Appearance setting) is followed at the next repaint.
Labels get theirs through their palette (`style_label`), and `restyle` gives them, and the few
style sheets, the new palette's colours.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

APPEARANCES = ("system", "light", "dark")

# name -> (on a light palette, on a dark palette)
_COLOURS: dict[str, tuple[str, str]] = {
    "error": ("#c62828", "#ef9a9a"),
    "warning": ("#e65100", "#ffb74d"),
    "muted": ("#6b6b6b", "#a6a6a6"),
    "dim": ("#8a8a8a", "#8f8f8f"),
    "link": ("#1565c0", "#90caf9"),
    "confidence.low": ("#e53935", "#ef5350"),
    "confidence.mid": ("#fb8c00", "#ffa726"),
    "confidence.high": ("#43a047", "#66bb6a"),
    "status.pending": ("#9e9e9e", "#8a8a8a"),
    "status.accepted": ("#2e7d32", "#388e3c"),
    "status.rejected": ("#757575", "#6b6b6b"),
    "status.edited": ("#1565c0", "#1e88e5"),
    "status.written": ("#00897b", "#00897b"),
    "status.error": ("#c62828", "#d32f2f"),
    "banner.background": ("#fff3e0", "#4e342e"),
    "banner.border": ("#ffb74d", "#8d6e63"),
    "banner.text": ("#5d4037", "#ffe0b2"),
    "chart.line": ("#1e88e5", "#64b5f6"),
    "genre.other": ("#bdbdbd", "#5f5f5f"),
    # the spectrogram is an image of its own, dark on either palette
    "spectrogram.background": ("#1b1b1f", "#1b1b1f"),
    "spectrogram.text": ("#cfcfcf", "#cfcfcf"),
    "spectrogram.cursor": ("#00e5ff", "#00e5ff"),
}

# the genres' colours in charts: saturated enough to read on either palette
SERIES = tuple(QColor(c) for c in ("#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa",
                                   "#00acc1", "#6d4c41", "#d81b60", "#7cb342", "#546e7a"))


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the palette (the application's when None) draws light text on a dark window."""
    if palette is None:
        palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < palette.color(
        QPalette.ColorRole.WindowText).lightness()


def colour(name: str, palette: QPalette | None = None) -> QColor:
    light, dark = _COLOURS[name]
    return QColor(dark if is_dark(palette) else light)


def shade(alpha: int, palette: QPalette | None = None) -> QColor:
    """A translucent wash that darkens a light background and lightens a dark one."""
    base = 255 if is_dark(palette) else 0
    return QColor(base, base, base, alpha)


def style_label(label: QWidget, name: str) -> None:
    """Give a label (or a flat button) the text colour `name`, through its palette."""
    label.setProperty("themeColour", name)
    _refresh(label)


def _refresh(widget: QWidget) -> None:
    palette = widget.palette()
    wanted = colour(widget.property("themeColour"), QGuiApplication.palette())
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):  # labels, flat buttons
        palette.setColor(role, wanted)
    widget.setPalette(palette)


def restyle(root: QWidget) -> None:
    """After the application's palette changed: recolour what `style_label` coloured, and the
    style sheets made by this module, in `root` and below."""
    for widget in [root, *root.findChildren(QWidget)]:
        if widget.property("themeColour"):
            _refresh(widget)
        if widget.objectName() == "Banner":
            widget.setStyleSheet(banner_style())


def banner_style() -> str:
    return (f"#Banner {{ background: {colour('banner.background').name()}; "
            f"border: 1px solid {colour('banner.border').name()}; border-radius: 4px; }}"
            f"#Banner QLabel {{ color: {colour('banner.text').name()}; }}")


def dark_palette() -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for r, c in ((role.Window, "#2b2b2e"), (role.WindowText, "#e6e6e6"), (role.Base, "#1f1f22"),
                 (role.AlternateBase, "#27272a"), (role.ToolTipBase, "#3a3a3e"), (role.ToolTipText, "#f0f0f0"),
                 (role.PlaceholderText, "#8a8a8a"), (role.Text, "#e6e6e6"), (role.Button, "#35353a"),
                 (role.ButtonText, "#e6e6e6"), (role.BrightText, "#ff5252"), (role.Link, "#90caf9"),
                 (role.Highlight, "#2f65ca"), (role.HighlightedText, "#ffffff"), (role.Light, "#45454a"),
                 (role.Midlight, "#3a3a3f"), (role.Mid, "#2f2f33"), (role.Dark, "#1a1a1c"), (role.Shadow, "#000000")):
        p.setColor(r, QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor("#7a7a7a"))
    return p


_desktop: dict[int, tuple[str, QPalette]] = {}  # per application, while forced: the desktop's style and palette


def apply_appearance(app: QApplication, appearance: str) -> None:
    """'system' keeps (or gives back) the desktop's style and palette, its dark mode included;
    'light' and 'dark' force one with the Fusion style, which draws every widget from the palette."""
    if appearance == "system":
        desktop = _desktop.pop(id(app), None)
        if desktop is not None:  # forced before: give the desktop's look back
            app.setStyle(desktop[0])
            _tell_scheme(app, None)
            app.setPalette(desktop[1])
        return
    _desktop.setdefault(id(app), (app.style().name(), QGuiApplication.palette()))
    app.setStyle(QStyleFactory.create("Fusion"))
    if appearance == "dark":
        _tell_scheme(app, Qt.ColorScheme.Dark)
        app.setPalette(dark_palette())
    else:
        _tell_scheme(app, Qt.ColorScheme.Light)
        app.setPalette(app.style().standardPalette())


def _tell_scheme(app: QApplication, scheme) -> None:
    """Tell the platform (window frames, native dialogs) the forced scheme; Qt 6.8 and later."""
    hints = app.styleHints()
    if scheme is None and hasattr(hints, "unsetColorScheme"):
        hints.unsetColorScheme()
    elif scheme is not None and hasattr(hints, "setColorScheme"):
        hints.setColorScheme(scheme)
