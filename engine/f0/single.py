"""Monophonic F0 of one voice or stem: YIN with parabolic interpolation and a Viterbi pass over candidates.

de Cheveigné & Kawahara, "YIN, a fundamental frequency estimator for speech and music" (JASA 2002): the
cumulative-mean-normalised difference function d'(tau) has dips at the period and its multiples; candidates are its
local minima, refined to sub-sample lag by parabolic interpolation. As in pYIN (Mauch & Dixon, ICASSP 2014) the
choice among candidates is made over time by Viterbi (low d', continuity), which removes isolated octave errors.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from engine.errors import MotetError
from engine.f0.salience import ANALYSIS_RATE, HOP, resample_mono
from engine.f0.tracks import F0_HOP_S, F0Tracks
from engine.f0.viterbi import candidate_path
from engine.jobs import report

N_CANDIDATES = 4
VOICING_THRESHOLD = 0.25  # d' above this is not periodic enough to be voiced
SILENCE_DB = -50.0  # frames this far below the loudest frame are unvoiced


def _difference(frames: np.ndarray, window: int, max_lag: int) -> np.ndarray:
    """YIN difference d(tau) for tau = 0..max_lag of frames [T, window + max_lag] -> [T, max_lag + 1]."""
    n = frames.shape[1]
    # a circular correlation of length >= n does not wrap: j + tau <= window - 1 + max_lag < n
    n_fft = scipy.fft.next_fast_len(n, real=True)
    spec = scipy.fft.rfft(frames, n_fft)
    spec *= np.conj(scipy.fft.rfft(frames[:, :window], n_fft))
    corr = scipy.fft.irfft(spec, n_fft)[:, : max_lag + 1]  # sum_j x_j x_{j+tau}
    energy = np.zeros((frames.shape[0], n + 1))
    np.cumsum(frames ** 2, axis=1, out=energy[:, 1:])
    e_tau = energy[:, window:window + max_lag + 1] - energy[:, : max_lag + 1]
    return np.maximum(energy[:, window:window + 1] + e_tau - 2 * corr, 0.0)


def _cmnd(d: np.ndarray) -> np.ndarray:
    """Cumulative-mean-normalised difference d'(tau), d'(0) = 1."""
    out = np.ones_like(d)
    cums = np.cumsum(d[:, 1:], axis=1)
    lags = np.arange(1, d.shape[1])
    out[:, 1:] = d[:, 1:] * lags / np.maximum(cums, 1e-12)
    return out


YIN_RATE = 32000  # Hz: twice the analysis rate, so that the period of a high soprano spans ~30 lags
YIN_HOP = HOP * YIN_RATE // ANALYSIS_RATE
LOWPASS_HZ = 3000.0  # YIN is steadier without the upper partials (de Cheveigne & Kawahara, sec. IV)


def yin_candidates(x: np.ndarray, fmin: float, fmax: float, n_candidates: int = N_CANDIDATES):
    """Period candidates of samples ``x`` at :data:`YIN_RATE`. Returns (f0_hz [T, C], dprime [T, C],
    rms_db [T]); f0 0 / d' 1 where fewer minima exist."""
    rate = YIN_RATE
    max_lag = int(np.ceil(rate / fmin)) + 1
    min_lag = max(2, int(np.floor(rate / fmax)))
    window = max(max_lag, int(0.025 * rate))
    n_frames = len(x) // YIN_HOP + 1
    padded = np.pad(x, (window // 2, window // 2 + max_lag + YIN_HOP))
    spans = np.lib.stride_tricks.sliding_window_view(padded, window + max_lag)  # [samples, window + max_lag] view
    f0 = np.zeros((n_frames, n_candidates))
    dip = np.ones((n_frames, n_candidates))
    rms = np.zeros(n_frames)
    for start in range(0, n_frames, 1024):
        frames = spans[start * YIN_HOP:min(start + 1024, n_frames) * YIN_HOP:YIN_HOP]
        rms[start:start + len(frames)] = np.sqrt(np.mean(frames[:, :window] ** 2, axis=1))
        dp = _cmnd(_difference(frames, window, max_lag))
        seg = dp[:, min_lag - 1: max_lag + 1]
        is_min = (seg[:, 1:-1] < seg[:, :-2]) & (seg[:, 1:-1] <= seg[:, 2:])
        vals = np.where(is_min, seg[:, 1:-1], np.inf)
        # every multiple of the period dips as deep: among clearly periodic dips keep the shortest lags
        key = np.maximum(vals, 0.1) + 1e-6 * np.arange(vals.shape[1])[None, :]
        order = np.argsort(key, axis=1)[:, :n_candidates]
        rows = np.arange(len(frames))[:, None]
        best = vals[rows, order]
        lag = order + min_lag  # lag index into dp
        a, b, c = dp[rows, lag - 1], dp[rows, lag], np.take_along_axis(dp, np.minimum(lag + 1, max_lag), axis=1)
        den = a - 2 * b + c
        shift = np.where(np.abs(den) > 1e-12, 0.5 * (a - c) / np.where(den == 0, 1, den), 0.0)
        frac_lag = lag + np.clip(shift, -0.5, 0.5)
        ok = np.isfinite(best)
        f0[start:start + len(frames)] = np.where(ok, rate / frac_lag, 0.0)
        dip[start:start + len(frames)] = np.where(ok, np.minimum(best - 0.25 * shift * (a - c), 1.0), 1.0)
    rms_db = 20 * np.log10(np.maximum(rms, 1e-10))
    return f0, dip, rms_db


def to_yin_rate(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float64 [samples] at :data:`YIN_RATE`, low-passed at :data:`LOWPASS_HZ`."""
    from scipy.signal import butter, sosfiltfilt

    x = resample_mono(samples, sample_rate, YIN_RATE)
    if x.size > 64:
        x = sosfiltfilt(butter(6, LOWPASS_HZ, fs=YIN_RATE, output="sos"), x)
    return x


def track_single(samples: np.ndarray, sample_rate: int, fmin: float = 60.0, fmax: float = 1100.0,
                 progress=None, band_hz: float | None = None) -> F0Tracks:
    """F0 of one voice (a solo, a separated or edited stem). samples: [frames] float. band_hz: read the pitch
    below this frequency only (the input first low-passed there, 4th-order zero-phase; for a separated stem
    whose upper band holds other voices' partials); None: up to :data:`LOWPASS_HZ`. Returns :class:`F0Tracks`
    with one voice ("voice1"), 16 ms hop, unvoiced where aperiodic or silent."""
    from scipy.signal import butter, sosfiltfilt

    if not 20 <= fmin < fmax:
        raise MotetError(f"F0 range: need 20 <= fmin < fmax, got {fmin}..{fmax} Hz")
    if band_hz is not None:
        sos = butter(4, min(band_hz, 0.45 * sample_rate), fs=sample_rate, output="sos")
        samples = sosfiltfilt(sos, samples).astype(np.float32)
    x = to_yin_rate(samples, sample_rate)
    times = np.arange(len(x) // YIN_HOP + 1) * F0_HOP_S
    if len(x) == 0 or not np.any(x):
        return F0Tracks(times, np.zeros((1, len(times))), np.zeros((1, len(times)), bool), ["voice1"])
    report(progress, 0.0, "pitch of one voice")
    f0, dip, rms_db = yin_candidates(x, fmin, fmax)
    loud = rms_db > rms_db.max() + SILENCE_DB
    n_frames, c = f0.shape
    # YIN's rule, softened: prefer the shortest period whose dip is clearly periodic; longer ones (sub-octaves,
    # which dip as deep) pay per octave below it
    clear = (f0 > 0) & (dip < 0.5 * VOICING_THRESHOLD + 0.5 * dip.min(axis=1, keepdims=True))
    first = np.where(clear, f0, 0.0).max(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        below = np.where((f0 > 0) & (first > 0), np.maximum(0.0, np.log2(first / f0)), 0.0)
    cost = dip + 0.2 * below
    emission = np.concatenate([np.where(f0 > 0, cost, np.inf), np.full((n_frames, 1), VOICING_THRESHOLD)], axis=1)
    emission[~loud, :c] = np.inf
    path = _viterbi_single(emission, f0)
    rows = np.arange(n_frames)
    voiced = path < c
    out = np.where(voiced, f0[rows, np.minimum(path, c - 1)], 0.0)
    report(progress, 1.0, "pitch of one voice")
    return F0Tracks(times, out[None], voiced[None], ["voice1"])


def _viterbi_single(emission: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Viterbi over [T, C + 1] states (candidates, then unvoiced): jumps cost by interval, octave jumps most."""
    return candidate_path(emission, f0, 0.8, 0.1, 0.02, 0.15)
