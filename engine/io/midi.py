"""MIDI files in and out for the generation engine (pretty_midi), with one clear error per bad file.

Reading gives a :class:`engine.generation.piece.Piece`: times in quarter-note beats from the file's first beat
(tick / resolution), each note tagged melody or accompaniment. A track named like ``MELODY``/``VOCAL``/``LEAD``
is the melody; other pitched tracks are accompaniment; drum tracks and the anchor's ``Theme info track`` are
ignored. A file with no named melody track takes its highest-sounding track as melody.
Writing gives tracks ``MELODY`` and ``PIANO`` (acoustic grand) and markers ``theme_start``/``theme_end``.
"""
from __future__ import annotations

from pathlib import Path

from engine.errors import MotetError
from engine.generation.piece import ACCOMPANIMENT, MELODY, Note, Piece, ThemeRegion

MELODY_NAMES = ("melody", "vocal", "voice", "lead", "theme melody")
IGNORED_NAMES = ("theme info",)
MIN_TEMPO, MAX_TEMPO = 20.0, 400.0


def check_tempo(tempo_bpm: float, what: str = "--tempo") -> float:
    """``tempo_bpm`` if in [20, 400] BPM, else a MotetError naming ``what``."""
    try:
        tempo = float(tempo_bpm)
    except (TypeError, ValueError):
        raise MotetError(f"{what}: tempo must be a number of beats per minute, got {tempo_bpm!r}") from None
    if not (MIN_TEMPO <= tempo <= MAX_TEMPO):
        raise MotetError(f"{what}: tempo {tempo:g} BPM is outside {MIN_TEMPO:g}..{MAX_TEMPO:g} BPM")
    return tempo


def _load(path: Path):
    import pretty_midi

    if not path.exists():
        raise MotetError(f"{path}: file not found")
    if path.is_dir():
        raise MotetError(f"{path}: is a directory, not a MIDI file")
    if path.stat().st_size == 0:
        raise MotetError(f"{path}: empty file, not a MIDI file")
    try:
        return pretty_midi.PrettyMIDI(str(path))
    except Exception as err:  # mido/pretty_midi raise many types for broken files
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise MotetError(f"{path}: not a readable MIDI file ({msg})") from None


def read_piece(path: str | Path) -> Piece:
    """The notes of a MIDI file as a Piece (beats from the first tick; tempo = the first tempo).

    Errors: missing/unreadable/empty file, a file without notes, a file with drum notes only.
    """
    path = Path(path)
    pm = _load(path)
    res = float(pm.resolution)

    def beat(t: float) -> float:
        return pm.time_to_tick(t) / res

    tracks = []
    drums = 0
    for inst in pm.instruments:
        name = (inst.name or "").strip().lower()
        if any(name.startswith(x) for x in IGNORED_NAMES):
            continue
        if inst.is_drum:
            drums += len(inst.notes)
            continue
        notes = [(n.pitch, beat(n.start), beat(n.end), n.velocity) for n in inst.notes if n.end > n.start]
        if notes:
            tracks.append((name, notes))
    if not tracks:
        if drums:
            raise MotetError(f"{path}: only drum notes; a theme or piece needs pitched notes (melody/piano)")
        raise MotetError(f"{path}: no notes in this MIDI file")
    melody_idx = [i for i, (name, _) in enumerate(tracks) if any(name.startswith(m) for m in MELODY_NAMES)]
    if not melody_idx:  # the highest-sounding track carries the melody
        means = [sum(p for p, *_ in ns) / len(ns) for _, ns in tracks]
        melody_idx = [max(range(len(tracks)), key=lambda i: means[i])]
    notes = []
    for i, (_, ns) in enumerate(tracks):
        role = MELODY if i in melody_idx else ACCOMPANIMENT
        for p, s, e, v in ns:
            notes.append(Note(int(p), round(s, 4), round(max(e - s, 1e-3), 4), int(v), role))
    notes.sort(key=lambda n: (n.start_beat, n.role != MELODY, -n.pitch))
    _, tempi = pm.get_tempo_changes()
    tempo = float(tempi[0]) if len(tempi) else 120.0
    tempo = min(max(tempo, MIN_TEMPO), MAX_TEMPO)
    bpb = 4
    ts = pm.time_signature_changes
    if ts and ts[0].numerator in (2, 3, 4, 6) and ts[0].denominator == 4 and ts[0].numerator != 2:
        bpb = ts[0].numerator if ts[0].numerator in (3, 4) else 4
    regions = _read_markers(pm, beat)
    return Piece(notes, tempo, bpb, regions)


def _read_markers(pm, beat) -> list[ThemeRegion]:
    regions, start = [], None
    for m in getattr(pm, "markers", []):
        text = m.text.strip().lower()
        if text == "theme_start":
            start = beat(m.time)
        elif text == "theme_end" and start is not None:
            regions.append(ThemeRegion(start, beat(m.time)))
            start = None
    return regions


def write_piece(piece: Piece, path: str | Path) -> None:
    """Write ``piece`` as a type-1 MIDI file: tracks MELODY and PIANO, markers theme_start/theme_end."""
    import pretty_midi

    path = Path(path)
    if path.parent and not path.parent.exists():
        raise MotetError(f"{path}: folder {path.parent} does not exist")
    tempo = check_tempo(piece.tempo_bpm, "tempo")
    spb = 60.0 / tempo
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo, resolution=480)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(piece.beats_per_bar, 4, 0.0))
    melody = pretty_midi.Instrument(program=0, name="MELODY")
    piano = pretty_midi.Instrument(program=0, name="PIANO")
    for n in piece.notes:
        note = pretty_midi.Note(velocity=int(min(127, max(1, n.velocity))), pitch=int(n.pitch),
                                start=n.start_beat * spb, end=(n.start_beat + max(n.duration_beats, 1e-3)) * spb)
        (melody if n.role == MELODY else piano).notes.append(note)
    pm.instruments.extend([melody, piano])
    for r in piece.theme_regions:
        pm.markers.append(pretty_midi.Marker("theme_start", r.start_beat * spb))
        pm.markers.append(pretty_midi.Marker("theme_end", r.end_beat * spb))
    pm.markers.sort(key=lambda m: m.time)
    try:
        pm.write(str(path))
    except OSError as err:
        raise MotetError(f"{path}: cannot write ({err.strerror or err})") from None
