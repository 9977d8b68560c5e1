"""The Compose page as a person uses it: draw a theme on the piano roll, edit it, undo; import a theme from
MIDI; let motet find the theme of a piece; generate a piece around the theme (when the model is shipped)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from engine.generation.piece import ACCOMPANIMENT, MELODY, Note
from gui.capabilities import capability
from tests.gui.conftest import wait_idle

def key(n):
    return (n.start_beat, n.pitch, n.duration_beats, n.role)


THEME = [(67, 0.0), (69, 1.0), (71, 2.0), (67, 3.0)]  # G A B G, one beat each


def write_midi(path, notes, tempo):
    """A MIDI file with tracks MELODY and PIANO (written with pretty_midi, as any sequencer would)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    spb = 60.0 / tempo
    tracks = {MELODY: pretty_midi.Instrument(0, name="MELODY"), ACCOMPANIMENT: pretty_midi.Instrument(0, name="PIANO")}
    for n in notes:
        tracks[n.role].notes.append(pretty_midi.Note(n.velocity, n.pitch, n.start_beat * spb,
                                                     (n.start_beat + n.duration_beats) * spb))
    pm.instruments.extend(t for t in tracks.values() if t.notes)
    pm.write(str(path))


def drag(qtbot, widget, a, b, steps=4, modifier=Qt.NoModifier):
    qtbot.mousePress(widget, Qt.LeftButton, modifier, a)
    for k in range(1, steps + 1):
        qtbot.mouseMove(widget, QPoint(a.x() + (b.x() - a.x()) * k // steps, a.y() + (b.y() - a.y()) * k // steps))
    qtbot.mouseRelease(widget, Qt.LeftButton, modifier, b)


def draw_theme(qtbot, window):
    window.tabs.setCurrentIndex(1)
    roll = window.compose.page.roll
    qtbot.waitUntil(lambda: roll.isVisible() and roll.height() > 300)
    for pitch, beat in THEME:
        # press in the first 1/16 cell, drag to the last cell of the beat
        drag(qtbot, roll, roll.point_of(beat, pitch).toPoint(), roll.point_of(beat + 0.9, pitch).toPoint())
    return roll


def test_draw_a_four_note_theme_then_edit_and_undo(qtbot, window):
    roll = draw_theme(qtbot, window)
    compose = window.compose
    assert [(n.pitch, n.start_beat, n.duration_beats) for n in compose.theme] == [(p, b, 1.0) for p, b in THEME]
    assert window.undo_stack.count() == 4  # one step per drawn note
    assert "4 notes" in compose.page.info.text()

    # move the second note up two semitones and half a beat later (snapped to 1/16)
    a = roll.point_of(1.3, 69).toPoint()
    drag(qtbot, roll, a, QPoint(a.x() + int(0.5 * roll.px_per_beat), a.y() - int(2 * roll.px_per_semi)))
    assert (71, 1.5) in [(n.pitch, n.start_beat) for n in compose.theme]
    # resize the first note by its right edge to half a beat
    edge = QPoint(int(roll.x_of(1.0)) - 2, int(roll.point_of(0, 67).y()))
    drag(qtbot, roll, edge, QPoint(int(roll.x_of(0.5)), edge.y()))
    assert compose.theme[0].duration_beats == 0.5
    # delete the last note with a right click
    qtbot.mouseClick(roll, Qt.RightButton, pos=roll.point_of(3.5, 67).toPoint())
    assert len(compose.theme) == 3
    # select everything with Shift+drag and transpose an octave with Shift+Up
    drag(qtbot, roll, QPoint(int(roll.x_of(0)) + 1, int(roll.y_of(80))), QPoint(int(roll.x_of(3.9)),
                                                                                 int(roll.y_of(60))),
         modifier=Qt.ShiftModifier)
    assert roll.selected == {0, 1, 2}
    qtbot.keyClick(roll, Qt.Key_Up, Qt.ShiftModifier)
    assert [n.pitch for n in compose.theme] == [79, 83, 83]
    steps = window.undo_stack.count()
    assert steps == 8
    for _ in range(4):
        window.undo_action.trigger()
    assert [(n.pitch, n.start_beat, n.duration_beats) for n in compose.theme] == [(p, b, 1.0) for p, b in THEME]
    window.redo_action.trigger()
    assert (71, 1.5) in [(n.pitch, n.start_beat) for n in compose.theme]
    window.grab().save("/tmp/motet-compose-theme.png")


def test_snapping_follows_the_grid(qtbot, window):
    roll = draw_theme(qtbot, window)
    window.compose.page.grid.setCurrentIndex(1)  # 1/8
    a = roll.point_of(0.3, 67).toPoint()
    drag(qtbot, roll, a, QPoint(a.x() + int(0.3 * roll.px_per_beat), a.y()))  # 0.3 beat: snaps to 0.5
    assert window.compose.theme[0].start_beat == 0.5
    window.compose.page.snap.setChecked(False)
    a = roll.point_of(0.8, 67).toPoint()
    drag(qtbot, roll, a, QPoint(a.x() + int(0.3 * roll.px_per_beat), a.y()))
    assert window.compose.theme[0].start_beat != pytest.approx(1.0, abs=0.01)


def test_import_a_theme_from_midi(qtbot, window, tmp_path):
    notes = [Note(72, 4.0 + k, 1.0, 90, MELODY) for k in range(4)] + [Note(48, 4.0, 4.0, 70, ACCOMPANIMENT)]
    path = tmp_path / "tune.mid"
    write_midi(path, notes, 84.0)
    window.open_path(path)  # a MIDI file opens on the Compose page as the theme
    wait_idle(qtbot, window)
    assert window.tabs.currentIndex() == 1
    theme = window.compose.theme
    assert [(n.pitch, n.start_beat) for n in theme] == [(72, float(k)) for k in range(4)]  # melody, from bar 1
    assert window.compose.page.tempo.value() == 84


@pytest.mark.skipif(not capability("theme_finder").ok, reason="the theme finder is not in this build")
def test_find_the_theme_of_a_piece_shades_its_returns(qtbot, window, tmp_path):
    motif = [(72, 0, 1), (74, 1, 0.5), (76, 1.5, 0.5), (72, 2, 2), (79, 4, 1), (77, 5, 1), (76, 6, 2)]
    notes = []
    for rep, bar in enumerate((0, 4, 8)):
        for p, b, d in motif:
            notes.append(Note(p, bar * 4 + b, d, 90, MELODY))
        for k in range(4):
            notes.append(Note(48 + 2 * k, bar * 4 + 8 + k, 1, 70, MELODY))  # filler between returns
    notes = sorted(notes, key=lambda n: n.start_beat)
    path = tmp_path / "piece.mid"
    write_midi(path, notes, 100.0)
    window.tabs.setCurrentIndex(1)
    window.compose.find_theme(str(path))
    wait_idle(qtbot, window)
    assert not window.errors
    compose = window.compose
    assert compose.showing == "piece" and compose.theme
    roll = compose.page.roll
    assert len(roll.regions) >= 2  # the theme and its returns, shaded
    assert "returns" in compose.page.info.text()


@pytest.mark.skipif(not capability("generation").ok, reason="no trained theme transformer shipped yet")
def test_generate_eight_bars_around_a_drawn_theme(qtbot, window):
    draw_theme(qtbot, window)
    page = window.compose.page
    page.bars.setValue(8)
    page.seed.setValue(3)
    qtbot.mouseClick(page.generate, Qt.LeftButton)
    wait_idle(qtbot, window, 120000)
    assert not window.errors
    piece = window.compose.piece
    assert piece is not None and piece.bars <= 8 and len(piece.notes) > 8
    assert window.compose.showing == "piece"
    assert sorted(page.roll.notes, key=key) == sorted(piece.notes, key=key)
    assert page.roll.regions and page.roll.regions[0][0] == 0.0  # the theme opens the piece, shaded
    assert {n.role for n in piece.notes} <= {MELODY, ACCOMPANIMENT}
    window.grab().save("/tmp/motet-compose-piece.png")
    first = piece
    page.bars.setValue(4)  # (shorter, to keep the test quick)
    qtbot.mouseClick(page.regenerate, Qt.LeftButton)  # the next seed
    wait_idle(qtbot, window, 120000)
    assert page.seed.value() == 4 and window.compose.piece is not first
    window.undo_action.trigger()  # each generation is one undo step
    assert window.compose.piece is first
    window.undo_action.trigger()
    assert window.compose.piece is None and window.compose.showing == "theme"


@pytest.mark.skipif(not capability("piano").ok, reason="the piano renderer is not in this build")
def test_play_the_theme_with_a_piano_sound_and_a_moving_playhead(qtbot, window, audio_fake):
    roll = draw_theme(qtbot, window)
    page = window.compose.page
    assert page.play.isEnabled()
    roll.setFocus()
    qtbot.keyClick(roll, Qt.Key_Space)  # renders the piano on the engine, then plays
    wait_idle(qtbot, window, 60000)
    qtbot.waitUntil(lambda: window.transport.playing, timeout=5000)
    assert window.transport.tracks == {"piano"}
    out = audio_fake.stream.pull(1.2)
    assert np.abs(out).max() > 0.01  # a piano is heard
    qtbot.waitUntil(lambda: roll.playhead_beat is not None and roll.playhead_beat > 1.5, timeout=2000)
    assert page.time_label.text().startswith("bar 1")
    qtbot.keyClick(roll, Qt.Key_Space)
    assert not window.transport.playing
    # a changed theme is rendered again before it plays
    qtbot.mouseClick(roll, Qt.RightButton, pos=roll.point_of(3.5, 67).toPoint())
    assert window.compose.rendered_key != window.compose.render_key()


def test_export_the_theme_as_midi(qtbot, window, tmp_path):
    from engine.io.midi import read_piece

    draw_theme(qtbot, window)
    window.compose.export_midi(str(tmp_path / "theme.mid"))
    wait_idle(qtbot, window)
    assert not window.errors, window.errors
    piece = read_piece(tmp_path / "theme.mid")
    assert [(n.pitch, n.start_beat, n.duration_beats) for n in piece.notes] == [(p, b, 1.0) for p, b in THEME]


@pytest.mark.skipif(not capability("piano").ok, reason="the piano renderer is not in this build")
def test_export_the_theme_as_wav(qtbot, window, tmp_path):
    from engine.io.audio import load_audio

    draw_theme(qtbot, window)
    window.compose.export_audio(str(tmp_path / "theme.wav"))
    wait_idle(qtbot, window, 60000)
    assert not window.errors, window.errors
    audio = load_audio(tmp_path / "theme.wav")
    assert audio.channels == 2 and audio.duration_s >= 4 * 60 / 100  # 4 beats at 100 BPM, plus the release


def test_keyboard_shortcuts_undo_redo_save(qtbot, window, tmp_path):
    from gui import project

    roll = draw_theme(qtbot, window)
    assert len(window.compose.theme) == 4
    qtbot.keyClick(roll, Qt.Key_Z, Qt.ControlModifier)
    assert len(window.compose.theme) == 3
    qtbot.keyClick(roll, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert len(window.compose.theme) == 4
    window.choir.project_path = tmp_path / "keys.motet"  # as after a first "Save as"
    qtbot.keyClick(roll, Qt.Key_S, Qt.ControlModifier)
    assert (tmp_path / "keys.motet").is_file() and window.undo_stack.isClean()
    assert len(project.read_project(tmp_path / "keys.motet")["compose"]["theme"]) == 4
