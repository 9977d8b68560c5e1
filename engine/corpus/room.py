"""Synthetic room impulse responses: direct sound, sparse early reflections and a late tail of exponentially
decaying noise whose decay is slower at low frequencies (a common statistical room model, e.g. Lehmann &
Johansson 2010, "Diffuse reverberation model for efficient image-source simulation of room impulse responses").
"""
from __future__ import annotations

import numpy as np
from scipy.signal import oaconvolve


def room_response(rt60_s: float, drr_db: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Impulse response [samples] with the direct sound (1.0) at sample 0.

    rt60_s: reverberation time (mid frequencies); drr_db: direct-to-reverberant energy ratio in dB.
    """
    length = int(min(1.1 * rt60_s, 2.5) * rate) + 1
    t = np.arange(length) / rate
    noise = np.fft.rfft(rng.standard_normal(length))
    f = np.fft.rfftfreq(length, 1 / rate)
    low_mask = 1.0 / (1.0 + (f / 700.0) ** 2)
    low = np.fft.irfft(noise * low_mask, length)
    high = np.fft.irfft(noise * (1 - low_mask) * 1.0 / np.sqrt(1 + (f / 6000.0) ** 2), length)
    tail = low * np.exp(-6.91 * t / (1.2 * rt60_s)) + high * np.exp(-6.91 * t / (0.75 * rt60_s))
    mixing_s = rng.uniform(0.015, 0.05)
    tail *= np.clip(t / mixing_s, 0, 1) ** 2
    reverb = tail
    for _ in range(int(rng.integers(6, 14))):  # early reflections
        k = int(rng.uniform(0.003, mixing_s + 0.02) * rate)
        if k < length:
            reverb[k] += rng.choice([-1, 1]) * rng.uniform(0.2, 0.6) * np.exp(-6.91 * t[k] / rt60_s) \
                * np.sqrt(np.mean(tail[: int(0.1 * rate)] ** 2) * rate * 0.01 + 1e-12)
    energy = np.sum(reverb ** 2) + 1e-12
    reverb *= np.sqrt(10 ** (-drr_db / 10) / energy)
    reverb[0] += 1.0
    return reverb.astype(np.float32)


def apply_room(dry: np.ndarray, response: np.ndarray) -> np.ndarray:
    """dry [samples] convolved with the response, cut to the dry length: [samples] float32."""
    return oaconvolve(dry, response)[: len(dry)].astype(np.float32)
