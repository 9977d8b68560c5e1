"""The Choir page: the recording's spectrogram with each voice's F0, the separation controls, the transport
(play, position, loop, listen to recording or voices, A/B) and one strip per voice."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QFileDialog, QFrame, QHBoxLayout, QLabel, QPushButton,
                               QScrollArea, QSizePolicy, QSpinBox, QStyle, QToolButton, QVBoxLayout, QWidget)

from gui.capabilities import capability, set_enabled_by
from gui.separation_job import REFINE_STEPS
from gui.spectrogram import hz_to_midi
from gui.spectrogram_view import SpectrogramView
from gui.style import voice_color
from gui.voice_strip import VoiceStrip


def format_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds) // 60}:{seconds % 60:04.1f}"


class ChoirPage(QWidget):
    """Widgets only; the window (gui.main_window) owns the state and connects the signals.

    Signals: separate_requested(n_voices, quality, score_path or ""); play_toggled(); loop_toggled(bool);
    listen_changed(str "recording" | "voices"); ab_toggled(bool: True = original A); reseparate_requested();
    swap_requested(int: -1 the voice above the focused one, +1 the one below).
    """

    separate_requested = Signal(int, str, str)
    reseparate_requested = Signal()
    swap_requested = Signal(int)
    play_toggled = Signal()
    loop_toggled = Signal(bool)
    listen_changed = Signal(str)
    ab_toggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.score_path = ""
        self.strips: list[VoiceStrip] = []

        # ---- separation controls ----
        self.voices = QSpinBox()
        self.voices.setRange(2, 8)
        self.voices.setValue(4)
        self.voices.setToolTip("Number of voices to separate (2–8); 4 = soprano, alto, tenor, bass")
        self.quality = QComboBox()
        self.quality.addItem("Fast", "fast")
        self.quality.addItem("Refine", "refine")
        self.quality.setToolTip("Fast: one pass of the trained network. Refine: first adapt the network to this "
                                f"recording without supervision ({REFINE_STEPS['gpu']} steps on a GPU, "
                                f"{REFINE_STEPS['cpu']} on the CPU), then correct the tracked F0 and the stems' phases "
                                "with it; on the CPU that takes minutes, the progress bar shows the time left")
        self.score_button = QPushButton("Score…")
        self.score_button.setToolTip("Optional: a score (MusicXML or MIDI) of the piece, to guide F0 tracking")
        self.score_button.clicked.connect(self.choose_score)
        self.score_label = QLabel("no score")
        self.score_label.setToolTip("The score guiding the separation (none: blind)")
        self.use_f0_file = QCheckBox("F0 file")
        self.use_f0_file.setToolTip("Separate with the F0 in the recording's .f0.csv file (as 'motet f0' writes) "
                                    "instead of tracking it; only when such a file sits next to the recording")
        self.use_f0_file.setEnabled(False)
        self.separate = QPushButton("Separate")
        self.separate.setObjectName("primary")
        self.separate.clicked.connect(
            lambda: self.separate_requested.emit(self.voices.value(), self.quality.currentData(), self.score_path))
        set_enabled_by(self.separate, capability("separation"),
                       "Separate the recording into one stem per voice (runs on the engine; Cancel stops it)")
        self.separate_enabled_by_cap = capability("separation").ok

        # ---- F0 tools ----
        self.tool_group = QButtonGroup(self)
        self.tool_buttons = {}
        for key, text, tip in [
            ("navigate", "Navigate", "Click seeks, drag scrolls, wheel zooms; Shift+drag selects a time range"),
            ("move", "Move F0", "Drag across the spectrogram to select a stretch of the focused voice's F0, then "
                                "drag inside it up or down by semitones (Ctrl: 10-cent steps)"),
            ("draw", "Draw F0", "Draw a new F0 for the focused voice with the mouse"),
        ]:
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setToolTip(tip)
            self.tool_group.addButton(b)
            self.tool_buttons[key] = b
        self.tool_buttons["navigate"].setChecked(True)
        self.reseparate = QPushButton("Re-separate region")
        self.reseparate.clicked.connect(self.reseparate_requested)
        self.reseparate.setEnabled(False)
        self.reseparate.setToolTip("Separate the selected time range again with the edited F0")
        self.swap_up = QToolButton()
        self.swap_up.setText("Swap ↑")
        self.swap_up.clicked.connect(lambda: self.swap_requested.emit(-1))
        self.swap_up.setToolTip("Exchange the focused voice's F0 (pitch and rests) with the voice above it over the "
                                "selected time range: for a stretch where the tracker gave one voice's notes to its "
                                "neighbour; then Re-separate region")
        self.swap_down = QToolButton()
        self.swap_down.setText("Swap ↓")
        self.swap_down.clicked.connect(lambda: self.swap_requested.emit(1))
        self.swap_down.setToolTip("Exchange the focused voice's F0 (pitch and rests) with the voice below it over the "
                                  "selected time range; then Re-separate region")
        for b in (self.swap_up, self.swap_down):
            b.setEnabled(False)

        top = QHBoxLayout()
        for w in (QLabel("Voices"), self.voices, QLabel("Quality"), self.quality, self.score_button,
                  self.score_label, self.use_f0_file, self.separate):
            top.addWidget(w)
        top.addSpacing(18)
        line = QFrame()
        line.setFrameShape(QFrame.VLine)
        top.addWidget(line)
        top.addSpacing(6)
        for b in self.tool_buttons.values():
            top.addWidget(b)
        top.addWidget(self.swap_up)
        top.addWidget(self.swap_down)
        top.addWidget(self.reseparate)
        top.addStretch(1)

        # ---- spectrogram ----
        self.view = SpectrogramView()
        self.view.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.tool_group.buttonClicked.connect(self._tool_changed)
        self.placeholder = QLabel("Open a recording: File ▸ Open… (Ctrl+O), or drop an audio file here")
        self.placeholder.setAlignment(Qt.AlignCenter)

        # ---- transport ----
        style = self.style()
        self.play = QToolButton()
        self.play.setIcon(style.standardIcon(QStyle.SP_MediaPlay))
        self.play.setToolTip("Play / pause (Space)")
        self.play.setFocusPolicy(Qt.NoFocus)
        self.play.clicked.connect(self.play_toggled)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setToolTip("Playhead position / length")
        self.time_label.setMinimumWidth(120)
        self.loop = QToolButton()
        self.loop.setText("Loop")
        self.loop.setCheckable(True)
        self.loop.setFocusPolicy(Qt.NoFocus)
        self.loop.setToolTip("Loop the selected time range (Shift+drag on the spectrogram to select; key L)")
        self.loop.toggled.connect(self.loop_toggled)
        self.listen = QComboBox()
        self.listen.addItem("Recording", "recording")
        self.listen.addItem("Voices", "voices")
        self.listen.setToolTip("Hear the original recording, or the separated voices (with their edits and mix)")
        self.listen.currentIndexChanged.connect(lambda _i: self.listen_changed.emit(self.listen.currentData()))
        self.listen.setEnabled(False)
        self.ab = QToolButton()
        self.ab.setText("A/B")
        self.ab.setCheckable(True)
        self.ab.setFocusPolicy(Qt.NoFocus)
        self.ab.setToolTip("A/B: pressed = original stems (A), released = edited voices (B)")
        self.ab.toggled.connect(self.ab_toggled)
        self.ab.setEnabled(False)
        transport = QHBoxLayout()
        for w in (self.play, self.time_label, self.loop, QLabel("Listen"), self.listen, self.ab):
            transport.addWidget(w)
        transport.addStretch(1)
        self.hint = QLabel("")
        self.hint.setStyleSheet("color: palette(mid);")
        transport.addWidget(self.hint)

        # ---- strips ----
        self.strip_row = QHBoxLayout()
        self.strip_row.setSpacing(8)
        self.strip_row.setContentsMargins(0, 0, 0, 0)
        strip_host = QWidget()
        strip_host.setLayout(self.strip_row)
        self.strips_placeholder = QLabel("Separate the recording to get one strip per voice "
                                         "(solo, mute, gain, pan, pitch, breathiness, timbre, loudness).")
        self.strips_placeholder.setAlignment(Qt.AlignCenter)
        self.strip_row.addWidget(self.strips_placeholder)
        self.strip_scroll = QScrollArea()
        self.strip_scroll.setWidget(strip_host)
        self.strip_scroll.setWidgetResizable(True)
        self.strip_scroll.setFrameShape(QFrame.NoFrame)
        self.strip_scroll.setFixedHeight(178)
        self.strip_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.strip_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(transport)
        layout.addWidget(self.strip_scroll)

    # ---- controls ----
    def choose_score(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Score of the piece", "",
                                              "Scores (*.musicxml *.xml *.mxl *.mid *.midi);;All files (*)")
        self.set_score(path)

    def set_score(self, path: str) -> None:
        self.score_path = path or ""
        self.score_label.setText(Path(path).name if path else "no score")

    def _tool_changed(self, button) -> None:
        for key, b in self.tool_buttons.items():
            if b is button:
                self.view.set_tool(key)

    def set_playing(self, playing: bool) -> None:
        self.play.setIcon(self.style().standardIcon(QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay))

    def set_time(self, pos: float, duration: float) -> None:
        self.time_label.setText(f"{format_time(pos)} / {format_time(duration)}")
        self.view.set_playhead(pos)

    # ---- voices ----
    def set_voices(self, names: list[str]) -> list[VoiceStrip]:
        """Replace the strips by one per name."""
        for s in self.strips:
            self.strip_row.removeWidget(s)
            s.deleteLater()
        self.strips = []
        self.strips_placeholder.setVisible(not names)
        edit = capability("edit")
        for i, name in enumerate(names):
            strip = VoiceStrip(i, name, voice_color(i))
            strip.setMinimumWidth(280)
            strip.set_edit_enabled(edit.ok, edit.reason)
            self.strip_row.addWidget(strip)
            self.strips.append(strip)
        self.listen.setEnabled(bool(names))
        self.ab.setEnabled(bool(names))
        return self.strips

    def set_f0(self, times_s: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray) -> None:
        """Draw each voice's F0 ([V, T] Hz, voiced [V, T] bool) in its colour."""
        midis, times = [], []
        for v in range(f0_hz.shape[0]):
            m = hz_to_midi(np.where(voiced[v] & (f0_hz[v] > 0), f0_hz[v], np.nan))
            midis.append(m)
            times.append(np.asarray(times_s, dtype=np.float64))
        self.view.set_f0(times, midis, [voice_color(v) for v in range(len(midis))])
