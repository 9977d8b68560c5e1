"""The demo choir excerpt the app opens on first start: a Bach chorale sung by the synthetic choir.

Writes ``choir-demo.flac`` (44.1 kHz, 24-bit, mono, with room), ``choir-demo.f0.csv`` (F0 of each voice),
``choir-demo.mid`` (the score as sung: four tracks, transposition and tempo applied), ``choir-demo.json`` (meta)
and, on request, one FLAC per voice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from engine.corpus.render import Excerpt, Timeline, render_excerpt, score_timeline
from engine.corpus.singer import Singer
from engine.corpus.scores import TICKS_PER_QUARTER, load_catalogue
from engine.errors import MotetError

DEMO_RATE = 44100
DEMO_TEMPO_QPM = 84.0
DEMO_TAIL_S = 2.5
DEMO_FERMATA_BEATS = 1.0
DEMO_PIECE = "bach/bwv244.62"
DEMO_SECONDS = 28.0
DEMO_SEED = 3


@dataclass
class DemoRender:
    """The demo as rendered: ``excerpt`` (stems and mixture before ``gain``), the peak-normalising ``gain`` the files
    get, the last bar sung (``end_bar``), the score's ``timeline`` and its catalogue entry ``data``."""
    excerpt: Excerpt
    gain: np.float32
    end_bar: int
    timeline: Timeline
    data: dict


def render_demo(piece: str = DEMO_PIECE, seconds: float = DEMO_SECONDS, seed: int = DEMO_SEED,
                adjust_singer: Callable[[Singer], Singer] | None = None) -> DemoRender:
    """Render the demo choir in memory. The music stops at the last bar line that leaves ``DEMO_TAIL_S`` of the
    ``seconds`` for the room to ring. ``adjust_singer`` (as in :func:`render_excerpt`) re-sings the same choir
    with changed singers (the edit evaluation's exactly warped vocal tracts); ``gain`` is always computed from
    the render's own mixture (a caller comparing two renders applies one of the two gains to both)."""
    catalogue = load_catalogue()
    if piece not in catalogue:
        raise MotetError(f"piece '{piece}': not in the score catalogue")
    data = catalogue[piece]
    if len(data["parts"]) != 4:
        raise MotetError(f"piece '{piece}': the demo needs a four-part (SATB) piece")
    s_per_tick = 60.0 / (DEMO_TEMPO_QPM * TICKS_PER_QUARTER)
    timeline = score_timeline([np.asarray(p["notes"], dtype=np.float64) for p in data["parts"]], s_per_tick,
                              DEMO_FERMATA_BEATS)
    bar_times = timeline.seconds(data["bars"])
    fits = np.nonzero(bar_times <= seconds - DEMO_TAIL_S)[0]
    if len(fits) < 2:
        raise MotetError(f"--seconds {seconds}: too short for a bar of '{piece}'")
    end_bar = int(fits[-1])
    length = float(bar_times[end_bar] + DEMO_TAIL_S)
    kw = dict(singers_per_part=2, tempo_qpm=DEMO_TEMPO_QPM, end_bar=end_bar, rt60_s=1.4,
              fermata_beats=DEMO_FERMATA_BEATS)
    ex = render_excerpt(piece, 0, 4, length, DEMO_RATE, seed, adjust_singer=adjust_singer, **kw)
    gain = np.float32(10 ** (-1.0 / 20) / (np.max(np.abs(ex.mixture)) + 1e-9))
    return DemoRender(ex, gain, end_bar, timeline, data)


def write_demo(out_dir: str | Path, piece: str = DEMO_PIECE, seconds: float = DEMO_SECONDS, seed: int = DEMO_SEED,
               stems: bool = False) -> list[Path]:
    """Render the demo (:func:`render_demo`) into ``out_dir``; returns the paths written."""
    from engine.io.audio import save_audio

    demo = render_demo(piece, seconds, seed)
    ex, gain, end_bar, data, timeline = demo.excerpt, demo.gain, demo.end_bar, demo.data, demo.timeline
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "choir-demo.flac", out / "choir-demo.f0.csv", out / "choir-demo.mid", out / "choir-demo.json"]
    save_audio(paths[0], ex.mixture * gain, DEMO_RATE)
    ex.f0.to_csv(paths[1])
    _write_midi(paths[2], data, ex.meta, end_bar, timeline)
    meta = dict(ex.meta, gain=round(float(ex.meta["gain"] * gain), 5), end_bar=end_bar,
                command=f"motet data demo -o {out_dir} --piece {piece} --seconds {seconds:g} --seed {seed}")
    paths[3].write_text(json.dumps(meta, indent=1))
    if stems:
        for name, stem in zip(ex.meta["voices"], ex.stems):
            path = out / f"choir-demo.{name}.flac"
            save_audio(path, stem * gain, DEMO_RATE)
            paths.append(path)
    return paths


def _write_midi(path: Path, data: dict, meta: dict, end_bar: int, timeline: Timeline) -> None:
    """The score as sung (transposed, at the demo tempo), one track per voice, up to the end bar."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=DEMO_TEMPO_QPM)
    stop = data["bars"][end_bar]
    for name, part in zip(meta["voices"], data["parts"]):
        track = pretty_midi.Instrument(program=52, name=name)  # GM 53 "Choir Aahs"
        notes = np.asarray(part["notes"], dtype=np.float64)
        notes = notes[notes[:, 0] < stop]
        notes[:, 1] = np.minimum(notes[:, 1], stop - notes[:, 0])
        for (start, end), pitch in zip(np.stack(timeline.note_seconds(notes), axis=1), notes[:, 2]):
            track.notes.append(pretty_midi.Note(velocity=80, pitch=int(pitch + meta["transpose_semitones"]),
                                                start=float(start), end=float(end)))
        midi.instruments.append(track)
    midi.write(str(path))
