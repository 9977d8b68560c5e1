"""Per-harmonic gains fitted to the mixture, and the vibrato-aware (window F0) rendering of the masks."""
import math

import numpy as np
import torch

from engine.separation.harmonic_fit import GainFit, fit_gains, gained_power, gains_at
from engine.separation.masks import FIT_RENDER, apply_masks, wiener_masks
from engine.voice import VoiceModel

from .conftest import chord

RATE = 16000
N_FFT = 2048


def _theta(f0s, frames, vm):
    v = len(f0s)
    return {"f0_hz": torch.tensor(f0s, dtype=torch.float32)[:, None].expand(v, frames).contiguous(),
            "voiced": torch.ones(v, frames), "loudness_db": torch.full((v, frames), -20.0),
            "hnr_db": torch.full((v, frames), 30.0), "tilt_db_per_octave": torch.full((v, frames), -6.0),
            "lsf_rad": (torch.arange(1, 21) * math.pi / 21).expand(v, frames, 20).contiguous(),
            "noise_bands_db": torch.zeros(v, frames, vm.n_noise_bands)}


def test_fitted_gains_recover_a_boosted_harmonic():
    """A voice whose 3rd harmonic is 6 dB above what θ says: the fit finds about +6 dB there, ~0 dB elsewhere,
    and the other voice's gains stay near 0 dB."""
    vm = VoiceModel()
    theta = _theta([220.0, 311.13], 40, vm)
    times = torch.arange(20, dtype=torch.float64) * 0.032
    parts = vm.power_spectrogram(**theta, sample_rate=RATE, n_fft=N_FFT, frame_times_s=times, parts=True,
                                 **FIT_RENDER)
    truth = torch.ones(2, 20, 40)
    truth[0, :, 3] = 4.0  # index = harmonic number
    mixture = gained_power(parts, truth).sum(0)
    gains = fit_gains(parts, mixture, GainFit(iterations=60, knot_s=0.128), frame_s=0.032)
    db = 10 * torch.log10(gains[:, 2:-2])  # away from the edge knots
    assert torch.isfinite(gains).all()
    assert abs(float(db[0, :, 3].mean()) - 6.0) < 1.0
    assert float(db[0, :, [1, 2, 4, 5]].abs().max()) < 1.0
    assert float(db[1, :, 1:10].abs().max()) < 1.0


def test_gains_stay_bounded_and_finite_on_silence_and_noise():
    vm = VoiceModel()
    theta = _theta([196.0, 130.81], 30, vm)
    times = torch.arange(15, dtype=torch.float64) * 0.032
    parts = vm.power_spectrogram(**theta, sample_rate=RATE, n_fft=N_FFT, frame_times_s=times, parts=True,
                                 **FIT_RENDER)
    for mixture in (torch.zeros(15, N_FFT // 2 + 1), torch.rand(15, N_FFT // 2 + 1) * 1e3):
        gains = fit_gains(parts, mixture, GainFit(iterations=20, max_db=12.0))
        assert torch.isfinite(gains).all()
        assert float(gains.max()) <= 10 ** 1.2 * 1.0001 and float(gains.min()) >= 10 ** -1.2 / 1.0001


def test_gains_at_interpolates_in_time():
    gains = torch.stack([torch.ones(3, 2), 3 * torch.ones(3, 2)], 1)  # [V=3, T=2, K=2]
    out = gains_at(gains, torch.tensor([0.0, 1.0]), torch.tensor([-1.0, 0.25, 2.0]))
    assert torch.allclose(out[0, :, 0], torch.tensor([1.0, 1.5, 3.0]))


def test_fitted_masks_still_sum_to_the_mixture_and_separate_better(tiny_model):
    """The untrained tiny model's θ is poor; fitting the gains to the mixture must still give stems that add up
    to the mixture, and closer to the true stems than θ's own rendering."""
    from engine.separation.separate import separate
    from engine.separation.train import si_sdr

    mix, stems, tracks = chord(RATE, 2.0, f0s=(440.0, 293.66))
    plain = separate(mix, RATE, 2, f0=tracks, model=tiny_model, harmonic_fit="off")
    fitted = separate(mix, RATE, 2, f0=tracks, model=tiny_model, harmonic_fit="on")
    assert np.abs(fitted.stems.sum(0)[0] - mix).max() < 1e-5
    assert any("per-harmonic" in n for n in fitted.notes) and not any("per-harmonic" in n for n in plain.notes)
    score = lambda sep: np.mean([si_sdr(stems[v], sep.stems[v, 0]) for v in range(2)])  # noqa: E731
    assert score(fitted) > score(plain) + 0.4  # measured +0.8 dB


def test_refined_model_gets_the_lighter_fit(tiny_model):
    """auto: the full fit for a model as shipped, the light one once it has been refined on the recording."""
    from engine.separation.harmonic_fit import DEFAULT_FIT, REFINED_FIT
    from engine.separation.separate import separate

    mix, _, tracks = chord(RATE, 1.0, f0s=(440.0, 293.66))
    refined = separate(mix, RATE, 2, f0=tracks, model=tiny_model, refine_steps=1).notes
    shipped = separate(mix, RATE, 2, f0=tracks, model=tiny_model).notes
    assert any(f"({REFINED_FIT.iterations} updates)" in n for n in refined)
    assert any(f"({DEFAULT_FIT.iterations} updates)" in n for n in shipped)


def test_window_f0_rendering_follows_vibrato():
    """A voice with a 5.5-Hz, ±96-cent vibrato beside a steady one: masks that render each frame's harmonics at
    the F0's mean and spread over the window give the vibrato voice a better stem than the centre frame's F0."""
    from engine.dsp import harmonic_bank
    from engine.separation.train import si_sdr

    vm = VoiceModel()
    frames, hop = 250, 256
    t = torch.arange(frames) * 0.016
    f0 = torch.stack([330.0 * 2 ** (0.08 * torch.sin(2 * math.pi * 5.5 * t)), torch.full((frames,), 247.0)])
    amps = (0.1 / torch.arange(1, 31)).expand(2, frames, 30).contiguous()
    stems = harmonic_bank(f0.double(), amps.double(), RATE, hop)
    mix = stems.sum(0).float()
    theta = _theta([330.0, 247.0], frames, vm)
    theta["f0_hz"] = f0.float()
    scores = {}
    for window_f0 in (False, True):
        def masks(n_fft, times, window_f0=window_f0):
            return wiener_masks(vm.power_spectrogram(**theta, sample_rate=RATE, n_fft=n_fft, frame_times_s=times,
                                                     lobe_scale=0.6, noise_scale=0.1, window_f0=window_f0))
        out = apply_masks(mix[None], masks, RATE)[:, 0].numpy()
        scores[window_f0] = si_sdr(stems[0].numpy(), out[0])
    assert scores[True] > scores[False] + 0.5, scores  # measured +1.15 dB


def test_freq_spread_widens_a_partial_a_little():
    from engine.separation.masks import freq_spread

    power = torch.zeros(1, 41, 3)
    power[0, 20] = 1.0
    out = freq_spread(power, bin_hz=10.0, half_width_hz=40.0, gain=0.01)
    assert torch.allclose(out[0, 20], torch.full((3,), 1 + 0.01 / 9))
    assert float(out[0, 16, 0]) > 0 and float(out[0, 15, 0]) == 0 and torch.allclose(out[0, 24], out[0, 16])


def test_window_rendering_sees_a_note_starting_inside_the_window():
    """A frame centred 32 ms before a note's onset: its 128-ms window holds part of the note, and the
    window-aware rendering gives it part of the note's power (the centre-frame rendering gives it none)."""
    vm = VoiceModel()
    theta = _theta([220.0], 100, vm)
    theta["voiced"][:, :50] = 0.0
    theta["hnr_db"][:] = 40.0
    onset = 50 * 0.016
    times = torch.tensor([onset - 0.032, onset + 0.2], dtype=torch.float64)
    power = {w: vm.power_spectrogram(**theta, sample_rate=RATE, n_fft=N_FFT, frame_times_s=times,
                                     window_f0=w).sum(1)[0] for w in (False, True)}
    assert float(power[False][0]) < 1e-3 * float(power[False][1])
    assert 0.02 * float(power[True][1]) < float(power[True][0]) < 0.5 * float(power[True][1])
