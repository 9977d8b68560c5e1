import numpy as np

from engine.f0 import F0_HOP_S
from engine.f0.harmonic_peaks import HarmonicPeaks, peak_pitch
from tests.engine.f0.synth import notes_to_f0, voice

RATE = 16000


def _duet(seconds: float = 1.5):
    """(mixture, frame times, true F0 [2, T]): a tenor on G3 and a bass on A2, both with vibrato."""
    lo = notes_to_f0([(0.0, seconds, 45)], seconds, RATE, vibrato_cents=40, vibrato_hz=5.3)
    hi = notes_to_f0([(0.0, seconds, 55)], seconds, RATE, vibrato_cents=30, vibrato_hz=5.9)
    mix = voice(hi, RATE, seed=1, decay=0.8) + voice(lo, RATE, seed=2, decay=0.9)
    times = np.arange(int(seconds / F0_HOP_S)) * F0_HOP_S
    idx = np.minimum((times * RATE).astype(int), len(lo) - 1)
    return mix, times, np.stack([hi[idx], lo[idx]])


def _cents(a, b):
    return 1200 * np.log2(a / b)


def test_a_low_voice_off_by_twenty_cents_is_moved_onto_its_partials():
    mix, times, truth = _duet()
    given = truth.copy()
    given[1] *= 2 ** (20 / 1200) * 2 ** (np.random.default_rng(0).normal(0, 5, truth.shape[1]) / 1200)
    voiced = np.ones_like(truth, dtype=bool)
    out = peak_pitch(mix, RATE, times, given, voiced, 1)
    inner = (times > 0.1) & (times < 1.4)
    before = np.median(np.abs(_cents(given[1, inner], truth[1, inner])))
    after = np.median(np.abs(_cents(out[inner], truth[1, inner])))
    assert before > 15 and after < 3


def test_unvoiced_frames_and_far_tracks_are_left_alone():
    mix, times, truth = _duet()
    voiced = np.ones_like(truth, dtype=bool)
    voiced[1, :20] = False
    given = truth.copy()
    given[1, 30:90] *= 2 ** (300 / 1200)  # a track three semitones off: its partials are not where it says
    out = peak_pitch(mix, RATE, times, given, voiced, 1)
    assert np.array_equal(out[:20], given[1, :20])
    moved = np.abs(_cents(out[30:90], given[1, 30:90]))
    assert (moved > 0).mean() < 0.25 and moved.max() < 40


def test_blocks_do_not_change_the_result():
    mix, times, truth = _duet()
    voiced = np.ones_like(truth, dtype=bool)
    given = truth * 2 ** (10 / 1200)
    whole = peak_pitch(mix, RATE, times, given, voiced, 1, HarmonicPeaks(), block=10_000)
    small = peak_pitch(mix, RATE, times, given, voiced, 1, HarmonicPeaks(), block=7)
    assert np.allclose(whole, small)
