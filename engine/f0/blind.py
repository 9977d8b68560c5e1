"""Blind per-voice F0 of a choir mixture: salience candidates -> voice assignment -> fine F0 per voice."""
from __future__ import annotations

import numpy as np

from engine.choir import voice_names
from engine.errors import MotetError
from engine.f0.assign import AssignParams, assign_voices, voice_ranges
from engine.f0.salience import (ANALYSIS_RATE, N_FFT, candidates, compressed_spectrum, magnitude_spectrogram,
                                to_analysis_rate)
from engine.f0.tracks import F0Tracks, hold_pitch
from engine.jobs import report, sub_progress

SILENCE_RMS = 1e-4  # a recording quieter than this (about -80 dBFS) holds no voice


def check_audio(x: np.ndarray, what: str = "audio") -> None:
    """A clear MotetError for audio that is too short or silent to track."""
    if len(x) < ANALYSIS_RATE // 10:
        raise MotetError(f"{what}: too short to track pitch ({len(x) / ANALYSIS_RATE:.2f} s; need at least 0.1 s)")
    if np.sqrt(np.mean(x ** 2)) < SILENCE_RMS:
        raise MotetError(f"{what}: silent (no voice to track)")


def harmonic_score(mag: np.ndarray, centre_hz: np.ndarray, span_cents: float, step_cents: float = 2.0,
                   n_harmonics: int = 8, best_offset: bool = False, full: bool = False,
                   harmonic_weights: np.ndarray | None = None, compressed: bool = False):
    """Harmonic-summation score of F0s within +-span_cents of ``centre_hz`` ([N] Hz, one per frame of mag
    [N, K]): the best score per frame [N], or with ``best_offset`` the offset in cents of the best F0 (parabolic
    interpolation between the ``step_cents`` steps) [N], or with ``full`` every offset's score [N, O].
    ``harmonic_weights`` [N, n_harmonics] scales each harmonic per frame (e.g. down where another voice's partial
    sits on it); ``compressed``: mag is already :func:`compressed_spectrum`'s output."""
    spec = compressed_spectrum(mag) if mag.size and not compressed else mag
    n_bins = spec.shape[1]
    offsets = 2.0 ** (np.arange(-span_cents, span_cents + step_cents / 2, step_cents) / 1200)  # [O]
    weights = 0.84 ** np.arange(n_harmonics)
    bin_hz = ANALYSIS_RATE / N_FFT
    cand = centre_hz[:, None] * offsets[None, :]  # [N, O]
    score = np.zeros_like(cand)
    rows = np.arange(len(centre_hz))[:, None]
    for h in range(1, n_harmonics + 1):
        pos = h * cand / bin_hz
        lo = np.floor(pos).astype(int)
        ok = lo < n_bins - 1
        lo = np.minimum(lo, n_bins - 2)
        frac = pos - lo
        val = spec[rows, lo] * (1 - frac) + spec[rows, lo + 1] * frac
        w = weights[h - 1] if harmonic_weights is None else weights[h - 1] * harmonic_weights[:, h - 1:h]
        score += w * np.where(ok, val, 0.0)
    if full:
        return score
    if not best_offset:
        return score.max(axis=1)
    best = score.argmax(axis=1)
    i = np.clip(best, 1, len(offsets) - 2)
    r = np.arange(len(centre_hz))
    a, b, c = score[r, i - 1], score[r, i], score[r, i + 1]
    den = a - 2 * b + c
    shift = np.clip(np.where(np.abs(den) > 1e-12, 0.5 * (a - c) / np.where(den == 0, 1, den), 0.0), -0.5, 0.5)
    return (i - (len(offsets) - 1) / 2 + shift) * step_cents


SHARED_WEIGHT = 0.25  # weight of a harmonic that another voice's partial covers
SHARED_CENTS = 40.0  # how close (cents) another voice's partial must be to cover a harmonic


def shared_harmonics(f0_hz: np.ndarray, others_hz: np.ndarray, n_harmonics: int = 8,
                     n_partials: int = 16) -> np.ndarray:
    """[N, n_harmonics] weights: :data:`SHARED_WEIGHT` where harmonic h of ``f0_hz`` ([N] Hz) lies within
    :data:`SHARED_CENTS` of a partial (1..n_partials) of another voice (``others_hz`` [W, N], 0 = silent), else 1.
    Such a harmonic measures the other voice as much as this one (Klapuri 2006 cancels them; here they are damped)."""
    out = np.ones((len(f0_hz), n_harmonics))
    k = np.arange(1, n_partials + 1)
    for w in range(others_hz.shape[0]):
        other = others_hz[w]
        on = other > 0
        if not on.any():
            continue
        for h in range(1, n_harmonics + 1):
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = (h * f0_hz[:, None]) / (other[:, None] * k[None, :])  # [N, P]
                near = (np.abs(1200 * np.log2(np.where(ratio > 0, ratio, 1e-9))) < SHARED_CENTS).any(axis=1)
            out[near & on & (f0_hz > 0), h - 1] = SHARED_WEIGHT
    return out


def refine_f0(mag: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray, span_cents: float = 60.0,
              step_cents: float = 2.0, n_harmonics: int = 8, others: np.ndarray | None = None) -> np.ndarray:
    """Sharpen coarse F0s on the spectrum: per voiced frame, the F0 within +-span_cents whose first harmonics
    collect the most (interpolated, compressed) magnitude. mag: [T, K]; f0_hz, voiced: [V, T]. Returns [V, T]."""
    out = f0_hz.copy()
    spec = compressed_spectrum(mag) if mag.size else mag  # once for all voices (the best offset ignores its scale)
    for v in range(f0_hz.shape[0]):
        idx = np.nonzero(voiced[v] & (f0_hz[v] > 0))[0]
        if idx.size:
            hw = None if others is None else shared_harmonics(f0_hz[v, idx], np.delete(others, v, axis=0)[:, idx],
                                                               n_harmonics)
            cents = harmonic_score(spec[idx], f0_hz[v, idx], span_cents, step_cents, n_harmonics, best_offset=True,
                                   harmonic_weights=hw, compressed=True)
            out[v, idx] = f0_hz[v, idx] * 2.0 ** (cents / 1200)
    return out


MASK_SHARED = True  # damp harmonics covered by other voices when refining
REFINE_CENTS = 60.0  # how far (cents) the refinement may move a candidate (100 and 150 were no better)
HARMONIC_SHARE = 0.4  # frames whose voices explain less of the spectrum's energy than this hold no singing


def harmonic_share(mag: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray, n_harmonics: int = 20,
                   fmax: float = 5000.0) -> np.ndarray:
    """[T] share of each frame's energy (60 Hz..fmax) within +-2 bins of the voiced voices' harmonics.
    A sung chord scores high (0.5-0.95); noise or unpitched sound scores low, whatever its level.
    mag: [T, K]; f0_hz, voiced: [V, T]."""
    bin_hz = ANALYSIS_RATE / N_FFT
    lo, hi = int(60 / bin_hz), int(fmax / bin_hz)
    power = mag[:, lo:hi] ** 2
    covered = np.zeros(power.shape, dtype=bool)
    rows = np.arange(mag.shape[0])
    for v in range(f0_hz.shape[0]):
        on = voiced[v] & (f0_hz[v] > 0)
        for h in range(1, n_harmonics + 1):
            centre = np.rint(h * f0_hz[v] / bin_hz).astype(int) - lo
            for o in (-2, -1, 0, 1, 2):
                col = centre + o
                ok = on & (col >= 0) & (col < power.shape[1])
                covered[rows[ok], col[ok]] = True
    total = power.sum(axis=1)
    return np.where(total > 0, (power * covered).sum(axis=1) / np.maximum(total, 1e-30), 0.0)


def remove_blips(voiced: np.ndarray, min_frames: int = 5) -> np.ndarray:
    """[V, T] voicing without voiced runs shorter than ``min_frames`` (80 ms): too short to be a sung note."""
    out = voiced.copy()
    for v in range(voiced.shape[0]):
        row = out[v]
        edges = np.diff(np.concatenate([[0], row.astype(int), [0]]))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        for s, e in zip(starts, ends):
            if e - s < min_frames:
                row[s:e] = False
    return out


# assignment weights for the learned salience (a probability: ghosts are already damped, rests are low)
LEARNED_PARAMS = AssignParams(rest_cost=-0.25, overtone_discount=0.15,  # with the voice model; 0.08, 0.25 worse on valid
                              interval_cost=0.15,  # 0.03 -> 0.15: short leaps to a neighbour's note cost more
                              onset_cost=0.6)  # 0.3 -> 0.6: fewer broken notes (0.45 and 0.8 no better on valid)


VOICE_POWER = 0.25  # the voice-role probability's exponent in each voice's reward (0 = not used)
VOICE_FLOOR = 0.2  # probability floor (0.1 and 0.05: lower RPA on CSD and valid; 0.3 as 0.2 with more false alarms)


def candidate_band(n_voices: int) -> tuple[float, float]:
    """(lowest, highest) candidate F0 in Hz for ``n_voices`` voices: their ranges widened a little."""
    ranges = voice_ranges(n_voices)
    return min(lo for lo, _ in ranges) / 2 ** (3 / 12), max(hi for _, hi in ranges) * 2 ** (1 / 12)


def track_voices_blind(samples: np.ndarray, sample_rate: int, n_voices: int, params: AssignParams | None = None,
                       learned: bool = True, progress=None) -> F0Tracks:
    """F0 of ``n_voices`` voices from the mixture alone. samples: [frames]. Voices highest first. ``learned``
    uses the learned salience when its weights are shipped (else harmonic summation)."""
    names = voice_names(n_voices)
    x = to_analysis_rate(samples, sample_rate)
    check_audio(x)
    ranges = voice_ranges(n_voices)
    fmin, fmax = candidate_band(n_voices)
    mag = magnitude_spectrogram(x)
    cand = candidates(x, n_candidates=max(8, n_voices + 4), fmin=fmin, fmax=fmax, learned=learned,
                      progress=sub_progress(progress, 0.0, 0.3), mag=mag)
    report(progress, 0.3, "assigning voices")
    if params is None:
        params = LEARNED_PARAMS if cand.kind == "learned" else AssignParams()
    weights = None
    if learned and n_voices == 4 and VOICE_POWER > 0:
        from engine.f0.voice_model import voice_probabilities

        prob = voice_probabilities(cand.f0_hz, cand.strength, cand.probability)
        if prob is not None:
            # relative to the candidate's likeliest voice: that voice keeps the full reward, the others less
            weights = ((prob + VOICE_FLOOR) / (prob.max(axis=0, keepdims=True) + VOICE_FLOOR)) ** VOICE_POWER
    f0, voiced = assign_voices(cand.f0_hz, cand.strength, n_voices, params, ranges, weights)
    voiced = remove_blips(voiced)
    if not voiced.any():
        raise MotetError("audio: no singing voice found")
    report(progress, 0.8, "refining pitch")
    f0 = refine_f0(mag, f0, voiced, span_cents=REFINE_CENTS, others=f0 if MASK_SHARED else None)
    voiced = remove_blips(voiced & (harmonic_share(mag, f0, voiced) >= HARMONIC_SHARE)[None, :])
    if not voiced.any():
        raise MotetError("audio: no singing voice found (no harmonic sound)")
    report(progress, 1.0, "pitch tracked")
    return F0Tracks(cand.times_s, hold_pitch(f0), voiced, names)
