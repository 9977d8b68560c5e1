"""Vowel formants per voice type and the vocal-tract response they make.

Five formants per vowel (a, e, i, o, u) and voice type, frequencies and bandwidths in Hz, after the sung-vowel
tables in the Csound manual's appendix ("Formant values", from Sundberg-style measurements of singers). The
vocal tract is a cascade of two-pole resonators (Fant 1960; Klatt 1980, "Software for a cascade/parallel formant
synthesizer"), so relative formant levels come out of the cascade itself.
"""
from __future__ import annotations

import numpy as np

VOWELS = "aeiou"

# voice -> vowel -> (frequencies Hz [5], bandwidths Hz [5])
FORMANTS = {
    "soprano": {
        "a": ((800, 1150, 2900, 3900, 4950), (80, 90, 120, 130, 140)),
        "e": ((350, 2000, 2800, 3600, 4950), (60, 100, 120, 150, 200)),
        "i": ((270, 2140, 2950, 3900, 4950), (60, 90, 100, 120, 120)),
        "o": ((450, 800, 2830, 3800, 4950), (70, 80, 100, 130, 135)),
        "u": ((325, 700, 2700, 3800, 4950), (50, 60, 170, 180, 200)),
    },
    "alto": {
        "a": ((800, 1150, 2800, 3500, 4950), (80, 90, 120, 130, 140)),
        "e": ((400, 1600, 2700, 3300, 4950), (60, 80, 120, 150, 200)),
        "i": ((350, 1700, 2700, 3700, 4950), (50, 100, 120, 150, 200)),
        "o": ((450, 800, 2830, 3500, 4950), (70, 80, 100, 130, 135)),
        "u": ((325, 700, 2530, 3500, 4950), (50, 60, 170, 180, 200)),
    },
    "tenor": {
        "a": ((650, 1080, 2650, 2900, 3250), (80, 90, 120, 130, 140)),
        "e": ((400, 1700, 2600, 3200, 3580), (70, 80, 100, 120, 120)),
        "i": ((290, 1870, 2800, 3250, 3540), (40, 90, 100, 120, 120)),
        "o": ((400, 800, 2600, 2800, 3000), (40, 80, 100, 120, 120)),
        "u": ((350, 600, 2700, 2900, 3300), (40, 60, 100, 120, 120)),
    },
    "bass": {
        "a": ((600, 1040, 2250, 2450, 2750), (60, 70, 110, 120, 130)),
        "e": ((400, 1620, 2400, 2800, 3100), (40, 80, 100, 120, 120)),
        "i": ((250, 1750, 2600, 3050, 3340), (60, 90, 100, 120, 120)),
        "o": ((400, 750, 2400, 2600, 2900), (40, 80, 100, 120, 120)),
        "u": ((350, 600, 2400, 2675, 2950), (40, 80, 100, 120, 120)),
    },
}

# Centre of the singer's formant cluster (F3..F5 drawn together) per voice type, Hz (Sundberg 1974).
SINGER_FORMANT_HZ = {"soprano": 3200.0, "alto": 3000.0, "tenor": 2800.0, "bass": 2500.0}


def vowel_table(voice_type: str, singer_formant: float) -> tuple[np.ndarray, np.ndarray]:
    """Formants of the five vowels for one singer: (freqs [5 vowels, 5], bandwidths [5 vowels, 5]) in Hz.

    ``singer_formant`` in [0, 1]: 0 spreads F3..F5 like an untrained voice (about 1 kHz apart), 1 clusters them
    around :data:`SINGER_FORMANT_HZ` as in trained singers.
    """
    freqs = np.array([FORMANTS[voice_type][v][0] for v in VOWELS], dtype=np.float64)
    bws = np.array([FORMANTS[voice_type][v][1] for v in VOWELS], dtype=np.float64)
    centre = SINGER_FORMANT_HZ[voice_type]
    spread = freqs.copy()
    spread[:, 2] = np.maximum(freqs[:, 2], 2500.0)
    spread[:, 3] = spread[:, 2] + 900.0
    spread[:, 4] = spread[:, 3] + 1000.0
    cluster = freqs.copy()
    cluster[:, 2:] = centre + np.array([-250.0, 0.0, 300.0])
    freqs[:, 2:] = (1 - singer_formant) * spread[:, 2:] + singer_formant * cluster[:, 2:]
    return freqs, bws


def tract_response(freqs_hz: np.ndarray, bws_hz: np.ndarray, bins_hz: np.ndarray, rate: int) -> np.ndarray:
    """Complex response of a cascade of two-pole resonators, unit gain at 0 Hz.

    freqs_hz, bws_hz: [frames, K]; bins_hz: [B]. Returns [frames, B] complex64.
    """
    r = np.exp(-np.pi * bws_hz / rate)[..., None].astype(np.float32)   # [F, K, 1]
    theta = (2 * np.pi * freqs_hz / rate)[..., None].astype(np.float32)
    a1 = -2 * r * np.cos(theta)
    a2 = r * r
    z1 = np.exp(-1j * 2 * np.pi * bins_hz / rate).astype(np.complex64)  # z^-1 [B]
    den = 1 + a1 * z1 + a2 * (z1 * z1)                                 # [F, K, B]
    gain = 1 + a1 + a2                                                 # unit DC gain
    return np.prod(den, axis=1) ** -1 * np.prod(gain, axis=1)
