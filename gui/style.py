"""Dark and light looks: a Qt palette, pyqtgraph colours and the voice colours (the same in both themes)."""
from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

# One colour per voice, highest voice first: cool and bright hues that stand out on the inferno colormap
# (black-purple-red-orange-yellow); curves also get a dark outline.
VOICE_COLORS = ["#22d3ee", "#a3e635", "#f472b6", "#ffffff", "#60a5fa", "#c084fc", "#34d399", "#e879f9"]


def voice_color(index: int) -> QColor:
    return QColor(VOICE_COLORS[index % len(VOICE_COLORS)])


@dataclass(frozen=True)
class Look:
    name: str
    window: str
    base: str
    text: str
    button: str
    highlight: str
    mid: str
    plot_bg: str
    plot_fg: str
    melody: str
    accompaniment: str
    theme_note: str
    occurrence: str
    grid: str
    bar_line: str
    black_key_row: str


DARK = Look("dark", window="#23262b", base="#1a1c20", text="#e6e6e6", button="#2e3238", highlight="#3d7eff",
            mid="#3a3f46", plot_bg="#101114", plot_fg="#c8c8c8", melody="#ff8c42", accompaniment="#4ea5d9",
            theme_note="#ffd166", occurrence="#ffd1662e", grid="#2a2d33", bar_line="#5a606a",
            black_key_row="#16181b")
LIGHT = Look("light", window="#eef0f3", base="#ffffff", text="#1b1d21", button="#e2e5ea", highlight="#2962ff",
             mid="#c5cad2", plot_bg="#ffffff", plot_fg="#30343a", melody="#e0601c", accompaniment="#1f77b4",
             theme_note="#c99700", occurrence="#f2c94c40", grid="#e3e6ea", bar_line="#9aa1ab",
             black_key_row="#f1f3f6")
LOOKS = {"dark": DARK, "light": LIGHT}


def apply_look(app: QApplication, look: Look) -> None:
    """Fusion style with ``look``'s palette; pyqtgraph defaults follow."""
    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in [(QPalette.Window, look.window), (QPalette.WindowText, look.text),
                         (QPalette.Base, look.base), (QPalette.AlternateBase, look.button),
                         (QPalette.Text, look.text), (QPalette.Button, look.button),
                         (QPalette.ButtonText, look.text), (QPalette.Highlight, look.highlight),
                         (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, look.base),
                         (QPalette.ToolTipText, look.text), (QPalette.Mid, look.mid),
                         (QPalette.PlaceholderText, look.mid)]:
        pal.setColor(role, QColor(colour))
    disabled_text = QColor(look.text)
    disabled_text.setAlpha(90)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, disabled_text)
    app.setPalette(pal)
    app.setStyleSheet(f"QToolButton:checked {{ background-color: {look.highlight}; color: #ffffff; "
                      f"border: 1px solid {look.highlight}; border-radius: 3px; }}")
    pg.setConfigOptions(background=look.plot_bg, foreground=look.plot_fg, antialias=True)
