"""Theme-conditioned piano generation: tokens, theme finder, theme-conditioned transformer, sampling, piano sound.

Engine API for the app (called on the worker thread):

- ``find_theme(midi_path) -> (theme: Piece, occurrences: [(start_beat, end_beat)])``
- ``generate_piece(theme_notes, bars, tempo, temperature, top_p, seed, model, progress=None) -> Piece``
- ``render_piano(notes, tempo, sample_rate) -> float32 [2, frames]``

Heavy imports (torch) happen inside the functions.
"""
from engine.generation.piece import ACCOMPANIMENT, MELODY, Note, Piece, ThemeRegion


def find_theme(midi_path):
    from engine.generation.theme import find_theme as _find

    return _find(midi_path)


def generate_piece(theme_notes, bars=32, tempo=None, temperature=1.0, top_p=0.9, seed=0, model="conditioned",
                   progress=None):
    from engine.generation.sampling import generate_piece as _generate

    return _generate(theme_notes, bars=bars, tempo=tempo, temperature=temperature, top_p=top_p, seed=seed,
                     model=model, progress=progress)


def render_piano(notes, tempo, sample_rate=44100):
    from engine.generation.piano import render_piano as _render

    return _render(notes, tempo, sample_rate)


__all__ = ["Note", "Piece", "ThemeRegion", "MELODY", "ACCOMPANIMENT", "find_theme", "generate_piece",
           "render_piano"]
