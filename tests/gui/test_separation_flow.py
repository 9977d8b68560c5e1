"""The whole choir flow on the bundled demo with the shipped separation model: open → separate → solo the alto →
move its pitch slider → the alto's rendered buffer is shifted as the slider says. Runs when
assets/models/separation.pt is shipped (cancelling midway: test_separation_plumbing.py). The first 10 s of the
demo keep it quick."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from gui.capabilities import capability
from gui.main_window import DEMO
from tests.gui.conftest import demo_excerpt_file, wait_idle
from tests.gui.test_voices import drag_slider, median_f0_ratio_cents

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not capability("separation").ok or not DEMO.is_file(),
                                 reason=capability("separation").reason or "no demo recording")]


@pytest.fixture
def demo_10s(tmp_path):
    return demo_excerpt_file(tmp_path, 10)


def test_demo_separate_solo_alto_move_pitch(qtbot, window, audio_fake, demo_10s):
    window.open_path(demo_10s)
    wait_idle(qtbot, window)
    choir = window.choir
    page = choir.page
    assert page.separate.isEnabled()
    page.voices.setValue(4)
    stages = []
    window.bridge.progress.connect(lambda p: stages.append(p.stage))
    qtbot.mouseClick(page.separate, Qt.LeftButton)
    assert not page.separate.isEnabled()  # no second separation while one runs
    qtbot.waitUntil(lambda: window.job_panel.isVisible(), timeout=5000)
    wait_idle(qtbot, window, 240000)
    assert not window.errors, window.errors
    assert any("chunk" in s for s in stages) and page.separate.isEnabled()
    assert choir.names == ["soprano", "alto", "tenor", "bass"] and len(page.strips) == 4
    assert choir.stems.shape == (4, choir.audio.samples.shape[1])
    mix = choir.audio.samples.mean(axis=0)
    assert abs(choir.stems.sum(axis=0) - mix).max() < 1e-3  # the voices add up to the recording
    alto = choir.page.strips[1]
    qtbot.mouseClick(alto.solo, Qt.LeftButton)
    drag_slider(qtbot, alto.sliders["pitch_st"], 0.5 + 4 / 24)  # about +4 st
    semis = choir.states[1]["pitch_st"]
    assert 2.5 < semis < 5.5
    wait_idle(qtbot, window, 240000)
    seg = slice(1 * 44100, 9 * 44100)
    measured = median_f0_ratio_cents(choir.stems[1][seg], choir.rendered[1][seg], 44100)
    assert abs(measured - semis * 100) < 25, (measured, semis)
    window.grab().save("/tmp/motet-demo-voices.png")


def test_redraw_f0_then_reseparate_the_region(qtbot, window, demo_10s):
    import numpy as np

    window.open_path(demo_10s)
    wait_idle(qtbot, window)
    choir = window.choir
    choir.separate(4, "fast", "")
    wait_idle(qtbot, window, 240000)
    before = choir.stems.copy()
    choir.set_focus(3)
    t = np.linspace(4.0, 6.0, 30)
    choir.redraw_f0(3, t, np.full_like(t, 45.0))  # the bass on A2 from 4 to 6 s
    choir.page.view.set_selection(4.0, 6.0)
    choir.page.view.selection_finished.emit(4.0, 6.0)
    assert choir.page.reseparate.isEnabled()
    qtbot.mouseClick(choir.page.reseparate, Qt.LeftButton)
    wait_idle(qtbot, window, 240000)
    assert not window.errors, window.errors
    after = choir.stems
    sr = 44100
    assert np.array_equal(after[:, :int(3.9 * sr)], before[:, :int(3.9 * sr)])  # outside: untouched
    assert np.array_equal(after[:, int(6.1 * sr):], before[:, int(6.1 * sr):])
    assert not np.allclose(after[3, int(4.2 * sr):int(5.8 * sr)], before[3, int(4.2 * sr):int(5.8 * sr)])
    mix = choir.audio.samples.mean(axis=0)
    assert np.abs(after.sum(axis=0) - mix).max() < 1e-3  # still adds up to the recording
    window.undo_action.trigger()
    assert np.array_equal(choir.stems, before)
