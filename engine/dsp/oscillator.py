"""Harmonic oscillator bank: a sum of sinusoids at integer multiples of F0 (DDSP, Engel et al., ICLR 2020)."""
from __future__ import annotations

import math

import torch

from engine.dsp.frames import frames_to_samples


def harmonic_bank(f0_hz: torch.Tensor, amplitudes: torch.Tensor, sample_rate: int, hop: int,
                  n_samples: int | None = None, phase0: torch.Tensor | None = None) -> torch.Tensor:
    """Phase-continuous, anti-aliased harmonic signal.

    f0_hz: [batch, frames] in Hz; amplitudes: [batch, frames, K] linear amplitude of harmonics 1..K;
    phase0: optional [batch] start phase in cycles. Returns [batch, n_samples] (default frames * hop).
    F0 and amplitudes are interpolated linearly between frames; the phase is the running sum of the
    instantaneous frequency (accumulated in float64 and wrapped, so long signals keep exact pitch).
    Harmonics at or above Nyquist get amplitude 0 sample by sample, with a short fade just below it.
    """
    n_samples = n_samples or f0_hz.shape[1] * hop
    k = torch.arange(1, amplitudes.shape[-1] + 1, device=f0_hz.device, dtype=f0_hz.dtype)
    f0 = frames_to_samples(f0_hz.unsqueeze(-1), hop, n_samples).squeeze(-1)  # [B, N]
    amps = frames_to_samples(amplitudes, hop, n_samples)  # [B, N, K]
    step = f0.double() / sample_rate
    cycles = torch.cumsum(step, dim=1) - step  # phase at sample 0 is phase0
    if phase0 is not None:
        cycles = cycles + phase0.double().unsqueeze(1)
    cycles = cycles - cycles.detach().floor()
    cycles = cycles.to(f0_hz.dtype)
    freqs = f0.unsqueeze(-1) * k  # [B, N, K]
    nyquist = sample_rate / 2
    # 1 below 0.95 * Nyquist, falling linearly to 0 at Nyquist, 0 above: no aliasing, no clicks.
    alias_gain = ((nyquist - freqs) / (0.05 * nyquist)).clamp(0.0, 1.0)
    phases = 2 * math.pi * ((cycles.unsqueeze(-1) * k) % 1.0)
    return (amps * alias_gain * torch.sin(phases)).sum(-1)
