"""Per-harmonic gains fitted to the mixture: a richer power model for the masks, fitted unsupervised.

The voice model renders every harmonic of a voice with the power its θ gives it (loudness, glottal tilt,
all-pole envelope). Real voices depart from that smooth law harmonic by harmonic, and those departures decide
how a bin shared by two voices is split. Here every voice's rendered power is split into its components
(:class:`engine.voice.model.PowerParts`: the lobe of each harmonic, and the noise) and each harmonic of each
voice gets a gain, fitted to the MIXTURE's power (never the stems) by the multiplicative updates of
non-negative matrix factorisation for the Kullback–Leibler divergence with the lobes held fixed (Lee & Seung,
NIPS 2000; harmonic dictionaries as in score-informed NMF, Ewert & Müller, ICASSP 2012). The gains start at 1
(θ's own rendering), live on knots every ``knot_s`` seconds (linear in between), are bounded by ``max_db`` and
get a few iterations only. The fit runs at the model's rate on the expected power (true lobe widths), up to
``max_hz``; the masks apply the gains to their own, sharper rendering at the input's rate (harmonics above the
fitted ones take the gain of the highest fitted one).

CSD, oracle F0 (docs/separation.md): +2.1 dB for the unrefined model (DEFAULT_FIT); after a refinement, which
already fits the mixture through θ, only a light fit helps (REFINED_FIT, +0.1 dB).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from engine.separation.masks import FIT_RENDER, stft_size
from engine.voice.model import PowerParts


@dataclass
class GainFit:
    """iterations: multiplicative updates; knot_s: seconds between the gains' knots; max_db: bound on |gain|
    in dB; max_hz: the band fitted; hop_fraction: STFT hop of the fit as a fraction of its 128-ms window;
    floor_rel: floor added to both powers, relative to the mixture's mean power."""

    iterations: int = 10
    knot_s: float = 0.256
    max_db: float = 20.0
    max_hz: float = 8000.0
    hop_fraction: float = 0.5
    floor_rel: float = 1e-3


DEFAULT_FIT = GainFit()
# After a refinement θ already fits the mixture: a light fit (3 updates, gains within ±10 dB). CSD, oracle F0,
# no fit / this / DEFAULT_FIT: refine 500 9.65 / 9.73 / 9.51 dB, refine 100 8.83 / 9.29 / 9.24 dB; estimated F0,
# refine 500: 6.27 / 6.32 / 6.01 dB.
REFINED_FIT = GainFit(iterations=3, max_db=10.0)


def knot_weights(n_frames: int, spacing: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """[T, T_k] linear-interpolation (hat) weights from knots every ``spacing`` frames to frames (rows sum
    to 1); spacing <= 1: one knot per frame (identity)."""
    if spacing <= 1:
        return torch.eye(n_frames, dtype=dtype, device=device)
    n_knots = int(math.ceil((n_frames - 1) / spacing)) + 1
    pos = torch.arange(n_frames, dtype=dtype, device=device) / spacing
    return (1 - (pos[:, None] - torch.arange(n_knots, dtype=dtype, device=device)[None]).abs()).clamp(min=0)


def _indices(parts: PowerParts) -> tuple[torch.Tensor, torch.Tensor, int]:
    k_near = parts.k_near.long()
    k_nb = (k_near + parts.side.long()).clamp(min=0)
    return k_near, k_nb, int(torch.maximum(k_near.max(), k_nb.max())) + 1


def _harmonic_sum(parts: PowerParts, values: torch.Tensor, k_near, k_nb, n_k: int) -> torch.Tensor:
    """sum over bins of each harmonic's lobe times ``values`` [V or 1, T, F] -> [V, T, K]."""
    out = torch.zeros(parts.near.shape[:2] + (n_k,), dtype=parts.near.dtype, device=parts.near.device)
    out.scatter_add_(2, k_near, parts.near * values)
    out.scatter_add_(2, k_nb, parts.neighbour * values)
    return out


def gained_power(parts: PowerParts, gains: torch.Tensor, k_near=None, k_nb=None) -> torch.Tensor:
    """Every voice's power [V, T, F] with ``gains`` [V, T, K] on harmonics 0..K-1 (index = harmonic number)."""
    if k_near is None:
        k_near, k_nb, _ = _indices(parts)
    return parts.near * gains.gather(2, k_near) + parts.neighbour * gains.gather(2, k_nb) + parts.noise


def fit_gains(parts: PowerParts, mixture_power: torch.Tensor, fit: GainFit | None = None,
              frame_s: float = 0.032) -> torch.Tensor:
    """Gains [V, T, K] (index = harmonic number) fitted so that the voices' powers add up to ``mixture_power``
    [T, F] (KL divergence). parts: the voices' power components, each [V, T, F], on frames every ``frame_s``
    seconds. The gains are linear interpolations of gains on knots every ``fit.knot_s`` seconds; the knots'
    gains are what is fitted (each knot's atom is its harmonic's lobes weighted by the interpolation, so the
    updates stay monotone)."""
    fit = fit or DEFAULT_FIT
    k_near, k_nb, n_k = _indices(parts)
    v, t, _ = parts.near.shape
    w = knot_weights(t, fit.knot_s / frame_s, parts.near.dtype, parts.near.device)  # [T, Tk]
    knots = torch.ones(v, w.shape[1], n_k, dtype=parts.near.dtype, device=parts.near.device)
    gains = torch.einsum("tk,vkh->vth", w, knots)
    floor = fit.floor_rel * float(mixture_power.mean())
    target = (mixture_power + floor).unsqueeze(0)
    den = torch.einsum("tk,vth->vkh", w, _harmonic_sum(parts, torch.ones_like(target), k_near, k_nb, n_k)) + 1e-30
    lo, hi = 10 ** (-fit.max_db / 10), 10 ** (fit.max_db / 10)
    for _ in range(fit.iterations):
        ratio = target / (gained_power(parts, gains, k_near, k_nb).sum(0, keepdim=True) + floor)
        num = torch.einsum("tk,vth->vkh", w, _harmonic_sum(parts, ratio, k_near, k_nb, n_k))
        knots = (knots * (num + 1e-30) / den).clamp(lo, hi)
        gains = torch.einsum("tk,vkh->vth", w, knots)
    return gains


def fit_chunk_gains(voice, theta: dict, mono: torch.Tensor, fit: GainFit | None = None):
    """Per-harmonic gains of every voice fitted to one chunk of the mixture at the model's rate.

    voice: :class:`engine.voice.VoiceModel`; theta: θ of the voices ([V, T_model, ...]) over the chunk; mono:
    [N] the chunk at the model's rate. Returns (gains [V, T_fit, K] for harmonics 1..K, frame times [T_fit] in
    seconds from the chunk's start); see :func:`gains_at`."""
    fit = fit or DEFAULT_FIT
    sr = voice.sample_rate
    n_fft = stft_size(sr)
    hop = max(1, int(round(n_fft * fit.hop_fraction)))
    window = torch.hann_window(n_fft, device=mono.device, dtype=mono.dtype)
    spec = torch.stft(mono, n_fft, hop_length=hop, window=window, center=True, return_complex=True)
    times = torch.arange(spec.shape[-1], device=mono.device, dtype=torch.float64) * (hop / sr)
    parts = voice.power_spectrogram(**theta, sample_rate=sr, n_fft=n_fft, frame_times_s=times, parts=True,
                                    max_hz=fit.max_hz, **FIT_RENDER)
    power = (spec.real ** 2 + spec.imag ** 2)[: parts.near.shape[-1]].transpose(0, 1)
    gains = fit_gains(parts, power.to(parts.near.dtype), fit, hop / sr)
    return gains[..., 1:], times


def gains_at(gains: torch.Tensor, times: torch.Tensor, at_s: torch.Tensor) -> torch.Tensor:
    """gains [V, T, K] on frames at ``times`` [T] (s, evenly spaced) read at ``at_s`` [T'] -> [V, T', K]."""
    step = float(times[1] - times[0]) if len(times) > 1 else 1.0
    pos = ((at_s.to(torch.float64) - float(times[0])) / step).clamp(0, len(times) - 1)
    i0 = pos.floor().long().clamp(max=len(times) - 1)
    i1 = (i0 + 1).clamp(max=len(times) - 1)
    frac = (pos - i0.to(pos.dtype)).to(gains.dtype)[None, :, None]
    return gains[:, i0] * (1 - frac) + gains[:, i1] * frac
