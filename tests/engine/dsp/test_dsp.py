"""The differentiable DSP blocks: exact pitch, no aliasing, stable filters, gradients."""
import math

import numpy as np
import torch

from engine.dsp import (allpole_filter, allpole_filter_naive, filtered_noise, harmonic_bank, lpc_envelope_db,
                        lsf_to_lpc, multiscale_spectral_loss)


def _peak_hz(x: np.ndarray, sr: int, lo: float, hi: float) -> float:
    n = 1 << 21
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    band = (freqs > lo) & (freqs < hi)
    i = np.flatnonzero(band)[np.argmax(spec[band])]
    a, b, c = np.log(spec[i - 1: i + 2])
    return freqs[i] + 0.5 * (a - c) / (a - 2 * b + c) * (freqs[1] - freqs[0])


def test_synthesised_f0_equals_requested_within_one_cent():
    sr, hop, frames = 16000, 256, 125
    for f0 in (82.41, 220.0, 659.26, 1046.5):
        f0_hz = torch.full((1, frames), f0)
        amps = torch.zeros(1, frames, 3)
        amps[..., 0] = 1.0
        x = harmonic_bank(f0_hz, amps, sr, hop)[0].numpy()
        measured = _peak_hz(x, sr, f0 * 0.9, f0 * 1.1)
        assert abs(1200 * math.log2(measured / f0)) < 1.0, (f0, measured)


def test_phase_continuous_across_frames_and_chunks():
    sr, hop = 16000, 64
    f0 = torch.linspace(200, 400, 20).unsqueeze(0)
    amps = torch.ones(1, 20, 1)
    whole = harmonic_bank(f0, amps, sr, hop)
    assert whole.diff().abs().max() < 2 * math.pi * 400 / sr * 1.01  # no jump larger than one sample's phase step


def test_harmonics_above_nyquist_are_silent():
    sr, hop = 16000, 256
    f0 = torch.full((1, 64), 3000.0)
    x = harmonic_bank(f0, torch.ones(1, 64, 8), sr, hop)[0].numpy()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    near_harmonic = np.zeros_like(freqs, dtype=bool)
    for k in (1, 2):
        near_harmonic |= np.abs(freqs - 3000 * k) < 20
    assert spec[~near_harmonic].sum() < 1e-6 * spec.sum()


def test_random_lsfs_give_stable_filters():
    torch.manual_seed(1)
    lsf = torch.sort(torch.rand(50, 20) * 3.13 + 0.005).values.double()
    a = lsf_to_lpc(lsf)
    assert torch.allclose(a[:, 0], torch.ones(50, dtype=torch.float64))
    for row in a.numpy():
        assert np.abs(np.roots(row)).max() < 1.0


def test_filter_response_matches_lpc_envelope():
    torch.manual_seed(2)
    lsf = torch.tensor([[0.2, 0.25, 0.7, 0.8, 1.3, 1.4, 2.0, 2.2, 2.6, 2.7]])
    a = lsf_to_lpc(lsf)
    n = 1 << 17
    x = torch.randn(1, n)
    y = allpole_filter(x, a.unsqueeze(1).expand(1, n, a.shape[-1]).contiguous())[0].numpy()
    seg = 1024
    frames = y[: n // seg * seg].reshape(-1, seg) * np.hanning(seg)
    psd = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(0) / (np.hanning(seg) ** 2).sum()
    measured_db = 10 * np.log10(psd)
    envelope = lpc_envelope_db(a.double(), seg // 2 + 1)[0].numpy()
    inner = slice(4, -4)
    assert np.median(np.abs(measured_db[inner] - envelope[inner])) < 0.5


def test_torchlpc_filter_equals_naive_loop():
    torch.manual_seed(3)
    lsf = torch.sort(torch.rand(2, 200, 8) * 3.0 + 0.05).values
    a = lsf_to_lpc(lsf.double())
    x = torch.randn(2, 200, dtype=torch.float64)
    assert torch.allclose(allpole_filter(x, a), allpole_filter_naive(x, a), atol=1e-9)


def test_noise_power_is_as_requested():
    gen = torch.Generator().manual_seed(4)
    bands = torch.randn(2, 400, 12) * 10
    power = torch.tensor([[0.01], [0.2]]).expand(2, 400)
    x = filtered_noise(bands, power, 16000, 256, generator=gen)
    measured = x[:, 2000:-2000].pow(2).mean(1)
    assert torch.allclose(measured, torch.tensor([0.01, 0.2]), rtol=0.1)


def test_gradcheck_float64_small_cases():
    sr, hop = 8000, 8
    f0 = (torch.rand(1, 4, dtype=torch.float64) * 300 + 200).requires_grad_()
    amps = torch.rand(1, 4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, a: harmonic_bank(f, a, sr, hop), (f0, amps))

    lsf = (torch.sort(torch.rand(1, 4, 4, dtype=torch.float64) * 2.8 + 0.1).values).requires_grad_()
    x = torch.randn(1, 32, dtype=torch.float64, requires_grad=True)

    def filt(x, lsf):
        from engine.dsp.frames import frames_to_samples
        return allpole_filter(x, lsf_to_lpc(frames_to_samples(lsf, hop, 32)))

    assert torch.autograd.gradcheck(filt, (x, lsf))

    bands = torch.randn(1, 4, 5, dtype=torch.float64, requires_grad=True)
    power = (torch.rand(1, 4, dtype=torch.float64) + 0.1).requires_grad_()
    noise = lambda b, p: filtered_noise(b, p, sr, hop, generator=torch.Generator().manual_seed(0))  # noqa: E731
    assert torch.autograd.gradcheck(noise, (bands, power))

    target = torch.randn(1, 256, dtype=torch.float64)
    est = torch.randn(1, 256, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda e: multiscale_spectral_loss(target, e, (64, 32)), (est,))
