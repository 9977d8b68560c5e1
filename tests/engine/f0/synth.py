"""Synthetic sung notes for the F0 tests: harmonic tones with vibrato and a falling spectral envelope."""
from __future__ import annotations

import numpy as np


def voice(f0_hz: np.ndarray, sample_rate: int, seed: int = 0, decay: float = 0.7) -> np.ndarray:
    """[samples] float32 harmonic voice following ``f0_hz`` ([samples], 0 = rest)."""
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * np.cumsum(f0_hz) / sample_rate
    out = np.zeros(len(f0_hz))
    for h in range(1, 20):
        amp = decay ** (h - 1) * (h * f0_hz < 0.45 * sample_rate)
        out += amp * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    env = (f0_hz > 0).astype(float)
    ramp = max(1, int(0.02 * sample_rate))
    env = np.convolve(env, np.ones(ramp) / ramp, mode="same")
    return (0.2 * out * env).astype(np.float32)


def notes_to_f0(notes: list[tuple[float, float, float]], duration_s: float, sample_rate: int,
                vibrato_cents: float = 30.0, vibrato_hz: float = 5.5) -> np.ndarray:
    """[samples] F0 in Hz from (start_s, end_s, midi) notes, with vibrato; 0 between notes."""
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    f0 = np.zeros_like(t)
    for start, end, midi in notes:
        on = (t >= start) & (t < end)
        f0[on] = 440.0 * 2 ** ((midi - 69) / 12)
    return f0 * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * vibrato_hz * t))


# a short SATB progression (midi numbers per chord), 0.5 s per chord; the alto rests in chord 3
CHORDS = [(72, 67, 64, 48), (74, 65, 62, 50), (76, 0, 60, 52), (77, 69, 65, 53), (79, 71, 62, 55), (72, 67, 64, 48)]


def satb(sample_rate: int = 16000, chord_s: float = 0.5):
    """(mixture [samples], true F0 [4, samples], sample_rate): four synthetic voices singing :data:`CHORDS`."""
    duration = chord_s * len(CHORDS) + 0.3
    voices, f0s = [], []
    for v in range(4):
        notes = [(0.15 + i * chord_s, 0.15 + (i + 1) * chord_s, chord[v]) for i, chord in enumerate(CHORDS)
                 if chord[v] > 0]
        f0 = notes_to_f0(notes, duration, sample_rate, vibrato_hz=5.0 + 0.4 * v)
        voices.append(voice(f0, sample_rate, seed=v, decay=0.6 if v == 0 else 0.75))
        f0s.append(f0)
    return np.sum(voices, axis=0).astype(np.float32), np.array(f0s), sample_rate
