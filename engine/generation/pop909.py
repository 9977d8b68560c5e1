"""POP909 (Wang et al., ISMIR 2020; MIT) and its phrase labels (Dai, Zhang & Dannenberg 2020; MIT).

Songs are read on the beat grid of ``beat_midi.txt`` (one line per beat; third column marks downbeats), so that
songs whose downbeats are off the MIDI bar line still get their bar lines right: beat 0 is the first bar line
(pickup beats before the first downbeat are dropped). Songs 874-909 are the generation test split and are
refused for training. Melody is the MELODY track; accompaniment the PIANO track (BRIDGE is left out: it doubles
the accompaniment and lengthens sequences).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.datasets import dataset_dir
from engine.errors import MotetError
from engine.generation.piece import ACCOMPANIMENT, MELODY, Note, Piece

TEST_SONGS = range(874, 910)
TRAIN_SONGS = range(1, 874)


@dataclass
class Song:
    """piece: notes in beats from the first downbeat (4/4 bars); beat_times_s: [beats] seconds of each beat of
    the grid; regular: True when (almost) every bar has 4 beats."""

    number: int
    piece: Piece
    beat_times_s: np.ndarray
    regular: bool


def song_dir(number: int) -> Path:
    return dataset_dir("pop909") / f"{number:03d}"


def load_song(number: int, tracks=("MELODY", "PIANO")) -> Song:
    """One POP909 song on its own beat grid (bars of 4 beats from the first downbeat)."""
    import pretty_midi

    folder = song_dir(number)
    beats = np.loadtxt(folder / "beat_midi.txt", ndmin=2)
    times, down = beats[:, 0], beats[:, 2] > 0.5
    first_down = int(np.flatnonzero(down)[0]) if down.any() else 0
    down_idx = np.flatnonzero(down)
    gaps = np.diff(down_idx)
    regular = bool(len(gaps) == 0 or np.mean(gaps == 4) >= 0.9)
    grid = times[first_down:]
    period = float(np.median(np.diff(grid)))
    idx = np.arange(len(grid), dtype=float)

    def to_beat(t: float) -> float:
        if t >= grid[-1]:
            return float(idx[-1] + (t - grid[-1]) / period)
        if t <= grid[0]:
            return float((t - grid[0]) / period)
        return float(np.interp(t, grid, idx))

    pm = pretty_midi.PrettyMIDI(str(folder / f"{number:03d}.mid"))
    notes = []
    for inst in pm.instruments:
        if inst.name.upper() not in tracks:
            continue
        role = MELODY if inst.name.upper() == "MELODY" else ACCOMPANIMENT
        for n in inst.notes:
            s, e = to_beat(n.start), to_beat(n.end)
            if s < -0.01:
                continue
            notes.append(Note(n.pitch, s, max(e - s, 0.05), n.velocity, role))
    notes.sort(key=lambda n: (n.start_beat, n.role != MELODY, -n.pitch))
    tempo = 60.0 / period
    return Song(number, Piece(notes, tempo, 4), grid, regular)


_LABEL = re.compile(r"([A-Za-z])(\d+)")


def phrase_labels(number: int, annotator: int = 1) -> list[tuple[str, int]]:
    """[(label, bars)] from ``human_label{annotator}.txt``; upper case = melodic phrase."""
    path = dataset_dir("pop909-structure") / f"{number:03d}" / f"human_label{annotator}.txt"
    if not path.exists():
        raise MotetError(f"{path}: no phrase labels for song {number}")
    return [(m.group(1), int(m.group(2))) for m in _LABEL.finditer(path.read_text())]


def theme_label(labels: list[tuple[str, int]]) -> str | None:
    """The most repeated melodic (upper-case, not X) label; ties go to the one covering more bars."""
    counts: dict[str, list[int]] = {}
    for lab, bars in labels:
        if lab.isupper() and lab != "X":
            c = counts.setdefault(lab, [0, 0])
            c[0] += 1
            c[1] += bars
    if not counts:
        return None
    return max(counts, key=lambda k: (counts[k][0], counts[k][1]))


def _structure_onsets(number: int) -> np.ndarray:
    """[(sixteenth, pitch)] note onsets of pop909-structure's melody.txt (its own time line)."""
    path = dataset_dir("pop909-structure") / f"{number:03d}" / "melody.txt"
    m = np.loadtxt(path, ndmin=2).astype(int)
    starts = np.concatenate([[0], np.cumsum(m[:, 1])[:-1]])
    keep = m[:, 0] > 0
    return np.stack([starts[keep], m[keep, 0]], 1)


def structure_offset_sixteenths(song: Song) -> int:
    """Shift (sixteenths) from the phrase labels' time line to ``song``'s grid, by aligning melody onsets."""
    ref = _structure_onsets(song.number)
    mine = {(int(round(n.start_beat * 4)), n.pitch) for n in song.piece.melody}
    best, best_k = -1, 0
    for k in range(-96, 97):
        hits = sum((int(s) + k, int(p)) in mine for s, p in ref[:200])
        if hits > best:
            best, best_k = hits, k
    return best_k


def theme_phrases_beats(song: Song, annotator: int = 1) -> list[tuple[float, float]]:
    """The human theme's occurrences [(start_beat, end_beat)] on ``song``'s beat grid."""
    labels = phrase_labels(song.number, annotator)
    theme = theme_label(labels)
    offset = structure_offset_sixteenths(song) / 4.0
    out, bar = [], 0
    for lab, bars in labels:
        if lab == theme:
            out.append((offset + bar * 4.0, offset + (bar + bars) * 4.0))
        bar += bars
    return out
