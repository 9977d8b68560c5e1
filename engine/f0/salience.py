"""Multi-F0 salience of a mixture on a log-frequency grid, and F0 candidates per frame.

Harmonic summation after Klapuri, "Multiple fundamental frequency estimation by summing harmonic amplitudes"
(ISMIR 2006): the salience of a candidate F0 is a weighted sum of the (compressed) spectral magnitudes at its
harmonics, here weighted by the magnitude at the fundamental itself (sub-octave ghosts have none). When the
learned salience is shipped (:mod:`engine.f0.salience_model`), it judges the strongest peaks and damps ghosts and
overtones; the candidates are the strongest peaks after that.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from engine.errors import MotetError
from engine.f0.tracks import F0_HOP_S

ANALYSIS_RATE = 16000  # Hz; every tracker works at this rate
HOP = int(round(F0_HOP_S * ANALYSIS_RATE))  # 256 samples
WINDOW = 2048  # 128 ms analysis window: resolves bass harmonics 70 Hz apart
N_FFT = 4096  # zero-padded: 3.9 Hz bins
BINS_PER_SEMITONE = 5  # 20-cent salience grid (as in Bittner et al. 2017)
GRID_FMIN = 55.0  # Hz
GRID_FMAX = 1200.0  # Hz
N_HARMONICS = 12
HARMONIC_DECAY = 0.84  # weight of harmonic h is HARMONIC_DECAY ** (h - 1)
FUNDAMENTAL_POWER = 0.3  # 0.5 and 0.15 were worse on synthetic valid-split excerpts (and on CSD)
LEARNED_WEIGHT = 0.5  # exponent of the learned probability multiplying the harmonic salience


def resample_mono(samples: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Mono float64 samples at ``target_rate`` Hz. samples: [frames] (or [channels, frames], averaged);
    a clear MotetError for other shapes, a bad rate or non-finite samples."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise MotetError(f"audio: expected mono samples [frames], got shape {x.shape}")
    if sample_rate <= 0:
        raise MotetError(f"audio: bad sample rate {sample_rate}")
    if not np.all(np.isfinite(x)):
        raise MotetError("audio: samples hold NaN or infinite values")
    if sample_rate != target_rate and x.size:
        import soxr

        x = soxr.resample(x, sample_rate, target_rate)
    return x


def to_analysis_rate(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float64 samples at :data:`ANALYSIS_RATE`. samples: [frames] (or [channels, frames], averaged)."""
    return resample_mono(samples, sample_rate, ANALYSIS_RATE)


def frame_times(n_samples: int) -> np.ndarray:
    """[T] centre times in seconds of the 16 ms frames covering ``n_samples`` samples at the analysis rate."""
    n_frames = n_samples // HOP + 1
    return np.arange(n_frames) * F0_HOP_S


def magnitude_spectrogram(x: np.ndarray, window: int = WINDOW, n_fft: int = N_FFT,
                          time_sigma_s: float | None = None) -> np.ndarray:
    """[T, n_fft // 2 + 1] STFT magnitudes of frames centred on ``t * HOP`` (Hann window, zero padded edges).

    With ``time_sigma_s``, each bin's magnitude is weighted by exp(-0.5 (dt / time_sigma_s) ** 2), where dt (s)
    is the bin's reassigned time -- the centre of gravity in time of the energy it holds, relative to the frame
    centre (Auger & Flandrin, "Improving the readability of time-frequency and time-scale representations by
    the reassignment method", IEEE TSP 1995): partials of a note that ended before, or starts after, the frame
    centre are damped, so the 128-ms frame keeps its frequency resolution but mostly shows what sounds at its
    centre (note changes, breaths)."""
    n_frames = len(x) // HOP + 1
    padded = np.pad(x, (window // 2, window // 2 + HOP))
    idx = np.arange(n_frames)[:, None] * HOP + np.arange(window)[None, :]
    win = np.hanning(window)
    tau = (np.arange(window) - (window - 1) / 2) / ANALYSIS_RATE  # s from the frame centre
    out = np.empty((n_frames, n_fft // 2 + 1))
    for start in range(0, n_frames, 512):  # chunks keep memory small on long recordings
        frames = padded[idx[start:start + 512]]
        spec = np.fft.rfft(frames * win, n=n_fft, axis=1)
        out[start:start + 512] = np.abs(spec)
        if time_sigma_s is not None:
            timed = np.fft.rfft(frames * (win * tau), n=n_fft, axis=1)
            power = np.maximum(np.abs(spec) ** 2, 1e-30)
            dt = (timed.real * spec.real + timed.imag * spec.imag) / power
            out[start:start + 512] *= np.exp(-0.5 * (dt / time_sigma_s) ** 2)
    return out


def grid_hz(fmin: float = GRID_FMIN, fmax: float = GRID_FMAX) -> np.ndarray:
    """[F] log-spaced candidate F0s, :data:`BINS_PER_SEMITONE` per semitone."""
    n = int(np.floor(12 * BINS_PER_SEMITONE * np.log2(fmax / fmin))) + 1
    return fmin * 2.0 ** (np.arange(n) / (12 * BINS_PER_SEMITONE))


def harmonic_matrix(freqs_hz: np.ndarray, n_harmonics: int = N_HARMONICS, decay: float = HARMONIC_DECAY,
                    n_fft: int = N_FFT, sample_rate: int = ANALYSIS_RATE) -> scipy.sparse.csr_matrix:
    """Sparse [n_fft // 2 + 1, F] weights: column f sums the spectrum at the harmonics of ``freqs_hz[f]``
    (linear interpolation between the two nearest bins)."""
    n_bins = n_fft // 2 + 1
    rows, cols, vals = [], [], []
    for h in range(1, n_harmonics + 1):
        pos = h * freqs_hz * n_fft / sample_rate
        ok = pos < n_bins - 2
        lo = np.floor(pos[ok]).astype(int)
        frac = pos[ok] - lo
        col = np.nonzero(ok)[0]
        w = decay ** (h - 1)
        rows += [lo, lo + 1]
        cols += [col, col]
        vals += [w * (1 - frac), w * frac]
    return scipy.sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(n_bins, len(freqs_hz)))


def compressed_spectrum(mag: np.ndarray) -> np.ndarray:
    """[T, K] compressed magnitudes: a cube root (so that strong low partials do not dominate), normalised by the
    largest magnitude. The peaks keep their shape: a 3-bin maximum filter (used at first) makes them flat-topped,
    +-60 cents wide at a bass fundamental; dropping it raised CSD blind RPA .796 -> .831 and synthetic valid
    .676 -> .698 (with the shared-harmonic damping of :func:`engine.f0.blind.shared_harmonics`)."""
    ref = mag.max() if mag.size else 1.0
    return np.cbrt(mag / max(ref, 1e-12))


@dataclass
class Candidates:
    """F0 candidates per frame. f0_hz, strength: [T, K]; f0 0 and strength 0 where there is none.
    strength is the harmonic-summation salience of the candidate when it was picked (after cancelling the
    candidates picked before it); floor: [T] the salience left after the last pick (noise level)."""

    times_s: np.ndarray
    f0_hz: np.ndarray
    strength: np.ndarray
    floor: np.ndarray
    kind: str = "harmonic"  # which salience: "harmonic" (summation) or "learned"
    probability: np.ndarray | None = None  # [T, K] the learned probability of each candidate (learned kind)


def _refine_peak(sal: np.ndarray, idx: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Parabolic interpolation of the salience maximum at grid index ``idx`` per frame -> F0 in Hz."""
    t = np.arange(sal.shape[0])
    i = np.clip(idx, 1, sal.shape[1] - 2)
    a, b, c = sal[t, i - 1], sal[t, i], sal[t, i + 1]
    den = a - 2 * b + c
    shift = np.where(np.abs(den) > 1e-12, 0.5 * (a - c) / np.where(den == 0, 1, den), 0.0)
    shift = np.clip(shift, -0.5, 0.5)
    log_grid = np.log2(grid)
    step = log_grid[1] - log_grid[0]
    return 2.0 ** (log_grid[i] + shift * step)


def salience_map(mag: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """[T, F] harmonic-summation salience of magnitude frames ``mag`` ([T, K]) on the F0 grid ``grid`` ([F] Hz),
    weighted by the magnitude at the fundamental itself to the power :data:`FUNDAMENTAL_POWER`: a sub-octave ghost
    of a higher voice has all the harmonics but no fundamental, so it is damped (gently: a bass's fundamental is
    weak too)."""
    spec = compressed_spectrum(mag)
    summed = np.asarray(spec @ harmonic_matrix(grid))
    fundamental = np.asarray(spec @ harmonic_matrix(grid, n_harmonics=1, decay=1.0))
    return summed * (fundamental / max(fundamental.max(), 1e-12)) ** FUNDAMENTAL_POWER


def peak_candidates(sal: np.ndarray, grid: np.ndarray, n_candidates: int = 8, with_bins: bool = False):
    """The ``n_candidates`` strongest local maxima per frame of a salience map ([T, F] on ``grid``), F0 refined by
    parabolic interpolation. Returns (f0_hz [T, K], strength [T, K]) -- and the grid bins [T, K] with
    ``with_bins`` --, 0 where a frame has fewer peaks."""
    n_frames = sal.shape[0]
    peak = np.zeros_like(sal, dtype=bool)
    peak[:, 1:-1] = (sal[:, 1:-1] > sal[:, :-2]) & (sal[:, 1:-1] >= sal[:, 2:])
    values = np.where(peak, sal, 0.0)
    k = min(n_candidates, sal.shape[1])
    top = np.argsort(-values, axis=1)[:, :k]
    t = np.arange(n_frames)[:, None]
    strength = values[t, top]
    f0 = np.stack([_refine_peak(sal, top[:, j], grid) for j in range(k)], axis=1)
    if with_bins:
        return np.where(strength > 0, f0, 0.0), strength, top
    return np.where(strength > 0, f0, 0.0), strength


def candidates(x: np.ndarray, n_candidates: int = 8, fmin: float = 60.0, fmax: float = 1100.0, learned: bool = True,
               progress=None, mag: np.ndarray | None = None) -> Candidates:
    """F0 candidates per frame of the analysis-rate mono signal ``x`` ([samples]): the strongest peaks of the
    learned salience (:mod:`engine.f0.salience_model`) when its weights are shipped and ``learned``, else of the
    harmonic-summation salience. ``mag``: its :func:`magnitude_spectrogram` when already computed. Returns
    :class:`Candidates` ([T, K] each)."""
    from engine.jobs import report

    report(progress, 0.0, "pitch salience")
    if mag is None:
        mag = magnitude_spectrogram(x)
    use_learned = False
    if learned:
        from engine.f0.salience_model import load_model, probability_at

        use_learned = load_model() is not None
    if not use_learned:
        grid = grid_hz(fmin, fmax)
        sal = salience_map(mag, grid)
        f0, strength = peak_candidates(sal, grid, n_candidates)
        return Candidates(frame_times(len(x)), f0, strength, np.median(sal, axis=1), "harmonic")
    # learned: the network judges the strongest harmonic-summation peaks (twice as many as kept); each peak's
    # salience is multiplied by its probability ** LEARNED_WEIGHT, which damps ghosts and overtones
    grid = grid_hz()
    sal = salience_map(mag, grid)
    sal /= max(float(np.percentile(sal.max(axis=1), 95)), 1e-12)
    sal[:, (grid < fmin) | (grid > fmax)] = 0.0
    f0, strength, bins = peak_candidates(sal, grid, 2 * n_candidates, with_bins=True)
    report(progress, 0.5, "learned pitch salience")
    rows = np.repeat(np.arange(sal.shape[0]), bins.shape[1])
    prob = probability_at(mag, grid, rows, bins.reshape(-1)).reshape(bins.shape)
    strength = np.where(strength > 0, strength * prob ** LEARNED_WEIGHT, 0.0)
    order = np.argsort(-strength, axis=1)[:, :n_candidates]
    t = np.arange(sal.shape[0])[:, None]
    f0, strength, prob = f0[t, order], strength[t, order], prob[t, order]
    return Candidates(frame_times(len(x)), f0, strength, np.median(sal, axis=1), "learned", prob)
