"""The Separate button with an UNTRAINED separation network (saved to a temp file), so these flows are tested
whether or not the trained model ships: cancelling midway leaves the app idle and consistent; a separated project
stores its voices once and reopens identically. With the shipped model: test_separation_flow.py."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.main_window import DEMO
from tests.gui.conftest import demo_excerpt_file, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not DEMO.is_file(), reason="no demo recording")]


@pytest.fixture
def untrained_separation(tmp_path, monkeypatch):
    import importlib

    from engine.separation.model import SeparationModel
    from gui import capabilities

    separate_module = importlib.import_module("engine.separation.separate")  # the module, not the function
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
    return demo_excerpt_file(tmp_path, 6, ".wav")


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


def test_a_separated_project_stores_its_voices_once_and_reopens(qtbot, untrained_separation, make_window,
                                                                 demo_excerpt, tmp_path):
    from gui import project

    w1 = make_window()
    w1.open_path(demo_excerpt)
    wait_idle(qtbot, w1)
    w1.choir.separate(4, "fast", "")
    wait_idle(qtbot, w1, 240000)
    w1.choir.page.strips[2].sliders["gain_db"].setValue(-12)
    path = tmp_path / "proj" / "choir.motet"
    path.parent.mkdir()
    assert project.save_window(w1, path)
    voices = path.parent / "choir.motet.d" / "voices"
    assert (voices / "params.npz").is_file() and (voices / "alto.wav").is_file()
    w2 = make_window(settings_file="two.ini")
    w2.open_path(path)
    qtbot.waitUntil(lambda: w2.choir.project_path == path, timeout=60000)
    wait_idle(qtbot, w2, 60000)
    assert w2.choir.names == w1.choir.names and w2.choir.snapshot() == w1.choir.snapshot()
    assert np.allclose(w2.choir.stems, w1.choir.stems, atol=1e-6)
    assert w2.choir.separation_settings == {"n_voices": 4, "quality": "fast", "score": None}
