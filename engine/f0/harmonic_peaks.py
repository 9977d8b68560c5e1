"""A voice's fine pitch read from the mixture's harmonic peaks.

A low voice has many partials below a few kHz, and the n-th partial moves n times as far as the fundamental: its
peak frequency divided by n pins the pitch far more finely than the fundamental's own peak or a period measured on
a separated stem that still carries leakage. Around each of the voice's predicted partials (within ``tol_cents``)
the mixture's STFT magnitude is searched for its peak, the peak's frequency refined by a parabola through the log
magnitudes of its three bins (Smith & Serra 1987), and the frame's pitch offset is the magnitude-weighted mean of
the partials' offsets (cents). Partials within ``clear_bins`` window bins of another voice's partial are left out:
their peak is shared. Harmonic-peak frequency estimation as in sinusoidal analysis (McAulay & Quatieri 1986);
used on the lowest voice after the stem re-tracking (engine.separation.f0_correction, docs/f0.md, fourteenth round).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class HarmonicPeaks:
    """n_fft: analysis window (samples, Hann), zero-padded twice; max_hz: partials above are not used;
    tol_cents: a partial's peak is searched, and kept, within this of the track; clear_bins: a partial closer
    than this many window bins (sample_rate / n_fft Hz) to another voice's partial is left out; min_partials:
    fewer usable partials leave the frame as it was; max_spread_cents: so does a weighted spread (standard
    deviation) of the partials' offsets above this: peaks scattered over the search are not this voice's series."""

    n_fft: int = 1536
    max_hz: float = 2000.0
    tol_cents: float = 40.0
    clear_bins: float = 3.0
    min_partials: int = 2
    max_spread_cents: float | None = 10.0


def _magnitudes(x: np.ndarray, sample_rate: int, times_s: np.ndarray, n_fft: int) -> np.ndarray:
    """[T, n_fft + 1] STFT magnitude of x [N] with Hann windows centred on times_s, zero-padded to 2 n_fft."""
    pad = np.pad(np.asarray(x, dtype=np.float64), (n_fft, n_fft))
    starts = np.round(np.asarray(times_s) * sample_rate).astype(int) + n_fft - n_fft // 2
    starts = np.clip(starts, 0, len(pad) - n_fft)
    frames = pad[starts[:, None] + np.arange(n_fft)] * np.hanning(n_fft)
    return np.abs(np.fft.rfft(frames, n=2 * n_fft, axis=1))


def peak_pitch(x: np.ndarray, sample_rate: int, times_s: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray,
               voice: int, cfg: HarmonicPeaks | None = None, block: int = 512) -> np.ndarray:
    """[T] F0 (Hz) of ``voice`` moved onto the mixture's harmonic peaks where it is voiced and enough partials
    are clear; elsewhere as given. x: [N] mixture at ``sample_rate``; times_s: [T]; f0_hz, voiced: [V, T]. Frames
    go ``block`` at a time (memory flat in the length)."""
    cfg = cfg or HarmonicPeaks()
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    sung = np.asarray(voiced, dtype=bool) & (f0_hz > 0)
    out = f0_hz[voice].copy()
    frames = np.nonzero(sung[voice])[0]
    for i in range(0, len(frames), block):
        part = frames[i:i + block]
        out[part] = _block_pitch(x, sample_rate, np.asarray(times_s)[part], f0_hz[:, part], sung[:, part], voice, cfg)
    return out


def _block_pitch(x, sample_rate, times_s, f0_hz, sung, voice, cfg) -> np.ndarray:
    """[t] pitch of ``voice`` on frames where it sings (f0_hz, sung: [V, t])."""
    f0 = f0_hz[voice]                                                # [t]
    n_h = int(cfg.max_hz // f0.min())
    if n_h < cfg.min_partials:
        return f0
    fh = f0[:, None] * np.arange(1, n_h + 1)                         # [t, H] predicted partials (Hz)
    top = min(cfg.max_hz, sample_rate / 2 * 0.95)
    usable = fh < top
    clear = cfg.clear_bins * sample_rate / cfg.n_fft
    for u in range(f0_hz.shape[0]):                                  # partials shared with another voice's
        if u != voice:
            fu = np.where(sung[u], f0_hz[u], np.nan)[:, None]
            usable &= ~(np.abs(fh - np.maximum(np.round(fh / fu), 1.0) * fu) < clear)  # NaN: u silent
    mag = _magnitudes(x, sample_rate, times_s, cfg.n_fft)            # [t, F]
    df = sample_rate / (2 * cfg.n_fft)
    ratio = 2.0 ** (cfg.tol_cents / 1200) - 1
    reach = np.maximum(2, np.ceil(np.minimum(fh, top) / df * ratio))  # [t, H] search radius (bins)
    offs = np.arange(-int(reach.max()), int(reach.max()) + 1)
    bins = np.clip(np.round(fh / df).astype(int)[..., None] + offs, 1, mag.shape[1] - 2)  # [t, H, R]
    r = np.arange(len(f0))[:, None]
    inside = np.abs(offs) <= reach[..., None]
    best = np.argmax(np.where(inside, mag[r[..., None], bins], -1.0), axis=-1)  # [t, H]
    k = np.take_along_axis(bins, best[..., None], -1)[..., 0]
    edge = np.abs(offs[best]) >= reach                               # no local maximum inside the search
    a, b, c = (np.log(mag[r, k + d] + 1e-12) for d in (-1, 0, 1))
    denom = a - 2 * b + c
    delta = np.clip(np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1.0), 0.0), -0.5, 0.5)
    cents = 1200 * np.log2((k + delta) * df / fh)
    keep = usable & ~edge & (np.abs(cents) < cfg.tol_cents)
    weight = np.where(keep, mag[r, k], 0.0)
    total = np.maximum(weight.sum(1), 1e-12)
    shift = (weight * np.where(keep, cents, 0.0)).sum(1) / total
    ok = keep.sum(1) >= cfg.min_partials
    if cfg.max_spread_cents is not None:
        spread = np.sqrt((weight * np.where(keep, cents - shift[:, None], 0.0) ** 2).sum(1) / total)
        ok &= spread <= cfg.max_spread_cents
    return np.where(ok, f0 * 2.0 ** (shift / 1200), f0)
