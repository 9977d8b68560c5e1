"""Measurements that check an edit did what it says: F0, formants, harmonic-to-noise ratio, SI-SDR.

They are deliberately independent of the renderer: F0 comes from motet's monophonic tracker
(``engine.f0.track_single``; a plain YIN stands in when it is not installed), formants from per-frame LPC roots,
HNR from the normalised autocorrelation at the pitch period (Boersma 1993, "Accurate short-term analysis of the
fundamental frequency and the harmonics-to-noise ratio of a sampled sound", the method of Praat).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import solve_toeplitz


def _frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """[n_frames, length] strided frames of a 1-D array (no padding)."""
    if len(x) < length:
        x = np.pad(x, (0, length - len(x)))
    n = 1 + (len(x) - length) // hop
    return np.lib.stride_tricks.as_strided(x, (n, length), (x.strides[0] * hop, x.strides[0]))


def _yin(samples: np.ndarray, sample_rate: int, hop_s: float = 0.016, fmin: float = 60.0,
         fmax: float = 1100.0, threshold: float = 0.15):
    """Fallback F0 tracker (de Cheveigné & Kawahara 2002): (times_s [T], f0_hz [T], voiced [T])."""
    x = np.asarray(samples, dtype=np.float64)
    win = int(2.5 * sample_rate / fmin)
    hop = int(round(hop_s * sample_rate))
    frames = _frames(np.pad(x, (win // 2, win)), win, hop)
    n_lag = int(sample_rate / fmin) + 2
    spec = np.fft.rfft(frames, 2 * win)
    acf = np.fft.irfft(np.abs(spec) ** 2)[:, :n_lag]
    energy = np.cumsum(np.pad(frames ** 2, ((0, 0), (1, 0))), axis=1)
    w = win - n_lag
    e0 = energy[:, w][:, None] * np.ones((1, n_lag))
    e_lag = energy[:, np.arange(n_lag) + w] - energy[:, np.arange(n_lag)]
    diff = e0 + e_lag - 2 * acf
    cmnd = np.ones_like(diff)
    cums = np.cumsum(diff[:, 1:], axis=1)
    cmnd[:, 1:] = diff[:, 1:] * np.arange(1, n_lag) / np.maximum(cums, 1e-12)
    lo = int(sample_rate / fmax)
    f0 = np.zeros(len(frames))
    voiced = np.zeros(len(frames), dtype=bool)
    for t in range(len(frames)):
        c = cmnd[t]
        below = np.nonzero(c[lo:n_lag - 1] < threshold)[0]
        if len(below) == 0:
            continue
        lag = below[0] + lo
        while lag + 1 < n_lag - 1 and c[lag + 1] < c[lag]:
            lag += 1
        a, b, d = c[lag - 1], c[lag], c[lag + 1]
        shift = 0.5 * (a - d) / (a - 2 * b + d) if (a - 2 * b + d) != 0 else 0.0
        f0[t] = sample_rate / (lag + shift)
        voiced[t] = True
    times = np.arange(len(frames)) * hop / sample_rate
    return times, f0, voiced


def track_f0(samples: np.ndarray, sample_rate: int):
    """(times_s [T], f0_hz [T], voiced [T], tracker name) of a monophonic voice, by motet's tracker if present."""
    try:
        from engine.f0 import track_single  # the F0 area's monophonic tracker
    except ImportError:
        times, f0, voiced = _yin(samples, sample_rate)
        return times, f0, voiced, "yin (fallback)"
    tracks = track_single(np.asarray(samples, dtype=np.float32), sample_rate)
    return tracks.times_s, tracks.f0_hz[0], tracks.voiced[0], "engine.f0.track_single"


def median_f0_ratio_cents(before: np.ndarray, after: np.ndarray, sample_rate: int,
                          target_cents: np.ndarray | float = 0.0, after_rate: int | None = None) -> dict:
    """Median over frames voiced in both of 1200·log2(f0_after / f0_before) − target, and the tracker used.

    target_cents: scalar or [T] at the tracker's frames (use for time-varying edits).
    """
    t0, f0a, va, name = track_f0(before, sample_rate)
    t1, f0b, vb, _ = track_f0(after, after_rate or sample_rate)
    n = min(len(f0a), len(f0b))
    both = va[:n] & vb[:n] & (f0a[:n] > 0) & (f0b[:n] > 0)
    target = np.broadcast_to(np.asarray(target_cents, dtype=np.float64), (n,)) if np.ndim(target_cents) == 0 \
        else np.asarray(target_cents)[:n]
    err = 1200 * np.log2(f0b[:n][both] / f0a[:n][both]) - target[both]
    return {"error_cents": float(np.median(err)) if len(err) else float("nan"),
            "frames": int(both.sum()), "tracker": name}


def lpc(frame: np.ndarray, order: int) -> np.ndarray:
    """[order + 1] LPC polynomial (a[0] = 1) of one windowed frame, autocorrelation method."""
    r = np.correlate(frame, frame, "full")[len(frame) - 1:len(frame) + order]
    r[0] *= 1 + 1e-9
    if r[0] <= 0:
        return np.r_[1.0, np.zeros(order)]
    a = solve_toeplitz(r[:order], -r[1:order + 1])
    return np.r_[1.0, a]


def formants(samples: np.ndarray, sample_rate: int, n_formants: int = 3, frame_s: float = 0.04,
             hop_s: float = 0.02, max_bandwidth_hz: float = 500.0, fmin: float = 200.0) -> np.ndarray:
    """[n_formants] median formant frequencies in Hz over frames, from LPC roots (order 2 + sr/1000).

    Frames quieter than 30 dB below the loudest are skipped; pre-emphasis 0.97; Hamming window.
    """
    x = np.asarray(samples, dtype=np.float64)
    x = np.append(x[0], x[1:] - 0.97 * x[:-1])
    length = int(frame_s * sample_rate)
    frames = _frames(x, length, int(hop_s * sample_rate)) * np.hamming(length)
    energy = (frames ** 2).sum(axis=1)
    keep = energy > energy.max() * 1e-3
    order = 2 + sample_rate // 1000
    found = []
    for frame in frames[keep]:
        roots = np.roots(lpc(frame, order))
        roots = roots[np.imag(roots) > 0]
        freq = np.angle(roots) * sample_rate / (2 * np.pi)
        bw = -np.log(np.abs(roots)) * sample_rate / np.pi
        good = np.sort(freq[(bw < max_bandwidth_hz) & (freq > fmin) & (freq < sample_rate / 2 - 100)])
        if len(good) >= n_formants:
            found.append(good[:n_formants])
    if not found:
        return np.full(n_formants, np.nan)
    return np.median(np.array(found), axis=0)


def formants_ltas(samples: np.ndarray, sample_rate: int, n_formants: int = 3, frame_s: float = 0.064,
                  max_bandwidth_hz: float = 600.0, fmin: float = 200.0) -> np.ndarray:
    """[n_formants] formant frequencies in Hz from an LPC fit (order 2 + sr/1000) to the long-term average
    spectrum of the frames within 30 dB of the loudest (pre-emphasis 0.97, Hann window).

    Per-frame LPC locks onto harmonics when F0 is high; averaged over a sung phrase, the harmonics sweep the
    envelope and the LTAS shows the formants themselves. A factor applied to every frame's envelope scales the
    LTAS formants by the same factor.
    """
    a, _ = _ltas_lpc(samples, sample_rate, frame_s)
    roots = np.roots(a)
    roots = roots[np.imag(roots) > 0]
    freq = np.angle(roots) * sample_rate / (2 * np.pi)
    bw = -np.log(np.abs(roots)) * sample_rate / np.pi
    good = np.sort(freq[(bw < max_bandwidth_hz) & (freq > fmin) & (freq < sample_rate / 2 - 100)])
    out = np.full(n_formants, np.nan)
    out[:min(n_formants, len(good))] = good[:n_formants]
    return out


def _ltas_lpc(samples: np.ndarray, sample_rate: int, frame_s: float = 0.064):
    """(LPC polynomial [order + 1], LTAS [F]) of the loud frames, pre-emphasised (see :func:`formants_ltas`)."""
    x = np.asarray(samples, dtype=np.float64)
    x = np.append(x[0], x[1:] - 0.97 * x[:-1])
    length = int(frame_s * sample_rate)
    frames = _frames(x, length, length // 4) * np.hanning(length)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    energy = power.sum(axis=1)
    ltas = power[energy > energy.max() * 1e-3].mean(axis=0)
    order = 2 + sample_rate // 1000
    r = np.fft.irfft(ltas)[:order + 1]
    r[0] *= 1 + 1e-9
    return np.r_[1.0, solve_toeplitz(r[:order], -r[1:order + 1])], ltas


def formant_shift(before: np.ndarray, after: np.ndarray, sample_rate: int, fmin: float = 200.0,
                  fmax: float = 4000.0, after_rate: int | None = None) -> float:
    """The factor α by which the formants of ``after`` lie above those of ``before``: the frequency warp that best
    maps the pooled harmonic envelope of ``before`` onto that of ``after`` over [fmin, fmax] Hz
    (:mod:`engine.edit.pooled_envelope`; F0 of each by motet's tracker). Unlike an LPC fit of one frame or of the
    long-term average spectrum, it reads the envelope only where harmonics were seen, so it does not depend on
    where the single harmonics of a high voice fall; it needs the phrase to move in pitch (vibrato alone does not
    fill the gaps between a soprano's harmonics). nan when the two envelopes do not overlap enough."""
    from engine.edit.pooled_envelope import pooled_envelope, warp_factor

    return warp_factor(pooled_envelope(before, sample_rate), pooled_envelope(after, after_rate or sample_rate),
                       fmin, fmax)


def formant_shift_ltas(before: np.ndarray, after: np.ndarray, sample_rate: int, fmin: float = 200.0,
                       fmax: float = 4000.0, after_rate: int | None = None) -> float:
    """The previous measure (kept for comparison): the factor α that best maps the LPC envelope of ``before``'s
    LTAS onto ``after``'s:
    argmax over α in [0.6, 1.6] of the correlation of log E_after(α f) with log E_before(f), f in [fmin, fmax].
    A global "how far did the formants move" that needs no formant picking."""
    a0, _ = _ltas_lpc(before, sample_rate)
    a1, _ = _ltas_lpc(after, after_rate or sample_rate)
    freqs = np.linspace(fmin, fmax, 512)

    def log_env(a, f, rate):
        z = np.exp(-2j * np.pi * np.outer(f, np.arange(len(a))) / rate)
        return -np.log(np.abs(z @ a) + 1e-12)

    e0 = log_env(a0, freqs, sample_rate)
    e0 = (e0 - e0.mean()) / (e0.std() + 1e-12)
    alphas = np.arange(0.6, 1.6001, 0.0025)
    scores = []
    for alpha in alphas:
        e1 = log_env(a1, freqs * alpha, after_rate or sample_rate)
        e1 = (e1 - e1.mean()) / (e1.std() + 1e-12)
        scores.append(float(np.mean(e0 * e1)))
    return float(alphas[int(np.argmax(scores))])


def hnr_db(samples: np.ndarray, sample_rate: int, f0_range_hz=(60.0, 1100.0), hop_s: float = 0.01,
           periods: float = 3.0) -> float:
    """Median harmonic-to-noise ratio in dB over frames: 10·log10(r / (1 − r)) with r the peak of the
    window-corrected normalised autocorrelation at lags inside ``f0_range_hz`` (Boersma 1993), on Hann windows
    of ``periods`` periods of the lowest F0 of the range. Give the voice's own range (see :func:`voice_hnr_db`):
    a long window under vibrato reads pitch movement as noise.

    Frames quieter than 30 dB below the loudest or with r < 0.3 (unvoiced) are skipped.
    """
    x = np.asarray(samples, dtype=np.float64)
    fmin, fmax = f0_range_hz
    length = int(periods * sample_rate / fmin)
    frames = _frames(x, length, int(hop_s * sample_rate))
    frames = frames - frames.mean(axis=1, keepdims=True)
    window = np.hanning(length)
    frames = frames * window
    energy = (frames ** 2).sum(axis=1)
    frames = frames[energy > energy.max() * 1e-3]
    n_fft = int(2 ** np.ceil(np.log2(2 * length)))
    acf = np.fft.irfft(np.abs(np.fft.rfft(frames, n_fft)) ** 2, n_fft)
    wacf = np.fft.irfft(np.abs(np.fft.rfft(window, n_fft)) ** 2, n_fft)
    lo, hi = int(sample_rate / fmax), int(sample_rate / fmin) + 1
    norm = (acf[:, lo:hi + 1] / acf[:, :1]) / (wacf[lo:hi + 1] / wacf[0])
    k = np.argmax(norm[:, 1:-1], axis=1) + 1
    rows = np.arange(len(norm))
    a, b, c = norm[rows, k - 1], norm[rows, k], norm[rows, k + 1]
    den = a - 2 * b + c
    shift = np.where(den != 0, 0.5 * (a - c) / np.where(den != 0, den, 1), 0.0)
    r = b - 0.25 * (a - c) * shift
    r = r[r > 0.3]
    if len(r) == 0:
        return float("nan")
    r = np.clip(r, 1e-6, 1 - 1e-6)
    return float(np.median(10 * np.log10(r / (1 - r))))


def voice_hnr_db(samples: np.ndarray, sample_rate: int, median_f0_hz: float) -> float:
    """:func:`hnr_db` with the F0 range 0.6-1.6 x the voice's median F0 (Hz)."""
    return hnr_db(samples, sample_rate, (0.6 * median_f0_hz, 1.6 * median_f0_hz))


def median_f0(samples: np.ndarray, sample_rate: int) -> float:
    """Median F0 in Hz over voiced frames (motet's tracker); nan when nothing is voiced."""
    _, f0, voiced, _ = track_f0(samples, sample_rate)
    ok = voiced & (f0 > 0)
    return float(np.exp(np.median(np.log(f0[ok])))) if ok.any() else float("nan")


def si_sdr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB of ``estimate`` against ``reference`` (same length, 1-D)."""
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    n = min(len(ref), len(est))
    ref, est = ref[:n], est[:n]
    scale = np.dot(est, ref) / max(np.dot(ref, ref), 1e-20)
    target = scale * ref
    noise = est - target
    return float(10 * np.log10(max(np.dot(target, target), 1e-20) / max(np.dot(noise, noise), 1e-20)))
