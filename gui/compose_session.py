"""The Compose page: draw or import a theme on the piano roll, generate a piano piece around it, play it with a
piano sound and export MIDI or WAV. Generation, theme finding and piano rendering run on the engine worker."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QUndoCommand
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel,
                               QPushButton, QScrollBar, QSpinBox, QStyle, QToolButton, QVBoxLayout, QWidget)

from engine.generation.piece import MELODY, Note, Piece, ThemeRegion
from gui.capabilities import capability, set_enabled_by
from gui.piano_roll import PianoRoll

if TYPE_CHECKING:
    from gui.main_window import MainWindow

PLAY_RATE = 44100


class ComposePage(QWidget):
    """The widgets of the Compose page."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.roll = PianoRoll()

        self.import_button = QPushButton("Import theme…")
        self.import_button.setToolTip("Use the melody of a MIDI file as the theme")
        self.find_button = QPushButton("Find theme in MIDI…")
        set_enabled_by(self.find_button, capability("theme_finder"),
                       "Let motet find the theme of a MIDI piece (the melody that returns most) and show "
                       "where it returns")
        self.grid = QComboBox()
        for text, beats in [("1/16", 0.25), ("1/8", 0.5), ("1/4", 1.0), ("1/2", 2.0)]:
            self.grid.addItem(text, beats)
        self.grid.setToolTip("Grid of the piano roll (notes snap to it)")
        self.snap = QCheckBox("Snap")
        self.snap.setChecked(True)
        self.snap.setToolTip("Snap notes to the grid (hold Alt while dragging to place freely)")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every note of what is shown (undoable)")
        self.show_theme = QToolButton()
        self.show_theme.setText("Theme")
        self.show_theme.setCheckable(True)
        self.show_theme.setChecked(True)
        self.show_theme.setToolTip("Show and edit the theme")
        self.show_piece = QToolButton()
        self.show_piece.setText("Piece")
        self.show_piece.setCheckable(True)
        self.show_piece.setEnabled(False)
        self.show_piece.setToolTip("Show the generated piece (melody and accompaniment, theme returns shaded)")
        for b in (self.show_theme, self.show_piece):
            b.setAutoExclusive(True)

        self.bars = QSpinBox()
        self.bars.setRange(2, 64)
        self.bars.setValue(16)
        self.bars.setToolTip("Length of the piece to generate, in bars")
        self.tempo = QSpinBox()
        self.tempo.setRange(30, 240)
        self.tempo.setValue(100)
        self.tempo.setSuffix(" BPM")
        self.tempo.setToolTip("Tempo in beats (quarter notes) per minute, for playback and export")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.1, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(1.0)
        self.temperature.setToolTip("Sampling temperature: lower = safer, higher = more surprising")
        self.seed = QSpinBox()
        self.seed.setRange(0, 999_999)
        self.seed.setToolTip("Random seed: the same theme, settings and seed give the same piece")
        self.generate = QPushButton("Generate")
        self.generate.setObjectName("primary")
        self.regenerate = QPushButton("Regenerate")
        gen = capability("generation")
        set_enabled_by(self.generate, gen, "Write a piano piece around the theme (runs on the engine)")
        set_enabled_by(self.regenerate, gen, "Generate again with the next seed")
        self.regenerate.setEnabled(False)

        style = self.style()
        self.play = QToolButton()
        self.play.setIcon(style.standardIcon(QStyle.SP_MediaPlay))
        self.play.setFocusPolicy(Qt.NoFocus)
        set_enabled_by(self.play, capability("piano"), "Play what is shown with a piano sound (Space)")
        self.time_label = QLabel("bar 1")
        self.time_label.setMinimumWidth(120)
        self.time_label.setToolTip("Playhead position")
        self.legend = QLabel()
        self.legend.setToolTip("Colours of the piano roll")
        self.info = QLabel("")
        self.info.setToolTip("What is shown")

        row1 = QHBoxLayout()
        for w in (self.show_theme, self.show_piece):
            row1.addWidget(w)
        row1.addSpacing(12)
        for w in (self.import_button, self.find_button, QLabel("Grid"), self.grid, self.snap, self.clear_button):
            row1.addWidget(w)
        row1.addStretch(1)
        row1.addWidget(self.legend)
        row0 = QHBoxLayout()
        for w in (QLabel("Bars"), self.bars, QLabel("Tempo"), self.tempo, QLabel("Temperature"), self.temperature,
                  QLabel("Seed"), self.seed, self.generate, self.regenerate):
            row0.addWidget(w)
        row0.addStretch(1)
        row2 = QHBoxLayout()
        for w in (self.play, self.time_label):
            row2.addWidget(w)
        row2.addWidget(self.info, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 6)
        layout.setSpacing(6)
        layout.addLayout(row0)
        layout.addLayout(row1)
        roll_row = QHBoxLayout()
        roll_row.setSpacing(0)
        roll_row.addWidget(self.roll, 1)
        self.vscroll = QScrollBar(Qt.Vertical)
        self.vscroll.setRange(-127, -24)  # minus the top pitch, so up is higher
        self.vscroll.setToolTip("Scroll up and down in pitch (or the mouse wheel)")
        roll_row.addWidget(self.vscroll)
        layout.addLayout(roll_row, 1)
        self.hscroll = QScrollBar(Qt.Horizontal)
        self.hscroll.setToolTip("Scroll through time (or Shift+wheel); Ctrl+wheel zooms")
        layout.addWidget(self.hscroll)
        self.vscroll.valueChanged.connect(self._scroll_pitch)
        self.hscroll.valueChanged.connect(self._scroll_time)
        self.roll.scrolled.connect(self.sync_scrollbars)
        layout.addLayout(row2)

    def _scroll_pitch(self, value: int) -> None:
        if self.roll.top_pitch != -value:
            self.roll.top_pitch = float(-value)
            self.roll.update()

    def _scroll_time(self, value: int) -> None:
        beat = value / 4.0
        if abs(self.roll.left_beat - beat) > 1e-9:
            self.roll.left_beat = beat
            self.roll.update()

    def sync_scrollbars(self) -> None:
        roll = self.roll
        visible = max(1.0, (roll.width() - 52) / roll.px_per_beat)
        self.hscroll.blockSignals(True)
        self.hscroll.setRange(0, int(max(0.0, roll.content_beats() - visible + roll.left_beat * 0) * 4))
        self.hscroll.setPageStep(int(visible * 4))
        self.hscroll.setValue(int(round(roll.left_beat * 4)))
        self.hscroll.blockSignals(False)
        self.vscroll.blockSignals(True)
        self.vscroll.setPageStep(int((roll.height() - 24) / roll.px_per_semi))
        self.vscroll.setValue(int(round(-roll.top_pitch)))
        self.vscroll.blockSignals(False)

    def set_playing(self, playing: bool) -> None:
        self.play.setIcon(self.style().standardIcon(QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay))

    def set_legend(self, colors: dict) -> None:
        def chip(name, text):
            return f"<span style='color:{QColor(colors[name]).name()}'>■</span> {text}"

        self.legend.setText("  ".join([chip("theme", "theme"), chip("melody", "melody"),
                                       chip("accompaniment", "accompaniment"),
                                       chip("theme", "▁ theme returns (shaded)")]))


class NotesCommand(QUndoCommand):
    """One edit of the theme or the piece (a whole gesture, a generation, an import)."""

    def __init__(self, session: "ComposeSession", what: str, old_state: dict, new_state: dict):
        super().__init__(what)
        self.session, self.old, self.new = session, old_state, new_state
        self.first = True

    def redo(self):
        if self.first:  # the change is already on screen
            self.first = False
            return
        self.session.restore(self.new)

    def undo(self):
        self.session.restore(self.old)


class ComposeSession:
    def __init__(self, window: "MainWindow"):
        self.window = window
        self.page = ComposePage()
        self.theme: list[Note] = []
        self.piece: Optional[Piece] = None
        self.showing = "theme"
        self.rendered_key = None
        self.rendered_audio: Optional[np.ndarray] = None
        self.render_job = None
        self.play_after_render = False
        p = self.page
        p.roll.edited.connect(self._roll_edited)
        p.roll.seek_requested.connect(lambda beat: self.window.transport.seek(beat * 60.0 / self.tempo()))
        p.grid.currentIndexChanged.connect(lambda _i: self._set_grid())
        p.snap.toggled.connect(lambda on: setattr(p.roll, "snap", on))
        p.clear_button.clicked.connect(self.clear)
        p.show_theme.clicked.connect(lambda: self.show("theme"))
        p.show_piece.clicked.connect(lambda: self.show("piece"))
        p.import_button.clicked.connect(self.import_dialog)
        p.find_button.clicked.connect(self.find_dialog)
        p.generate.clicked.connect(self.generate)
        p.regenerate.clicked.connect(self.regenerate)
        p.play.clicked.connect(self.window.toggle_play)
        p.tempo.valueChanged.connect(lambda _v: self._invalidate())
        self.show("theme")

    # ---- state ----
    def tempo(self) -> float:
        return float(self.page.tempo.value())

    def state(self) -> dict:
        return {"theme": list(self.theme), "piece": self.piece, "showing": self.showing}

    def restore(self, state: dict) -> None:
        self.theme = list(state["theme"])
        self.piece = state["piece"]
        self.show(state["showing"])

    def shown_notes(self) -> list[Note]:
        return self.piece.notes if (self.showing == "piece" and self.piece is not None) else self.theme

    def show(self, what: str, keep_selection: bool = False) -> None:
        if what == "piece" and self.piece is None:
            what = "theme"
        if not keep_selection:
            self.page.roll.selected = set()
        self.showing = what
        p = self.page
        p.show_theme.setChecked(what == "theme")
        p.show_piece.setChecked(what == "piece")
        p.show_piece.setEnabled(self.piece is not None)
        p.regenerate.setEnabled(self.piece is not None and capability("generation").ok)
        if what == "piece":
            regions = [(r.start_beat, r.end_beat) for r in self.piece.theme_regions]
            first = regions[0] if regions else None
            p.roll.set_notes(self.piece.notes, regions, first, theme_mode=False,
                             beats_per_bar=self.piece.beats_per_bar)
            p.info.setText(f"Piece: {self.piece.bars} bars, {len(self.piece.melody)} melody and "
                           f"{len(self.piece.accompaniment)} accompaniment notes; the theme returns "
                           f"{max(0, len(regions) - 1)}×")
        else:
            p.roll.set_notes(self.theme, [], None, theme_mode=True)
            bars = int(np.ceil(max((n.end_beat for n in self.theme), default=0) / 4))
            p.info.setText(f"Theme: {len(self.theme)} notes, {bars} bar{'s' if bars != 1 else ''}")
        if self.window.tabs.currentIndex() == 1:
            self.window.transport.pause()
        self._invalidate()
        p.sync_scrollbars()

    def _invalidate(self) -> None:
        self.rendered_key = None

    def _roll_edited(self, old, new, what) -> None:
        before = self.state()
        if self.showing == "piece" and self.piece is not None:
            before["piece"] = Piece(list(old), self.piece.tempo_bpm, self.piece.beats_per_bar,
                                    list(self.piece.theme_regions))
            self.piece = Piece(list(new), self.piece.tempo_bpm, self.piece.beats_per_bar,
                               list(self.piece.theme_regions))
        else:
            before["theme"] = list(old)
            self.theme = list(new)
        self.window.undo_stack.push(NotesCommand(self, what, before, self.state()))
        self.show(self.showing, keep_selection=True)

    def set_theme(self, notes: list[Note], what: str = "set theme") -> None:
        before = self.state()
        self.theme = [Note(n.pitch, n.start_beat, n.duration_beats, n.velocity, MELODY) for n in notes]
        self.showing = "theme"
        self.window.undo_stack.push(NotesCommand(self, what, before, self.state()))
        self.show("theme")
        self.page.roll.left_beat = 0.0
        self.page.roll.fit_pitch()

    def clear(self) -> None:
        roll = self.page.roll
        if roll.notes:
            old = list(roll.notes)
            roll.notes = []
            roll.selected = set()
            roll._commit(old, "clear notes")

    def _set_grid(self) -> None:
        self.page.roll.grid = float(self.page.grid.currentData())
        self.page.roll.update()

    # ---- MIDI in ----
    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.page, "Import a theme from MIDI", "", "MIDI (*.mid *.midi)")
        if path:
            self.import_theme(path)

    def import_theme(self, path: str) -> None:
        def job(ctx):
            from engine.io.midi import read_piece

            ctx.progress(0.2, "reading MIDI")
            return read_piece(path)

        def done(result):
            if result.ok:
                piece = result.value
                notes = piece.melody or piece.notes
                start = min(n.start_beat for n in notes)
                start -= start % piece.beats_per_bar
                self.page.tempo.setValue(int(round(piece.tempo_bpm)))
                self.set_theme([Note(n.pitch, n.start_beat - start, n.duration_beats, n.velocity, MELODY)
                                for n in notes], f"import theme from {Path(path).name}")

        self.window.submit(f"Import {Path(path).name}", job, done)

    def find_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.page, "Find the theme of a MIDI piece", "", "MIDI (*.mid *.midi)")
        if path:
            self.find_theme(path)

    def find_theme(self, path: str) -> None:
        def job(ctx):
            from engine.generation import find_theme
            from engine.io.midi import read_piece

            ctx.progress(0.1, "reading MIDI")
            piece = read_piece(path)
            ctx.progress(0.4, "finding the theme")
            theme, occurrences = find_theme(path)
            return piece, theme, occurrences

        def done(result):
            if result.ok:
                piece, theme, occurrences = result.value
                before = self.state()
                self.theme = [Note(n.pitch, n.start_beat, n.duration_beats, n.velocity, MELODY) for n in theme.notes]
                self.piece = Piece(list(piece.notes), piece.tempo_bpm, piece.beats_per_bar,
                                   [ThemeRegion(a, b) for a, b in occurrences])
                self.page.tempo.setValue(int(round(piece.tempo_bpm)))
                self.showing = "piece"
                self.window.undo_stack.push(NotesCommand(self, f"find theme in {Path(path).name}", before,
                                                         self.state()))
                self.show("piece")
                self.page.roll.fit_time()
                self.page.roll.fit_pitch()
                self.window.status(f"Theme of {Path(path).name}: {len(theme.notes)} notes, "
                                   f"found {len(occurrences)}× (shaded)")

        self.window.submit(f"Find theme in {Path(path).name}", job, done)

    # ---- generation ----
    def generate(self, _checked=False, seed: Optional[int] = None) -> None:
        if not self.theme:
            self.window.show_error("Generate: draw or import a theme first (the piece is written around it)")
            return
        theme = list(self.theme)
        bars, tempo = self.page.bars.value(), self.tempo()
        temperature = self.page.temperature.value()
        seed = self.page.seed.value() if seed is None else seed

        def job(ctx):
            from engine.generation import generate_piece

            return generate_piece(theme, bars=bars, tempo=tempo, temperature=temperature, seed=seed, progress=ctx)

        def done(result):
            if result.ok:
                before = self.state()
                self.piece = result.value
                self.showing = "piece"
                self.window.undo_stack.push(NotesCommand(self, f"generate {bars} bars (seed {seed})", before,
                                                         self.state()))
                self.show("piece")
                self.page.roll.fit_time()
                self.page.roll.fit_pitch()

        self.window.submit(f"Generate {bars} bars", job, done)

    def regenerate(self) -> None:
        self.page.seed.setValue(self.page.seed.value() + 1)
        self.generate()

    # ---- playback ----
    def render_key(self):
        return (tuple(self.shown_notes()), self.tempo())

    def toggle_play(self) -> None:
        t = self.window.transport
        if t.playing:
            t.pause()
            return
        if not capability("piano").ok:
            self.window.status(capability("piano").reason)
            return
        if not self.shown_notes():
            self.window.status("Nothing to play: draw a theme or generate a piece")
            return
        if self.rendered_key == self.render_key() and self.rendered_audio is not None:
            self.load_tracks()
            t.play()
        else:
            self.render(play=True)

    def render(self, play: bool = False) -> None:
        key = self.render_key()
        notes, tempo = list(key[0]), key[1]

        def job(ctx):
            from engine.generation import render_piano

            ctx.progress(0.1, "piano sound")
            return render_piano(notes, tempo, PLAY_RATE)

        def done(result):
            self.render_job = None
            if result.ok:
                self.rendered_key = key
                self.rendered_audio = np.asarray(result.value, dtype=np.float32)
                if self.window.tabs.currentIndex() == 1:
                    self.load_tracks()
                    if play:
                        self.window.transport.play()

        if self.render_job is not None:
            self.render_job.cancel()
        self.render_job = self.window.submit("Piano sound", job, done)

    def load_tracks(self) -> None:
        if self.rendered_audio is not None and self.rendered_key == self.render_key():
            self.window.transport.set_tracks({"piano": (self.rendered_audio, 0.0, 0.0)})
        else:
            self.window.transport.set_tracks({})

    def activate(self) -> None:
        self.load_tracks()

    def ensure_tracks(self) -> None:
        pass

    def on_position(self, pos: float) -> None:
        beat = pos * self.tempo() / 60.0
        self.page.roll.set_playhead(beat if (self.window.transport.playing or pos > 0) else None)
        self.page.time_label.setText(f"bar {int(beat // 4) + 1}  beat {beat % 4 + 1:.1f}")

    # ---- export ----
    def fill_export_menu(self, menu) -> None:
        self.export_midi_action = menu.addAction("Piece as MIDI…")
        self.export_midi_action.setToolTip("Write what the Compose page shows (theme or piece) as a MIDI file")
        self.export_midi_action.triggered.connect(self.export_midi_dialog)
        self.export_wav_action = menu.addAction("Piece as WAV…")
        set_enabled_by(self.export_wav_action, capability("piano"),
                       "Write what the Compose page shows as audio with the piano sound")
        self.export_wav_action.triggered.connect(self.export_wav_dialog)

    def current_piece(self) -> Piece:
        if self.showing == "piece" and self.piece is not None:
            return Piece(list(self.piece.notes), self.tempo(), self.piece.beats_per_bar,
                         list(self.piece.theme_regions))
        return Piece(list(self.theme), self.tempo())

    def export_midi_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.page, "Export MIDI", "piece.mid", "MIDI (*.mid)")
        if path:
            self.export_midi(path)

    def export_midi(self, path: str) -> None:
        piece = self.current_piece()

        def job(ctx):
            from engine.io.midi import write_piece

            write_piece(piece, path)
            return path

        self.window.submit("Export MIDI", job,
                           lambda r: self.window.status(f"Wrote {path}") if r.ok else None)

    def export_wav_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.page, "Export audio", "piece.wav", "Audio (*.wav *.flac)")
        if path:
            self.export_audio(path)

    def export_audio(self, path: str) -> None:
        piece = self.current_piece()

        def job(ctx):
            from engine.generation import render_piano
            from engine.io.audio import save_audio

            ctx.progress(0.1, "piano sound")
            audio = render_piano(piece.notes, piece.tempo_bpm, PLAY_RATE)
            ctx.progress(0.8, "writing")
            save_audio(path, audio, PLAY_RATE)
            return path

        self.window.submit("Export audio", job, lambda r: self.window.status(f"Wrote {path}") if r.ok else None)

    def apply_look(self, look) -> None:
        roll = self.page.roll
        roll.colors.update({"melody": QColor(look.melody), "accompaniment": QColor(look.accompaniment),
                            "theme": QColor(look.theme_note), "occurrence": QColor(look.occurrence),
                            "grid": QColor(look.grid), "bar": QColor(look.bar_line),
                            "black_row": QColor(look.black_key_row), "bg": QColor(look.base),
                            "text": QColor(look.text)})
        # "#rrggbbaa" is read by QColor as "#aarrggbb"; fix the alpha of the shading colour
        occ = look.occurrence
        if len(occ) == 9:
            roll.colors["occurrence"] = QColor(int(occ[1:3], 16), int(occ[3:5], 16), int(occ[5:7], 16),
                                               int(occ[7:9], 16))
        self.page.set_legend(roll.colors)
        roll.update()
