"""A vocal score as note lists per part (MusicXML via music21, MIDI via pretty_midi), parts highest first."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import MotetError

_SATB_PATTERNS = (("soprano", r"sop|cant|treble|superius|^s$|^s\b"), ("alto", r"alt|contra|^a$|^a\b"),
                  ("tenor", r"ten|^t$|^t\b"), ("bass", r"bas|bajo|^b$|^b\b"))


@dataclass
class ScorePart:
    """One sung part. notes: [n, 3] float (start_s, end_s, midi pitch) in score time (seconds at the score's
    tempo), sorted by start."""

    name: str
    notes: np.ndarray

    @property
    def mean_pitch(self) -> float:
        return float(self.notes[:, 2].mean()) if len(self.notes) else 0.0


def voice_of(name: str) -> str | None:
    """'soprano'/'alto'/'tenor'/'bass' when a part name says so ("Sopran", "Contralto", "Bajos", "T."), else None."""
    low = name.strip().lower()
    for voice, pattern in _SATB_PATTERNS:
        if re.search(pattern, low):
            return voice
    return None


def _order(parts: list[ScorePart]) -> list[ScorePart]:
    """Highest part first: by SATB name when every part has a distinct one, else by mean pitch."""
    voices = [voice_of(p.name) for p in parts]
    order = ["soprano", "alto", "tenor", "bass"]
    if all(voices) and len(set(voices)) == len(voices):
        return [p for _, p in sorted(zip(voices, parts), key=lambda vp: order.index(vp[0]))]
    return sorted(parts, key=lambda p: -p.mean_pitch)


def _from_midi(path: Path) -> list[ScorePart]:
    import pretty_midi

    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as err:  # pretty_midi raises many types for broken files
        raise MotetError(f"{path}: not a readable MIDI file ({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    parts = []
    for i, inst in enumerate(midi.instruments):
        if inst.is_drum or not inst.notes:
            continue
        notes = np.array(sorted((n.start, n.end, n.pitch) for n in inst.notes if n.end > n.start), dtype=float)
        parts.append(ScorePart(inst.name or f"part{i + 1}", notes))
    return parts


def _from_musicxml(path: Path) -> list[ScorePart]:
    import music21

    try:
        score = music21.converter.parse(str(path))
    except Exception as err:
        raise MotetError(f"{path}: not a readable score ({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    parts = []
    for i, part in enumerate(getattr(score, "parts", [])):
        flat = part.flatten().stripTies()
        notes = []
        for entry in flat.secondsMap:
            el = entry["element"]
            if not getattr(el, "isNote", False) and not getattr(el, "isChord", False):
                continue
            dur = float(entry["durationSeconds"])
            if dur <= 0:
                continue
            midi = max(p.midi for p in el.pitches)
            start = float(entry["offsetSeconds"])
            notes.append((start, start + dur, midi))
        if notes:
            parts.append(ScorePart(part.partName or f"part{i + 1}", np.array(sorted(notes), dtype=float)))
    return parts


def load_score(path: str | Path) -> list[ScorePart]:
    """Parts of a MIDI (.mid/.midi) or MusicXML (.musicxml/.xml/.mxl) score, highest first; a clear MotetError
    for a missing, unreadable or empty file."""
    path = Path(path)
    if not path.is_file():
        raise MotetError(f"{path}: score file not found")
    suffix = path.suffix.lower()
    if suffix in (".mid", ".midi"):
        parts = _from_midi(path)
    elif suffix in (".musicxml", ".xml", ".mxl"):
        parts = _from_musicxml(path)
    else:
        raise MotetError(f"{path}: a score must be MIDI (.mid) or MusicXML (.musicxml, .xml, .mxl), not '{suffix}'")
    if not parts:
        raise MotetError(f"{path}: the score holds no notes")
    return _order(parts)


def parts_from_f0_table(times_s: np.ndarray, f0_hz: np.ndarray, names: list[str]) -> list[ScorePart]:
    """Score parts from a frame table of written pitches (f0_hz: [V, T], 0 = rest): each run of one pitch is a
    note. Used to turn CSD's ``f0/midi`` table (the score's MIDI rendered as F0) back into a score."""
    hop = float(np.median(np.diff(times_s))) if len(times_s) > 1 else 0.016
    parts = []
    for name, row in zip(names, f0_hz):
        midi = np.where(row > 0, np.round(69 + 12 * np.log2(np.where(row > 0, row, 440.0) / 440.0)), 0)
        change = np.nonzero(np.diff(np.concatenate([[0], midi, [0]])) != 0)[0]
        notes = [(times_s[a], times_s[b - 1] + hop, midi[a]) for a, b in zip(change[:-1], change[1:]) if midi[a] > 0]
        parts.append(ScorePart(name, np.array(notes, dtype=float).reshape(-1, 3)))
    return parts


def write_midi(parts: list[ScorePart], path: str | Path) -> None:
    """Write parts as a MIDI file, one instrument (named after the part) per part."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    for part in parts:
        inst = pretty_midi.Instrument(program=52, name=part.name)  # choir aahs
        for start, end, pitch in part.notes:
            inst.notes.append(pretty_midi.Note(velocity=80, pitch=int(pitch), start=float(start), end=float(end)))
        midi.instruments.append(inst)
    midi.write(str(path))
