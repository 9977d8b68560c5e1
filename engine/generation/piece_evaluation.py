"""``motet eval generation``: does the theme come back, and does the piece sound like the real songs?

On the 29 test themes of ``theme-transformer-test`` (POP909 songs 874-909, never trained on), each system
(conditioned model, baseline, the real song) is measured by

- theme recurrence: share of bars lying in a window that matches the theme's melody up to transposition and
  small edits (:func:`engine.generation.theme.find_occurrences`). For generated pieces the theme prompt (the
  first bars, given to both models) is left out, so only returns the model wrote count;
- melody-similarity curve: per bar, similarity of the window starting there to the theme (0..1), averaged in
  quarters of the piece;
- pitch-class similarity: histogram intersection of duration-weighted pitch-class histograms with the real song;
- grooving similarity (Wu & Yang 2020): mean over bar pairs of 1 - XOR(onset patterns)/16 against the real song.
For the real songs, the two similarities compare the song's first half with its second half (a ceiling).
"""
from __future__ import annotations

import json

import numpy as np

from engine.datasets import dataset_dir
from engine.generation import pop909
from engine.generation.melody import melody_grid, window_similarity
from engine.generation.piece import Piece
from engine.generation.theme import find_occurrences
from engine.jobs import Progress, report


def theme_recurrence(piece: Piece, theme: Piece, skip_bars: int = 0) -> float:
    """Share of bars from ``skip_bars`` on that lie in an occurrence of ``theme``'s melody, for the bar phase
    (0..3 beats) that finds the most: the anchor's themes are not always cut on POP909's downbeats."""
    bars = max(piece.bars, 1)
    best = 0.0
    for phase in range(4):
        covered = np.zeros(bars + 1, bool)
        for a, b in find_occurrences(piece, theme, phase_beats=float(phase)):
            covered[int(np.floor(a / 4)):int(np.ceil(b / 4))] = True
        rest = covered[skip_bars:bars]
        best = max(best, float(rest.mean()) if len(rest) else 0.0)
    return best


def similarity_curve(piece: Piece, theme: Piece) -> np.ndarray:
    """[bars] similarity (0..1) of the theme-length window starting at each bar to the theme's melody."""
    t = melody_grid(theme.melody, 4, 0.0)
    g = melody_grid(piece.melody, 4, 0.0, bars=max(piece.bars, t.bars) + t.bars - 1)
    sim, _ = window_similarity(t, g, t.bars)
    return sim[0, :max(piece.bars, 1)]


def pitch_class_histogram(piece: Piece) -> np.ndarray:
    h = np.zeros(12)
    for n in piece.notes:
        h[n.pitch % 12] += n.duration_beats
    return h / max(h.sum(), 1e-9)


def onset_frequencies(piece: Piece) -> np.ndarray:
    """[16] share of bars with an onset (any note) at each sixteenth step."""
    bars = max(piece.bars, 1)
    grid = np.zeros((bars, 16), bool)
    for n in piece.notes:
        step = int(round(n.start_beat * 4))
        if 0 <= step < bars * 16:
            grid[step // 16, step % 16] = True
    return grid.mean(0)


def pitch_class_similarity(a: Piece, b: Piece) -> float:
    return float(np.minimum(pitch_class_histogram(a), pitch_class_histogram(b)).sum())


def grooving_similarity(a: Piece, b: Piece) -> float:
    p, q = onset_frequencies(a), onset_frequencies(b)
    return float(1 - np.mean(p * (1 - q) + q * (1 - p)))


def _split(piece: Piece) -> tuple[Piece, Piece]:
    half = (piece.bars // 2) * 4.0
    first = Piece([n for n in piece.notes if n.start_beat < half], piece.tempo_bpm)
    second = Piece([n for n in piece.notes if n.start_beat >= half], piece.tempo_bpm).shifted(-half)
    return first, second


def test_themes() -> list[tuple[int, Piece, float]]:
    """[(song number, theme, tempo BPM)] of the anchor's 29 test themes."""
    from engine.io.midi import read_piece

    folder = dataset_dir("theme-transformer-test")
    tempi = json.loads((folder / "tempo_dict.json").read_text())
    out = []
    for path in sorted(folder.glob("*_theme.mid")):
        number = int(path.name.split("_")[0])
        out.append((number, read_piece(path), float(tempi.get(str(number), tempi.get(f"{number:03d}", 120.0)))))
    return out


def evaluate_generation(seeds: int = 3, bars: int = 32, temperature: float = 1.0, top_p: float = 0.9,
                        limit: int | None = None, progress: Progress | None = None,
                        theme_return_bars: int | None = None, copy_weight: float | None = None) -> dict:
    """Recurrence, similarity curve, pitch-class and grooving similarity for conditioned, baseline and real."""
    import time

    from engine.generation.sampling import COPY_WEIGHT, THEME_RETURN_BARS, generate_piece, prepare_theme

    theme_return_bars = THEME_RETURN_BARS if theme_return_bars is None else (theme_return_bars or None)
    copy_weight = COPY_WEIGHT if copy_weight is None else copy_weight

    themes = test_themes()[:limit]
    rows = {"conditioned": [], "baseline": [], "real": []}
    curves = {"conditioned": [], "baseline": [], "real": []}
    gen_time = {"conditioned": 0.0, "baseline": 0.0}
    jobs = len(themes) * (2 * seeds + 1)
    done = 0
    for number, theme_file, tempo in themes:
        theme = prepare_theme(theme_file)
        song = pop909.load_song(number).piece
        tb = max(theme.bars, 1)
        first, second = _split(song)
        rows["real"].append({"song": number, "recurrence": theme_recurrence(song, theme),
                             "pitch_class": pitch_class_similarity(first, second),
                             "grooving": grooving_similarity(first, second)})
        curves["real"].append(_quarters(similarity_curve(song, theme)))
        done += 1
        for model in ("conditioned", "baseline"):
            for seed in range(seeds):
                report(progress, done / jobs, f"song {number} {model} seed {seed}")
                t0 = time.perf_counter()
                piece = generate_piece(theme, bars=bars, tempo=tempo, temperature=temperature, top_p=top_p,
                                       seed=seed, model=model, theme_return_bars=theme_return_bars,
                                       copy_weight=copy_weight)
                gen_time[model] += time.perf_counter() - t0
                rows[model].append({"song": number, "seed": seed,
                                    "recurrence": theme_recurrence(piece, theme, skip_bars=tb),
                                    "recurrence_with_prompt": theme_recurrence(piece, theme),
                                    "pitch_class": pitch_class_similarity(piece, song),
                                    "grooving": grooving_similarity(piece, song),
                                    "marked_theme_bars": sum(r.end_beat - r.start_beat
                                                             for r in piece.theme_regions) / 4 / bars})
                curves[model].append(_quarters(similarity_curve(piece, theme)))
                done += 1
    report(progress, 1.0, "done")
    summary = {}
    for name, rs in rows.items():
        summary[name] = {k: round(float(np.mean([r[k] for r in rs])), 4) for k in rs[0] if k not in ("song", "seed")}
        summary[name]["similarity_curve_quarters"] = [round(float(x), 4) for x in np.mean(curves[name], 0)]
    c, b, r = summary["conditioned"], summary["baseline"], summary["real"]
    targets = {
        "recurrence_vs_real": round(c["recurrence"] - r["recurrence"], 4),
        "recurrence_ratio_vs_baseline": round(c["recurrence"] / b["recurrence"], 3) if b["recurrence"] > 0 else None,
        "met_recurrence_ge_real": c["recurrence"] >= r["recurrence"],
        "met_recurrence_ge_2x_baseline": c["recurrence"] >= 2 * b["recurrence"],
        "met_pitch_class_ge_baseline": c["pitch_class"] >= b["pitch_class"],
        "met_grooving_ge_baseline": c["grooving"] >= b["grooving"],
    }
    return {"themes": len(themes), "seeds": seeds, "bars": bars, "temperature": temperature, "top_p": top_p,
            "theme_return_bars": theme_return_bars, "copy_weight": copy_weight,
            "conditioned": c, "baseline": b, "real": r, "targets": targets,
            "seconds_per_piece": {m: round(t / max(1, len(themes) * seeds), 2) for m, t in gen_time.items()}}


def _quarters(curve: np.ndarray) -> list[float]:
    return [float(q.mean()) if len(q) else 0.0 for q in np.array_split(curve, 4)]
