"""The whole choir flow on the bundled demo with the shipped separation model: open → separate → solo the alto →
move its pitch slider → the alto's rendered buffer is shifted as the slider says; cancelling a separation midway
leaves the app idle and consistent. Runs when assets/models/separation.pt is shipped."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.capabilities import capability
from gui.main_window import DEMO
from tests.gui.conftest import wait_idle
from tests.gui.test_voices import drag_slider, median_f0_ratio_cents

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not capability("separation").ok or not DEMO.is_file(),
                                 reason=capability("separation").reason or "no demo recording")]


def test_demo_separate_solo_alto_move_pitch(qtbot, window, audio_fake):
    window.open_path(DEMO)
    wait_idle(qtbot, window)
    choir = window.choir
    page = choir.page
    assert page.separate.isEnabled()
    page.voices.setValue(4)
    qtbot.mouseClick(page.separate, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.job_panel.isVisible(), timeout=5000)
    wait_idle(qtbot, window, 240000)
    assert not window.errors, window.errors
    assert choir.names == ["soprano", "alto", "tenor", "bass"]
    assert choir.stems.shape == (4, choir.audio.samples.shape[1])
    alto = choir.page.strips[1]
    qtbot.mouseClick(alto.solo, Qt.LeftButton)
    drag_slider(qtbot, alto.sliders["pitch_st"], 0.5 + 4 / 24)  # about +4 st
    semis = choir.states[1]["pitch_st"]
    assert 2.5 < semis < 5.5
    wait_idle(qtbot, window, 240000)
    seg = slice(2 * 44100, 8 * 44100)
    measured = median_f0_ratio_cents(choir.stems[1][seg], choir.rendered[1][seg], 44100)
    assert abs(measured - semis * 100) < 25, (measured, semis)
    window.grab().save("/tmp/motet-demo-voices.png")


def test_cancel_a_separation_midway_leaves_the_app_idle_and_consistent(qtbot, window, audio_fake):
    window.open_path(DEMO)
    wait_idle(qtbot, window)
    choir = window.choir
    choir.page.quality.setCurrentIndex(1)  # refine: the slow one
    qtbot.mouseClick(choir.page.separate, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.job_panel.isVisible() and "Separate" in window.job_panel.stage.text(),
                    timeout=10000)
    qtbot.mouseClick(window.job_panel.cancel, Qt.LeftButton)
    wait_idle(qtbot, window, 120000)
    assert window.error_box is None and not window.errors
    assert "cancelled" in window.activity.text()
    assert choir.names == [] and choir.stems is None and not choir.page.strips
    assert choir.page.separate.isEnabled()  # ready to try again
    qtbot.keyClick(choir.page.view, Qt.Key_Space)  # the recording still plays
    assert window.transport.playing
    assert np.abs(audio_fake.stream.pull(0.5)).max() > 0
