"""θ-guided STFT analysis of a real stem: the frames, their F0, vocal-tract envelope and harmonic/noise split.

Everything here is per frame, so any range of frames can be analysed alone and gives the same values as the
whole stem (this is what lets :mod:`engine.edit.render` render a played region first, in chunks, seamlessly).

Frame ``t`` (any integer, negative allowed) is centred on sample ``t * hop``; a periodic Hann window of ``n_fft``
samples, ``hop = n_fft / 4``. ``n_fft`` is chosen per voice so that a window holds >= 5.5 periods of the voice's
low notes, which resolves the harmonics the comb needs.

Envelope: in voiced frames, log-magnitudes of the harmonic peaks (at multiples of the refined F0) interpolated
linearly across frequency — exact at the harmonics, which is where pitch and formant edits read it; in unvoiced
frames, the log of the power spectrum smoothed over ~300 Hz. (θ's own LSF envelope is fitted to the mixture at
the model's rate; the stem's own envelope is what must be whitened for the edit to keep the stem's detail.)
For formant edits, a second envelope on a log-frequency grid is pooled from the harmonics of the frames of the same
vowel around each frame (:func:`pooled_log_envelope`); where they leave a gap it falls back on the frame's own
harmonics, bent between them by the all-pole model and by the breath-noise floor (:func:`noise_floor_curvature`). A
block's analysis therefore reads 2·POOL_SIGMA_S of frames on either side, still one value per frame whatever range
is analysed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.ndimage import uniform_filter1d

from engine.edit.theta_voice import ThetaVoice

EPS = 1e-9
FORMANT_BAND_HZ = 5500.0  # the all-pole envelope model is fitted to the harmonics below this
MAX_CURVATURE = 12.0 / 8.686  # the model bends the envelope between harmonics by at most 12 dB (natural log)
HOP_DIVISOR = 4  # hop = n_fft / 4: Hann analysis and synthesis windows sum to 1.5 exactly
POOL_STEP_OCT = 1 / 64  # log-frequency grid of the pooled envelope (about 1.1 %)
POOL_LOW_HZ = 60.0  # its lowest node
POOL_SIGMA_OCT = 1 / 48  # frequency kernel of the pooling (Gaussian, in octaves)
POOL_SIGMA_S = 1.0  # time kernel of the pooling (Gaussian, seconds), truncated at 2 sigma
POOL_TAU_DB = 2.0  # a neighbour whose own envelope differs by this rms (dB, 300-4000 Hz) weighs exp(-1/2) less
POOL_PRIOR = 0.3  # weight of the frame's own all-pole model where pooled harmonics are scarce
NOISE_HALF_FRAMES = 3  # the breath-noise floor between harmonics is averaged over +-3 frames
NOISE_SMOOTH_HZ = 60.0  # and over 60 Hz
NOISE_BEND_WEIGHT = 0.5  # the gaps' shape: half the all-pole model's curvature, half the noise floor's


@dataclass(frozen=True)
class FrameGrid:
    """The STFT grid of one voice: n_fft and hop in samples at ``sample_rate`` Hz."""

    sample_rate: int
    n_fft: int

    @property
    def hop(self) -> int:
        return self.n_fft // HOP_DIVISOR

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def bin_hz(self) -> float:
        return self.sample_rate / self.n_fft

    @property
    def window(self) -> np.ndarray:
        n = np.arange(self.n_fft)
        return (0.5 - 0.5 * np.cos(2 * np.pi * n / self.n_fft)).astype(np.float32)

    def frame_range(self, start: int, stop: int) -> tuple[int, int]:
        """[t_lo, t_hi) frames whose windows touch samples [start, stop)."""
        return (start - self.n_fft // 2) // self.hop, (stop + self.n_fft // 2) // self.hop + 1


def choose_grid(theta: ThetaVoice, sample_rate: int, periods: float = 5.5) -> FrameGrid:
    """The FrameGrid of a voice: a power-of-two window holding ``periods`` periods of its low notes (10th pct)."""
    voiced = theta.f0_hz[theta.voiced]
    low = float(np.percentile(voiced, 10)) if len(voiced) else 150.0
    n_fft = int(2 ** np.ceil(np.log2(periods * sample_rate / max(low, 50.0))))
    scale = sample_rate / 16000
    n_fft = int(np.clip(n_fft, 2 ** round(np.log2(256 * scale)), 2 ** round(np.log2(4096 * scale))))
    return FrameGrid(sample_rate, n_fft)


@dataclass
class FrameAnalysis:
    """Analysis of frames [t0, t0 + T) of one stem.

    spec: [T, F] complex64 STFT. f0_hz: [T] refined F0 (θ's elsewhere). voiced: [T] bool.
    log_env: [T, F] float32 natural-log magnitude envelope through the harmonic peaks (exact at the harmonics).
    log_model: [T, F] float32 the envelope read between the harmonics: ``log_env`` plus the curvature of an
    all-pole (LPC) fit between harmonic samples, so formant peaks that fall between harmonics are kept when the
    envelope is read at other frequencies (pitch and formant edits).
    log_pool: [T, J] float32 natural-log envelope on the log-frequency grid ``pool_grid_log2_hz`` pooled from the
    harmonic peaks of the frames around each frame (see :func:`pooled_log_envelope`; where they leave gaps, the
    frame's own harmonics bent by half the all-pole and half the noise-floor curvature): what a formant edit warps.
    log_noise: [T, F] float32 natural-log noise power per bin under the harmonics (voiced frames).
    comb: [T, F] float32 in [0, 1], 1 on the harmonics' main lobes (0 when unvoiced).
    aperiodicity: [T] float32 in [0, 1], 1 − r with r the window-corrected normalised autocorrelation at the
    period (Boersma 1993): the aperiodic share of the frame's energy, HNR = 10·log10((1 − a) / a).
    """

    t0: int
    spec: np.ndarray
    f0_hz: np.ndarray
    voiced: np.ndarray
    log_env: np.ndarray
    log_model: np.ndarray
    log_pool: np.ndarray
    log_noise: np.ndarray
    comb: np.ndarray
    aperiodicity: np.ndarray

    @property
    def n_frames(self) -> int:
        return self.spec.shape[0]

    def slice(self, t_lo: int, t_hi: int) -> "FrameAnalysis":
        a, b = t_lo - self.t0, t_hi - self.t0
        return FrameAnalysis(t_lo, self.spec[a:b], self.f0_hz[a:b], self.voiced[a:b], self.log_env[a:b],
                             self.log_model[a:b], self.log_pool[a:b], self.log_noise[a:b], self.comb[a:b],
                             self.aperiodicity[a:b])

    @staticmethod
    def concat(parts: list["FrameAnalysis"]) -> "FrameAnalysis":
        if len(parts) == 1:
            return parts[0]
        return FrameAnalysis(parts[0].t0, *(np.concatenate([getattr(p, k) for p in parts]) for k in
                                            ("spec", "f0_hz", "voiced", "log_env", "log_model", "log_pool", "log_noise", "comb",
                                                                                  "aperiodicity")))


def stft_frames(stem: np.ndarray, grid: FrameGrid, t_lo: int, t_hi: int) -> np.ndarray:
    """[T, F] complex64 STFT of frames [t_lo, t_hi) of ``stem`` ([N] samples, zero outside)."""
    n_fft, hop = grid.n_fft, grid.hop
    first = t_lo * hop - n_fft // 2
    last = (t_hi - 1) * hop + n_fft // 2
    a, b = max(first, 0), min(last, len(stem))
    seg = np.zeros(last - first, dtype=np.float32)
    if b > a:
        seg[a - first:b - first] = stem[a:b]
    frames = np.lib.stride_tricks.sliding_window_view(seg, n_fft)[::hop][: t_hi - t_lo]
    return scipy.fft.rfft(frames * grid.window, axis=1).astype(np.complex64, copy=False)


def _interp_rows(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """values [T, F] read at fractional column ``positions`` [T, M] (clamped), linear interpolation."""
    n = values.shape[1]
    pos = np.clip(positions, 0, n - 1)
    lo = np.minimum(pos.astype(np.int64), n - 2)
    frac = (pos - lo).astype(values.dtype)
    rows = np.arange(values.shape[0])[:, None]
    return values[rows, lo] * (1 - frac) + values[rows, lo + 1] * frac


def refine_f0(mag: np.ndarray, f0_hz: np.ndarray, grid: FrameGrid, span_cents: float = 40.0,
              step_cents: float = 5.0, n_harmonics: int = 12) -> np.ndarray:
    """[T] F0 near ``f0_hz`` maximising the mean log-magnitude at its first harmonics (parabolic refinement).

    mag: [T, F] magnitudes. θ's F0 comes from a mixture; this aligns the comb with the stem's own harmonics.
    """
    offsets = np.arange(-span_cents, span_cents + step_cents / 2, step_cents)
    cand = f0_hz[:, None] * 2.0 ** (offsets[None, :] / 1200)  # [T, C]
    k = np.arange(1, n_harmonics + 1)
    pos = cand[:, :, None] * k[None, None, :] / grid.bin_hz  # [T, C, K]
    valid = pos < grid.n_bins - 2
    log_mag = np.log(mag + EPS)
    T, C, K = pos.shape
    vals = _interp_rows(log_mag, pos.reshape(T, C * K)).reshape(T, C, K)
    score = np.where(valid, vals, 0).sum(axis=2) / np.maximum(valid.sum(axis=2), 1)
    best = np.clip(np.argmax(score, axis=1), 1, C - 2)
    rows = np.arange(T)
    a, b, c = score[rows, best - 1], score[rows, best], score[rows, best + 1]
    den = a - 2 * b + c
    shift = np.where(den < 0, 0.5 * (a - c) / np.where(den < 0, den, -1), 0.0)
    cents = offsets[best] + np.clip(shift, -1, 1) * step_cents
    return f0_hz * 2.0 ** (cents / 1200)


def harmonic_comb(f0_hz: np.ndarray, voiced: np.ndarray, grid: FrameGrid, inner_bins: float = 1.5,
                  outer_bins: float = 2.5) -> np.ndarray:
    """[T, F] float32: 1 within ``inner_bins`` of a harmonic of ``f0_hz``, 0 beyond ``outer_bins``, 0 if unvoiced."""
    freqs = np.arange(grid.n_bins, dtype=np.float32) * grid.bin_hz
    f0 = np.maximum(f0_hz, 1.0).astype(np.float32)[:, None]
    p = freqs[None, :] / f0
    dist = np.abs(p - np.round(p)) * f0 / grid.bin_hz
    comb = np.clip((outer_bins - dist) / (outer_bins - inner_bins), 0, 1)
    comb[:, 0] = 0  # DC is not a harmonic
    return (comb * voiced[:, None]).astype(np.float32)


def harmonic_envelope(log_mag: np.ndarray, f0_hz: np.ndarray, grid: FrameGrid) -> np.ndarray:
    """[T, F] log envelope through the harmonic peaks (max over +-1 bin of each multiple of ``f0_hz``)."""
    T, F = log_mag.shape
    k_max = int(np.ceil(grid.sample_rate / 2 / max(f0_hz.min(), 30.0))) + 1
    k = np.arange(1, k_max + 1)
    centre = np.round(f0_hz[:, None] * k[None, :] / grid.bin_hz).astype(np.int64)  # [T, K]
    inside = centre <= F - 2
    rows = np.arange(T)[:, None]
    peaks = np.full(centre.shape, -np.inf, dtype=np.float32)
    for d in (-1, 0, 1):
        peaks = np.maximum(peaks, log_mag[rows, np.clip(centre + d, 0, F - 1)])
    # beyond Nyquist repeat the last harmonic inside
    n_inside = np.maximum(inside.sum(axis=1), 1)
    last = peaks[np.arange(T), n_inside - 1]
    peaks = np.where(inside, peaks, last[:, None])
    pos = np.arange(F, dtype=np.float32)[None, :] * grid.bin_hz / f0_hz[:, None].astype(np.float32) - 1
    return _interp_rows(peaks, pos).astype(np.float32)


def harmonic_peaks(log_mag: np.ndarray, f0_hz: np.ndarray, grid: FrameGrid) -> tuple[np.ndarray, np.ndarray]:
    """(log-magnitude peaks [T, K] of harmonics 1..K, max over +-1 bin; inside [T, K] bool: below Nyquist)."""
    T, F = log_mag.shape
    k_max = int(np.ceil(grid.sample_rate / 2 / max(f0_hz.min(), 30.0))) + 1
    k = np.arange(1, k_max + 1)
    centre = np.round(f0_hz[:, None] * k[None, :] / grid.bin_hz).astype(np.int64)
    inside = centre <= F - 2
    rows = np.arange(T)[:, None]
    peaks = np.full(centre.shape, -np.inf, dtype=np.float32)
    for d in (-1, 0, 1):
        peaks = np.maximum(peaks, log_mag[rows, np.clip(centre + d, 0, F - 1)])
    return peaks, inside


def dap_envelope(log_peaks: np.ndarray, inside: np.ndarray, f0_hz: np.ndarray, grid: FrameGrid,
                 order: int = 14, iterations: int = 10, min_bandwidth_hz: float = 60.0) -> np.ndarray:
    """[T, F] log magnitude of the discrete all-pole fit of the harmonic peaks (El-Jaroudi & Makhoul 1991,
    "Discrete all-pole modeling", IEEE TSP 39(2)): minimises the Itakura-Saito distance at the harmonics only,
    so a formant between two sparse harmonics (high voices) is placed where the harmonic amplitudes imply.
    log_peaks, inside: [T, K] from :func:`harmonic_peaks`. The order is capped below the number of harmonics.
    The poles are then widened by ``min_bandwidth_hz`` (a_m x γ^m): DAP on noisy real harmonics otherwise makes
    needle-sharp resonances between harmonics that pitch and formant edits would land harmonics on."""
    T, K = log_peaks.shape
    n_in = np.maximum(inside.sum(axis=1), 1)
    p = int(max(4, min(order, n_in.min() - 2)))
    level = np.where(inside, log_peaks, -np.inf).max(axis=1, keepdims=True)
    power = np.where(inside, np.exp(2 * (log_peaks - level).astype(np.float64)), 0.0)  # [T, K], peak = 1
    omega = 2 * np.pi * f0_hz[:, None] * np.arange(1, K + 1)[None, :] / grid.sample_rate  # [T, K]
    m = np.arange(p + 1)
    phase = omega[:, :, None] * m[None, None, :]  # [T, K, p + 1]
    cos = np.cos(phase) * inside[:, :, None]
    sin = np.sin(phase) * inside[:, :, None]
    r = np.einsum("tk,tkm->tm", power, cos) / n_in[:, None]  # [T, p + 1]
    idx = np.abs(m[:, None] - m[None, :])
    toeplitz = r[:, idx] + np.eye(p + 1)[None] * (1e-6 * r[:, :1, None])  # [T, p + 1, p + 1]
    a, err = levinson(r, p)
    a = a / np.sqrt(err)[:, None]  # model 1 / |A|^2
    cos_t, sin_t = cos.transpose(0, 2, 1), sin.transpose(0, 2, 1)
    for _ in range(iterations):
        re = (cos @ a[:, :, None])[:, :, 0]  # A(ω_k) = re - j·im
        im = (sin @ a[:, :, None])[:, :, 0]
        mag2 = np.maximum(re * re + im * im, 1e-30) * n_in[:, None]
        # h_i = mean_k Re(e^{jω_k i} / conj(A(ω_k)))
        h = (cos_t @ (re / mag2)[:, :, None] + sin_t @ (im / mag2)[:, :, None])[:, :, 0]
        a = np.linalg.solve(toeplitz, h[:, :, None])[:, :, 0]
    gamma = np.exp(-np.pi * min_bandwidth_hz / grid.sample_rate) ** m
    spectrum = scipy.fft.rfft(a * gamma, n=grid.n_fft, axis=1)
    return (level - np.log(np.abs(spectrum) + 1e-12)).astype(np.float32)


def levinson(r: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Levinson-Durbin on autocorrelations r: [T, >= order + 1] -> (a [T, order + 1] with a[:, 0] = 1, error [T])."""
    T = r.shape[0]
    a = np.zeros((T, order + 1), dtype=np.float64)
    a[:, 0] = 1
    err = r[:, 0].astype(np.float64) * (1 + 1e-6) + 1e-12
    for i in range(1, order + 1):
        acc = r[:, i] + (a[:, 1:i] * r[:, i - 1:0:-1]).sum(axis=1)
        k = -acc / err
        a[:, 1:i] = a[:, 1:i] + k[:, None] * a[:, i - 1:0:-1]
        a[:, i] = k
        err = err * np.maximum(1 - k * k, 1e-9)
    return a, err


def all_pole_envelope(log_env: np.ndarray, grid: FrameGrid) -> np.ndarray:
    """[T, F] log magnitude of the all-pole fit (order 2 + kHz, at most 40) of the power spectrum exp(2·log_env)."""
    order = int(min(40, 2 + grid.sample_rate // 1000))
    power = np.exp(2 * log_env.astype(np.float64))
    r = scipy.fft.irfft(power, n=grid.n_fft, axis=1)[:, :order + 1]
    a, err = levinson(r, order)
    inv = scipy.fft.rfft(a, n=grid.n_fft, axis=1)
    return (0.5 * np.log(err)[:, None] - np.log(np.abs(inv) + EPS)).astype(np.float32)


def frame_aperiodicity(spec: np.ndarray, f0_hz: np.ndarray, grid: FrameGrid, search: float = 0.04) -> np.ndarray:
    """[T] aperiodic share 1 − r of each frame ([T, F] STFT), r the peak of the window-corrected normalised
    autocorrelation within ``search`` of the period 1/f0_hz (parabolic interpolation), clipped to [0.001, 1].

    Boersma (1993), the HNR measure of Praat; on the analysis frames themselves (linear autocorrelation via a
    2·n_fft transform)."""
    n = grid.n_fft
    frames = scipy.fft.irfft(spec, n=n, axis=1)
    acf = scipy.fft.irfft(np.abs(scipy.fft.rfft(frames, n=2 * n, axis=1)) ** 2, n=2 * n, axis=1)[:, :n // 2]
    w = grid.window.astype(np.float64)
    wacf = scipy.fft.irfft(np.abs(scipy.fft.rfft(w, n=2 * n)) ** 2, n=2 * n)[:n // 2]
    norm = (acf / np.maximum(acf[:, :1], 1e-20)) / (wacf / wacf[0])
    period = grid.sample_rate / f0_hz
    lags = np.arange(n // 2)
    lo = np.clip(np.floor(period * (1 - search)), 1, n // 2 - 2).astype(np.int64)
    hi = np.clip(np.ceil(period * (1 + search)), 2, n // 2 - 2).astype(np.int64)
    masked = np.where((lags[None, :] >= lo[:, None]) & (lags[None, :] <= hi[:, None]), norm, -np.inf)
    k = np.clip(np.argmax(masked, axis=1), 1, n // 2 - 2)
    rows = np.arange(len(k))
    a, b, c = norm[rows, k - 1], norm[rows, k], norm[rows, k + 1]
    den = a - 2 * b + c
    shift = np.where(den < 0, 0.5 * (a - c) / np.where(den < 0, den, -1), 0.0)
    r = b - 0.25 * (a - c) * np.clip(shift, -1, 1)
    return np.clip(1 - r, 1e-3, 1).astype(np.float32)


def formant_taper(grid: FrameGrid) -> np.ndarray:
    """[F] 1 below 0.8 x FORMANT_BAND_HZ, falling linearly to 0 at FORMANT_BAND_HZ."""
    freqs = np.arange(grid.n_bins) * grid.bin_hz
    return np.clip((FORMANT_BAND_HZ - freqs) / (0.2 * FORMANT_BAND_HZ), 0, 1).astype(np.float32)


def noise_floor_curvature(power: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray, grid: FrameGrid,
                          half: int = NOISE_HALF_FRAMES) -> np.ndarray:
    """[T, F] natural-log curvature of the noise floor between the harmonics of the T centre frames.

    power: [T + 2·half, F] power spectra of the centre frames and ``half`` frames on either side; f0_hz, voiced:
    [T + 2·half] the same frames' F0 and voicing (only voiced frames' between-harmonic bins count; a centre frame
    with none near it gets 0).
    The breath noise of a voice is excited at the glottis and filtered by the same vocal tract as the harmonics
    (Fant 1960), so its spectrum between two harmonics shows the tract's shape there — a formant that lies between
    two sparse harmonics of a high voice shows as a bump of the noise, which the harmonics cannot show. The
    between-harmonic bins (comb 0: beyond 2.5 bins of a harmonic; the aperiodic component read between harmonics,
    as in Jackson & Shadle 2001, IEEE TSAP 9(7)) are averaged over the frames around each frame and over
    NOISE_SMOOTH_HZ, interpolated across the harmonic lobes, and the result minus its own interpolation between
    the harmonics (:func:`harmonic_envelope`) is the curvature, capped at MAX_CURVATURE."""
    T = len(f0_hz) - 2 * half
    f0 = np.where(voiced, f0_hz, 100.0)
    valid = ((harmonic_comb(f0, voiced, grid) <= 0) & voiced[:, None]).astype(np.float64)
    num = uniform_filter1d(power * valid, 2 * half + 1, axis=0)[half:half + T]
    den = uniform_filter1d(valid, 2 * half + 1, axis=0)[half:half + T]
    width = max(1, int(round(NOISE_SMOOTH_HZ / grid.bin_hz)) | 1)
    num = uniform_filter1d(num, width, axis=1)
    den = uniform_filter1d(den, width, axis=1)
    ok = den > 0.2
    log_noise = 0.5 * np.log(np.maximum(num / np.maximum(den, 1e-9), 1e-20))
    bins = np.arange(power.shape[1])
    floor = np.zeros((T, power.shape[1]), dtype=np.float32)
    for t in range(T):
        if ok[t].sum() >= 2:
            floor[t] = np.interp(bins, bins[ok[t]], log_noise[t, ok[t]])
    bend = floor - harmonic_envelope(floor, f0[half:half + T], grid)
    return (np.clip(bend, -MAX_CURVATURE, MAX_CURVATURE) * formant_taper(grid)).astype(np.float32)


def theta_envelope(theta: ThetaVoice, times_s: np.ndarray, grid: FrameGrid) -> np.ndarray:
    """[T, F] log magnitude of θ's all-pole vocal tract (``lsf_rad`` at the model's rate, nearest frame) on the
    grid's bins (held above the model's Nyquist). For the ablation ``envelope="theta"`` only."""
    import torch

    from engine.dsp.allpole import lsf_to_lpc

    lsf = theta.extra["lsf_rad"]
    rate = int(theta.extra.get("model_sample_rate", 16000))
    idx = np.clip(np.round(times_s / theta.hop_s).astype(int), 0, len(lsf) - 1)
    a = lsf_to_lpc(torch.as_tensor(np.asarray(lsf)[idx], dtype=torch.float64)).numpy()
    w = 2 * np.pi * np.minimum(np.arange(grid.n_bins) * grid.bin_hz, rate / 2 - 1) / rate
    response = np.exp(-1j * np.outer(np.arange(a.shape[1]), w))  # [P + 1, F]
    return (-np.log(np.abs(a @ response) + EPS)).astype(np.float32)


def pool_grid(grid: FrameGrid) -> np.ndarray:
    """[J] log2 Hz nodes of the pooled envelope, POOL_LOW_HZ to Nyquist by POOL_STEP_OCT."""
    return np.arange(np.log2(POOL_LOW_HZ), np.log2(grid.sample_rate / 2) + POOL_STEP_OCT, POOL_STEP_OCT)


def pool_margin_frames(grid: FrameGrid) -> int:
    """Frames on each side of a block whose harmonics are pooled into the block's envelopes (2 sigma)."""
    return int(np.ceil(2 * POOL_SIGMA_S * grid.sample_rate / grid.hop))


def read_log_grid(values: np.ndarray, log2_hz: np.ndarray, grid: FrameGrid) -> np.ndarray:
    """[T, J] rows of ``values`` ([T, F] on the STFT bins) read at the frequencies 2**log2_hz (linear)."""
    pos = np.broadcast_to((2.0 ** log2_hz / grid.bin_hz)[None, :], (values.shape[0], len(log2_hz)))
    return _interp_rows(values, pos).astype(np.float32)


def pooled_log_envelope(peaks: np.ndarray, inside: np.ndarray, f0_hz: np.ndarray, rows: np.ndarray,
                        n_frames: int, centre: np.ndarray, prior: np.ndarray, grid: FrameGrid) -> np.ndarray:
    """[T, J] natural-log envelope of frames ``centre`` ([T] indices) pooled from the harmonic peaks of the frames
    around them.

    peaks, inside: [V, K] log-magnitude harmonic peaks of the V voiced frames ``rows`` (indices into
    ``n_frames`` consecutive frames; from :func:`harmonic_peaks`), f0_hz: [V]; prior: [T, J] each centre frame's
    own envelope model on the grid (:func:`pool_grid`).

    One frame of a high voice samples its envelope only at its harmonics (300-900 Hz apart for a soprano); the
    frames around it, with vibrato, glides and note changes, sample it elsewhere. Each harmonic below
    FORMANT_BAND_HZ is a sample (log2 f, log magnitude − frame level), the frame level being the mean of its own
    harmonic envelope over 300-3000 Hz; the samples are spread by a Gaussian kernel of POOL_SIGMA_OCT in
    frequency (normalised convolution, Knutsson & Westin 1993) and weighted over time by a *bilateral* kernel
    (Tomasi & Manduchi 1998): Gaussian in time (POOL_SIGMA_S) times Gaussian in the rms difference between the two
    frames' own harmonic envelopes over 300-4000 Hz (POOL_TAU_DB), so that frames of the same vowel pool and a
    vowel change stops the pooling. The frame's own model counts as POOL_PRIOR frames of samples: where no
    harmonic of a similar frame went, the envelope stays the frame's own model.
    Measured against singers whose formants were truly scaled (docs/edit.md): plain time pooling (no similarity
    term) helped steady synthetic vowels but hurt real-like singing whose vowel changes every syllable."""
    from scipy.ndimage import gaussian_filter1d

    u = pool_grid(grid)
    J = len(u)
    K = peaks.shape[1]
    fk = f0_hz[:, None] * np.arange(1, K + 1)[None, :]
    own = _interp_rows(peaks, np.clip(2.0 ** u[None, :] / f0_hz[:, None] - 1, 0, None))  # [V, J] harmonic interp.
    band = (u >= np.log2(300.0)) & (u <= np.log2(3000.0))
    level = own[:, band].mean(axis=1)  # [V]
    use = inside & (fk < FORMANT_BAND_HZ)
    pos = (np.log2(np.maximum(fk, POOL_LOW_HZ)) - u[0]) / POOL_STEP_OCT
    lo = np.clip(pos.astype(np.int64), 0, J - 2)
    frac = pos - lo
    y = (peaks - level[:, None]).astype(np.float64)
    r = np.broadcast_to(rows[:, None], pos.shape)
    flat = (r * J + lo)[use]
    w0, w1, yy = (1 - frac)[use], frac[use], y[use]
    size = n_frames * J
    weight = (np.bincount(flat, w0, size) + np.bincount(flat + 1, w1, size)).reshape(n_frames, J)
    total = (np.bincount(flat, w0 * yy, size) + np.bincount(flat + 1, w1 * yy, size)).reshape(n_frames, J)
    sigma_u = POOL_SIGMA_OCT / POOL_STEP_OCT
    sigma_t = POOL_SIGMA_S * grid.sample_rate / grid.hop
    norm = np.sqrt(2 * np.pi) * sigma_u
    for arr in (weight, total):
        arr[:] = gaussian_filter1d(arr, sigma_u, axis=1, mode="constant", truncate=3.0) * norm
    # bilateral time weights: neighbours close in time AND with a similar own envelope (same vowel)
    cmp_band = (u >= np.log2(300.0)) & (u <= np.log2(4000.0))
    curves = 8.686 * (own[:, cmp_band] - level[:, None]).astype(np.float64)  # [V, Jb] dB
    pos_in_rows = np.full(n_frames, -1)
    pos_in_rows[rows] = np.arange(len(rows))
    ci = pos_in_rows[centre]  # centre frames' rows in `curves`
    cc = curves[ci]
    d2 = ((cc ** 2).sum(1)[:, None] + (curves ** 2).sum(1)[None, :] - 2 * cc @ curves.T) / cmp_band.sum()
    dt = centre[:, None] - rows[None, :]
    w = np.exp(-0.5 * (dt / sigma_t) ** 2 - 0.5 * np.maximum(d2, 0) / POOL_TAU_DB ** 2)
    w[np.abs(dt) > 2 * sigma_t] = 0
    wsum = w @ weight[rows]
    tsum = w @ total[rows]
    level_all = np.zeros(n_frames)
    level_all[rows] = level
    lc = level_all[centre][:, None]
    pooled = (tsum + POOL_PRIOR * (prior - lc)) / (wsum + POOL_PRIOR) + lc
    return pooled.astype(np.float32)


@dataclass(frozen=True)
class HarmonicFrames:
    """Harmonic peaks of a range of frames: f0_hz [T] (θ's, refined on the stem where voiced), voiced [T] bool,
    rows [V] the voiced frames' indices in the range, peaks / inside [V, K] from :func:`harmonic_peaks`."""

    f0_hz: np.ndarray
    voiced: np.ndarray
    rows: np.ndarray
    peaks: np.ndarray
    inside: np.ndarray

    @staticmethod
    def concat(parts: list["HarmonicFrames"]) -> "HarmonicFrames":
        """Consecutive ranges as one; peaks padded to the widest K (-inf, not inside: never read)."""
        k = max(p.peaks.shape[1] for p in parts)
        offsets = np.cumsum([0] + [len(p.f0_hz) for p in parts[:-1]])
        return HarmonicFrames(
            np.concatenate([p.f0_hz for p in parts]), np.concatenate([p.voiced for p in parts]),
            np.concatenate([p.rows + o for p, o in zip(parts, offsets)]),
            np.concatenate([np.pad(p.peaks, ((0, 0), (0, k - p.peaks.shape[1])), constant_values=-np.inf)
                            for p in parts]),
            np.concatenate([np.pad(p.inside, ((0, 0), (0, k - p.inside.shape[1]))) for p in parts]))


def harmonic_frames(stem: np.ndarray, theta: ThetaVoice, grid: FrameGrid, t_lo: int, t_hi: int) -> HarmonicFrames:
    """:class:`HarmonicFrames` of frames [t_lo, t_hi) of ``stem`` (each frame on its own: ranges can be joined)."""
    mag = np.abs(stft_frames(stem, grid, t_lo, t_hi))
    f0, voiced = theta.at(np.arange(t_lo, t_hi) * grid.hop / grid.sample_rate)
    rows = np.nonzero(voiced)[0]
    if not len(rows):
        return HarmonicFrames(f0, voiced, rows, np.zeros((0, 1), np.float32), np.zeros((0, 1), bool))
    f0[rows] = refine_f0(mag[rows], f0[rows], grid)
    peaks, inside = harmonic_peaks(np.log(mag[rows] + EPS).astype(np.float32), f0[rows], grid)
    return HarmonicFrames(f0, voiced, rows, peaks, inside)


def analyse_frames(stem: np.ndarray, theta: ThetaVoice, grid: FrameGrid, t_lo: int, t_hi: int,
                   envelope: str = "stem", harmonics=None) -> FrameAnalysis:
    """Analysis of frames [t_lo, t_hi) of ``stem`` ([N] float32 at grid.sample_rate) guided by ``theta``.
    ``envelope="theta"`` (ablation) whitens by θ's LSF envelope instead of the stem's, level-matched per frame.
    ``harmonics(lo, hi)`` gives the :class:`HarmonicFrames` of any range (a cache shared by neighbouring blocks,
    whose pooled envelopes read the same frames); default :func:`harmonic_frames`."""
    margin = pool_margin_frames(grid)  # the frames around the block are read for the pooled envelope only
    if harmonics is None:
        def harmonics(lo, hi):
            return harmonic_frames(stem, theta, grid, lo, hi)
    around = harmonics(t_lo - margin, t_hi + margin)
    f0_all, v_all, peaks_all, inside_all = around.f0_hz, around.rows, around.peaks, around.inside
    centre = slice(margin, margin + t_hi - t_lo)
    f0, voiced = f0_all[centre].copy(), around.voiced[centre]
    spec = stft_frames(stem, grid, t_lo, t_hi)
    times = np.arange(t_lo, t_hi) * grid.hop / grid.sample_rate
    mag = np.abs(spec)
    log_mag = np.log(mag + EPS).astype(np.float32)
    power = mag * mag
    smooth_bins = max(3, int(round(300 / grid.bin_hz)) | 1)
    log_env = (0.5 * np.log(uniform_filter1d(power, smooth_bins, axis=1) + EPS)).astype(np.float32)
    log_model = log_env.copy()
    log_noise = np.zeros_like(log_env)
    comb = np.zeros_like(log_env)
    aperiodicity = np.zeros(len(f0), dtype=np.float32)
    if voiced.any():
        v = np.nonzero(voiced)[0]
        log_env[v] = harmonic_envelope(log_mag[v], f0[v], grid)
        in_centre = (v_all >= margin) & (v_all < margin + t_hi - t_lo)
        peaks, inside = peaks_all[in_centre], inside_all[in_centre]
        k_formant = max(3, int(np.ceil(FORMANT_BAND_HZ / max(f0[v].min(), 30.0))))
        band = inside[:, :k_formant] & (f0[v][:, None] * np.arange(1, k_formant + 1) < FORMANT_BAND_HZ)
        smooth = dap_envelope(peaks[:, :k_formant], band, f0[v], grid)
        curvature = np.clip(smooth - harmonic_envelope(smooth, f0[v], grid), -MAX_CURVATURE, MAX_CURVATURE)
        curvature = curvature * formant_taper(grid)
        log_model[v] = log_env[v] + curvature
        comb_v = harmonic_comb(f0[v], np.ones(len(v), dtype=bool), grid)
        comb[v] = comb_v
        aperiodicity[v] = frame_aperiodicity(spec[v], f0[v], grid)
        # noise power under the harmonics: normalised convolution of the between-harmonic bins
        width = max(5, int(round(2.5 * np.median(f0[v]) / grid.bin_hz)) | 1)
        weight = 1 - comb_v
        num = uniform_filter1d(power[v] * weight, width, axis=1)
        den = uniform_filter1d(weight, width, axis=1)
        noise = num / np.maximum(den, 1e-3)
        noise = np.where(den > 1e-3, noise, power[v] * 1e-3)
        log_noise[v] = np.log(noise + EPS)
    if envelope == "theta" and voiced.any():
        v = np.nonzero(voiced)[0]
        env = theta_envelope(theta, times[v], grid)
        env += (log_env[v] - env).mean(axis=1, keepdims=True)
        log_env[v] = env
        log_model[v] = env
    log_pool = read_log_grid(log_model, pool_grid(grid), grid)  # unvoiced frames: their own smoothed spectrum
    if voiced.any() and envelope == "stem":
        v = np.nonzero(voiced)[0]
        # the frame's own model between its harmonics, for the pooling: half the all-pole curvature, half the
        # noise floor's (read on the frames around it, whatever the block)
        h = NOISE_HALF_FRAMES
        span = slice(margin - h, margin + t_hi - t_lo + h)
        power_around = np.concatenate([np.abs(stft_frames(stem, grid, t_lo - h, t_lo)) ** 2, power,
                                       np.abs(stft_frames(stem, grid, t_hi, t_hi + h)) ** 2])
        noise_bend = noise_floor_curvature(power_around, f0_all[span], around.voiced[span], grid)[v]
        own = log_env[v] + (1 - NOISE_BEND_WEIGHT) * (log_model[v] - log_env[v]) + NOISE_BEND_WEIGHT * noise_bend
        log_pool[v] = pooled_log_envelope(peaks_all, inside_all, f0_all[v_all], v_all, len(f0_all),
                                          v + margin, read_log_grid(own, pool_grid(grid), grid), grid)
    return FrameAnalysis(t_lo, spec, f0, voiced, log_env, log_model, log_pool, log_noise, comb, aperiodicity)
