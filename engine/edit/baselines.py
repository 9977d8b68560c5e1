"""The simpler pitch shifters motet's renderer is measured against (docs/edit.md).

- :func:`resample_pitch`: play the stem faster — pitch, formants and tempo all move by the ratio.
- :func:`phase_vocoder_pitch`: the textbook phase vocoder (Flanagan & Golden 1966; Dolson 1986) stretches time by
  the ratio, then resampling restores the duration — pitch moves, the envelope (formants) moves with it.
"""
from __future__ import annotations

import numpy as np
import soxr


def resample_pitch(samples: np.ndarray, sample_rate: int, cents: float) -> np.ndarray:
    """[N / r] samples: ``samples`` resampled so that, played at ``sample_rate``, every frequency is x r."""
    ratio = 2.0 ** (cents / 1200)
    return soxr.resample(np.asarray(samples, dtype=np.float32), sample_rate * ratio, sample_rate).astype(np.float32)


def phase_vocoder_stretch(samples: np.ndarray, factor: float, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """[~N * factor] samples: time stretched by ``factor`` with a plain phase vocoder (Hann, hop n_fft/4)."""
    x = np.asarray(samples, dtype=np.float64)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(x, (n_fft, n_fft + hop))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    spec = np.fft.rfft(frames * window, axis=1)
    positions = np.arange(0, len(spec) - 1, 1 / factor)
    omega = 2 * np.pi * hop * np.arange(n_fft // 2 + 1) / n_fft
    phase = np.angle(spec[0])
    out = np.zeros((len(positions), n_fft // 2 + 1), dtype=complex)
    for i, p in enumerate(positions):
        t = int(p)
        frac = p - t
        mag = (1 - frac) * np.abs(spec[t]) + frac * np.abs(spec[t + 1])
        out[i] = mag * np.exp(1j * phase)
        dphi = np.angle(spec[t + 1]) - np.angle(spec[t]) - omega
        dphi -= 2 * np.pi * np.round(dphi / (2 * np.pi))
        phase = phase + omega + dphi
    y_frames = np.fft.irfft(out, n=n_fft, axis=1) * window
    y = np.zeros(len(positions) * hop + n_fft)
    for i, f in enumerate(y_frames):
        y[i * hop:i * hop + n_fft] += f
    y /= 1.5
    return y[n_fft:n_fft + int(round(len(x) * factor))].astype(np.float32)


def phase_vocoder_pitch(samples: np.ndarray, sample_rate: int, cents: float, n_fft: int = 1024) -> np.ndarray:
    """[N] samples: pitch x r by a phase-vocoder stretch by r, then resampling by 1/r (no envelope kept)."""
    ratio = 2.0 ** (cents / 1200)
    stretched = phase_vocoder_stretch(samples, ratio, n_fft, n_fft // 4)
    out = soxr.resample(stretched.astype(np.float32), sample_rate * ratio, sample_rate).astype(np.float32)
    n = len(samples)
    return np.pad(out, (0, max(0, n - len(out))))[:n]
