"""Glottal source: band-limited wavetables of glottal-flow-derivative pulses, read by phase accumulation.

The pulse is Rosenberg's trigonometric flow model (Rosenberg 1971, "Effect of glottal pulse shape on the quality
of natural vowels", shape "C") with an exponential return phase as in the LF model (Fant, Liljencrants & Lin 1985),
differentiated (lip radiation). One period starts at glottal opening; the closed phase sits at the end of the
period, so jitter that moves period boundaries never cuts a pulse. Tables hold only harmonics below Nyquist
(one table per harmonic count, "mip-mapped"), so there is no aliasing.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

TABLE_SIZE = 2048
# (open quotient, speed quotient = opening/closing time, return phase as a fraction of the period)
SHAPES = {
    "pressed": (0.45, 3.0, 0.003),
    "modal": (0.6, 2.5, 0.008),
    "breathy": (0.8, 1.6, 0.02),
}
SHAPE_ORDER = ("pressed", "modal", "breathy")
HARMONIC_COUNTS = np.array([2, 3, 4, 6, 8, 11, 16, 22, 32, 45, 64, 90, 128, 181, 256, 362, 512])


def flow_pulse(open_quotient: float, speed_quotient: float, return_phase: float, n: int = 16384) -> np.ndarray:
    """One period of glottal flow [n], opening at 0, maximum 1, closed (zero) after the return phase."""
    t = np.arange(n) / n
    t_open = open_quotient * speed_quotient / (1 + speed_quotient)
    t_close = open_quotient
    flow = np.zeros(n)
    rising = t < t_open
    flow[rising] = 0.5 * (1 - np.cos(np.pi * t[rising] / t_open))
    falling = (t >= t_open) & (t < t_close)
    flow[falling] = np.cos(0.5 * np.pi * (t[falling] - t_open) / (t_close - t_open))
    # return phase: the closure is not abrupt; smooth the end of the falling branch with a one-pole decay
    decay = np.exp(-1.0 / max(return_phase * n, 1.0))
    smoothed = np.empty(n)
    acc = 0.0
    for i in range(0, n):  # one period at table resolution, done once per shape (cached)
        acc = decay * acc + (1 - decay) * flow[i]
        smoothed[i] = acc
    # second pass so the period wraps smoothly (closed phase decays to zero)
    for i in range(0, n):
        acc = decay * acc + (1 - decay) * flow[i]
        smoothed[i] = acc
    return smoothed / smoothed.max()


@lru_cache(maxsize=None)
def pulse_tables() -> tuple[np.ndarray, np.ndarray]:
    """Flow-derivative tables [shapes, levels, TABLE_SIZE + 1] (RMS 1 at full band; last sample wraps) and
    flow tables [shapes, TABLE_SIZE + 1] (0..1, used to gate aspiration noise)."""
    derivs = np.zeros((len(SHAPE_ORDER), len(HARMONIC_COUNTS), TABLE_SIZE + 1), dtype=np.float32)
    flows = np.zeros((len(SHAPE_ORDER), TABLE_SIZE + 1), dtype=np.float32)
    for s, name in enumerate(SHAPE_ORDER):
        flow = flow_pulse(*SHAPES[name])
        spec = np.fft.rfft(flow)
        k = np.arange(len(spec))
        dspec = spec * (2j * np.pi * k)            # derivative
        dspec[0] = 0
        full = np.fft.irfft(dspec[: TABLE_SIZE // 2 + 1], TABLE_SIZE) * TABLE_SIZE / len(flow)
        scale = 1.0 / np.sqrt(np.mean(full ** 2))
        for level, count in enumerate(HARMONIC_COUNTS):
            band = dspec[: TABLE_SIZE // 2 + 1].copy()
            band[count + 1:] = 0
            table = np.fft.irfft(band, TABLE_SIZE) * TABLE_SIZE / len(flow) * scale
            derivs[s, level, :TABLE_SIZE] = table
            derivs[s, level, TABLE_SIZE] = table[0]
        f = np.interp(np.arange(TABLE_SIZE) / TABLE_SIZE, np.arange(len(flow)) / len(flow), flow)
        flows[s, :TABLE_SIZE] = f
        flows[s, TABLE_SIZE] = f[0]
    return derivs, flows


def glottal_source(phase: np.ndarray, f0_hz: np.ndarray, tension: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Glottal flow derivative and flow at given phases.

    phase: [samples] in periods (any real; fractional part used); f0_hz: [samples] (picks the band-limited table);
    tension: [samples] in [0, 1] (1 pressed, 0.5 modal, 0 breathy; interpolates the pulse shapes).
    Returns (derivative [samples] float32, RMS about 1; flow [samples] float32 in 0..1).
    """
    derivs, flows = pulse_tables()
    frac = phase - np.floor(phase)
    pos = frac * TABLE_SIZE
    idx = pos.astype(np.int64)
    w = (pos - idx).astype(np.float32)
    max_harm = (0.5 * rate * 0.97) / np.maximum(f0_hz, 1.0)
    level = np.clip(np.searchsorted(HARMONIC_COUNTS, max_harm, side="right") - 1, 0, len(HARMONIC_COUNTS) - 1)
    x = np.clip((1.0 - tension) * 2.0, 0.0, 2.0)   # 0 pressed .. 1 modal .. 2 breathy
    s0 = np.minimum(x.astype(np.int64), 1)
    ws = (x - s0).astype(np.float32)
    out = np.zeros(len(phase), dtype=np.float32)
    flow = np.zeros(len(phase), dtype=np.float32)
    for shift, weight in ((0, 1.0 - ws), (1, ws)):
        s = s0 + shift
        a = derivs[s, level, idx]
        b = derivs[s, level, idx + 1]
        out += weight * (a + w * (b - a))
        flow += weight * flows[s, idx]
    return out, flow
