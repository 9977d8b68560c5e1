"""A voice's spectral envelope pooled over many frames from its harmonic amplitudes, and the frequency warp
between two such envelopes: how far did the formants move?

Why: one frame of a high voice samples its envelope only at the harmonics, 300-900 Hz apart for a soprano, so a
formant between two harmonics is invisible to that frame and any per-frame (or long-term-average) LPC fit reads
the harmonics' positions as much as the formants. Over a sung phrase the harmonics move — vibrato, glides and
note changes sweep ``k·F0`` across the envelope — so the *pooled* harmonic amplitudes ``(f, dB)`` of all voiced
frames sample it densely. This is the idea of the discrete cepstrum / "true envelope" estimators (Galas & Rodet
1990; Cappé, Laroche & Moulines 1995, "Regularized estimation of cepstrum envelope from discrete frequency points",
IEEE ASSP workshop), fitted here to many frames at once, each with its own level.

Model: ``dB[t, k] = g_t + E(log2 f[t, k]) + noise``, ``E`` piecewise linear on a log-frequency grid with a
second-difference smoothness penalty, ``g_t`` one level per frame (loudness changes), fitted by alternating
least squares. On a log-frequency axis a uniform warp ``f -> α·f`` is a translation by ``log2 α``, so the
smoothing prior treats the original and the warped envelope alike. The warp factor between two envelopes is the
``α`` minimising the weighted mean squared difference ``E_after(u + log2 α) − E_before(u) − c`` over a band
(``c`` a free level).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve

GRID_STEP_OCT = 1 / 64  # node spacing of the envelope (about 1.1 %)
SMOOTHNESS = 3.0  # weight of the second-difference penalty per node (dB² per node, relative to one sample)
PERIODS = 5.0  # analysis window in periods of the voice's median F0
MIN_PROMINENCE_DB = 6.0  # a harmonic counts when its peak stands this far above the valleys around it


@dataclass
class PooledEnvelope:
    """log2_hz: [J] grid nodes; db: [J] envelope in dB (arbitrary level); support: [J] summed sample weight near
    each node (0 where no harmonic fell); n_frames, n_samples: what was pooled."""

    log2_hz: np.ndarray
    db: np.ndarray
    support: np.ndarray
    n_frames: int
    n_samples: int

    def at(self, f_hz: np.ndarray) -> np.ndarray:
        return np.interp(np.log2(np.maximum(f_hz, 1.0)), self.log2_hz, self.db)

    def covered(self, f_hz: np.ndarray, min_support: float = 1.0) -> np.ndarray:
        """bool: whether harmonics were seen near ``f_hz`` (support of the nearest node >= min_support)."""
        return np.interp(np.log2(np.maximum(f_hz, 1.0)), self.log2_hz, self.support) >= min_support

    def peaks_hz(self, f_lo: float, f_hi: float, n: int = 3) -> np.ndarray:
        """[n] frequencies of the n lowest local maxima of the envelope in [f_lo, f_hi] (nan if fewer)."""
        f = 2.0 ** self.log2_hz
        d = self.db
        inside = (f >= f_lo) & (f <= f_hi)
        is_max = np.zeros_like(inside)
        is_max[1:-1] = (d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:]) & inside[1:-1]
        out = np.full(n, np.nan)
        found = f[is_max][:n]
        out[:len(found)] = found
        return out


def harmonic_samples(samples: np.ndarray, sample_rate: int, times_s: np.ndarray, f0_hz: np.ndarray,
                     voiced: np.ndarray, f_max: float = 6000.0, periods: float = PERIODS):
    """Harmonic amplitudes of a voice: (frame [S] int, f_hz [S], db [S], prominence_db [S]).

    times_s, f0_hz, voiced: [T] an F0 track of ``samples`` ([N] at ``sample_rate``). A Hann window of
    ``periods`` periods of the median F0 centred on each voiced frame, zero-padded x4; each harmonic ``k·F0`` below
    ``f_max`` is the highest bin within ±0.2·F0 (parabolic in dB); its prominence is its height over the lowest
    point within ±0.5·F0. Frames quieter than 30 dB under the loudest are skipped."""
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
    loud = energy > energy.max() * 1e-3
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


def fit_envelope(frame: np.ndarray, f_hz: np.ndarray, db: np.ndarray, f_lo: float = 80.0, f_hi: float = 6000.0,
                 step_oct: float = GRID_STEP_OCT, smoothness: float = SMOOTHNESS, iterations: int = 30,
                 weights: np.ndarray | None = None) -> PooledEnvelope:
    """The pooled envelope of harmonic samples (frame ids [S], f_hz [S], db [S]): E on a log2 grid plus one level
    per frame, alternating weighted least squares with a second-difference penalty (see module docstring)."""
    grid = np.arange(np.log2(f_lo), np.log2(f_hi) + step_oct, step_oct)
    J = len(grid)
    u = np.log2(np.clip(f_hz, f_lo, f_hi))
    w = np.ones(len(u)) if weights is None else np.asarray(weights, dtype=np.float64)
    pos = (u - grid[0]) / step_oct
    lo = np.clip(pos.astype(np.int64), 0, J - 2)
    frac = pos - lo
    # normal matrix of the hat basis (tridiagonal) plus the penalty
    A = np.zeros((J, J))
    np.add.at(A, (lo, lo), w * (1 - frac) ** 2)
    np.add.at(A, (lo + 1, lo + 1), w * frac ** 2)
    np.add.at(A, (lo, lo + 1), w * frac * (1 - frac))
    np.add.at(A, (lo + 1, lo), w * frac * (1 - frac))
    support = np.zeros(J)
    np.add.at(support, lo, w * (1 - frac))
    np.add.at(support, lo + 1, w * frac)
    D = np.diff(np.eye(J), 2, axis=0)
    A += smoothness * D.T @ D + 1e-6 * np.eye(J)
    _, frame_idx = np.unique(frame, return_inverse=True)
    n_frames = int(frame_idx.max()) + 1 if len(frame_idx) else 0
    wsum = np.bincount(frame_idx, w, n_frames)
    level = np.bincount(frame_idx, w * db, n_frames) / np.maximum(wsum, 1e-12)
    factor = cho_factor(A)
    env = np.zeros(J)
    for _ in range(iterations):
        r = db - level[frame_idx]
        rhs = np.zeros(J)
        np.add.at(rhs, lo, w * (1 - frac) * r)
        np.add.at(rhs, lo + 1, w * frac * r)
        env = cho_solve(factor, rhs)
        model = env[lo] * (1 - frac) + env[lo + 1] * frac
        level = np.bincount(frame_idx, w * (db - model), n_frames) / np.maximum(wsum, 1e-12)
    return PooledEnvelope(grid, env, support, n_frames, len(u))


def pooled_envelope(samples: np.ndarray, sample_rate: int, f_max: float = 6000.0,
                    min_prominence_db: float = MIN_PROMINENCE_DB) -> PooledEnvelope:
    """The pooled harmonic envelope of a voice ([N] samples), F0 by motet's tracker (see module docstring)."""
    from engine.edit.measure import track_f0

    times, f0, voiced, _ = track_f0(samples, sample_rate)
    frame, f_hz, db, prom = harmonic_samples(samples, sample_rate, times, f0, voiced, f_max)
    keep = prom >= min_prominence_db
    return fit_envelope(frame[keep], f_hz[keep], db[keep], f_hi=f_max)


def warp_factor(before: PooledEnvelope, after: PooledEnvelope, f_lo: float, f_hi: float,
                alphas: np.ndarray | None = None) -> float:
    """α minimising the mean over f in [f_lo, f_hi] (where ``before`` has support, and ``after`` at α·f) of
    (E_after(α·f) − E_before(f) − c)², c the best level; α in [0.7, 1.4] by 0.1 % steps, parabolic refinement."""
    if alphas is None:
        alphas = 2.0 ** np.arange(np.log2(0.7), np.log2(1.4), 0.0015)
    u = before.log2_hz[(before.log2_hz >= np.log2(f_lo)) & (before.log2_hz <= np.log2(f_hi))]
    u = u[np.interp(u, before.log2_hz, before.support) >= 1.0]
    if len(u) < 8:
        return float("nan")
    e0 = np.interp(u, before.log2_hz, before.db)
    s = np.log2(alphas)[:, None]
    e1 = np.interp(u[None, :] + s, after.log2_hz, after.db)  # [A, U]
    seen = np.interp(u[None, :] + s, after.log2_hz, after.support) >= 1.0
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
