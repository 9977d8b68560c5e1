"""The spectrogram view: log-frequency image, time axis, playhead, click-to-seek, a time selection, and each
voice's F0 drawn in its colour, selectable and draggable by semitones or redrawn with the mouse.

Coordinates: x in seconds, y in MIDI pitch (69 = A4). Mouse: wheel zooms (over an axis: that axis only),
drag pans, click seeks; Shift+drag selects a time range (loop / F0 selection). In the F0 tools a click on a
voice's curve focuses that voice, a drag selects, a drag inside the selection moves the focused voice's F0
up/down in semitones (Ctrl: in 10-cent steps), or (Draw F0) draws a new F0.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor

from gui.spectrogram import Spectrogram, midi_to_hz

NOTE_NAMES = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"]


def note_name(midi: float) -> str:
    m = int(round(midi))
    return f"{NOTE_NAMES[m % 12]}{m // 12 - 1}"


class PitchAxis(pg.AxisItem):
    """Left axis in MIDI units labelled with note names and Hz."""

    def tickValues(self, minVal, maxVal, size):
        span = maxVal - minVal
        if span > 30:
            major = [m for m in range(int(minVal) - 1, int(maxVal) + 2) if m % 12 == 0]
            minor = [m for m in range(int(minVal) - 1, int(maxVal) + 2) if m % 12 in (4, 7)]
        else:
            step = 1 if span < 14 else 2
            major = [m for m in range(int(minVal) - 1, int(maxVal) + 2) if m % 12 == 0]
            minor = [m for m in range(int(minVal) - 1, int(maxVal) + 2) if m % step == 0 and m % 12]
        return [(12, major), (1, minor)]

    def tickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            m = int(round(v))
            out.append(f"{note_name(m)} {midi_to_hz(m):.0f}" if m % 12 == 0 else note_name(m))
        return out


class TimeAxis(pg.AxisItem):
    """Seconds; whole seconds print without decimals."""

    def tickStrings(self, values, scale, spacing):
        digits = 0 if spacing >= 1 else (1 if spacing >= 0.1 else 2)
        return [f"{v:.{digits}f}" for v in values]


class SpectrogramViewBox(pg.ViewBox):
    """Mouse handling: click = seek, Shift+drag = select time, F0 tools per ``view.tool``."""

    def __init__(self, view: "SpectrogramView"):
        super().__init__()
        self.view = view
        self._drag = None

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            voice = self.view.voice_near(p.x(), p.y()) if self.view.tool != "navigate" else None
            if voice is not None:
                self.view.voice_clicked.emit(voice)
            else:
                self.view.seek_requested.emit(max(0.0, float(p.x())))
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):
        view = self.view
        if ev.button() != Qt.LeftButton or axis is not None:
            return super().mouseDragEvent(ev, axis)
        p = self.mapSceneToView(ev.scenePos())
        start = self.mapSceneToView(ev.buttonDownScenePos())
        shift = bool(ev.modifiers() & Qt.ShiftModifier)
        ctrl = bool(ev.modifiers() & Qt.ControlModifier)
        if ev.isStart():
            sel = view.selection()
            if view.tool == "draw" and view.focused_voice is not None and not shift:
                self._drag = ("draw", [(start.x(), start.y())])
            elif (view.tool == "move" and view.focused_voice is not None and sel is not None
                  and sel[0] <= start.x() <= sel[1] and not shift):
                self._drag = ("move", 0.0)
            elif shift or view.tool in ("move", "draw"):
                self._drag = ("select", None)
            else:
                self._drag = None
        if self._drag is None:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        kind = self._drag[0]
        if kind == "select":
            a, b = sorted((max(0.0, start.x()), max(0.0, p.x())))
            view.set_selection(a, b)
            if ev.isFinish():
                view.selection_finished.emit(a, b)
        elif kind == "move":
            dy = p.y() - start.y()
            step = 0.1 if ctrl else 1.0
            semis = float(np.round(dy / step) * step)
            self._drag = ("move", semis)
            view.preview_shift(semis)
            if ev.isFinish():
                view.preview_shift(0.0)
                a, b = view.selection()
                if semis != 0.0:
                    view.f0_shift_requested.emit(view.focused_voice, a, b, semis)
        elif kind == "draw":
            self._drag[1].append((p.x(), p.y()))
            view.preview_draw(self._drag[1])
            if ev.isFinish():
                pts = np.array(sorted(self._drag[1]))
                view.preview_draw(None)
                if len(pts) >= 2 and pts[-1, 0] > pts[0, 0]:
                    view.f0_draw_requested.emit(view.focused_voice, pts[:, 0], pts[:, 1])


class SpectrogramView(pg.PlotWidget):
    """seek_requested(s); selection_finished(a_s, b_s); f0_shift_requested(voice, a_s, b_s, semitones);
    f0_draw_requested(voice, times_s [N], midi [N])."""

    seek_requested = Signal(float)
    voice_clicked = Signal(int)
    selection_finished = Signal(float, float)
    f0_shift_requested = Signal(int, float, float, float)
    f0_draw_requested = Signal(int, object, object)

    def __init__(self, parent=None):
        self.vb = SpectrogramViewBox(self)
        super().__init__(parent, viewBox=self.vb,
                         axisItems={"left": PitchAxis("left"), "bottom": TimeAxis("bottom")})
        self.tool = "navigate"  # navigate | move | draw
        self.focused_voice: Optional[int] = None
        self.spec: Optional[Spectrogram] = None
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setLabel("bottom", "time (s)")
        self.setLabel("left", "pitch")
        self.getAxis("left").setWidth(62)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.addItem(self.image)
        self.region = pg.LinearRegionItem(movable=True, brush=pg.mkBrush(255, 255, 255, 30),
                                          pen=pg.mkPen(255, 255, 255, 120))
        self.region.setZValue(5)
        self.region.setVisible(False)
        self.region.sigRegionChangeFinished.connect(
            lambda: self.selection_finished.emit(*self.selection()) if self.region.isVisible() else None)
        self.addItem(self.region)
        self.playhead = pg.InfiniteLine(0.0, angle=90, movable=False, pen=pg.mkPen("#ffffff", width=2))
        self.playhead.setZValue(20)
        self.addItem(self.playhead)
        self.curves: list[pg.PlotDataItem] = []
        self.curve_data: list[tuple[np.ndarray, np.ndarray]] = []
        self.preview = pg.PlotDataItem(pen=pg.mkPen("#ffffff", width=2, style=Qt.DashLine))
        self.preview.setZValue(15)
        self.addItem(self.preview)
        self.setLimits(xMin=0, yMin=10, yMax=125)
        self.setYRange(36, 96, padding=0)
        self.setXRange(0, 10, padding=0)
        self.setToolTip("Spectrogram (log frequency). Click: seek. Drag: scroll. Wheel: zoom (over an axis: that "
                        "axis only). Shift+drag: select a time range to loop or edit.")

    def set_tool(self, tool: str) -> None:
        """navigate | move | draw. The selection can be dragged only while navigating (in the F0 tools a drag
        inside it moves the F0)."""
        self.tool = tool
        navigate = tool == "navigate"
        self.region.setMovable(navigate)
        buttons = Qt.AllButtons if navigate else Qt.NoButton
        for item in (self.region, *self.region.lines):
            item.setAcceptedMouseButtons(buttons)

    # ---- image ----
    def set_spectrogram(self, spec: Spectrogram) -> None:
        self.spec = spec
        self.image.setImage(spec.db, autoLevels=False, levels=(-75.0, -3.0))
        self.image.setRect(QRectF(0.0, spec.midi_lo, spec.duration_s, spec.midi_hi - spec.midi_lo))
        self.setLimits(xMin=0, xMax=max(1.0, spec.duration_s), yMin=spec.midi_lo, yMax=spec.midi_hi)
        self.setXRange(0, max(1.0, spec.duration_s), padding=0)
        self.setYRange(max(spec.midi_lo, 36), min(spec.midi_hi, 94), padding=0)
        self.clear_selection()

    def clear_data(self) -> None:
        self.spec = None
        self.image.clear()
        self.set_f0([], [], [])

    # ---- playhead and selection ----
    def set_playhead(self, seconds: float) -> None:
        self.playhead.setValue(seconds)

    def selection(self) -> Optional[tuple[float, float]]:
        if not self.region.isVisible():
            return None
        a, b = self.region.getRegion()
        return float(a), float(b)

    def set_selection(self, a: float, b: float) -> None:
        self.region.blockSignals(True)
        self.region.setRegion((a, b))
        self.region.blockSignals(False)
        self.region.setVisible(b - a > 0)

    def clear_selection(self) -> None:
        self.region.setVisible(False)

    # ---- F0 curves ----
    def set_f0(self, times: list[np.ndarray], midis: list[np.ndarray], colors: list[QColor]) -> None:
        """One curve per voice: times_s [T], pitch in MIDI [T] (NaN where unvoiced)."""
        for c in self.curves:
            self.removeItem(c)
        self.curves, self.curve_data = [], []
        for i, (t, m, col) in enumerate(zip(times, midis, colors)):
            curve = pg.PlotDataItem(t, m, connect="finite", pen=pg.mkPen(col, width=2.5),
                                    shadowPen=pg.mkPen("#000000", width=4.5))
            curve.setZValue(10)
            self.addItem(curve)
            self.curves.append(curve)
            self.curve_data.append((t, m))
        self.set_focused_voice(self.focused_voice)

    def voice_near(self, t: float, midi: float, within: float = 1.0) -> Optional[int]:
        """The voice whose F0 curve passes within ``within`` semitones of (t, midi), if any."""
        best, best_d = None, within
        for i, (times, m) in enumerate(self.curve_data):
            if len(times) == 0:
                continue
            k = int(np.clip(np.searchsorted(times, t), 0, len(times) - 1))
            d = abs(m[k] - midi)
            if np.isfinite(d) and d < best_d:
                best, best_d = i, d
        return best

    def set_curve_visible(self, voice: int, visible: bool) -> None:
        if 0 <= voice < len(self.curves):
            self.curves[voice].setVisible(visible)

    def set_focused_voice(self, voice: Optional[int]) -> None:
        self.focused_voice = voice
        for i, c in enumerate(self.curves):
            pen = c.opts["pen"]
            col = QColor(pg.mkPen(pen).color())
            c.setPen(pg.mkPen(col, width=3.5 if i == voice else 2.0))
            c.setShadowPen(pg.mkPen("#000000", width=6.0 if i == voice else 4.0))

    def preview_shift(self, semitones: float) -> None:
        sel = self.selection()
        if sel is None or self.focused_voice is None or not semitones:
            self.preview.setData([], [])
            return
        t, m = self.curve_data[self.focused_voice]
        inside = (t >= sel[0]) & (t <= sel[1])
        self.preview.setData(t[inside], m[inside] + semitones, connect="finite")

    def preview_draw(self, points) -> None:
        if not points:
            self.preview.setData([], [])
        else:
            pts = np.array(sorted(points))
            self.preview.setData(pts[:, 0], pts[:, 1])

    def view_to_widget(self, x: float, y: float):
        """Widget coordinates (QPoint) of the view point (x seconds, y MIDI); for tests and tooltips."""
        return self.mapFromScene(self.vb.mapViewToScene(QPointF(x, y)))
