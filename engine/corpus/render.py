"""Render excerpts of the score catalogue into choir mixtures, per-voice stems and F0 tracks.

``render_excerpt(piece, start_bar, n_voices, seconds, rate, seed)`` is the API for other areas; ``render_corpus``
writes many excerpts to folders in parallel (deterministic for a seed whatever the number of processes).
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from engine.choir import voice_names
from engine.corpus.room import apply_room, room_response
from engine.corpus.scores import TICKS_PER_QUARTER, load_catalogue
from engine.corpus.singer import VOICE_TYPES, Part, Singer, sing
from engine.corpus.splits import SPLITS, piece_split, split_pieces
from engine.errors import MotetError
from engine.f0.tracks import F0_HOP_S, F0Tracks
from engine.jobs import Progress, report

PREROLL_S = 0.5             # rendered before the excerpt so that the room already rings
TYPE_CENTRES_MIDI = {"soprano": 69.0, "alto": 63.0, "tenor": 57.0, "bass": 50.0}
# comfortable ranges of amateur choir singers (MIDI): soprano C4-F5, alto G3-Bb4, tenor C3-F4, bass E2-Bb3
TESSITURA_MIDI = {"soprano": (60, 77), "alto": (55, 70), "tenor": (48, 65), "bass": (40, 58)}
SINGERS_PER_PART_P = (0.7, 0.2, 0.1)   # probability of 1, 2, 3 singers on a part


@dataclass
class Excerpt:
    """mixture: [samples] float32; stems: [V, samples] float32 (sum = mixture); f0: F0Tracks; meta: dict."""

    mixture: np.ndarray
    stems: np.ndarray
    f0: F0Tracks
    meta: dict


def list_pieces(split: str = "train", n_voices: int = 4) -> list[str]:
    """Names of the catalogue's pieces in ``split`` (train/valid/test/all) with at least ``n_voices`` parts."""
    return split_pieces(split, n_voices)


def _voice_types(mean_midi: list[float]) -> list[str]:
    if len(mean_midi) == 4:
        return list(VOICE_TYPES)
    types = [min(TYPE_CENTRES_MIDI, key=lambda v: abs(TYPE_CENTRES_MIDI[v] - m)) for m in mean_midi]
    return types


def _transposition(parts: list[np.ndarray], types: list[str], rng: np.random.Generator) -> int:
    """Semitones (-3..3) that keep most notes in the voices' tessituras; random among the best."""
    costs = []
    for t in range(-3, 4):
        cost = 0
        for midi, vt in zip(parts, types):
            lo, hi = TESSITURA_MIDI[vt]
            cost += int(np.sum((midi + t < lo) | (midi + t > hi)))
        costs.append(cost)
    best = [t for t, c in zip(range(-3, 4), costs) if c == min(costs)]
    return int(rng.choice(best))


@dataclass
class Timeline:
    """Score time (ticks) to seconds: a steady tempo, each fermata held ``pause_s`` longer, with a breath."""

    s_per_tick: float
    fermata_ends: np.ndarray   # [F] ticks where a note under a fermata ends, sorted
    pause_s: float             # extra seconds at each fermata
    breath_s: float            # silence before the next phrase, taken from the held note

    def seconds(self, ticks) -> np.ndarray:
        ticks = np.asarray(ticks, dtype=np.float64)
        return ticks * self.s_per_tick + self.pause_s * np.searchsorted(self.fermata_ends, ticks, side="right")

    def note_seconds(self, notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Onsets and ends in seconds of notes [n, >=2] (onset, duration in ticks)."""
        ends = notes[:, 0] + notes[:, 1]
        breath = np.isin(ends, self.fermata_ends) * self.breath_s
        return self.seconds(notes[:, 0]), self.seconds(ends) - breath


def score_timeline(notes: list[np.ndarray], s_per_tick: float, fermata_beats: float) -> Timeline:
    """The timeline of parts' notes [n, 5]: fermatas held ``fermata_beats`` beats (beat = median note)."""
    marked = [n[n[:, 4] > 0] for n in notes if n.shape[1] > 4]
    ends = np.unique(np.concatenate([m[:, 0] + m[:, 1] for m in marked])) if marked else np.zeros(0)
    beat_s = float(np.median(np.concatenate([n[:, 1] for n in notes]))) * s_per_tick
    pause = fermata_beats * beat_s
    return Timeline(s_per_tick, ends, pause, min(0.25, 0.4 * pause))


def _check_excerpt_args(n_voices: int, seconds: float, rate: int) -> None:
    if not 1 <= n_voices <= 8:
        raise MotetError(f"--voices {n_voices}: a choir has 1 to 8 voices")
    if not 0.5 <= seconds <= 120:
        raise MotetError(f"--seconds {seconds}: must be between 0.5 and 120")
    if not 8000 <= rate <= 96000:
        raise MotetError(f"--rate {rate}: must be between 8000 and 96000 Hz")


def render_excerpt(piece: str, start_bar: int, n_voices: int = 4, seconds: float = 4.0, rate: int = 16000,
                   seed: int = 0, room: bool = True, singers_per_part: Optional[int] = None,
                   tempo_qpm: Optional[float] = None, end_bar: Optional[int] = None,
                   rt60_s: Optional[float] = None, fermata_beats: Optional[float] = None,
                   adjust_singer: Optional[Callable[[Singer], Singer]] = None) -> Excerpt:
    """Sing ``seconds`` of ``piece`` from bar ``start_bar`` (0-based index into its bars) with ``n_voices`` voices.

    Returns an :class:`Excerpt` (mixture [samples], stems [V, samples], F0Tracks at 16 ms hop, meta). The same
    arguments give the same audio. ``room=False`` leaves the stems dry; ``singers_per_part`` fixes how many
    singers sing each part (default: 1, 2 or 3 at random). ``tempo_qpm`` (quarter notes per minute),
    ``fermata_beats`` (how long a fermata holds, in beats) and ``rt60_s`` fix what is otherwise drawn at random; ``end_bar`` ends the music at that bar line (the singers
    release there and the room rings on). ``adjust_singer`` changes every singer after it is drawn (evaluations
    re-sing the same excerpt with, e.g., scaled formants: all random draws stay the same).
    """
    catalogue = load_catalogue()
    if piece not in catalogue:
        raise MotetError(f"piece '{piece}': not in the score catalogue")
    _check_excerpt_args(n_voices, seconds, rate)
    names = voice_names(n_voices)
    data = catalogue[piece]
    if len(data["parts"]) < n_voices:
        raise MotetError(f"piece '{piece}' has {len(data['parts'])} parts, fewer than {n_voices} voices")
    if not 0 <= start_bar < len(data["bars"]):
        raise MotetError(f"bar {start_bar}: piece '{piece}' has bars 0..{len(data['bars']) - 1}")
    rng = np.random.default_rng([seed, 7919])

    # which parts sing: keep the outer voices, pick inner ones at random
    n_parts = len(data["parts"])
    if n_voices == n_parts:
        chosen = list(range(n_parts))
    elif n_voices == 1:
        chosen = [int(rng.integers(n_parts))]
    else:
        inner = sorted(rng.choice(np.arange(1, n_parts - 1), n_voices - 2, replace=False).tolist())
        chosen = [0, *inner, n_parts - 1]
    parts = [data["parts"][k] for k in chosen]
    notes = [np.asarray(p["notes"], dtype=np.float64) for p in parts]
    types = _voice_types([float(np.mean(n[:, 2])) for n in notes])
    transpose = _transposition([n[:, 2] for n in notes], types, rng)

    all_durs = np.concatenate([n[:, 1] for n in notes])
    s_per_tick = rng.uniform(0.45, 0.85) / float(np.median(all_durs))
    if tempo_qpm is not None:
        s_per_tick = 60.0 / (tempo_qpm * TICKS_PER_QUARTER)
    hold = rng.uniform(0.5, 1.5) if fermata_beats is None else fermata_beats
    timeline = score_timeline(notes, s_per_tick, hold)
    if end_bar is not None:
        if not start_bar < end_bar < len(data["bars"]):
            raise MotetError(f"end bar {end_bar}: must lie after bar {start_bar} and before {len(data['bars'])}")
        stop = data["bars"][end_bar]
        notes = [n[n[:, 0] < stop].copy() for n in notes]
        for n in notes:
            n[:, 1] = np.minimum(n[:, 1], stop - n[:, 0])
    bar_s = timeline.seconds(data["bars"])
    t0 = float(bar_s[start_bar])
    t_start, t_end = t0 - PREROLL_S, t0 + seconds
    n_samples = int(round(seconds * rate))
    pre = int(round(PREROLL_S * rate))
    n_frames = int(math.floor(seconds / F0_HOP_S + 1e-9)) + 1
    last_bar = int(np.searchsorted(bar_s, t_end, side="left")) - 1

    rt60 = float(np.exp(rng.uniform(np.log(0.3), np.log(2.5))))
    use_room = room and rng.random() > 0.1
    if rt60_s is not None:
        rt60, use_room = float(rt60_s), room
    drr_excerpt = float(rng.uniform(-2.0, 12.0))
    stems = np.zeros((n_voices, n_samples), dtype=np.float32)
    f0 = np.zeros((n_voices, n_frames))
    voiced = np.zeros((n_voices, n_frames), dtype=bool)
    singer_meta, rooms = {}, {}
    for v, (part, nt, vt) in enumerate(zip(parts, notes, types)):
        level = _score_levels(part, nt)
        onset_s, end_s = timeline.note_seconds(nt)
        score_part = Part(onset_s=onset_s, duration_s=end_s - onset_s,
                          midi=nt[:, 2] + transpose, syllable=nt[:, 3].astype(int), level_db=level,
                          lyrics=bool(np.any(nt[:, 3] != 0)))
        k = singers_per_part or int(rng.choice(3, p=SINGERS_PER_PART_P)) + 1
        dry = np.zeros(n_samples + pre, dtype=np.float32)
        cents_sum = np.zeros(n_frames)
        count = np.zeros(n_frames)
        singers = []
        for _ in range(k):
            singer = Singer.draw(vt, rng)
            if adjust_singer is not None:
                singer = adjust_singer(singer)
            sung = sing(score_part, singer, t_start, t_end, rate, t0, n_frames)
            dry[: len(sung.audio)] += sung.audio[: len(dry)] / math.sqrt(k)
            cents_sum += np.where(sung.voiced, np.log2(np.maximum(sung.f0_hz, 1e-3)), 0)
            count += sung.voiced
            singers.append(singer.to_dict())
        voiced[v] = count > 0
        f0[v] = np.where(voiced[v], 2 ** (cents_sum / np.maximum(count, 1)), 0.0)
        if use_room:
            drr = drr_excerpt + float(rng.uniform(-2, 2))
            wet = apply_room(dry, room_response(rt60, drr, rate, rng))
            rooms[names[v]] = round(drr, 2)
        else:
            wet = dry
        stems[v] = wet[pre: pre + n_samples]
        singer_meta[names[v]] = singers
    peak = float(np.max(np.abs(stems.sum(axis=0)))) + 1e-9
    gain = 10 ** (rng.uniform(-9.0, -1.0) / 20) / peak
    stems *= np.float32(gain)
    mixture = stems.sum(axis=0, dtype=np.float32)
    tracks = F0Tracks(np.arange(n_frames) * F0_HOP_S, f0, voiced, names)
    meta = {
        "piece": piece, "source": "music21 corpus", "split": piece_split(piece),
        "bars": [int(start_bar), int(max(last_bar, start_bar))], "bar_numbering": "0-based index of the piece's measures",
        "start_s_in_piece": round(t0, 3), "seconds": seconds, "rate": rate, "seed": seed,
        "tempo_qpm": round(60.0 / (s_per_tick * TICKS_PER_QUARTER), 2), "fermata_beats": round(float(hold), 2),
        "transpose_semitones": transpose,
        "voices": names, "score_parts": [p["name"] for p in parts], "voice_types": types,
        "singers": singer_meta, "room": {"rt60_s": round(rt60, 3) if use_room else 0.0, "drr_db": rooms},
        "gain": round(float(gain), 5),
    }
    return Excerpt(mixture, stems, tracks, meta)


def _score_levels(part: dict, notes: np.ndarray) -> np.ndarray:
    """Per-note dB from the score's dynamic marks (0 dB at mezzo-forte, no marks = 0)."""
    marks = part.get("dynamics") or []
    if not marks:
        return np.zeros(len(notes))
    at = np.array([m[0] for m in marks], dtype=np.float64)
    vol = np.array([m[1] for m in marks], dtype=np.float64)
    k = np.searchsorted(at, notes[:, 0], side="right") - 1
    return np.where(k >= 0, 24.0 * (vol[np.maximum(k, 0)] - 0.55), 0.0)


def draw_excerpt(pieces: list[str], seconds: float, seed: int) -> tuple[str, int]:
    """A piece and start bar for one excerpt, drawn from ``seed``; starts leave ``seconds`` of music if possible."""
    rng = np.random.default_rng([seed, 104729])
    catalogue = load_catalogue()
    piece = pieces[int(rng.integers(len(pieces)))]
    bars = catalogue[piece]["bars"]
    usable = max(1, int(len(bars) * 0.85) - 2)   # the last bars rarely hold `seconds` of music
    return piece, int(rng.integers(usable))


def excerpt_seed(seed: int, split: str, index: int) -> int:
    """Seed of excerpt ``index`` of ``split`` (independent of how the work is spread over processes)."""
    return int(np.random.SeedSequence([seed, SPLITS.index(split), index]).generate_state(1)[0])


def write_excerpt(folder: Path, excerpt: Excerpt) -> None:
    """mixture.wav, <voice>.wav, f0.csv and meta.json in ``folder``."""
    from engine.io.audio import save_audio

    folder.mkdir(parents=True, exist_ok=True)
    rate = excerpt.meta["rate"]
    save_audio(folder / "mixture.wav", excerpt.mixture, rate)
    for name, stem in zip(excerpt.meta["voices"], excerpt.stems):
        save_audio(folder / f"{name}.wav", stem, rate)
    excerpt.f0.to_csv(folder / "f0.csv")
    (folder / "meta.json").write_text(json.dumps(excerpt.meta, indent=1))


def render_sung_excerpt(pieces: list[str], n_voices: int, seconds: float, rate: int, seed: int,
                        tries: int = 16) -> Excerpt:
    """An excerpt drawn from ``seed`` in which at least one voice sings: where every part rests (instrumental
    interludes of a cantata chorale, a madrigal's opening rests) the draw is repeated with seed + 1, + 2, …
    (recorded in the excerpt's meta). A silent mixture teaches nothing and its loss is unbounded."""
    for attempt in range(tries):
        piece, bar = draw_excerpt(pieces, seconds, seed + attempt)
        excerpt = render_excerpt(piece, bar, n_voices, seconds, rate, seed + attempt)
        if excerpt.f0.voiced.any():
            break
    return excerpt


def _render_job(args) -> tuple[float, float]:
    """Render and write one excerpt; returns (audio seconds, CPU seconds spent)."""
    cpu = time.process_time()
    folder, split, pieces, index, n_voices, seconds, rate, seed = args
    excerpt = render_sung_excerpt(pieces, n_voices, seconds, rate, excerpt_seed(seed, split, index))
    excerpt.meta["split"] = split
    write_excerpt(Path(folder), excerpt)
    return seconds, time.process_time() - cpu


def render_corpus(out_dir: str | Path, hours: float = 1.0, n_voices: int = 4, seconds: float = 4.0,
                  seed: int = 0, rate: int = 16000, split: str = "train", jobs: Optional[int] = None,
                  progress: Optional[Progress] = None) -> dict:
    """Write ceil(hours * 3600 / seconds) excerpts to ``out_dir/<split>/<index>/``; ``split='all'`` spreads the
    hours 80/10/10 over train/valid/test. Returns a summary (excerpts, audio hours, wall seconds, speed: audio
    seconds per wall second per process, and per CPU second of the workers)."""
    if split not in (*SPLITS, "all"):
        raise MotetError(f"--split {split}: choose train, valid, test or all")
    if not hours > 0:
        raise MotetError(f"--hours {hours}: must be more than 0")
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise MotetError(f"--jobs {jobs}: must be at least 1")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise MotetError(f"{out_dir}: exists and is not a folder")
    shares = {"train": 0.8, "valid": 0.1, "test": 0.1} if split == "all" else {split: 1.0}
    tasks = []
    for name, share in shares.items():
        pieces = split_pieces(name, n_voices)
        if not pieces:
            raise MotetError(f"--voices {n_voices}: no {name} piece has {n_voices} parts")
        count = max(1, math.ceil(hours * share * 3600 / seconds))
        tasks += [(str(out_dir / name / f"{i:06d}"), name, pieces, i, n_voices, seconds, rate, seed)
                  for i in range(count)]
    _check_excerpt_args(n_voices, seconds, rate)
    t0 = time.time()
    done = cpu = 0.0
    if jobs == 1:
        for i, task in enumerate(tasks):
            sec, used = _render_job(task)
            done, cpu = done + sec, cpu + used
            report(progress, (i + 1) / len(tasks), f"excerpt {i + 1}/{len(tasks)}")
    else:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
        load_catalogue()  # parsed once, inherited by forked workers
        with ctx.Pool(jobs) as pool:
            for i, (sec, used) in enumerate(pool.imap_unordered(_render_job, tasks, chunksize=4)):
                done, cpu = done + sec, cpu + used
                report(progress, (i + 1) / len(tasks), f"excerpt {i + 1}/{len(tasks)}")
    wall = time.time() - t0
    return {"excerpts": len(tasks), "audio_hours": round(done / 3600, 4), "wall_s": round(wall, 2),
            "jobs": jobs, "realtime_factor_per_core": round(done / max(wall, 1e-9) / jobs, 2),
            "cpu_s": round(cpu, 2), "realtime_factor_per_cpu_second": round(done / max(cpu, 1e-9), 2),
            "voices": n_voices, "seconds": seconds, "rate": rate, "split": split, "seed": seed}
