"""GUI test fixtures: a main window with a CPU engine, a fake sound stream and throw-away settings."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from tests.gui.fakes import FakeAudio

SR = 44100


def pytest_collection_modifyitems(config, items):
    # The offscreen platform warns that it cannot propagate size hints; that is the test platform, not us.
    for item in items:
        if "tests/gui" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore("does not support propagateSizeHints"))


@pytest.fixture(scope="session")
def worker():
    from engine.worker import Worker

    w = Worker("cpu")
    yield w
    w.shutdown(wait=True, cancel=True)


class SharedWorker:
    """The session's worker, but a window closing must not shut it down."""

    def __init__(self, worker):
        self._w = worker

    def __getattr__(self, name):
        return getattr(self._w, name)

    def shutdown(self, *args, **kwargs):
        self._w.cancel_all()


@pytest.fixture
def audio_fake():
    return FakeAudio()


@pytest.fixture
def make_window(qtbot, worker, audio_fake, tmp_path):
    from gui.main_window import MainWindow

    made = []

    def make(state_dir=None, settings_file="settings.ini"):
        settings = QSettings(str(tmp_path / settings_file), QSettings.IniFormat)
        w = MainWindow(worker=SharedWorker(worker), player_factory=audio_fake, settings=settings,
                       state_dir=state_dir or tmp_path / "state", look="dark")
        w.confirm_close = False  # no "save changes?" question when a test ends
        qtbot.addWidget(w)
        w.resize(1280, 800)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        if w.isVisible():
            w.close()


@pytest.fixture
def window(make_window):
    return make_window()


def wait_idle(qtbot, window, timeout=20000):
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=timeout)


@pytest.fixture(scope="session")
def chord_wav(tmp_path_factory):
    """A 4-s three-voice chord (A3, C#4, E4 with harmonics) as WAV."""
    from engine.io.audio import save_audio

    t = np.arange(4 * SR) / SR
    x = sum(0.15 * np.sin(2 * np.pi * f * k * t) / k for f in (220.0, 277.18, 329.63) for k in (1, 2, 3))
    path = tmp_path_factory.mktemp("audio") / "chord.wav"
    save_audio(path, x.astype(np.float32)[None], SR)
    return path


def demo_excerpt_file(directory, seconds: float, suffix: str = ".flac"):
    """The first ``seconds`` of the bundled demo written to ``directory`` (short files keep GUI tests quick)."""
    from engine.io.audio import load_audio, save_audio
    from gui.main_window import DEMO

    audio = load_audio(DEMO)
    path = directory / f"choir-demo-{seconds:g}s{suffix}"
    save_audio(path, audio.samples[:, :int(seconds * audio.sample_rate)], audio.sample_rate)
    return path
