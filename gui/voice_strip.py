"""One voice's strip: name and colour, solo, mute, and sliders for gain, pan, pitch, breathiness, timbre and
loudness. A slider drag is one undo step (``committed`` fires on release); double-click resets a slider."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout


@dataclass(frozen=True)
class ParamSpec:
    key: str
    label: str
    lo: float
    hi: float
    step: float
    default: float
    unit: str
    tooltip: str
    edit: bool  # True: changes the voice's sound (needs the edit engine); False: mixer only

    def text(self, value: float) -> str:
        if self.key == "pitch_st":
            return f"{value:+.2f} st"
        if self.key == "pan":
            return "C" if abs(value) < 0.005 else (f"L{-value * 100:.0f}" if value < 0 else f"R{value * 100:.0f}")
        if self.unit == "%":
            return f"{value:+.0f} %"
        return f"{value:+.1f} {self.unit}"


PARAMS = [
    ParamSpec("gain_db", "Gain", -30.0, 12.0, 0.5, 0.0, "dB", "Level of this voice in the mix (mixer only)", False),
    ParamSpec("pan", "Pan", -1.0, 1.0, 0.01, 0.0, "", "Position of this voice between left and right", False),
    ParamSpec("pitch_st", "Pitch", -12.0, 12.0, 0.01, 0.0, "st",
              "Transpose this voice: ±12 semitones in 1-cent steps (the formants stay where they are)", True),
    ParamSpec("breath_db", "Breath", -20.0, 20.0, 0.5, 0.0, "dB",
              "Breathiness: + adds breath noise (the harmonic-to-noise ratio falls by that many dB), − removes it",
              True),
    ParamSpec("formant_pct", "Timbre", -30.0, 40.0, 1.0, 0.0, "%",
              "Timbre: move the vocal-tract formants up (+, brighter, smaller) or down (−, darker, larger)", True),
    ParamSpec("loudness_db", "Loudness", -24.0, 12.0, 0.1, 0.0, "dB",
              "Loudness of the singing, applied in the voice model (before the mixer's gain)", True),
]
PARAM_BY_KEY = {p.key: p for p in PARAMS}


class ParamSlider(QSlider):
    """A horizontal slider in ``spec`` units; double-click resets to the default."""

    reset_requested = Signal()

    def __init__(self, spec: ParamSpec, parent=None):
        super().__init__(Qt.Horizontal, parent)
        self.spec = spec
        self.setRange(round(spec.lo / spec.step), round(spec.hi / spec.step))
        self.setSingleStep(1)
        self.setPageStep(max(1, round((spec.hi - spec.lo) / spec.step / 24)))
        self.setValue(round(spec.default / spec.step))
        self.setToolTip(f"{spec.tooltip}. Double-click: reset.")
        self.setMinimumWidth(110)

    def value_units(self) -> float:
        return round(self.value() * self.spec.step, 6)

    def set_value_units(self, v: float) -> None:
        self.blockSignals(True)
        self.setValue(round(v / self.spec.step))
        self.blockSignals(False)

    def mouseDoubleClickEvent(self, ev):
        self.reset_requested.emit()
        ev.accept()


class VoiceStrip(QFrame):
    """Signals: param_live(index, key, value) while a slider moves; param_committed(index, key, old, new) once
    per drag / key press / reset; solo_toggled(index, bool); mute_toggled(index, bool); focused(index)."""

    param_live = Signal(int, str, float)
    param_committed = Signal(int, str, float, float)
    solo_toggled = Signal(int, bool)
    mute_toggled = Signal(int, bool)
    focused = Signal(int)

    def __init__(self, index: int, name: str, color: QColor, parent=None):
        super().__init__(parent)
        self.index = index
        self.name = name
        self.color = QColor(color)
        self.setFrameShape(QFrame.StyledPanel)
        self.setObjectName("voiceStrip")
        self.setFocusPolicy(Qt.ClickFocus)
        self._press_value: dict[str, float] = {}
        self.values = {p.key: p.default for p in PARAMS}

        top = QHBoxLayout()
        self.swatch = QLabel()
        self.swatch.setFixedSize(14, 14)
        self.swatch.setStyleSheet(f"background:{self.color.name()}; border-radius:7px; border: 1px solid #777;")
        self.title = QLabel(name.capitalize())
        self.title.setStyleSheet("font-weight:600;")
        self.title.setToolTip(f"Voice {index + 1}: {name}. Click the strip to focus it (S: solo, M: mute).")
        self.solo = QPushButton("S")
        self.solo.setCheckable(True)
        self.solo.setFixedWidth(30)
        self.solo.setToolTip("Solo: hear only the soloed voices (key S on the focused voice)")
        self.solo.toggled.connect(lambda on: self.solo_toggled.emit(self.index, on))
        self.mute = QPushButton("M")
        self.mute.setCheckable(True)
        self.mute.setFixedWidth(30)
        self.mute.setToolTip("Mute this voice (key M on the focused voice)")
        self.mute.toggled.connect(lambda on: self.mute_toggled.emit(self.index, on))
        for b in (self.solo, self.mute):
            b.setFocusPolicy(Qt.NoFocus)
        self.solo.setStyleSheet("QPushButton:checked { background: #f2c94c; color: #111111; font-weight: 600; }")
        self.mute.setStyleSheet("QPushButton:checked { background: #e5534b; color: #ffffff; font-weight: 600; }")
        top.addWidget(self.swatch)
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.solo)
        top.addWidget(self.mute)

        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self.sliders: dict[str, ParamSlider] = {}
        self.value_labels: dict[str, QLabel] = {}
        for row, spec in enumerate(PARAMS):
            label = QLabel(spec.label)
            label.setToolTip(spec.tooltip)
            slider = ParamSlider(spec)
            slider.setFocusPolicy(Qt.ClickFocus)
            value = QLabel(spec.text(spec.default))
            value.setMinimumWidth(62)
            value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            value.setToolTip(spec.tooltip)
            grid.addWidget(label, row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(value, row, 2)
            self.sliders[spec.key] = slider
            self.value_labels[spec.key] = value
            slider.sliderPressed.connect(lambda k=spec.key: self._pressed(k))
            slider.sliderReleased.connect(lambda k=spec.key: self._released(k))
            slider.valueChanged.connect(lambda _v, k=spec.key: self._moved(k))
            slider.reset_requested.connect(lambda k=spec.key: self._reset(k))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addStretch(1)
        self.set_focused(False)

    # ---- from the model ----
    def set_value(self, key: str, value: float) -> None:
        """Show ``value`` (no signals)."""
        self.values[key] = value
        self.sliders[key].set_value_units(value)
        self.value_labels[key].setText(PARAM_BY_KEY[key].text(value))

    def set_solo(self, on: bool) -> None:
        self.solo.blockSignals(True)
        self.solo.setChecked(on)
        self.solo.blockSignals(False)

    def set_mute(self, on: bool) -> None:
        self.mute.blockSignals(True)
        self.mute.setChecked(on)
        self.mute.blockSignals(False)

    def set_edit_enabled(self, ok: bool, reason: str) -> None:
        """Voice-model sliders need the edit engine; without it they are disabled and say why."""
        for spec in PARAMS:
            if spec.edit:
                self.sliders[spec.key].setEnabled(ok)
                self.sliders[spec.key].setToolTip(f"{spec.tooltip}. Double-click: reset."
                                                  + ("" if ok else f"\n\n{reason}"))

    def set_focused(self, on: bool) -> None:
        border = self.color.name() if on else "transparent"
        self.setStyleSheet(f"#voiceStrip {{ border: 2px solid {border}; border-radius: 6px; }}")

    # ---- user ----
    def mousePressEvent(self, ev):
        self.focused.emit(self.index)
        super().mousePressEvent(ev)

    def _pressed(self, key: str) -> None:
        self._press_value[key] = self.values[key]
        self.focused.emit(self.index)

    def _moved(self, key: str) -> None:
        slider = self.sliders[key]
        value = slider.value_units()
        self.value_labels[key].setText(PARAM_BY_KEY[key].text(value))
        old = self.values[key]
        self.values[key] = value
        self.param_live.emit(self.index, key, value)
        if not slider.isSliderDown():  # keyboard, wheel or click on the groove: one step each
            self.param_committed.emit(self.index, key, old, value)

    def _released(self, key: str) -> None:
        old = self._press_value.pop(key, self.values[key])
        if old != self.values[key]:
            self.param_committed.emit(self.index, key, old, self.values[key])

    def _reset(self, key: str) -> None:
        spec = PARAM_BY_KEY[key]
        old = self.values[key]
        if old != spec.default:
            self.set_value(key, spec.default)
            self.param_live.emit(self.index, key, spec.default)
            self.param_committed.emit(self.index, key, old, spec.default)
