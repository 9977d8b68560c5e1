"""Consistent stem phases: where two voices' partials share STFT bins, the masked stems both carry the mixture's
phase; the phase fit gives each stem phases of its own, so the stems come closer to the voices, and they still
add up to the mixture."""
import numpy as np
import torch

from engine.separation.evaluate import framewise_si_sdr
from engine.separation.masks import apply_masks, stft_size
from engine.separation.phase import PhaseFit, consistent_stems
from engine.separation.separate import separate
from tests.engine.separation.test_f0_retrack import RATE, sdr, shipped_model, sung  # noqa: F401


def two_voices(seconds: float = 2.0) -> np.ndarray:
    """[2, N] a voice on 220 Hz and one on 330 Hz (a fifth: every 3rd / 2nd partial shares 660 Hz, 1320 Hz, ...),
    both with vibrato and 1/k partials."""
    t = np.arange(int(seconds * RATE)) / RATE
    voices = []
    for f0, rate, phase in ((220.0, 5.1, 0.0), (330.0, 5.9, 1.3)):
        pitch = f0 * 2 ** (30 * np.sin(2 * np.pi * rate * t) / 1200)
        angle = 2 * np.pi * np.cumsum(pitch) / RATE
        voices.append(sum(np.sin(k * angle + phase * k) / k for k in range(1, 16)
                          if k * f0 < 0.45 * RATE) * 0.1)
    return np.stack(voices).astype(np.float32)


def ratio_masks(voices: np.ndarray, n_fft: int, hop: int) -> torch.Tensor:
    window = torch.hann_window(n_fft)
    power = torch.stft(torch.tensor(voices), n_fft, hop, window=window, return_complex=True).abs() ** 2
    return power / power.sum(0).clamp_min(1e-20)


def test_the_phase_fit_brings_masked_stems_closer_to_the_voices():
    voices = two_voices()
    mix = torch.tensor(voices.sum(0))[None]
    n_fft = stft_size(RATE)

    def stems_with(phase):
        return apply_masks(mix, lambda n, times: ratio_masks(voices, n, n // 8), RATE, 1 / 8, phase)[:, 0].numpy()

    def score(stems):
        return np.mean([np.mean(framewise_si_sdr(voices[k], stems[k], RATE)) for k in range(2)])

    plain, fitted = stems_with(None), stems_with(PhaseFit())
    assert n_fft == 2048
    assert score(fitted) > score(plain) + 0.4    # measured: 13.9 -> 14.5 dB
    assert np.abs(fitted.sum(0) - voices.sum(0)).max() < 1e-5      # still exactly the mixture


def test_without_iterations_the_stems_are_the_masked_mixture():
    spec = torch.randn(1, 33, 20, dtype=torch.complex64)
    masks = torch.softmax(torch.randn(3, 33, 20), 0)
    out = consistent_stems(spec, masks, None, None, PhaseFit(iterations=0))
    assert torch.equal(out, spec[None] * masks[:, None])


def test_the_phase_fit_runs_by_default_only_after_a_refinement(shipped_model):
    mix, stems, true, _ = sung(1.5)
    plain = separate(mix, RATE, 2, f0=true, model=shipped_model)
    refined = separate(mix, RATE, 2, f0=true, model=shipped_model, refine_steps=2)
    forced = separate(mix, RATE, 2, f0=true, model=shipped_model, phase_fit="on")
    assert not any("phase" in n for n in plain.notes)
    assert any("phase" in n for n in refined.notes) and any("phase" in n for n in forced.notes)
    assert not np.allclose(forced.stems, plain.stems)
    assert sdr(stems, forced) > sdr(stems, plain)
    for sep in (refined, forced):
        assert np.abs(sep.stems.sum(0)[0] - mix).max() < 1e-5
