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
    regions = _read_markers(path)
    return Piece(notes, tempo, bpb, regions)


def _read_markers(path: Path) -> list[ThemeRegion]:
    """Theme regions from ``theme_start``/``theme_end`` markers (beats = ticks / ticks per beat)."""
    import mido

    try:
        mid = mido.MidiFile(str(path))
    except Exception:
        return []
    marks = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "marker" and msg.text.strip().lower() in ("theme_start", "theme_end"):
                marks.append((tick, msg.text.strip().lower() == "theme_start"))
    marks.sort(key=lambda m: (m[0], m[1]))
    regions, start = [], None
    for tick, is_start in marks:
        if is_start:
            start = tick / mid.ticks_per_beat
        elif start is not None:
            regions.append(ThemeRegion(start, tick / mid.ticks_per_beat))
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
    try:
        pm.write(str(path))
        if piece.theme_regions:
            _add_markers(path, piece.theme_regions)
    except OSError as err:
        raise MotetError(f"{path}: cannot write ({err.strerror or err})") from None


def _add_markers(path: Path, regions: list[ThemeRegion]) -> None:
    """Put ``theme_start``/``theme_end`` marker meta events into the first track (pretty_midi has none)."""
    import mido

    mid = mido.MidiFile(str(path))
    track = mid.tracks[0]
    events, tick = [], 0
    for msg in track:
        tick += msg.time
        events.append((tick, 1, msg))
    end = [e for e in events if e[2].type == "end_of_track"]
    events = [e for e in events if e[2].type != "end_of_track"]
    for r in regions:
        for beat, text in ((r.start_beat, "theme_start"), (r.end_beat, "theme_end")):
            events.append((int(round(beat * mid.ticks_per_beat)), 0 if text == "theme_end" else 2,
                           mido.MetaMessage("marker", text=text)))
    events.sort(key=lambda e: (e[0], e[1]))
    last = max([e[0] for e in events] + [e[0] for e in end])
    new, prev = mido.MidiTrack(), 0
    for t, _, msg in events:
        new.append(msg.copy(time=t - prev))
        prev = t
    new.append(mido.MetaMessage("end_of_track", time=last - prev))
    mid.tracks[0] = new
    mid.save(str(path))
