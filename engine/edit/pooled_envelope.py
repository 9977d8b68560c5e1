"""A voice's spectral envelope averaged over a phrase from its harmonic amplitudes (a pitch-corrected long-term
average spectrum), and the frequency warp between two such envelopes: how far did the formants move?

Why: one frame of a high voice samples its envelope only at its harmonics, 300-900 Hz apart for a soprano, and an
LPC fit to one frame, or to the ordinary long-term average spectrum (LTAS), reads where the harmonics lie as much
as where the formants lie. Boersma & Kovačić (2006, "Spectral characteristics of three styles of Croatian folk
singing", JASA 119(3); Praat's "Ltas (pitch-corrected)") average instead each voiced frame's envelope through its
own harmonic peaks: each frame contributes at every frequency, the harmonics of different notes fall at different
places, and the average no longer depends on F0.

Here: harmonic peaks of every voiced frame (F0 by motet's tracker, Hann window of 5 periods of the median F0),
the frame's envelope linear in dB over log2 f between its harmonics, its mean level over 300-3000 Hz removed,
averaged over frames on a 1/64-octave grid. The warp factor between two such envelopes is the α minimising the
mean squared difference ``E_after(u + log2 α) − E_before(u) − c`` over a band of u = log2 f (``c`` a free level);
on a log-frequency axis a uniform warp ``f -> α·f`` is a translation by ``log2 α``.

Tried and dropped (docs/edit.md): fitting one smooth envelope to the pooled samples (f, dB) of all frames with a
level per frame. When the vowel changes with the notes, the value at a frequency is the mean of the few frames
whose harmonics happened to fall there; that pattern is the same before and after an edit (same notes, same
vowels), so the fit found "no shift" (×1.00-1.01) on singers whose formants were truly scaled by 1.10.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_STEP_OCT = 1 / 64  # node spacing of the envelope (about 1.1 %)
PERIODS = 5.0  # analysis window in periods of the voice's median F0


@dataclass
class PooledEnvelope:
    """log2_hz: [J] grid nodes; db: [J] envelope in dB (arbitrary level); support: [J] frames averaged at each
    node; n_frames, n_samples: the frames and harmonic peaks pooled."""

    log2_hz: np.ndarray
    db: np.ndarray
    support: np.ndarray
    n_frames: int
    n_samples: int

    def at(self, f_hz: np.ndarray) -> np.ndarray:
        return np.interp(np.log2(np.maximum(f_hz, 1.0)), self.log2_hz, self.db)


def harmonic_samples(samples: np.ndarray, sample_rate: int, times_s: np.ndarray, f0_hz: np.ndarray,
                     voiced: np.ndarray, f_max: float = 6000.0, periods: float = PERIODS, quiet_db: float = 30.0):
    """Harmonic amplitudes of a voice: (frame [S] int, f_hz [S], db [S], prominence_db [S]).

    times_s, f0_hz, voiced: [T] an F0 track of ``samples`` ([N] at ``sample_rate``). A Hann window of
    ``periods`` periods of the median F0 centred on each voiced frame, zero-padded x4; each harmonic ``k·F0`` below
    ``f_max`` is the highest bin within ±0.2·F0 (parabolic in dB); its prominence is its height over the lowest
    point within ±0.5·F0. Frames more than ``quiet_db`` under the loudest are skipped."""
    x = np.asarray(samples, dtype=np.float64)
    ok = voiced & (f0_hz > 0)
    if not ok.any():
        return (np.zeros(0, int),) + (np.zeros(0),) * 3
    f0_med = float(np.exp(np.median(np.log(f0_hz[ok]))))
    n = int(round(periods * sample_rate / f0_med)) | 1
    n_fft = int(2 ** np.ceil(np.log2(4 * n)))
    bin_hz = sample_rate / n_fft
    centres = np.round(times_s[ok] * sample_rate).astype(np.int64)
    padded = np.pad(x, (n, n))
    idx = centres[:, None] + n - n // 2 + np.arange(n)[None, :]
    idx = np.clip(idx, 0, len(padded) - 1)
    frames = padded[idx] * np.hanning(n)[None, :]
    energy = (frames ** 2).sum(axis=1)
    loud = energy > energy.max() * 10 ** (-quiet_db / 10)
    frame_ids = np.nonzero(ok)[0][loud]
    frames, f0 = frames[loud], f0_hz[ok][loud]
    db = 20 * np.log10(np.abs(np.fft.rfft(frames, n_fft, axis=1)) + 1e-9)
    n_bins = db.shape[1]
    f_max = min(f_max, 0.47 * sample_rate)
    k_max = int(f_max / f0.min())
    k = np.arange(1, k_max + 1)
    centre = f0[:, None] * k[None, :] / bin_hz  # [T, K] fractional bins
    inside = f0[:, None] * k[None, :] < f_max
    half = np.ceil(0.5 * f0.max() / bin_hz).astype(int)
    offsets = np.arange(-half, half + 1)
    pos = np.clip(np.rint(centre)[:, :, None].astype(np.int64) + offsets[None, None, :], 1, n_bins - 2)
    rows = np.arange(len(f0))[:, None, None]
    vals = db[rows, pos]  # [T, K, W]
    dist = np.abs(pos - centre[:, :, None]) * bin_hz / f0[:, None, None]
    peak_vals = np.where(dist <= 0.2, vals, -np.inf)
    j = np.argmax(peak_vals, axis=2)
    p = np.take_along_axis(pos, j[:, :, None], axis=2)[:, :, 0]
    rows2 = np.arange(len(f0))[:, None]
    a, b, c = db[rows2, p - 1], db[rows2, p], db[rows2, p + 1]
    den = a - 2 * b + c
    shift = np.where(den < 0, 0.5 * (a - c) / np.where(den < 0, den, -1), 0.0)
    shift = np.clip(shift, -0.5, 0.5)
    peak_db = b - 0.25 * (a - c) * shift
    peak_hz = (p + shift) * bin_hz
    floor = np.where(dist <= 0.5, vals, np.inf).min(axis=2)
    prominence = peak_db - floor
    keep = inside & np.isfinite(peak_db)
    t_idx = np.broadcast_to(frame_ids[:, None], keep.shape)
    return t_idx[keep], peak_hz[keep], peak_db[keep], prominence[keep]


def mean_harmonic_envelope(frame: np.ndarray, f_hz: np.ndarray, db: np.ndarray, f_lo: float = 80.0,
                           f_hi: float = 6000.0, step_oct: float = GRID_STEP_OCT) -> PooledEnvelope:
    """The pitch-corrected long-term average spectrum of harmonic samples (frame ids [S], f_hz [S], db [S]):
    each frame's envelope through its own harmonic peaks (linear in dB over log2 f, held below its first harmonic,
    undefined above its last), minus the frame's mean level over 300-3000 Hz, averaged over frames at every grid
    node. Every frame counts at every frequency it spans, so which frames happen to have a harmonic near a
    frequency (the notes and vowels sung there) does not shape the average."""
    grid = np.arange(np.log2(f_lo), np.log2(f_hi) + step_oct, step_oct)
    order = np.lexsort((f_hz, frame))
    frame, u, db = frame[order], np.log2(np.maximum(f_hz[order], 1.0)), db[order]
    ids, starts = np.unique(frame, return_index=True)
    bounds = np.append(starts, len(frame))
    total = np.zeros(len(grid))
    count = np.zeros(len(grid))
    band = (grid >= np.log2(300.0)) & (grid <= np.log2(3000.0))
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b - a < 3:
            continue
        curve = np.interp(grid, u[a:b], db[a:b])
        inside = grid <= u[b - 1]
        if not (inside & band).any():
            continue
        curve = curve - curve[inside & band].mean()
        total[inside] += curve[inside]
        count[inside] += 1
    mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return PooledEnvelope(grid, mean, count, len(ids), len(frame))


def pooled_envelope(samples: np.ndarray, sample_rate: int, f_max: float = 6000.0) -> PooledEnvelope:
    """The pitch-corrected average envelope of a voice ([N] samples), F0 by motet's tracker (module docstring)."""
    from engine.edit.measure import track_f0

    times, f0, voiced, _ = track_f0(samples, sample_rate)
    frame, f_hz, db, _ = harmonic_samples(samples, sample_rate, times, f0, voiced, f_max)
    return mean_harmonic_envelope(frame, f_hz, db, f_hi=f_max)


def warp_factor(before: PooledEnvelope, after: PooledEnvelope, f_lo: float, f_hi: float,
                alphas: np.ndarray | None = None) -> float:
    """α minimising the mean over f in [f_lo, f_hi] of (E_after(α·f) − E_before(f) − c)², c the best level, over
    the nodes that at least half of the frames of each voice span; α in [0.7, 1.4] by 0.1 % steps, parabolic
    refinement. nan when fewer than 8 nodes or 80 % of the band can be compared."""
    if alphas is None:
        alphas = 2.0 ** np.arange(np.log2(0.7), np.log2(1.4), 0.0015)
    u = before.log2_hz[(before.log2_hz >= np.log2(f_lo)) & (before.log2_hz <= np.log2(f_hi))]
    u = u[np.interp(u, before.log2_hz, before.support) >= 0.5 * before.support.max()]
    if len(u) < 8:
        return float("nan")
    e0 = np.interp(u, before.log2_hz, before.db)
    s = np.log2(alphas)[:, None]
    e1 = np.interp(u[None, :] + s, after.log2_hz, after.db)  # [A, U]
    seen = np.interp(u[None, :] + s, after.log2_hz, after.support) >= 0.5 * after.support.max()
    d = e1 - e0[None, :]
    n = np.maximum(seen.sum(axis=1), 1)
    mean = (d * seen).sum(axis=1) / n
    cost = (((d - mean[:, None]) ** 2) * seen).sum(axis=1) / n
    cost = np.where(seen.sum(axis=1) >= 0.8 * len(u), cost, np.inf)
    i = int(np.argmin(cost))
    if not np.isfinite(cost[i]):
        return float("nan")
    if 0 < i < len(alphas) - 1 and np.isfinite(cost[i - 1]) and np.isfinite(cost[i + 1]):
        a, b, c = cost[i - 1], cost[i], cost[i + 1]
        den = a - 2 * b + c
        step = np.log2(alphas[1] / alphas[0])
        shift = 0.5 * (a - c) / den if den > 0 else 0.0
        return float(2.0 ** (np.log2(alphas[i]) + np.clip(shift, -1, 1) * step))
    return float(alphas[i])
