"""``motet eval theme``: beat-level F1 of the theme finder's occurrences against the human phrase labels.

Ground truth per song (pop909-structure, Dai et al. 2020): the theme is the most repeated melodic (upper-case)
phrase label; its phrases, mapped onto the MIDI file's beats (the labels' melody is aligned to the MIDI melody by
onsets, then through the song's beat times), are the true occurrences. The finder runs on the raw MIDI file
exactly as ``motet theme`` does. F1 counts beats covered by both, per song, then averaged (mean over songs).
"""
from __future__ import annotations

import numpy as np

from engine.generation import pop909
from engine.generation.theme import analyse_theme
from engine.jobs import Progress, report


def beat_f1(pred: list[tuple[float, float]], true: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(precision, recall, F1) over integer beats covered by ``pred`` vs ``true`` intervals (beats)."""
    n = int(max([b for _, b in pred + true] + [1])) + 2
    p, t = np.zeros(n, bool), np.zeros(n, bool)
    for a, b in pred:
        p[max(0, int(round(a))):max(0, int(round(b)))] = True
    for a, b in true:
        t[max(0, int(round(a))):max(0, int(round(b)))] = True
    tp = float((p & t).sum())
    prec = tp / max(p.sum(), 1)
    rec = tp / max(t.sum(), 1)
    return prec, rec, 2 * tp / max(p.sum() + t.sum(), 1)


def song_truth_file_beats(number: int, annotator: int = 1) -> list[tuple[float, float]]:
    """The human theme phrases of a song in the MIDI file's beats (tick / resolution)."""
    import pretty_midi

    song = pop909.load_song(number)
    phrases = pop909.theme_phrases_beats(song, annotator)
    pm = pretty_midi.PrettyMIDI(str(pop909.song_dir(number) / f"{number:03d}.mid"))
    grid = song.beat_times_s
    period = float(np.median(np.diff(grid)))

    def to_seconds(beat: float) -> float:
        if beat <= 0:
            return float(grid[0] + beat * period)
        if beat >= len(grid) - 1:
            return float(grid[-1] + (beat - len(grid) + 1) * period)
        return float(np.interp(beat, np.arange(len(grid)), grid))

    def to_file_beat(beat: float) -> float:
        return pm.time_to_tick(max(0.0, to_seconds(beat))) / pm.resolution

    return [(to_file_beat(a), to_file_beat(b)) for a, b in phrases]


def evaluate_theme_finder(songs=pop909.TEST_SONGS, progress: Progress | None = None) -> dict:
    """Mean beat F1 (and precision/recall) on ``songs`` for both annotators; per-song figures under ``songs``."""
    from engine.io.midi import read_piece

    rows = []
    songs = list(songs)
    for i, number in enumerate(songs):
        report(progress, i / len(songs), f"song {number}")
        try:
            labels = pop909.phrase_labels(number, 1)
        except Exception:
            continue
        if pop909.theme_label(labels) is None:
            continue
        piece = read_piece(pop909.song_dir(number) / f"{number:03d}.mid")
        analysis = analyse_theme(piece)
        row = {"song": number, "length_bars": analysis.length_bars, "occurrences": len(analysis.occurrences)}
        for ann in (1, 2):
            truth = song_truth_file_beats(number, ann)
            p, r, f = beat_f1(analysis.occurrences, truth)
            row[f"f1_annotator{ann}"] = round(f, 4)
            row[f"precision_annotator{ann}"] = round(p, 4)
            row[f"recall_annotator{ann}"] = round(r, 4)
        rows.append(row)
    report(progress, 1.0, "done")
    mean = lambda k: round(float(np.mean([r[k] for r in rows])), 4)
    return {
        "f1": mean("f1_annotator1"),
        "precision": mean("precision_annotator1"),
        "recall": mean("recall_annotator1"),
        "f1_annotator2": mean("f1_annotator2"),
        "songs_evaluated": len(rows),
        "split": f"POP909 songs {songs[0]}-{songs[-1]} with phrase labels",
        "published_other_songs": {"theme_transformer_clustering": 0.378, "correlative_matrix": 0.345,
                                  "cosiatec": 0.297, "note": "Shih et al. 2022, 6 annotated songs, not these"},
        "songs": rows,
    }
