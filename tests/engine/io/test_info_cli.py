"""``motet info FILE``: what a person sees for a good file, and one error line for a bad one."""
import json
import math
import subprocess
import sys

import numpy as np
import soundfile as sf


def motet(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=60)


def test_info_shows_duration_rate_channels_peak_and_rms(tmp_path):
    t = np.arange(3 * 48000) / 48000
    x = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 440 * t)]).T.astype(np.float32)
    path = tmp_path / "choir.flac"
    sf.write(path, x, 48000, subtype="PCM_24")
    out = motet("info", str(path))
    assert out.returncode == 0, out.stderr
    assert "0:03.000 (3.000 s, 144000 frames)" in out.stdout
    assert "48000 Hz" in out.stdout and "channels     2" in out.stdout
    assert "peak         -6.02 dBFS" in out.stdout
    rms = 20 * math.log10(math.sqrt((0.5**2 + 0.25**2) / 4))  # both channels' sines pooled
    assert f"RMS          {rms:.2f} dBFS" in out.stdout
    data = json.loads(motet("info", "--json", str(path)).stdout.strip().splitlines()[-1])
    assert data["duration_s"] == 3.0 and data["sample_rate"] == 48000 and data["channels"] == 2
    assert data["peak_dbfs"] == round(20 * math.log10(0.5), 3)


def test_info_of_a_silent_file_says_so(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(4410, np.float32), 44100)
    out = motet("info", str(path))
    assert out.returncode == 0 and "-inf dBFS (silent)" in out.stdout


def test_info_bad_input_is_one_error_line_and_exit_2(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all\n" * 10)
    for target in (path, tmp_path / "missing.wav", tmp_path):
        out = motet("info", str(target))
        assert out.returncode == 2
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"motet: error: {target}:"), out.stderr
        assert "Traceback" not in out.stderr


def test_info_help():
    out = motet("info", "--help")
    assert out.returncode == 0 and "peak" in out.stdout
