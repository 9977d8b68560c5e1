"""Stems from the mixture: Wiener-style soft masks built from the voices' rendered power spectra, applied to the
complex STFT of the mixture at its own rate and over its full band. The masks add up to 1 in every bin, so the
stems add up to the mixture (up to float rounding)."""
from __future__ import annotations

import math

import torch

from engine.separation.phase import PhaseFit, consistent_stems

MASK_WINDOW_S = 0.128
# The masks are made from a sharper rendering of θ than the expected power the loss fits: harmonic lobes
# narrower than the Hann window's own (MASK_LOBE_SCALE × its width) and the noise part scaled by
# MASK_NOISE_SCALE, so a bin between two voices' partials and the broadband noise floor are not shared out as
# much. Measured on CSD (oracle F0, see docs/separation.md).
MASK_LOBE_SCALE = 0.6
MASK_NOISE_SCALE = 0.1
MASK_RENDER = {"lobe_scale": MASK_LOBE_SCALE, "noise_scale": MASK_NOISE_SCALE, "window_f0": True}
# The rendering the per-harmonic gains are fitted on (engine.separation.harmonic_fit): the expected power.
FIT_RENDER = {"lobe_scale": 1.0, "noise_scale": 1.0, "window_f0": True}


def stft_size(sample_rate: int) -> int:
    """A power-of-two FFT size of about 128 ms at ``sample_rate`` (2048 at 16 kHz, 4096 at 44.1/48 kHz): long
    enough to resolve the harmonics of two voices a semitone apart in the bass range (measured on CSD: the
    oracle mask and the harmonic comb gain about 1 dB over 64 ms windows)."""
    return 2 ** int(round(math.log2(MASK_WINDOW_S * sample_rate)))


# Each voice's mask power also spreads a little in frequency: + MASK_SPREAD_HZ_GAIN x its mean over
# ± MASK_SPREAD_HZ (partials' skirts wider than the Gaussian lobes). CSD, oracle F0, refined model: +0.11 dB
# (gains 0.005-0.02, widths ± 23-62 Hz within 0.04 dB; docs/separation.md).
MASK_SPREAD_HZ = 40.0
MASK_SPREAD_HZ_GAIN = 0.01


def freq_spread(power: torch.Tensor, bin_hz: float, half_width_hz: float = MASK_SPREAD_HZ,
                gain: float = MASK_SPREAD_HZ_GAIN) -> torch.Tensor:
    """power [V, F, T] + gain × its mean over ± ``half_width_hz`` around each bin."""
    half = int(round(half_width_hz / bin_hz))
    if gain <= 0 or half < 1:
        return power
    v, f, t = power.shape
    x = power.transpose(1, 2).reshape(v * t, 1, f)
    mean = torch.nn.functional.avg_pool1d(x, 2 * half + 1, 1, half, count_include_pad=False)
    return power + gain * mean.reshape(v, t, f).transpose(1, 2)


def wiener_masks(power: torch.Tensor, floor: float = 1e-12) -> torch.Tensor:
    """power: [V, F, T] (>= 0) -> masks [V, F, T] summing to 1 over V (equal shares where all are ~0)."""
    total = power.sum(0, keepdim=True)
    v = power.shape[0]
    return (power + floor / v) / (total + floor)


# STFT hop of the masks, as a fraction of their window. An eighth gains +0.03-0.04 dB on CSD (the masks' own time
# detail) but renders twice as many frames (+70 % of a separation's time): only after a refinement, which takes
# minutes anyway (docs/separation.md, eighth and ninth rounds).
MASK_HOP_FRACTION = 0.25
MASK_HOP_FRACTION_REFINED = 0.125


def apply_masks(mixture: torch.Tensor, masks_fn, sample_rate: int, hop_fraction: float = MASK_HOP_FRACTION,
                phase: PhaseFit | None = None) -> torch.Tensor:
    """mixture: [C, N] at ``sample_rate``; masks_fn(n_fft, frame_times_s [T]) -> masks [V, F, T]; phase: the
    stems' phases made consistent (engine.separation.phase), else the mixture's. Returns stems [V, C, N]."""
    n_fft = stft_size(sample_rate)
    hop = max(1, int(round(n_fft * hop_fraction)))
    window = torch.hann_window(n_fft, device=mixture.device, dtype=mixture.dtype)
    length = mixture.shape[-1]

    def stft(signals):
        return torch.stft(signals, n_fft, hop_length=hop, window=window, center=True, return_complex=True)

    def istft(spectra):
        return torch.istft(spectra, n_fft, hop_length=hop, window=window, center=True, length=length)

    spec = stft(mixture)  # [C, F, T]
    times = torch.arange(spec.shape[-1], device=mixture.device, dtype=torch.float64) * (hop / sample_rate)
    masks = masks_fn(n_fft, times).to(mixture.dtype)  # [V, F, T]
    if phase is None:
        stems = spec.unsqueeze(0) * masks.unsqueeze(1)  # [V, C, F, T]
    else:  # channel by channel: half the working memory for stereo
        stems = torch.cat([consistent_stems(spec[c:c + 1], masks, stft, istft, phase)
                           for c in range(spec.shape[0])], 1)
    v, c = stems.shape[:2]
    return istft(stems.reshape(v * c, *spec.shape[1:])).reshape(v, c, -1)
