"""Assignment of per-frame F0 candidates to N voice tracks, highest voice first.

Each voice is a hidden Markov chain over "which candidate (or a rest)" per frame, decoded by Viterbi with:
salience as evidence, a soft voice-range prior, continuity (small moves are free -- vibrato and glides --, note
changes cost more with the interval), a price for starting or ending a note, and coupling to the neighbouring
voices: singing above the voice above or below the voice below costs (crossings stay possible when the evidence
insists), and sharing a candidate with a neighbour (a unison) costs a little. The voices are decoded in turn,
each given the current tracks of the others, for a few sweeps (iterated conditional modes), which keeps the
cost linear in the number of voices and candidates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.choir import VOICE_RANGES_HZ, voice_names
from engine.f0.viterbi import candidate_path


@dataclass
class AssignParams:
    """Weights of the assignment costs (unit: normalised salience, about 1 for a strong voice)."""

    salience_weight: float = 1.0
    rest_cost: float = -0.25          # cost of a rest frame (a candidate must beat it to be voiced)
    range_cost: float = 0.15          # per semitone outside the voice's range
    note_change_cost: float = 0.25    # a jump of more than ~half a semitone between frames
    interval_cost: float = 0.03       # per semitone of that jump
    onset_cost: float = 0.3           # rest -> voiced or voiced -> rest
    crossing_cost: float = 0.5        # above the voice above / below the voice below
    unison_cost: float = 0.3          # same candidate as a neighbour
    overtone_discount: float = 0.25   # share of the reward lost on a harmonic (2..5) of a lower voice's F0
    sweeps: int = 3


def voice_ranges(n_voices: int) -> list[tuple[float, float]]:
    """Singing range (lowest, highest) in Hz of each of ``n_voices`` voices, highest voice first: the SATB
    ranges for 4 voices, else ranges interpolated (in log frequency) between soprano and bass."""
    names = voice_names(n_voices)
    if all(name in VOICE_RANGES_HZ for name in names):
        return [VOICE_RANGES_HZ[name] for name in names]
    if n_voices == 1:
        return [(VOICE_RANGES_HZ["bass"][0], VOICE_RANGES_HZ["soprano"][1])]
    top = np.log(VOICE_RANGES_HZ["soprano"])
    bottom = np.log(VOICE_RANGES_HZ["bass"])
    out = []
    for i in range(n_voices):
        a = i / (n_voices - 1)
        lo, hi = np.exp((1 - a) * top + a * bottom)
        out.append((float(lo), float(hi)))
    return out


def ghost_factor(f0: np.ndarray, strength: np.ndarray, ratio: float = 0.6, tol_cents: float = 35.0,
                 damping: float = 0.35) -> np.ndarray:
    """[T, K] factor <= 1 for candidates that sit on a harmonic (2nd..5th) of a stronger-ish lower candidate of the
    same frame: such a peak is usually that voice's overtone, not a voice of its own (a real octave doubling
    keeps some evidence through continuity). f0, strength: [T, K]."""
    factor = np.ones_like(strength)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_hz = f0[:, :, None] / f0[:, None, :]  # [T, j, i]: candidate j over candidate i
    for h in (2, 3, 4, 5):
        near = np.abs(1200 * np.log2(np.where(ratio_hz > 0, ratio_hz, 1e-9) / h)) < tol_cents
        strong = strength[:, None, :] >= ratio * strength[:, :, None]
        hit = (near & strong & (f0[:, None, :] > 0)).any(axis=2)
        factor = np.where(hit, np.minimum(factor, damping), factor)
    return factor


def _viterbi(emission: np.ndarray, f0: np.ndarray, p: AssignParams) -> np.ndarray:
    """Best path over states [T, K + 1] (candidates, then rest); emission: [T, K + 1] costs; f0: [T, K] Hz.
    Returns [T] state indices (K = rest)."""
    return candidate_path(emission, f0, 0.6, p.note_change_cost, p.interval_cost, p.onset_cost)


def assign_voices(f0: np.ndarray, strength: np.ndarray, n_voices: int, params: AssignParams | None = None,
                  ranges: list[tuple[float, float]] | None = None,
                  voice_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Assign candidates to voices. f0, strength: [T, K] (0 = no candidate). ``voice_weights`` [V, T, K]
    (optional) scales each voice's reward per candidate (e.g. how likely that voice sings it,
    :mod:`engine.f0.voice_model`). Returns (f0_hz [V, T], voiced [V, T]), voices highest first."""
    p = params or AssignParams()
    ranges = ranges or voice_ranges(n_voices)
    n_frames, k = f0.shape
    valid = (f0 > 0) & (strength > 0)
    top = strength.max(axis=1) if k else np.zeros(n_frames)
    scale = np.percentile(top[top > 0], 95) if (top > 0).any() else 1.0
    reward = p.salience_weight * strength / max(scale, 1e-12)

    voice_reward = reward[None] * (1.0 if voice_weights is None else voice_weights)  # [V or 1, T, K]
    voice_reward = np.broadcast_to(voice_reward, (n_voices, n_frames, k))
    base = np.full((n_voices, n_frames, k + 1), np.inf)
    for v, (lo, hi) in enumerate(ranges):
        with np.errstate(divide="ignore"):
            outside = np.maximum(0, 12 * np.log2(lo / np.maximum(f0, 1e-9))) + np.maximum(0, 12 * np.log2(np.maximum(f0, 1e-9) / hi))
        base[v, :, :k] = np.where(valid, -voice_reward[v] + p.range_cost * outside, np.inf)
        base[v, :, k] = p.rest_cost

    # initial guess: the n strongest candidates of each frame, ordered by pitch
    choice = np.full((n_voices, n_frames), k, dtype=int)
    order = np.argsort(-np.where(valid, strength, -1), axis=1)[:, :n_voices]
    for t in range(n_frames):
        picked = [j for j in order[t] if valid[t, j]]
        picked.sort(key=lambda j: -f0[t, j])
        for v, j in enumerate(picked):
            choice[v, t] = j

    rows = np.arange(n_frames)
    f0_ext = np.concatenate([f0, np.zeros((n_frames, 1))], axis=1)
    for _ in range(p.sweeps):
        for v in range(n_voices):
            cost = base[v].copy()
            current = f0_ext[rows[None, :], choice]  # [V, T], 0 = rest
            higher = np.where(current[:v] > 0, current[:v], np.inf).min(axis=0) if v > 0 else np.full(n_frames, np.inf)
            lower = current[v + 1:].max(axis=0) if v + 1 < n_voices else np.zeros(n_frames)
            tol = 2 ** (30 / 1200)
            crossing = (f0 > higher[:, None] * tol) | (f0 * tol < lower[:, None])
            cost[:, :k] += np.where(crossing, p.crossing_cost, 0.0)
            others = np.delete(choice, v, axis=0)
            shared = (others[:, :, None] == np.arange(k)[None, None, :]).sum(axis=0)  # [T, K]
            cost[:, :k] += p.unison_cost * shared
            for w in range(v + 1, n_voices):  # lower voices: their overtones are not evidence for this voice
                other = f0_ext[rows, choice[w]]
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = f0 / other[:, None]
                hit = np.zeros_like(f0, dtype=bool)
                for h in (2, 3, 4, 5):
                    hit |= np.abs(1200 * np.log2(np.where(ratio > 0, ratio, 1e-9) / h)) < 35
                cost[:, :k] += np.where(hit & (other[:, None] > 0), p.overtone_discount * voice_reward[v], 0.0)
            choice[v] = _viterbi(cost, f0, p)
    voiced = choice < k
    out = np.where(voiced, f0_ext[rows[None, :], choice], 0.0)
    return out, voiced
