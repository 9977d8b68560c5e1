"""A piano piece as the generation engine sees it: notes in beats, each a melody or accompaniment note, and the
bar-aligned regions where the theme sounds. Shared by the MIDI reader/writer, the theme finder, the tokenizer,
the sampler and the piano renderer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MELODY = "melody"
ACCOMPANIMENT = "accompaniment"


@dataclass(frozen=True)
class Note:
    """pitch: MIDI number; start_beat, duration_beats: quarter-note beats from the piece's first beat;
    velocity: 1..127; role: ``"melody"`` or ``"accompaniment"``."""

    pitch: int
    start_beat: float
    duration_beats: float
    velocity: int = 80
    role: str = MELODY

    @property
    def end_beat(self) -> float:
        return self.start_beat + self.duration_beats


@dataclass(frozen=True)
class ThemeRegion:
    """Where the theme sounds: [start_beat, end_beat) in beats."""

    start_beat: float
    end_beat: float


@dataclass
class Piece:
    """notes sorted by start; tempo_bpm; beats_per_bar (4 for 4/4); theme_regions where the theme sounds."""

    notes: list[Note]
    tempo_bpm: float = 120.0
    beats_per_bar: int = 4
    theme_regions: list[ThemeRegion] = field(default_factory=list)

    @property
    def melody(self) -> list[Note]:
        return [n for n in self.notes if n.role == MELODY]

    @property
    def accompaniment(self) -> list[Note]:
        return [n for n in self.notes if n.role == ACCOMPANIMENT]

    @property
    def end_beat(self) -> float:
        return max((n.end_beat for n in self.notes), default=0.0)

    @property
    def bars(self) -> int:
        """Number of bars the notes reach into (ceil of end / beats_per_bar)."""
        import math

        return int(math.ceil(self.end_beat / self.beats_per_bar - 1e-6))

    def shifted(self, beats: float) -> "Piece":
        """The same piece moved by ``beats`` (notes before 0 are dropped)."""
        notes = [Note(n.pitch, n.start_beat + beats, n.duration_beats, n.velocity, n.role)
                 for n in self.notes if n.start_beat + beats >= -1e-6]
        regions = [ThemeRegion(r.start_beat + beats, r.end_beat + beats) for r in self.theme_regions]
        return Piece(notes, self.tempo_bpm, self.beats_per_bar, regions)
