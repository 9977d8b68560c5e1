"""The first window as a person uses it: open a recording, see it, play/pause with space, seek by clicking,
watch and cancel an engine job, get a dialog for a bad file."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.gui.conftest import wait_idle


def open_and_wait(qtbot, window, path):
    window.open_path(path)
    wait_idle(qtbot, window)
    assert window.choir.audio is not None, window.errors


def test_open_shows_log_spectrogram_with_time_axis(qtbot, window, chord_wav):
    open_and_wait(qtbot, window, chord_wav)
    spec = window.choir.spec
    assert abs(spec.duration_s - 4.0) < 0.05
    # the image is on screen: x spans the file in seconds, y the pitch range in MIDI units
    rect = window.choir.page.view.image.boundingRect()
    assert window.choir.page.view.image.image is not None
    assert rect.width() > 0 and rect.height() > 0
    # the loudest rows sit at the chord's notes (A3 = 57, C#4 = 61, E4 = 64)
    mean = spec.db.mean(axis=0)
    rows = spec.midi_lo + (np.arange(len(mean)) + 0.5) / spec.bins_per_semitone
    for midi in (57, 61, 64):
        near = np.abs(rows - midi) < 0.5
        far = (np.abs(rows - midi) > 1.5) & (np.abs(rows - midi) < 2.5)
        assert mean[near].max() > mean[far].max() + 6
    assert window.choir.page.time_label.text() == "0:00.0 / 0:04.0"
    assert "chord.wav" in window.windowTitle()
    assert str(chord_wav.resolve()) in window.recent_files()
    window.grab().save("/tmp/motet-first-window.png")


def test_recent_files_menu_reopens(qtbot, window, chord_wav):
    open_and_wait(qtbot, window, chord_wav)
    window._fill_recent()
    actions = [a for a in window.recent_menu.actions() if a.text() == "chord.wav"]
    assert actions
    window.choir.audio = None
    actions[0].trigger()
    wait_idle(qtbot, window)
    assert window.choir.audio is not None


def test_drop_a_file_opens_it(qtbot, window, chord_wav):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(chord_wav))])
    event = QDropEvent(QPoint(400, 300).toPointF(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    wait_idle(qtbot, window)
    assert window.choir.audio is not None and window.choir.recording == chord_wav


def test_space_plays_and_pauses_and_the_playhead_moves(qtbot, window, chord_wav, audio_fake):
    open_and_wait(qtbot, window, chord_wav)
    window.choir.page.view.setFocus()
    qtbot.keyClick(window.choir.page.view, Qt.Key_Space)
    assert window.transport.playing
    out = audio_fake.stream.pull(1.0)  # the sound card asks for one second
    assert np.abs(out).max() > 0.1  # the recording is what reaches the device
    qtbot.waitUntil(lambda: window.choir.page.view.playhead.value() > 0.9, timeout=2000)
    assert window.choir.page.time_label.text().startswith("0:01.")
    qtbot.keyClick(window.choir.page.view, Qt.Key_Space)
    assert not window.transport.playing
    audio_fake.stream.pull(0.2)  # fade out
    pos = window.transport.position_s
    audio_fake.stream.pull(0.5)
    assert window.transport.position_s == pos  # paused: the playhead stays


def test_click_on_the_spectrogram_seeks(qtbot, window, chord_wav):
    open_and_wait(qtbot, window, chord_wav)
    view = window.choir.page.view
    qtbot.waitUntil(lambda: view.viewRange()[0][1] > 3.9)
    p = view.view_to_widget(2.5, 60.0)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=p)
    assert abs(window.transport.position_s - 2.5) < 0.05
    qtbot.waitUntil(lambda: abs(view.playhead.value() - 2.5) < 0.05, timeout=1000)


def test_job_progress_eta_and_cancel_leave_the_app_idle(qtbot, window, chord_wav):
    open_and_wait(qtbot, window, chord_wav)
    panel = window.job_panel

    def slow(ctx):
        for i in range(400):
            ctx.progress(i / 400, f"step {i + 1}/400")
            time.sleep(0.01)
        return "finished"

    results = []
    window.submit("Long job", slow, results.append)
    qtbot.waitUntil(lambda: panel.isVisible() and "step" in panel.stage.text(), timeout=3000)
    qtbot.waitUntil(lambda: panel.eta.text().endswith("left"), timeout=3000)
    assert panel.bar.value() > 0
    assert panel.stage.text().startswith("Long job: step")
    qtbot.mouseClick(panel.cancel, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(results) == 1, timeout=3000)
    assert results[0].cancelled and not results[0].ok
    assert not window.bridge.busy and not panel.isVisible()
    assert window.error_box is None  # cancelling is not an error
    assert "cancelled" in window.activity.text()
    # consistent afterwards: the recording still plays and a new job runs to the end
    qtbot.keyClick(window.choir.page.view, Qt.Key_Space)
    assert window.transport.playing
    window.submit("Short job", lambda ctx: 42, results.append)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=3000)
    assert results[1].ok and results[1].value == 42


def test_bad_file_gives_a_dialog_and_the_app_stays_up(qtbot, window, chord_wav, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    window.open_path(bad)
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    text = window.error_box.text()
    assert "notes.wav" in text and "\n" not in text and "Traceback" not in text
    window.error_box.accept()
    qtbot.waitUntil(lambda: window.error_box is None, timeout=2000)
    open_and_wait(qtbot, window, chord_wav)  # still works
    window.open_path(tmp_path / "missing.flac")
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    assert "file not found" in window.error_box.text()
    assert window.choir.recording == chord_wav  # the good recording stays open
