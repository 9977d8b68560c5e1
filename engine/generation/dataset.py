"""Training sequences for the generation models, from POP909's training songs (1-873; 874-909 never).

Per song on its downbeat grid: the main theme (theme finder, bar phase fixed by the downbeats), then for theme
lengths of 2 and 4 bars the theme = the first bars of its first occurrence, its regions = every bar-aligned
window of the song matching it (:func:`engine.generation.theme.find_occurrences`), and the whole song encoded
with those regions. Songs whose downbeats are not every 4 beats are skipped (counted). Saved as one compressed
.npz so it can travel to a GPU machine without the MIDI libraries.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import MotetError
from engine.generation import pop909
from engine.generation import tokens as tk
from engine.generation.piece import Piece, ThemeRegion
from engine.generation.theme import analyse_theme, find_occurrences
from engine.jobs import Progress, report

THEME_BARS = (2, 4)


def theme_clip(piece: Piece, start_bar: int, bars: int) -> Piece:
    """Notes of bars [start_bar, start_bar + bars) moved to beat 0 (durations cut at the clip's end)."""
    from engine.generation.piece import Note

    a, b = start_bar * 4.0, (start_bar + bars) * 4.0
    notes = [Note(n.pitch, n.start_beat - a, min(n.duration_beats, b - n.start_beat), n.velocity, n.role)
             for n in piece.notes if a - 1e-6 <= n.start_beat < b - 1e-6]
    return Piece(notes, piece.tempo_bpm, 4)


def song_examples(number: int) -> list[dict]:
    """Encoded (song, theme) pairs of one training song, one per theme length."""
    if number in pop909.TEST_SONGS:
        raise MotetError(f"song {number} is in the test split (874-909) and never used for training")
    song = pop909.load_song(number)
    piece = song.piece
    if not piece.melody:
        return []
    analysis = analyse_theme(piece, phases=[0.0])
    first = int(round(analysis.occurrences[0][0] / 4))
    out = []
    for bars in THEME_BARS:
        if bars > analysis.length_bars and bars != THEME_BARS[0]:
            continue
        theme = theme_clip(piece, first, bars)
        if not theme.melody:
            continue
        occ = find_occurrences(piece, theme, phase_beats=0.0)
        regions = [ThemeRegion(a, b) for a, b in occ]
        enc = tk.encode(Piece(piece.notes, piece.tempo_bpm, 4, regions))
        th = tk.encode_theme(theme)
        out.append({"song": number, "tokens": enc.tokens, "theme_pos": enc.theme_pos, "bar_pos": enc.bar_pos,
                    "theme_tokens": th.tokens, "theme_tpos": th.theme_pos, "theme_bpos": th.bar_pos,
                    "theme_bars": bars, "theme_bar": first})
    return out


def build_dataset(path: str | Path, songs=pop909.TRAIN_SONGS, progress: Progress | None = None) -> dict:
    """Encode ``songs`` into ``path`` (.npz); returns counts (songs used, skipped for metre, examples)."""
    examples, skipped_metre, missing = [], 0, 0
    songs = [s for s in songs if s not in pop909.TEST_SONGS]
    for i, number in enumerate(songs):
        report(progress, i / len(songs), f"encoding song {number}")
        try:
            if not pop909.load_song(number).regular:
                skipped_metre += 1
                continue
            examples.extend(song_examples(number))
        except (OSError, ValueError, IndexError):
            missing += 1
    cat = lambda k: np.concatenate([e[k] for e in examples])
    offsets = np.cumsum([0] + [len(e["tokens"]) for e in examples])
    t_offsets = np.cumsum([0] + [len(e["theme_tokens"]) for e in examples])
    np.savez_compressed(
        path, tokens=cat("tokens").astype(np.int16), theme_pos=cat("theme_pos").astype(np.uint8),
        bar_pos=cat("bar_pos").astype(np.uint8), offsets=offsets,
        theme_tokens=cat("theme_tokens").astype(np.int16), theme_tpos=cat("theme_tpos").astype(np.uint8),
        theme_bpos=cat("theme_bpos").astype(np.uint8), theme_offsets=t_offsets,
        songs=np.array([e["song"] for e in examples]), theme_bars=np.array([e["theme_bars"] for e in examples]))
    report(progress, 1.0, "done")
    return {"songs_used": len({e["song"] for e in examples}), "skipped_other_metre": skipped_metre,
            "unreadable": missing, "examples": len(examples), "tokens": int(offsets[-1])}
