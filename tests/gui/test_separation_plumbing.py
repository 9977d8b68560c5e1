"""The Separate button end to end with an UNTRAINED separation network (saved to a temp file), so the flow is
tested even before the trained model ships: progress, voices appear, the stems add up to the recording (Wiener
masks), cancelling midway leaves the app idle and consistent. Quality is tested in test_separation_flow.py."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.main_window import DEMO
from tests.gui.conftest import wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not DEMO.is_file(), reason="no demo recording")]


@pytest.fixture
def untrained_separation(tmp_path, monkeypatch):
    import engine.separation.separate as separate_module
    from engine.separation.model import SeparationModel
    from gui import capabilities

    path = tmp_path / "untrained.pt"
    SeparationModel().save(path)
    monkeypatch.setattr(separate_module, "default_model_path", lambda: path)
    monkeypatch.setattr(capabilities, "MODEL_FILES", {})
    capabilities.capability.cache_clear()
    yield path
    capabilities.capability.cache_clear()


@pytest.fixture
def demo_excerpt(tmp_path):
    """The first 6 s of the demo (a short file keeps this test quick)."""
    from engine.io.audio import load_audio, save_audio

    audio = load_audio(DEMO)
    path = tmp_path / "excerpt.wav"
    save_audio(path, audio.samples[:, :6 * audio.sample_rate], audio.sample_rate)
    return path


def test_separate_button_gives_voices_that_add_up_to_the_recording(qtbot, untrained_separation, make_window,
                                                                   demo_excerpt):
    window = make_window()
    window.open_path(demo_excerpt)
    wait_idle(qtbot, window)
    page = window.choir.page
    assert page.separate.isEnabled()
    stages = []
    window.bridge.progress.connect(lambda p: stages.append(p.stage))
    qtbot.mouseClick(page.separate, Qt.LeftButton)
    assert not page.separate.isEnabled()  # no second separation while one runs
    wait_idle(qtbot, window, 240000)
    assert not window.errors, window.errors
    choir = window.choir
    assert choir.names == ["soprano", "alto", "tenor", "bass"] and len(page.strips) == 4
    assert any("chunk" in s for s in stages)
    mix = choir.audio.samples.mean(axis=0)
    err = np.abs(choir.stems.sum(axis=0) - mix).max()
    assert err < 1e-3 * max(1e-6, np.abs(mix).max()) + 1e-4
    assert choir.listen == "voices" and page.separate.isEnabled()
    assert page.reseparate.isEnabled() is False  # nothing selected yet
    page.view.set_selection(3.0, 5.0)
    page.view.selection_finished.emit(3.0, 5.0)
    assert page.reseparate.isEnabled()


def test_cancel_a_separation_midway(qtbot, untrained_separation, make_window, audio_fake):
    window = make_window()
    window.open_path(DEMO)
    wait_idle(qtbot, window)
    choir = window.choir
    choir.page.quality.setCurrentIndex(1)  # refine: the slow one
    qtbot.mouseClick(choir.page.separate, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.job_panel.isVisible() and window.job_panel.bar.value() > 0, timeout=60000)
    qtbot.mouseClick(window.job_panel.cancel, Qt.LeftButton)
    wait_idle(qtbot, window, 120000)
    assert window.error_box is None and not window.errors
    assert "cancelled" in window.activity.text()
    assert choir.names == [] and choir.stems is None and not choir.page.strips
    assert choir.page.separate.isEnabled() and not window.job_panel.isVisible()
    qtbot.keyClick(choir.page.view, Qt.Key_Space)  # the recording still plays
    assert window.transport.playing
    assert np.abs(audio_fake.stream.pull(0.5)).max() > 0
