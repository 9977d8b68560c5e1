"""A piano roll: pitch × time on a 1/16 grid, bars numbered, notes drawn, moved, resized, selected and deleted
with the mouse and keys; the theme's returns shaded; a playhead.

Mouse: drag on empty space draws a note (its length follows the drag); drag a note to move it (all selected
notes move together); drag its right edge to resize; Shift+drag on empty space selects with a rectangle;
Shift+click adds to the selection; right click deletes. Keys: Delete/Backspace delete the selection, Up/Down
transpose it by a semitone (Shift: an octave), Left/Right move it by a grid step, Ctrl+A selects all.
Wheel scrolls pitch, Shift+wheel scrolls time, Ctrl+wheel zooms time. Alt while dragging: no snapping.

Notes are :class:`engine.generation.piece.Note` (beats, MIDI pitch, role melody/accompaniment).
"""
from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from engine.generation.piece import MELODY, Note

KEY_W = 52
RULER_H = 24
BLACK = {1, 3, 6, 8, 10}
NAMES = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"]
EDGE_PX = 6


class PianoRoll(QWidget):
    """``notes`` (list of Note) is what is shown and edited. Signals: ``edited(old_notes, new_notes, what)``
    once per gesture (for undo); ``seek_requested(beat)`` when the ruler is clicked."""

    edited = Signal(object, object, str)
    seek_requested = Signal(float)
    scrolled = Signal()  # left_beat, top_pitch or zoom changed

    def __init__(self, parent=None):
        super().__init__(parent)
        self.notes: list[Note] = []
        self.selected: set[int] = set()
        self.regions: list[tuple[float, float]] = []  # the theme's occurrences, beats
        self.theme_region: Optional[tuple[float, float]] = None  # where the theme itself sits (stronger shade)
        self.beats_per_bar = 4
        self.grid = 0.25  # beats (1/16 note)
        self.snap = True
        self.px_per_beat = 44.0
        self.px_per_semi = 11.0
        self.left_beat = 0.0
        self.top_pitch = 84.0
        self.playhead_beat: Optional[float] = None
        self.new_length = 1.0
        self.new_role = MELODY
        self.colors = {"melody": QColor("#ff8c42"), "accompaniment": QColor("#4ea5d9"), "theme": QColor("#ffd166"),
                       "occurrence": QColor(255, 209, 102, 46), "grid": QColor("#2a2d33"),
                       "bar": QColor("#5a606a"), "black_row": QColor("#16181b"), "bg": QColor("#1a1c20"),
                       "text": QColor("#e6e6e6"), "key_white": QColor("#d8d8d8"), "key_black": QColor("#30343a")}
        self.theme_mode = True  # True: every note in the theme colour; False: melody/accompaniment colours
        self._drag = None
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(400, 240)
        self.setToolTip("Piano roll. Drag on empty space: draw a note. Drag a note: move; its right edge: resize. "
                        "Shift+drag: select. Right click or Delete: delete. Up/Down: transpose. "
                        "Wheel: scroll pitch; Shift+wheel: scroll time; Ctrl+wheel: zoom.")

    # ------------------------------------------------------------------ geometry
    def x_of(self, beat: float) -> float:
        return KEY_W + (beat - self.left_beat) * self.px_per_beat

    def beat_at(self, x: float) -> float:
        return self.left_beat + (x - KEY_W) / self.px_per_beat

    def y_of(self, pitch: float) -> float:
        """Top edge of the row of ``pitch``."""
        return RULER_H + (self.top_pitch - pitch) * self.px_per_semi

    def pitch_at(self, y: float) -> int:
        return int(self.top_pitch - (y - RULER_H) // self.px_per_semi)

    def note_rect(self, n: Note) -> QRectF:
        return QRectF(self.x_of(n.start_beat), self.y_of(n.pitch), max(3.0, n.duration_beats * self.px_per_beat),
                      self.px_per_semi)

    def point_of(self, beat: float, pitch: float) -> QPointF:
        """Widget position inside the cell of (beat, pitch); for tests and tooltips."""
        return QPointF(self.x_of(beat) + 1, self.y_of(pitch) + self.px_per_semi / 2)

    def note_at(self, pos: QPointF) -> Optional[int]:
        for i in reversed(range(len(self.notes))):
            if self.note_rect(self.notes[i]).adjusted(0, 0, 1, 0).contains(pos):
                return i
        return None

    def snapped(self, beat: float, free: bool = False) -> float:
        if not self.snap or free:
            return max(0.0, round(beat * 64) / 64)
        return max(0.0, round(beat / self.grid) * self.grid)

    # ------------------------------------------------------------------ content
    def set_notes(self, notes: list[Note], regions=None, theme_region=None, theme_mode: Optional[bool] = None,
                  beats_per_bar: Optional[int] = None) -> None:
        self.notes = sorted(notes, key=lambda n: (n.start_beat, n.pitch))
        self.selected = {i for i in self.selected if i < len(self.notes)}
        if regions is not None:
            self.regions = list(regions)
        self.theme_region = theme_region
        if theme_mode is not None:
            self.theme_mode = theme_mode
        if beats_per_bar:
            self.beats_per_bar = beats_per_bar
        self.update()

    def fit_pitch(self) -> None:
        """Scroll so the notes are vertically centred."""
        if self.notes:
            lo = min(n.pitch for n in self.notes)
            hi = max(n.pitch for n in self.notes)
            rows = (self.height() - RULER_H) / self.px_per_semi
            self.top_pitch = min(108.0, (lo + hi) / 2 + rows / 2)
        self.scrolled.emit()
        self.update()

    def fit_time(self) -> None:
        """Zoom time so the whole of the notes is in view (not narrower than 12 px per beat)."""
        end = max((n.end_beat for n in self.notes), default=0.0)
        if end > 0:
            self.px_per_beat = max(12.0, min(44.0, (self.width() - KEY_W - 8) / end))
            self.left_beat = 0.0
            self.scrolled.emit()
            self.update()

    def set_playhead(self, beat: Optional[float]) -> None:
        self.playhead_beat = beat
        if beat is not None:
            right = self.beat_at(self.width())
            if beat > right - 0.5 or beat < self.left_beat:
                self.left_beat = max(0.0, beat - 1.0)
                self.scrolled.emit()
        self.update()

    def _commit(self, old: list[Note], what: str) -> None:
        self.notes.sort(key=lambda n: (n.start_beat, n.pitch))
        if old != self.notes:
            self.edited.emit(list(old), list(self.notes), what)
        self.update()

    def delete_selected(self) -> None:
        if not self.selected:
            return
        old = list(self.notes)
        self.notes = [n for i, n in enumerate(self.notes) if i not in self.selected]
        self.selected = set()
        self._commit(old, "delete notes")

    def transpose_selected(self, semis: int) -> None:
        if not self.selected:
            return
        old = list(self.notes)
        for i in self.selected:
            n = self.notes[i]
            self.notes[i] = Note(min(127, max(0, n.pitch + semis)), n.start_beat, n.duration_beats, n.velocity, n.role)
        self._commit_keep_selection(old, "transpose notes")

    def shift_selected(self, beats: float) -> None:
        if not self.selected:
            return
        old = list(self.notes)
        for i in self.selected:
            n = self.notes[i]
            self.notes[i] = Note(n.pitch, max(0.0, n.start_beat + beats), n.duration_beats, n.velocity, n.role)
        self._commit_keep_selection(old, "move notes")

    def _commit_keep_selection(self, old, what):
        chosen = [self.notes[i] for i in self.selected]
        self.notes.sort(key=lambda n: (n.start_beat, n.pitch))
        self.selected = {i for i, n in enumerate(self.notes) if n in chosen}
        self._commit(old, what)

    # ------------------------------------------------------------------ mouse and keys
    def mousePressEvent(self, ev):
        pos = ev.position()
        self.setFocus()
        if pos.y() < RULER_H and pos.x() > KEY_W:
            self.seek_requested.emit(max(0.0, self.beat_at(pos.x())))
            return
        if pos.x() < KEY_W:
            return
        hit = self.note_at(pos)
        shift = bool(ev.modifiers() & Qt.ShiftModifier)
        if ev.button() == Qt.RightButton:
            if hit is not None:
                if hit not in self.selected:
                    self.selected = {hit}
                self.delete_selected()
            return
        if ev.button() != Qt.LeftButton:
            return
        old = list(self.notes)
        if hit is not None:
            if shift:
                self.selected ^= {hit}
                self.update()
                return
            if hit not in self.selected:
                self.selected = {hit}
            rect = self.note_rect(self.notes[hit])
            kind = "resize" if pos.x() >= rect.right() - EDGE_PX else "move"
            self._drag = (kind, pos, old, {i: self.notes[i] for i in self.selected}, hit)
        elif shift:
            self._drag = ("band", pos, old, None, None)
            self.selected = set()
        else:
            raw = self.beat_at(pos.x())
            beat = max(0.0, math.floor(raw / self.grid) * self.grid) if self.snap else self.snapped(raw, True)
            note = Note(self.pitch_at(pos.y()), beat, self.grid if self.snap else 0.25, 90, self.new_role)
            self.notes.append(note)
            self.selected = {len(self.notes) - 1}
            self._drag = ("draw", pos, old, {len(self.notes) - 1: note}, len(self.notes) - 1)
        self.update()

    def mouseMoveEvent(self, ev):
        pos = ev.position()
        if self._drag is None:
            hit = self.note_at(pos)
            edge = hit is not None and pos.x() >= self.note_rect(self.notes[hit]).right() - EDGE_PX
            self.setCursor(Qt.SizeHorCursor if edge else (Qt.OpenHandCursor if hit is not None else Qt.CrossCursor))
            return
        kind, start, _old, originals, _hit = self._drag
        free = bool(ev.modifiers() & Qt.AltModifier)
        d_beat = (pos.x() - start.x()) / self.px_per_beat
        if kind == "move":
            d_pitch = int(round((start.y() - pos.y()) / self.px_per_semi))
            first = min(n.start_beat for n in originals.values())
            shift = self.snapped(first + d_beat, free) - first
            for i, n in originals.items():
                self.notes[i] = Note(min(127, max(0, n.pitch + d_pitch)), max(0.0, n.start_beat + shift),
                                     n.duration_beats, n.velocity, n.role)
        elif kind in ("resize", "draw"):
            step = 1 / 64 if (free or not self.snap) else self.grid
            for i, n in originals.items():
                if kind == "resize":
                    end = self.snapped(n.end_beat + d_beat, free)
                else:  # drawing: the note reaches the end of the cell under the mouse
                    raw = self.beat_at(pos.x())
                    end = raw if step < self.grid else math.ceil(raw / self.grid) * self.grid
                self.notes[i] = Note(n.pitch, n.start_beat, max(step, end - n.start_beat), n.velocity, n.role)
        elif kind == "band":
            band = QRectF(start, pos).normalized()
            self.selected = {i for i, n in enumerate(self.notes) if band.intersects(self.note_rect(n))}
            self._band = band
        self.update()

    def mouseReleaseEvent(self, ev):
        if self._drag is None:
            return
        kind, _start, old, _orig, _hit = self._drag
        self._drag = None
        self._band = None
        if kind == "band":
            self.update()
            return
        if kind == "draw" and self.selected:
            self.new_length = self.notes[next(iter(self.selected))].duration_beats
        self._commit_keep_selection(old, {"move": "move notes", "resize": "resize notes",
                                          "draw": "draw a note"}[kind])

    def keyPressEvent(self, ev):
        key, mods = ev.key(), ev.modifiers()
        if key in (Qt.Key_Delete, Qt.Key_Backspace):
            self.delete_selected()
        elif key in (Qt.Key_Up, Qt.Key_Down):
            self.transpose_selected((12 if mods & Qt.ShiftModifier else 1) * (1 if key == Qt.Key_Up else -1))
        elif key in (Qt.Key_Left, Qt.Key_Right) and self.selected:
            self.shift_selected(self.grid * (1 if key == Qt.Key_Right else -1))
        elif key == Qt.Key_A and mods & Qt.ControlModifier:
            self.selected = set(range(len(self.notes)))
            self.update()
        elif key == Qt.Key_Escape:
            self.selected = set()
            self.update()
        else:
            super().keyPressEvent(ev)

    def wheelEvent(self, ev):
        dy = ev.angleDelta().y() / 120.0
        mods = ev.modifiers()
        if mods & Qt.ControlModifier:
            anchor = self.beat_at(ev.position().x())
            self.px_per_beat = min(400.0, max(6.0, self.px_per_beat * (1.15 ** dy)))
            self.left_beat = max(0.0, anchor - (ev.position().x() - KEY_W) / self.px_per_beat)
        elif mods & Qt.ShiftModifier or ev.angleDelta().x():
            d = dy if mods & Qt.ShiftModifier else ev.angleDelta().x() / 120.0
            self.left_beat = max(0.0, self.left_beat - d * self.beats_per_bar / 2)
        else:
            self.top_pitch = min(127.0, max(24.0, self.top_pitch + 3 * dy))
        ev.accept()
        self.scrolled.emit()
        self.update()

    def content_beats(self) -> float:
        """How far the notes reach, in beats, with a bar to spare."""
        end = max((n.end_beat for n in self.notes), default=0.0)
        return max(16.0, end + self.beats_per_bar)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, _ev):
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, False)
        w, h = self.width(), self.height()
        c = self.colors
        p.fillRect(self.rect(), c["bg"])
        lo_pitch = int(self.pitch_at(h)) - 1
        hi_pitch = int(self.top_pitch) + 1
        # rows
        for pitch in range(lo_pitch, hi_pitch + 1):
            y = self.y_of(pitch)
            if pitch % 12 in BLACK:
                p.fillRect(QRectF(KEY_W, y, w - KEY_W, self.px_per_semi), c["black_row"])
            if pitch % 12 == 0:
                p.setPen(QPen(c["grid"], 1))
                p.drawLine(QPointF(KEY_W, y + self.px_per_semi), QPointF(w, y + self.px_per_semi))
        # grid
        first = int(max(0.0, self.left_beat) / self.grid)
        last = int(self.beat_at(w) / self.grid) + 1
        for k in range(first, last + 1):
            beat = k * self.grid
            x = self.x_of(beat)
            if x < KEY_W:
                continue
            on_bar = abs(beat / self.beats_per_bar - round(beat / self.beats_per_bar)) < 1e-9
            on_beat = abs(beat - round(beat)) < 1e-9
            if on_bar:
                p.setPen(QPen(c["bar"], 1.5))
            elif on_beat:
                p.setPen(QPen(c["grid"].lighter(140), 1))
            elif self.grid * self.px_per_beat >= 8:
                faint = QColor(c["grid"])
                faint.setAlpha(110)
                p.setPen(QPen(faint, 1))
            else:
                continue
            p.drawLine(QPointF(x, RULER_H), QPointF(x, h))
        # theme occurrences
        for a, b in self.regions:
            strong = self.theme_region is not None and abs(a - self.theme_region[0]) < 1e-6
            col = QColor(c["occurrence"])
            if strong:
                col.setAlpha(min(255, col.alpha() * 2))
            p.fillRect(QRectF(self.x_of(a), RULER_H, (b - a) * self.px_per_beat, h - RULER_H), col)
        # notes
        for i, n in enumerate(self.notes):
            r = self.note_rect(n)
            if r.right() < KEY_W or r.left() > w:
                continue
            col = c["theme"] if self.theme_mode else (c["melody"] if n.role == MELODY else c["accompaniment"])
            col = QColor(col)
            col.setAlpha(120 + int(n.velocity))  # louder notes look more solid
            p.fillRect(r.adjusted(0.5, 0.5, -0.5, -0.5), col)
            if i in self.selected:
                p.setPen(QPen(c["text"], 2))
                p.drawRect(r.adjusted(1, 1, -1, -1))
        band = getattr(self, "_band", None)
        if band is not None:
            p.setPen(QPen(c["text"], 1, Qt.DashLine))
            p.drawRect(band)
        # ruler with bar numbers
        p.fillRect(QRectF(0, 0, w, RULER_H), c["bg"].lighter(130))
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        p.setFont(font)
        bar0 = int(self.left_beat // self.beats_per_bar)
        bar1 = int(self.beat_at(w) // self.beats_per_bar) + 1
        every = max(1, int(40 // (self.beats_per_bar * self.px_per_beat)) + 1)
        for bar in range(bar0, bar1 + 1):
            x = self.x_of(bar * self.beats_per_bar)
            if x < KEY_W:
                continue
            p.setPen(QPen(c["bar"], 1))
            p.drawLine(QPointF(x, RULER_H - 8), QPointF(x, RULER_H))
            if bar % every == 0:
                p.setPen(c["text"])
                p.drawText(QPointF(x + 3, RULER_H - 8), str(bar + 1))
        for a, b in self.regions:
            x = self.x_of(a)
            if x >= KEY_W:
                p.fillRect(QRectF(x, RULER_H - 5, (b - a) * self.px_per_beat, 5), c["theme"])
        # keyboard
        for pitch in range(lo_pitch, hi_pitch + 1):
            y = self.y_of(pitch)
            black = pitch % 12 in BLACK
            p.fillRect(QRectF(0, y, KEY_W, self.px_per_semi), c["key_black"] if black else c["key_white"])
            p.setPen(QPen(QColor("#888888"), 0.5))
            p.drawLine(QPointF(0, y + self.px_per_semi), QPointF(KEY_W, y + self.px_per_semi))
            if pitch % 12 == 0:
                p.setPen(QColor("#202020"))
                p.drawText(QRectF(2, y, KEY_W - 4, self.px_per_semi), Qt.AlignRight | Qt.AlignVCenter,
                           f"C{pitch // 12 - 1}")
        p.fillRect(QRectF(0, 0, KEY_W, RULER_H), c["bg"].lighter(130))
        # playhead
        if self.playhead_beat is not None:
            x = self.x_of(self.playhead_beat)
            if x >= KEY_W:
                p.setPen(QPen(c["text"], 2))
                p.drawLine(QPointF(x, 0), QPointF(x, h))
        p.end()
