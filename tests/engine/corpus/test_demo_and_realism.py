"""The demo files the app opens, and the realism measurements on signals whose answers are known."""
import subprocess
import sys

import numpy as np
import soundfile as sf

from engine.corpus.realism import ltas_bands, measure_f0, vibrato_notes
from engine.f0.tracks import F0_HOP_S, F0Tracks


def test_demo_command_writes_flac_f0_and_score(tmp_path):
    result = subprocess.run([sys.executable, "-m", "engine", "data", "demo", "-o", str(tmp_path), "--seconds", "6"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    info = sf.info(tmp_path / "choir-demo.flac")
    assert info.samplerate == 44100 and info.subtype == "PCM_24" and info.channels == 1
    assert 3.0 < info.duration <= 6.0
    tracks = F0Tracks.from_csv(tmp_path / "choir-demo.f0.csv", n_voices=4)
    assert tracks.names == ["soprano", "alto", "tenor", "bass"]
    assert abs(tracks.times_s[-1] - info.duration) < 0.05
    import pretty_midi

    score = pretty_midi.PrettyMIDI(str(tmp_path / "choir-demo.mid"))
    assert [i.name for i in score.instruments] == ["soprano", "alto", "tenor", "bass"]
    # the score and the F0 file agree on the soprano's first note (within a semitone of intonation and scoop)
    first = score.instruments[0].notes[0]
    frame = int((first.start + 0.3) / F0_HOP_S)
    assert abs(12 * np.log2(tracks.f0_hz[0, frame] / pretty_midi.note_number_to_hz(first.pitch))) < 1.0


def test_demo_refuses_more_than_30_seconds(tmp_path):
    result = subprocess.run([sys.executable, "-m", "engine", "data", "demo", "-o", str(tmp_path), "--seconds", "45"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def _tone(f0_hz, rate=16000, noise=0.0, seed=0):
    """Sawtooth-like tone following f0_hz [samples], plus white noise of RMS ``noise``."""
    phase = np.cumsum(f0_hz) / rate
    x = sum(np.sin(2 * np.pi * k * phase) / k for k in range(1, 12))
    return x / x.std() + noise * np.random.default_rng(seed).standard_normal(len(x))


def test_vibrato_rate_and_depth_are_recovered():
    rate, seconds = 16000, 2.0
    t = np.arange(int(rate * seconds)) / rate
    f0 = 220 * 2 ** (40 * np.sin(2 * np.pi * 5.5 * t) / 1200)       # 5.5 Hz, 40 cents
    guide = np.full(int(seconds / F0_HOP_S), 220.0)
    measured, corr = measure_f0(_tone(f0), guide)
    notes = vibrato_notes(measured, guide)
    assert len(notes) == 1
    vib_rate, depth, has_vibrato = notes[0]
    assert has_vibrato and abs(vib_rate - 5.5) < 0.3 and 30 < depth < 45
    straight = vibrato_notes(measure_f0(_tone(np.full_like(t, 220.0)), guide)[0], guide)
    assert straight[0][1] < 2.0


def test_hnr_falls_with_noise_and_ltas_sums_to_one():
    rate = 16000
    t = np.arange(rate) / rate
    guide = np.full(60, 200.0)
    clean = measure_f0(_tone(np.full_like(t, 200.0)), guide)[1]
    noisy = measure_f0(_tone(np.full_like(t, 200.0), noise=0.5), guide)[1]

    def hnr(corr):  # as realism._summarise does: r clipped to 1 - 1e-4, i.e. at most 40 dB
        r = np.clip(corr[corr > 0], 1e-4, 1 - 1e-4)
        return np.median(10 * np.log10(r / (1 - r)))

    assert hnr(clean) > 25 and hnr(clean) - hnr(noisy) > 5
    bands = ltas_bands(_tone(np.full_like(t, 200.0)))
    assert abs(np.sum(10 ** (bands / 10)) - 1.0) < 0.01
