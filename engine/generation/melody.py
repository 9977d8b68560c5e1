"""The melody of a piece on a sixteenth-note grid, cut into bars, and transposition-invariant bar similarity.

A bar is 16 steps (4/4) or 12 (3/4). ``pitch[bar, step]`` is the sounding melody pitch (the top note when the
melody is polyphonic) or -1 for a rest; ``onset[bar, step]`` marks note starts. The similarity of two windows of
``L`` bars, each compared step by step under one transposition, follows the bar-aligned repetition analysis of
pop-music structure work (Dai, Zhang & Dannenberg 2020) with a soft score so varied repeats still count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.generation.piece import Note

STEPS_PER_BEAT = 4
TRANSPOSITIONS = np.arange(-11, 12)
PITCH_WEIGHT = 0.6  # share of the similarity from pitches (the rest from rhythm)


@dataclass
class MelodyGrid:
    """pitch: int16 [bars, steps] (-1 = rest); onset: bool [bars, steps]; first bar starts at ``phase_beats``."""

    pitch: np.ndarray
    onset: np.ndarray
    phase_beats: float
    beats_per_bar: int

    @property
    def bars(self) -> int:
        return self.pitch.shape[0]

    def bar_start_beat(self, bar: int) -> float:
        return self.phase_beats + bar * self.beats_per_bar


def melody_grid(notes: list[Note], beats_per_bar: int = 4, phase_beats: float = 0.0,
                bars: int | None = None) -> MelodyGrid:
    """Rasterise melody ``notes`` (beats) onto bars of ``beats_per_bar`` beats starting at ``phase_beats``."""
    steps_per_bar = beats_per_bar * STEPS_PER_BEAT
    end = max((n.end_beat for n in notes), default=phase_beats)
    n_bars = bars if bars is not None else max(1, int(np.ceil((end - phase_beats) / beats_per_bar - 1e-6)))
    total = n_bars * steps_per_bar
    pitch = np.full(total, -1, dtype=np.int16)
    onset = np.zeros(total, dtype=bool)
    for n in sorted(notes, key=lambda n: n.pitch):  # higher pitches overwrite: the skyline
        a = int(round((n.start_beat - phase_beats) * STEPS_PER_BEAT))
        b = int(round((n.end_beat - phase_beats) * STEPS_PER_BEAT))
        b = max(b, a + 1)
        if b <= 0 or a >= total:
            continue
        pitch[max(a, 0):min(b, total)] = n.pitch
        if a >= 0:
            onset[a] = True
    return MelodyGrid(pitch.reshape(n_bars, steps_per_bar), onset.reshape(n_bars, steps_per_bar),
                      phase_beats, beats_per_bar)


def _window_sum(x: np.ndarray, length: int) -> np.ndarray:
    """x: [..., A, B] bar-pair scores -> [..., A-L+1, B-L+1] sums along diagonals over ``length`` bars."""
    a, b = x.shape[-2] - length + 1, x.shape[-1] - length + 1
    out = np.zeros(x.shape[:-2] + (max(a, 0), max(b, 0)), dtype=np.float32)
    for k in range(length):
        out += x[..., k:k + a, k:k + b]
    return out


def window_similarity(a: MelodyGrid, b: MelodyGrid, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Similarity in [0, 1] of every ``length``-bar window of ``a`` with every one of ``b``.

    Returns (sim [a_windows, b_windows], transposition [a_windows, b_windows] in semitones, b minus a).
    Pitch score: steps where both sound a note a fixed interval apart, over steps where either sounds.
    Rhythm score: shared onsets over all onsets.
    """
    pa, pb = a.pitch.astype(np.int16), b.pitch.astype(np.int16)
    sa, sb = pa >= 0, pb >= 0
    both = sa[:, None, :] & sb[None, :, :]
    union = (sa[:, None, :] | sb[None, :, :]).sum(-1).astype(np.float32)
    diff = pb[None, :, :] - pa[:, None, :]
    match = np.stack([((diff == t) & both).sum(-1) for t in TRANSPOSITIONS]).astype(np.float32)
    oa, ob = a.onset, b.onset
    o_and = (oa[:, None, :] & ob[None, :, :]).sum(-1).astype(np.float32)
    o_or = (oa[:, None, :] | ob[None, :, :]).sum(-1).astype(np.float32)
    w_match = _window_sum(match, length)
    w_union = _window_sum(union, length)
    w_and, w_or = _window_sum(o_and, length), _window_sum(o_or, length)
    pitch_score = w_match / np.maximum(w_union, 1.0)
    rhythm = w_and / np.maximum(w_or, 1.0)
    best = pitch_score.argmax(0)
    sim = PITCH_WEIGHT * np.take_along_axis(pitch_score, best[None], 0)[0] + (1 - PITCH_WEIGHT) * rhythm
    sim[w_union == 0] = 0.0
    return sim.astype(np.float32), TRANSPOSITIONS[best]


def bar_note_counts(grid: MelodyGrid) -> np.ndarray:
    """Onsets per bar: int [bars]."""
    return grid.onset.sum(-1)
