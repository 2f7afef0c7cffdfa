"""Colours, icons and the stylesheet: one place for how severities look.

Colour is never the only cue: every severity colour comes with an icon of its own shape (octagon,
triangle, circle) and a word ("Error", "Warning", "Info"). Colours are picked for the current
palette, so light and dark system themes both stay readable.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from ..paths import resources_dir

log = logging.getLogger("enrollreview.ui")

SEVERITY_WORDS = {"error": "Error", "warning": "Warning", "info": "Info", "diff": "Differs"}


@dataclass(frozen=True)
class Tone:
    fg: QColor       # text colour for the word / border
    bg: QColor       # row or element background
    strong: QColor   # element highlight (stronger than bg)


_LIGHT = {
    "error": ("#a4161a", "#fde2e1", "#f7a8a4"),
    "warning": ("#7a4a00", "#fff1d6", "#ffd27a"),
    "info": ("#0b4fb3", "#e3ecff", "#aac6ff"),
    "diff": ("#5b1a8c", "#f1e6fb", "#d4b3f2"),
}
_DARK = {
    "error": ("#ff9e99", "#4a1f1d", "#8c2f2a"),
    "warning": ("#ffd27a", "#46340f", "#7d5a12"),
    "info": ("#a8c8ff", "#1c2e4d", "#2f4f87"),
    "diff": ("#dcbcff", "#35224a", "#5c3a82"),
}


def is_dark(palette: QPalette | None = None) -> bool:
    pal = palette or QGuiApplication.palette()
    return pal.color(QPalette.ColorRole.Base).lightness() < 128


def tone(severity: str | None, palette: QPalette | None = None) -> Tone:
    table = _DARK if is_dark(palette) else _LIGHT
    fg, bg, strong = table.get(severity or "info", table["info"])
    return Tone(QColor(fg), QColor(bg), QColor(strong))


def severity_word(severity: str | None) -> str:
    return SEVERITY_WORDS.get(severity or "", (severity or "").capitalize())


_DARK_SUBST = {"#37474f": "#cfd8dc", "#455a64": "#b0bec5", "#eceff1": "#37474f", "#e3f2fd": "#263238"}


@functools.cache
def _svg_bytes(name: str, dark: bool) -> bytes | None:
    path = resources_dir() / "icons" / f"{name}.svg"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        log.warning("icon %s missing at %s", name, path)
        return None
    if dark:
        for a, b in _DARK_SUBST.items():
            text = text.replace(a, b)
    return text.encode("utf-8")


_icon_cache: dict[tuple[str, bool], QIcon] = {}


@functools.cache
def _png_renditions(name: str) -> tuple[str, ...]:
    """resources/icons/NAME-<size>.png files (the application icon ships drawn at each size)."""
    folder = resources_dir() / "icons"
    found = [p for p in folder.glob(f"{name}-*.png") if p.stem[len(name) + 1:].isdigit()]
    return tuple(str(p) for p in sorted(found, key=lambda p: int(p.stem[len(name) + 1:])))


def icon(name: str) -> QIcon:
    """An icon from resources/icons: the NAME-<size>.png renditions when there are some (the application
    icon, the same in every palette), else NAME.svg recoloured for dark palettes; empty if missing."""
    if QGuiApplication.instance() is None:   # no pixmaps before the application exists
        return QIcon()
    pngs = _png_renditions(name)
    dark = is_dark() and not pngs
    key = (name, dark)
    if key in _icon_cache:
        return _icon_cache[key]
    ic = QIcon()
    for path in pngs:
        ic.addFile(path)
    data = None if pngs else _svg_bytes(name, dark)
    if data:
        renderer = QSvgRenderer(QByteArray(data))
        if renderer.isValid():
            for size in (16, 20, 24, 32, 48, 64):
                pm = QPixmap(size, size)
                pm.fill(Qt.GlobalColor.transparent)
                p = QPainter(pm)
                renderer.render(p, QRectF(0, 0, size, size))
                p.end()
                ic.addPixmap(pm)
    _icon_cache[key] = ic
    return ic


def severity_icon(severity: str | None) -> QIcon:
    return icon({"error": "error", "warning": "warning", "info": "info", "diff": "differs"}.get(severity or "",
                                                                                              "info"))


def clear_icon_cache() -> None:
    """After a palette change (light <-> dark)."""
    _icon_cache.clear()


def stylesheet() -> str:
    path = resources_dir() / "style.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        log.warning("stylesheet missing at %s", path)
        return ""


def mono_font():
    """The monospace font for raw segments, at the application's size (so scaling applies)."""
    from PySide6.QtGui import QFont, QFontDatabase

    f = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    f.setStyleHint(QFont.StyleHint.Monospace)
    base = QGuiApplication.font()
    if base.pointSizeF() > 0:
        f.setPointSizeF(base.pointSizeF())
    return f


def dark_palette() -> QPalette:
    """A dark palette (for the screenshots and for testing the dark look without a dark desktop)."""
    p = QPalette()
    c = QColor
    roles = QPalette.ColorRole
    p.setColor(roles.Window, c("#2b2d30"))
    p.setColor(roles.WindowText, c("#e6e6e6"))
    p.setColor(roles.Base, c("#1e1f22"))
    p.setColor(roles.AlternateBase, c("#26282b"))
    p.setColor(roles.ToolTipBase, c("#3c3f41"))
    p.setColor(roles.ToolTipText, c("#e6e6e6"))
    p.setColor(roles.Text, c("#e6e6e6"))
    p.setColor(roles.Button, c("#3a3d41"))
    p.setColor(roles.ButtonText, c("#e6e6e6"))
    p.setColor(roles.BrightText, c("#ffffff"))
    p.setColor(roles.Highlight, c("#2f65ca"))
    p.setColor(roles.HighlightedText, c("#ffffff"))
    p.setColor(roles.Link, c("#8ab4f8"))
    p.setColor(roles.PlaceholderText, c("#9a9a9a"))
    p.setColor(roles.Mid, c("#4a4d52"))
    p.setColor(roles.Dark, c("#151618"))
    p.setColor(roles.Light, c("#55585d"))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, c("#7f7f7f"))
    return p
