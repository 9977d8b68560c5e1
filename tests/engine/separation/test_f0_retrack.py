"""Pitch re-tracked on the separated stems: a tracked F0 that is late at note changes, a little flat and without
the singers' vibrato is brought toward the sung pitch, and the stems separate better."""
import numpy as np
import pytest
import torch

from engine.dsp import harmonic_bank
from engine.f0.tracks import F0Tracks
from engine.separation.evaluate import framewise_si_sdr
from engine.separation.f0_correction import F0Correction, correct_tracks
from engine.separation.model import SeparationModel, default_model_path
from engine.separation.separate import separate

RATE = 16000
NOTES = ((440.0, 493.88, 523.25, 493.88), (293.66, 329.63, 293.66, 261.63))  # two voices, 0.75 s per note


def sung(seconds: float = 3.0):
    """(mixture [N], stems [V, N], true F0Tracks, tracked-like F0Tracks): two voices singing notes with a
    5.5-Hz vibrato of ±40 cents; the 'tracked' F0 holds each note's pitch 30 cents flat, without vibrato, and
    changes note 5 frames (80 ms) late."""
    frames = int(seconds / 0.016)
    t = np.arange(frames) * 0.016
    true, tracked, stems = [], [], []
    for i, notes in enumerate(NOTES):
        note = np.minimum((t / 0.75).astype(int), len(notes) - 1)
        f = np.array(notes)[note] * 2 ** (40 * np.sin(2 * np.pi * 5.5 * t + i) / 1200)
        late = np.array(notes)[note[np.maximum(np.arange(frames) - 5, 0)]] * 2 ** (-30 / 1200)
        amps = (0.1 / torch.arange(1, 31, dtype=torch.float64) ** (1.0 + 0.3 * i)).expand(1, frames, 30)
        stems.append(harmonic_bank(torch.tensor(f[None]), amps.contiguous(), RATE, 256)[0].numpy())
        true.append(f)
        tracked.append(late)
    stems = np.stack(stems).astype(np.float32)
    stems += 1e-4 * np.random.default_rng(0).standard_normal(stems.shape).astype(np.float32)
    on = np.ones((2, frames), bool)
    return stems.sum(0), stems, F0Tracks(t, np.array(true), on), F0Tracks(t, np.array(tracked), on)


def cents_off(a: F0Tracks, b: F0Tracks) -> np.ndarray:
    return np.abs(1200 * np.log2(a.f0_hz / b.f0_hz))


def sdr(stems: np.ndarray, sep) -> float:
    return float(np.mean([np.mean(framewise_si_sdr(stems[k], sep.stems[k, 0], RATE)) for k in range(2)]))


@pytest.fixture(scope="module")
def shipped_model():
    return SeparationModel.load(default_model_path()).eval()


def test_retracked_pitch_is_closer_to_the_sung_one_and_separates_better(shipped_model):
    mix, stems, true, tracked = sung()
    n = len(mix) // 256
    grid = np.arange(n) * 0.016
    tracked, true = tracked.resampled(grid), true.resampled(grid)
    choice_only = correct_tracks(shipped_model, mix[: n * 256], tracked, F0Correction(retrack=None))
    full = correct_tracks(shipped_model, mix[: n * 256], tracked)   # the default: choice, then re-tracking
    err = {name: cents_off(tr, true) for name, tr in (("tracked", tracked), ("choice", choice_only),
                                                      ("full", full))}
    assert np.median(err["tracked"]) > 25
    assert np.median(err["full"]) < 0.5 * np.median(err["choice"])   # vibrato and the flat offset followed
    assert (err["full"] > 50).mean() < 0.5 * (err["tracked"] > 50).mean()   # late note changes mended

    as_given = separate(mix, RATE, 2, f0=tracked, model=shipped_model)                    # F0 used as given
    corrected = separate(mix, RATE, 2, f0=tracked, model=shipped_model, f0_correction="on")
    assert np.abs(corrected.stems.sum(0)[0] - mix).max() < 1e-5
    assert sdr(stems, corrected) > sdr(stems, as_given) + 1.0


def test_the_lowest_voice_is_tracked_in_its_fundamental_band():
    """A bass stem (A2) that still carries an upper voice's partials, louder than its own: monophonic YIN on the
    raw stem locks onto a subharmonic of the leak; on the stem low-passed just above the bass's search range
    (what the re-tracking does to the lowest voice) it finds the bass."""
    from engine.f0.single import track_single
    from engine.separation.f0_correction import StemRetrack

    frames = int(2.0 / 0.016)

    def tone(f0_hz: float, amps: np.ndarray) -> np.ndarray:
        a = torch.tensor(amps, dtype=torch.float64).expand(1, frames, len(amps)).contiguous()
        return harmonic_bank(torch.full((1, frames), f0_hz, dtype=torch.float64), a, RATE, 256)[0].numpy()

    fmin, fmax = 0.7 * 110.0, 1.4 * 110.0   # the search range the re-tracking gives a bass singing A2
    for leak_hz in (196.0, 233.08, 311.13):
        stem = (tone(110.0, 0.1 / np.arange(1, 21)) + tone(leak_hz, np.full(10, 0.15))).astype(np.float32)
        for band_hz, want_bass in ((None, False), (StemRetrack().lowest_lowpass * fmax, True)):
            y = track_single(stem, RATE, fmin=fmin, fmax=fmax, band_hz=band_hz)
            f = y.f0_hz[0][y.voiced[0]]
            assert y.voiced.mean() > 0.9
            on_bass = np.mean(np.abs(1200 * np.log2(f / 110.0)) < 50)
            assert (on_bass > 0.95) if want_bass else (on_bass < 0.05), (leak_hz, band_hz, on_bass)
