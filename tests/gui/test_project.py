"""Projects: save → reopen gives the same state; the recording is never rewritten; autosave recovers after a
crash; a broken project file is one clear error."""
from __future__ import annotations

import hashlib
import json

import numpy as np
from PySide6.QtCore import Qt

from engine.generation.piece import Note
from tests.gui.conftest import wait_idle
from tests.gui.test_voices import duet, open_duet  # noqa: F401 - the fixture is used below


def make_edits(qtbot, window):
    choir = window.choir
    s0, s1 = choir.page.strips
    s1.sliders["pitch_st"].setValue(-250)  # -2.5 st
    s0.sliders["gain_db"].setValue(-6)  # -3 dB
    s0.sliders["formant_pct"].setValue(10)
    qtbot.mouseClick(s1.mute, Qt.LeftButton)
    choir.move_f0(0, 1.0, 2.0, 1.0)
    choir.page.view.set_selection(2.2, 2.6)
    choir.swap_f0(1, 0)  # the two voices' F0 exchanged over 2.2-2.6 s
    choir.page.view.set_selection(0.5, 1.5)
    choir.page.loop.setChecked(True)
    window.compose.set_theme([Note(60 + k, float(k), 1.0) for k in (0, 2, 4, 5)])
    window.compose.page.tempo.setValue(92)
    wait_idle(qtbot, window, 60000)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_and_reopen_gives_the_same_state(qtbot, make_window, duet, tmp_path):  # noqa: F811
    wav = duet[0]
    before_digest = digest(wav)
    w1 = make_window()
    open_duet(qtbot, w1, duet)
    make_edits(qtbot, w1)
    assert not w1.undo_stack.isClean()
    project = tmp_path / "song.motet"
    from gui import project as proj

    assert proj.save_window(w1, project)
    assert w1.undo_stack.isClean() and w1.windowTitle().startswith("song.motet")
    data = json.loads(project.read_text())
    assert data["recording"]["absolute"] == str(wav.resolve())
    # voices opened from a separation folder are referenced there, not copied
    assert (project.parent / data["choir"]["voices_folder"]).resolve() == duet[1].resolve()
    assert digest(wav) == before_digest  # the recording is referenced, never rewritten

    w2 = make_window(settings_file="other.ini")
    w2.open_path(project)
    qtbot.waitUntil(lambda: w2.choir.project_path == project, timeout=60000)
    wait_idle(qtbot, w2, 60000)
    c1, c2 = w1.choir, w2.choir
    assert c2.recording == wav and c2.names == c1.names
    assert c2.snapshot() == c1.snapshot()
    assert len(c2.states[0]["redraws"]) == len(c2.states[1]["redraws"]) == 1  # the swap came back
    assert c2.page.strips[1].sliders["pitch_st"].value() == -250
    assert c2.page.strips[1].mute.isChecked()
    assert c2.page.view.selection() == c1.page.view.selection() and c2.page.loop.isChecked()
    for i in range(2):
        assert np.allclose(c2.rendered[i], c1.rendered[i], atol=1e-6)
    assert w2.compose.theme == w1.compose.theme and w2.compose.page.tempo.value() == 92
    assert w2.undo_stack.isClean() and w2.windowTitle().startswith("song.motet")
    assert str(project.resolve()) in w2.recent_files()


def test_autosave_recovers_after_a_crash(qtbot, make_window, duet, tmp_path):  # noqa: F811
    state = tmp_path / "state"
    w1 = make_window(state_dir=state)
    open_duet(qtbot, w1, duet)
    make_edits(qtbot, w1)
    w1.autosave()  # the timer's work, done now
    assert (state / "autosave.motet").is_file()
    # w1 "crashes": it never closes. The next start finds the autosave and recovers it.
    w2 = make_window(state_dir=state, settings_file="other.ini")
    assert w2.offer_recovery(ask=False)
    qtbot.waitUntil(lambda: w2.choir.names == ["upper", "lower"] and w2.choir.snapshot() == w1.choir.snapshot(),
                    timeout=60000)
    wait_idle(qtbot, w2, 60000)
    assert w2.compose.theme == w1.compose.theme
    assert "Recovered" in w2.activity.text()
    w2.close()  # a clean exit removes the autosave
    assert not (state / "autosave.motet").exists()


def test_a_broken_project_is_one_clear_error(qtbot, window, tmp_path):
    bad = tmp_path / "broken.motet"
    bad.write_text("{ not json")
    window.open_path(bad)
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=3000)
    assert "broken.motet" in window.error_box.text() and "not a readable motet project" in window.error_box.text()
