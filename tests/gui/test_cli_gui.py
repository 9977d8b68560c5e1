"""`motet gui [FILE]`: help, one-line errors, and the real app starting offscreen on a file and quitting."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


def motet(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_help_and_errors(tmp_path):
    out = motet("gui", "--help")
    assert out.returncode == 0 and "usage: motet gui" in out.stdout
    out = motet("gui", str(tmp_path / "missing.wav"))
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "file not found" in out.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = motet("gui", env=env)
    assert out.returncode == 2 and "no display" in out.stderr


@pytest.mark.slow
def test_gui_opens_the_file_given_and_quits(tmp_path, chord_wav):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "s"),
               XDG_CONFIG_HOME=str(tmp_path / "c"), MOTET_DEVICE="cpu")
    shot = tmp_path / "shot.png"
    out = motet("gui", str(chord_wav), "--quit-after", "4", "--screenshot", str(shot), env=env)
    assert out.returncode == 0, out.stderr
    assert "motet gui: up, 'chord.wav — motet'" in out.stdout
    assert shot.stat().st_size > 10_000
