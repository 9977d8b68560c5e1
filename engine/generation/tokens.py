"""motet's compact piano tokens (a REMI-like event language, Huang & Yang 2020, with roles and theme markers).

A piece is ``BOS TEMPO (BAR [THEME_END] [THEME_START] (POS (PITCH DURVEL)+)*)* BAR [THEME_END] EOS``:

- ``BAR`` marks a bar line (a piece of n bars has n+1); 4/4 bars of 16 sixteenth steps,
- ``POS_k`` the onset step in the bar (0..15, increasing within a bar),
- ``MEL_p`` / ``ACC_p`` a melody or accompaniment note of MIDI pitch p (21..108); the melody is one note per
  step, written first,
- ``DURVEL_d_v`` its duration (one of :data:`DURATIONS`, in sixteenths) and velocity bin,
- ``THEME_START`` / ``THEME_END`` the bar lines where a theme occurrence begins and ends,
- ``TEMPO_k`` the tempo bin.

Each token also gets ``theme_pos``: 1 + its sixteenth offset from the start of the theme occurrence it lies in
(0 outside), the theme-aligned position of Shih et al. (2022), and ``bar_pos``, its step within the bar.
MidiTok has no ready vocabulary for bar-aligned theme regions plus role-split pitches, so this one is our own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.generation.piece import ACCOMPANIMENT, MELODY, Note, Piece, ThemeRegion

STEPS = 16
PITCH_LO, PITCH_HI = 21, 108
DURATIONS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32)
VELOCITIES = (40, 60, 80, 100)
TEMPI = tuple(float(x) for x in np.round(np.geomspace(50, 200, 16), 1))
MAX_THEME_POS = 8 * STEPS + 1

PAD, BOS, EOS, BAR, THEME_START, THEME_END = range(6)
TEMPO0 = 6
POS0 = TEMPO0 + len(TEMPI)
MEL0 = POS0 + STEPS
ACC0 = MEL0 + (PITCH_HI - PITCH_LO + 1)
DURVEL0 = ACC0 + (PITCH_HI - PITCH_LO + 1)
VOCAB = DURVEL0 + len(DURATIONS) * len(VELOCITIES)


def token_name(t: int) -> str:
    """Readable name of token ``t`` (for tests and debugging)."""
    names = {PAD: "PAD", BOS: "BOS", EOS: "EOS", BAR: "BAR", THEME_START: "THEME_START", THEME_END: "THEME_END"}
    if t in names:
        return names[t]
    if t < POS0:
        return f"TEMPO_{TEMPI[t - TEMPO0]:g}"
    if t < MEL0:
        return f"POS_{t - POS0}"
    if t < ACC0:
        return f"MEL_{t - MEL0 + PITCH_LO}"
    if t < DURVEL0:
        return f"ACC_{t - ACC0 + PITCH_LO}"
    d, v = divmod(t - DURVEL0, len(VELOCITIES))
    return f"DURVEL_{DURATIONS[d]}_{VELOCITIES[v]}"


def tempo_token(bpm: float) -> int:
    return TEMPO0 + int(np.argmin([abs(np.log(bpm / t)) for t in TEMPI]))


def tempo_of(token: int) -> float:
    return TEMPI[token - TEMPO0]


def durvel_token(steps: int, velocity: int) -> int:
    d = int(np.argmin([abs(steps - x) for x in DURATIONS]))
    v = int(np.argmin([abs(velocity - x) for x in VELOCITIES]))
    return DURVEL0 + d * len(VELOCITIES) + v


def is_pitch(t: int) -> bool:
    return MEL0 <= t < DURVEL0


@dataclass
class Encoded:
    """tokens, theme_pos, bar_pos: int64 [length] each."""

    tokens: np.ndarray
    theme_pos: np.ndarray
    bar_pos: np.ndarray


def _bar_events(piece: Piece, first_bar: int, last_bar: int) -> dict[int, dict[int, list[Note]]]:
    """{bar: {step: notes}} for bars [first_bar, last_bar) on the 16th grid; melody one note per step."""
    events: dict[int, dict[int, list[Note]]] = {}
    for n in piece.notes:
        step = int(round(n.start_beat * 4))
        bar, pos = divmod(step, STEPS)
        if not (first_bar <= bar < last_bar) or not (PITCH_LO <= n.pitch <= PITCH_HI):
            continue
        events.setdefault(bar, {}).setdefault(pos, []).append(n)
    for steps in events.values():
        for pos, notes in steps.items():
            mel = sorted([n for n in notes if n.role == MELODY], key=lambda n: -n.pitch)[:1]
            acc = sorted({n.pitch: n for n in notes if n.role != MELODY}.values(), key=lambda n: -n.pitch)
            steps[pos] = mel + acc
    return events


def encode(piece: Piece, first_bar: int = 0, last_bar: int | None = None, with_header: bool = True,
           with_eos: bool = True) -> Encoded:
    """Tokens of bars [first_bar, last_bar) of ``piece`` (4/4, beat 0 on a bar line).

    Theme regions are snapped to bar lines; a region begun before ``first_bar`` opens at ``first_bar`` with
    its theme positions continuing from its true start.
    """
    if last_bar is None:
        last_bar = max(piece.bars, 1)
    regions = [(int(round(r.start_beat / 4)), int(round(r.end_beat / 4))) for r in piece.theme_regions]
    regions = [(a, b) for a, b in regions if b > a]
    events = _bar_events(piece, first_bar, last_bar)
    toks: list[int] = []
    tpos: list[int] = []
    bpos: list[int] = []

    def region_at(bar: int):
        for a, b in regions:
            if a <= bar < b:
                return a, b
        return None

    def add(t: int, tp: int, bp: int) -> None:
        toks.append(t)
        tpos.append(min(tp, MAX_THEME_POS))
        bpos.append(bp)

    if with_header:
        add(BOS, 0, 0)
        add(tempo_token(piece.tempo_bpm), 0, 0)
    open_region = None
    for bar in range(first_bar, last_bar + 1):
        reg = region_at(bar) if bar < last_bar else None
        # a bar line's theme position continues the open region (whether it goes on is told by the next token)
        add(BAR, 0 if open_region is None else (bar - open_region[0]) * STEPS + 1, 0)
        if open_region is not None and reg != open_region:
            add(THEME_END, 0, 0)
            open_region = None
        if bar == last_bar:
            break
        if reg is not None and open_region is None:
            open_region = reg
            add(THEME_START, (bar - reg[0]) * STEPS + 1, 0)
        for pos in sorted(events.get(bar, {})):
            tp = 0 if reg is None else (bar - reg[0]) * STEPS + pos + 1
            add(POS0 + pos, tp, pos)
            for n in events[bar][pos]:
                base = MEL0 if n.role == MELODY else ACC0
                add(base + n.pitch - PITCH_LO, tp, pos)
                add(durvel_token(max(1, int(round(n.duration_beats * 4))), n.velocity), tp, pos)
    if with_eos:
        add(EOS, 0, 0)
    return Encoded(np.array(toks, np.int64), np.array(tpos, np.int64), np.array(bpos, np.int64))


def encode_theme(theme: Piece) -> Encoded:
    """The theme's own tokens for the theme encoder: its bars without header, theme_pos counting from its start."""
    bars = max(1, theme.bars)
    t = Piece(theme.notes, theme.tempo_bpm, 4, [ThemeRegion(0.0, bars * 4.0)])
    enc = encode(t, 0, bars, with_header=False, with_eos=False)
    keep = (enc.tokens != THEME_START) & (enc.tokens != THEME_END)
    tp = enc.theme_pos.copy()
    tp[-1] = min(bars * STEPS + 1, MAX_THEME_POS)  # the closing bar line
    return Encoded(enc.tokens[keep], tp[keep], enc.bar_pos[keep])


def decode(tokens, tempo_bpm: float | None = None) -> Piece:
    """The Piece a token sequence describes (tolerant: stray tokens are skipped)."""
    notes: list[Note] = []
    regions: list[ThemeRegion] = []
    tempo = tempo_bpm
    bar, pos = -1, 0
    pitch, role = None, MELODY
    theme_start = None
    for t in (int(x) for x in tokens):
        if t == EOS:
            break
        if TEMPO0 <= t < POS0:
            if tempo_bpm is None:
                tempo = tempo_of(t)
        elif t == BAR:
            bar += 1
            pos = 0
        elif t == THEME_START:
            theme_start = max(bar, 0) * 4.0
        elif t == THEME_END:
            if theme_start is not None:
                regions.append(ThemeRegion(theme_start, max(bar, 0) * 4.0))
            theme_start = None
        elif POS0 <= t < MEL0:
            pos = t - POS0
        elif is_pitch(t):
            role = MELODY if t < ACC0 else ACCOMPANIMENT
            pitch = (t - MEL0 if t < ACC0 else t - ACC0) + PITCH_LO
        elif t >= DURVEL0 and pitch is not None:
            d, v = divmod(t - DURVEL0, len(VELOCITIES))
            start = (max(bar, 0) * STEPS + pos) / 4.0
            notes.append(Note(pitch, start, DURATIONS[d] / 4.0, VELOCITIES[v], role))
            pitch = None
    if theme_start is not None:
        regions.append(ThemeRegion(theme_start, max(bar, 0) * 4.0))
    notes.sort(key=lambda n: (n.start_beat, n.role != MELODY, -n.pitch))
    return Piece(notes, tempo if tempo is not None else 120.0, 4, regions)


N_DURVEL = len(DURATIONS) * len(VELOCITIES)


def to_compound(enc: Encoded) -> tuple[Encoded, np.ndarray]:
    """The model's view: each DURVEL token folded into the pitch token before it.

    Returns (tokens without DURVEL, durvel [length]: 0..N_DURVEL-1 on pitch tokens, -1 elsewhere). A pitch
    token with no DURVEL after it gets the sixteenth-note, velocity-80 class.
    """
    toks = enc.tokens
    is_dv = toks >= DURVEL0
    keep = ~is_dv
    durvel = np.full(len(toks), -1, np.int64)
    pitch_idx = np.flatnonzero((toks >= MEL0) & (toks < DURVEL0))
    nxt = np.minimum(pitch_idx + 1, len(toks) - 1)
    has = is_dv[nxt] & (nxt > pitch_idx)
    durvel[pitch_idx] = np.where(has, toks[nxt] - DURVEL0, durvel_token(1, 80) - DURVEL0)
    return Encoded(toks[keep], enc.theme_pos[keep], enc.bar_pos[keep]), durvel[keep]


def from_compound(tokens, durvel) -> list[int]:
    """The flat token list of a compound sequence (inverse of :func:`to_compound`)."""
    out = []
    for t, d in zip(tokens, durvel):
        out.append(int(t))
        if MEL0 <= t < DURVEL0:
            out.append(DURVEL0 + int(d))
    return out
