"""Small synthetic singing voices with known F0, formants and harmonic-to-noise ratio, to test edits.

A band-limited glottal source (harmonics rolling off at ``tilt_db_per_octave``) plus aspiration noise, both
through the same all-pole vocal tract (one resonator per formant). Everything the edit tests measure is known.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from engine.edit.theta_voice import ThetaVoice


@dataclass
class SyntheticVoice:
    """samples: [N] float32 at sample_rate Hz; theta: its θ (exact F0); formants_hz, hnr_db: the ground truth."""

    samples: np.ndarray
    sample_rate: int
    theta: ThetaVoice
    formants_hz: tuple
    hnr_db: float


def _resonator_poles(formants_hz, bandwidths_hz, sample_rate):
    radius = np.exp(-np.pi * np.asarray(bandwidths_hz) / sample_rate)
    angle = 2 * np.pi * np.asarray(formants_hz) / sample_rate
    return radius, angle


def vocal_tract_gain(freqs_hz: np.ndarray, formants_hz, bandwidths_hz, sample_rate: int) -> np.ndarray:
    """|H(f)| of the all-pole vocal tract at ``freqs_hz`` (any shape), unit gain at 0 Hz."""
    radius, angle = _resonator_poles(formants_hz, bandwidths_hz, sample_rate)
    z = np.exp(-1j * 2 * np.pi * np.asarray(freqs_hz, dtype=np.float64) / sample_rate)
    gain = np.ones(np.shape(freqs_hz))
    for r, a in zip(radius, angle):
        dc = 1 - 2 * r * np.cos(a) + r * r
        gain = gain * dc / np.abs(1 - 2 * r * np.cos(a) * z + r * r * z * z)
    return gain


def synth_voice(duration_s: float = 2.0, sample_rate: int = 16000, f0_hz: float = 200.0,
                formants_hz=(700.0, 1200.0, 2600.0, 3400.0), bandwidths_hz=(80.0, 90.0, 120.0, 150.0),
                hnr_db: float = 20.0, vibrato_cents: float = 0.0, vibrato_hz: float = 5.5,
                glide_cents: float = 0.0, tilt_db_per_octave: float = -12.0, seed: int = 0,
                hop_s: float = 0.016) -> SyntheticVoice:
    """A sung vowel: F0 ``f0_hz`` (plus a linear glide and a sine vibrato, in cents), formants, noise at ``hnr_db``.

    The F0 track goes into ``theta`` exactly; 20-ms fades at both ends.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    cents = glide_cents * t / max(duration_s, 1e-9) + vibrato_cents * np.sin(2 * np.pi * vibrato_hz * t)
    f0 = f0_hz * 2.0 ** (cents / 1200.0)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    harmonic = np.zeros(n)
    n_harm = int(sample_rate / 2 / f0.min())
    grid = np.linspace(0, sample_rate / 2, 2049)
    vt_grid = vocal_tract_gain(grid, formants_hz, bandwidths_hz, sample_rate)
    for k in range(1, n_harm + 1):
        fk = k * f0
        alive = fk < sample_rate / 2 - 50
        if not alive.any():
            break
        amp = np.interp(fk, grid, vt_grid) * 10 ** (tilt_db_per_octave * np.log2(k) / 20) * alive
        harmonic += amp * np.sin(k * phase)
    radius, angle = _resonator_poles(formants_hz, bandwidths_hz, sample_rate)
    denom = np.array([1.0])
    gain0 = 1.0
    for r, a in zip(radius, angle):
        denom = np.convolve(denom, [1.0, -2 * r * np.cos(a), r * r])
        gain0 *= 1 - 2 * r * np.cos(a) + r * r
    noise = lfilter([gain0], denom, rng.standard_normal(n))
    noise *= np.sqrt(np.mean(harmonic ** 2) / np.mean(noise ** 2) * 10 ** (-hnr_db / 10))
    fade = np.clip(np.minimum(t, duration_s - t) / 0.02, 0, 1)
    samples = (harmonic + noise) * fade
    samples = (0.3 * samples / np.abs(samples).max()).astype(np.float32)
    frames = np.arange(int(duration_s / hop_s) + 1) * hop_s
    f0_frames = np.interp(frames, t, f0)
    voiced = (frames > 0.02) & (frames < duration_s - 0.02)
    theta = ThetaVoice("voice1", f0_frames, voiced, hop_s)
    return SyntheticVoice(samples, sample_rate, theta, tuple(formants_hz), hnr_db)
