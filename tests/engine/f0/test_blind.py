import numpy as np
import pytest

from engine.errors import MotetError
from engine.f0 import track_voices
from tests.engine.f0.synth import satb


def _pitch_accuracy(tracks, f0_true, sr):
    """Per voice: share of sung frames whose estimate is within 50 cents, and of rest frames left unvoiced."""
    idx = np.minimum((tracks.times_s * sr).astype(int), f0_true.shape[1] - 1)
    out = []
    for v in range(f0_true.shape[0]):
        truth = f0_true[v, idx]
        sung = truth > 0
        est = tracks.masked()[v]
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = np.abs(1200 * np.log2(est / truth)) < 50
        out.append(((ok & sung).sum() / sung.sum(), (~tracks.voiced[v] & ~sung).sum() / max(1, (~sung).sum())))
    return out


def test_four_synthetic_voices_are_tracked_highest_first():
    mix, f0_true, sr = satb()
    tracks = track_voices(mix, sr, 4)
    assert tracks.names == ["soprano", "alto", "tenor", "bass"]
    assert tracks.f0_hz.shape == (4, len(tracks.times_s))
    assert np.allclose(np.diff(tracks.times_s), 0.016)
    rpa = [a for a, _ in _pitch_accuracy(tracks, f0_true, sr)]
    assert rpa[3] > 0.9, f"bass: raw pitch accuracy {rpa[3]:.2f}"


def test_two_voices_a_tenth_apart():
    mix, f0_true, sr = satb()
    from tests.engine.f0.synth import CHORDS, notes_to_f0, voice

    upper = notes_to_f0([(0.1 + 0.5 * i, 0.6 + 0.5 * i, c[2] + 16) for i, c in enumerate(CHORDS)], 3.3, sr)
    lower = notes_to_f0([(0.1 + 0.5 * i, 0.6 + 0.5 * i, c[3]) for i, c in enumerate(CHORDS)], 3.3, sr, vibrato_hz=4.7)
    mix = voice(upper, sr, seed=1) + voice(lower, sr, seed=2)
    tracks = track_voices(mix, sr, 2)
    assert tracks.names == ["voice1", "voice2"]
    for v, (rpa, _) in enumerate(_pitch_accuracy(tracks, np.stack([upper, lower]), sr)):
        assert rpa > 0.9, f"voice {v + 1}: raw pitch accuracy {rpa:.2f}"


def test_silence_and_tiny_input_are_clear_errors():
    with pytest.raises(MotetError, match="silent"):
        track_voices(np.zeros(32000, np.float32), 16000, 4)
    with pytest.raises(MotetError, match="too short"):
        track_voices(np.ones(100, np.float32), 16000, 4)


def test_noise_is_not_a_choir():
    noise = (0.1 * np.random.default_rng(0).standard_normal(3 * 16000)).astype(np.float32)
    with pytest.raises(MotetError, match="no singing voice"):
        track_voices(noise, 16000, 4)


def test_a_bass_under_a_sharp_octave_is_measured_to_a_few_cents():
    """Every 2nd harmonic of the bass lies 40 cents from a partial of a tenor singing a sharp octave above: damping
    those shared harmonics keeps the tenor from pulling the bass's measured pitch (26 cents off without it)."""
    from engine.f0.blind import refine_f0
    from engine.f0.salience import magnitude_spectrogram

    from tests.engine.f0.synth import voice

    rate = 16000
    n = rate  # 1 s
    bass_hz, tenor_hz = 110.0, 110.0 * 2 * 2 ** (40 / 1200)
    x = voice(np.full(n, bass_hz), rate, seed=1) + 1.5 * voice(np.full(n, tenor_hz), rate, seed=2)
    mag = magnitude_spectrogram(x.astype(float))
    frames = mag.shape[0]
    guess = np.array([[tenor_hz] * frames, [bass_hz * 2 ** (30 / 1200)] * frames])
    voiced = np.ones_like(guess, dtype=bool)
    f0 = refine_f0(mag, guess, voiced, others=guess)
    mid = slice(frames // 4, 3 * frames // 4)
    assert np.median(np.abs(1200 * np.log2(f0[1, mid] / bass_hz))) < 10
    assert np.median(np.abs(1200 * np.log2(f0[0, mid] / tenor_hz))) < 10
