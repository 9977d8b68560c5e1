"""Small pieces and themes built in code, so most tests need no data and no trained weights."""
import pytest

from engine.datasets import data_root
from engine.generation.piece import ACCOMPANIMENT, MELODY, Note, Piece

MOTIF = [(0, 60, 1.0), (1, 62, 1.0), (2, 64, 2.0), (4, 67, 1.0), (5, 65, 1.0), (6, 64, 1.0), (7, 62, 1.0),
         (8, 60, 2.0), (10, 64, 2.0), (12, 62, 4.0)]  # 4 bars: (beat, pitch, duration)
FILLER = [(0, 72, 0.5), (0.5, 71, 0.5), (1, 69, 3.0), (4, 57, 1.5), (5.5, 59, 0.5), (6, 76, 2.0), (8, 74, 0.5),
          (8.5, 70, 1.0), (9.5, 66, 2.5), (12, 79, 1.0), (13, 55, 3.0)]


def motif_notes(offset_beats: float, transpose: int = 0, vary: bool = False) -> list[Note]:
    notes = []
    for i, (b, p, d) in enumerate(MOTIF):
        if vary and i == 3:
            p += 2  # one changed note: a varied occurrence
        notes.append(Note(p + transpose, offset_beats + b, d, 90, MELODY))
    return notes


def filler_notes(offset_beats: float, seed: int) -> list[Note]:
    """Four bars of unrelated material, different for each seed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    notes, beat = [], 0.0
    while beat < 16:
        d = float(rng.choice([0.5, 1.0, 1.5, 2.0, 3.0]))
        notes.append(Note(int(rng.integers(55, 80)), offset_beats + beat, min(d, 16 - beat), 80, MELODY))
        beat += d
    return notes


@pytest.fixture
def song_with_theme() -> tuple[Piece, list[tuple[float, float]]]:
    """24 bars: theme at bars 0, 8 (up a fourth), 16 (varied); other material between; chords below."""
    notes = motif_notes(0) + filler_notes(16, 1) + motif_notes(32, 5) + filler_notes(48, 2) + motif_notes(64, 0, True)
    notes += filler_notes(80, 3)
    for bar in range(24):
        for k, p in enumerate((48, 52, 55)):
            notes.append(Note(p, bar * 4.0 + k, 1.0, 60, ACCOMPANIMENT))
    return Piece(sorted(notes, key=lambda n: n.start_beat), 100.0), [(0.0, 16.0), (32.0, 48.0), (64.0, 80.0)]


@pytest.fixture
def short_theme() -> Piece:
    notes = [Note(p, i * 1.0, 1.0, 90, MELODY) for i, p in enumerate([67, 69, 71, 72, 74, 72, 71, 69])]
    notes += [Note(48, 0.0, 4.0, 70, ACCOMPANIMENT), Note(43, 4.0, 4.0, 70, ACCOMPANIMENT)]
    return Piece(notes, 96.0)


def shared_data(name: str):
    path = data_root() / name
    if not path.is_dir():
        pytest.skip(f"shared data set {name} not present at {path}")
    return path
