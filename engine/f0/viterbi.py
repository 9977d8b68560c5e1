"""Viterbi decoding of one pitch track over per-frame F0 candidates plus an unvoiced/rest state."""
from __future__ import annotations

import numpy as np


def semitone_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|interval| in semitones between positive frequencies (broadcast); inf where either is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.abs(12 * np.log2(a / b))
    return np.where((a > 0) & (b > 0), out, np.inf)


def candidate_path(emission: np.ndarray, f0: np.ndarray, hold_semitones: float, change_cost: float,
                   interval_cost: float, voicing_cost: float) -> np.ndarray:
    """Cheapest path over states [T, K + 1] (K candidates, then unvoiced).

    emission: [T, K + 1] costs; f0: [T, K] candidate frequencies in Hz (0 = none). Moving between candidates
    less than ``hold_semitones`` apart is free, else costs ``change_cost + interval_cost * min(interval, 24)``;
    entering or leaving the unvoiced state costs ``voicing_cost``. Returns [T] state indices (K = unvoiced).
    """
    n_frames, n_states = emission.shape
    k = n_states - 1
    back = np.zeros((n_frames, n_states), dtype=np.int16)
    delta = emission[0].copy()
    trans = np.empty((n_states, n_states))
    trans[:k, k] = voicing_cost
    trans[k, :k] = voicing_cost
    trans[k, k] = 0.0
    jumps = semitone_distance(f0[:-1, :, None], f0[1:, None, :])  # [T - 1, K prev, K now]
    moves = np.where(jumps < hold_semitones, 0.0, change_cost + interval_cost * np.minimum(jumps, 24)).astype(np.float32)
    for t in range(1, n_frames):
        trans[:k, :k] = moves[t - 1]
        total = delta[:, None] + trans
        back[t] = total.argmin(axis=0)
        delta = total[back[t], np.arange(n_states)] + emission[t]
    path = np.empty(n_frames, dtype=int)
    path[-1] = int(delta.argmin())
    for t in range(n_frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
