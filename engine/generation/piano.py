"""Piano sound for generated pieces: a real piano through a SoundFont (FluidSynth with Debian's
``fluid-soundfont-gm``), else motet's own additive piano.

The built-in piano sums inharmonic partials, f_k = k f0 sqrt(1 + B k^2) (stiff-string inharmonicity, Fletcher
1964), each with its own exponential decay (upper partials die faster, low notes ring longer), a short attack, a
damper release at note off, and velocity-dependent brightness. Output: float32 [2, frames] (stereo, pitch panned).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from engine.errors import MotetError
from engine.generation.piece import Note
from engine.io.midi import check_tempo

SOUNDFONT_PATHS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/default-GM.sf2"),
                   Path("/usr/share/soundfonts/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/TimGM6mb.sf2"))
RELEASE_S = 0.25
TAIL_S = 1.5
MAX_RING_S = 6.0


def soundfont_path() -> Path | None:
    """The first General MIDI SoundFont found at its usual path, or None."""
    return next((p for p in SOUNDFONT_PATHS if p.exists()), None)


def soundfont_available() -> bool:
    try:
        import fluidsynth  # noqa: F401
    except Exception:  # the Python package or libfluidsynth missing
        return False
    return soundfont_path() is not None


def _events(notes: list[Note], tempo: float) -> list[tuple[float, int, int, int]]:
    """[(time_s, kind 0=off/1=on, pitch, velocity)] sorted, offs before ons at the same time."""
    spb = 60.0 / tempo
    ev = []
    for n in notes:
        ev.append((n.start_beat * spb, 1, int(n.pitch), int(n.velocity)))
        ev.append(((n.start_beat + max(n.duration_beats, 0.01)) * spb, 0, int(n.pitch), 0))
    ev.sort(key=lambda e: (e[0], e[1]))
    return ev


def render_soundfont(notes: list[Note], tempo: float, sample_rate: int = 44100) -> np.ndarray:
    """float32 [2, frames] through FluidSynth, Acoustic Grand Piano (GM program 0)."""
    import fluidsynth

    path = soundfont_path()
    if path is None:
        raise MotetError("no SoundFont found (install fluid-soundfont-gm)")
    synth = fluidsynth.Synth(samplerate=float(sample_rate), gain=0.5)
    try:
        sfid = synth.sfload(str(path))
        synth.program_select(0, sfid, 0, 0)
        chunks, now = [], 0
        for t, kind, pitch, vel in _events(notes, tempo):
            frame = int(round(t * sample_rate))
            if frame > now:
                chunks.append(synth.get_samples(frame - now))
                now = frame
            if kind:
                synth.noteon(0, pitch, max(1, min(127, vel)))
            else:
                synth.noteoff(0, pitch)
        chunks.append(synth.get_samples(int(TAIL_S * sample_rate)))
    finally:
        synth.delete()
    pcm = np.concatenate(chunks).astype(np.float32) / 32768.0
    return np.ascontiguousarray(pcm.reshape(-1, 2).T)


@functools.lru_cache(maxsize=512)
def _piano_tone(pitch: int, bright: int, sample_rate: int) -> np.ndarray:
    """A struck piano string ringing freely: float32 [frames] of MAX_RING_S s (peak about 1)."""
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    inharm = 0.0001 * 2 ** ((pitch - 21) / 24)  # stiffer strings higher up
    ring = 5.0 * 2 ** (-(pitch - 21) / 22)  # seconds of decay time constant of the fundamental
    n = int(min(MAX_RING_S, 2.5 * ring + 0.3) * sample_rate)
    t = np.arange(n, dtype=np.float32) / sample_rate
    out = np.zeros(n, np.float32)
    tilt = 1.6 - 0.25 * bright  # brighter for louder notes
    for k in range(1, 11):
        fk = k * f0 * np.sqrt(1 + inharm * k * k)
        if fk > 0.45 * sample_rate or fk > 9000:
            break
        amp = k ** -tilt
        tau = ring / (1 + 0.45 * (k - 1))
        detune = 1 + 0.0007 * ((k % 3) - 1)  # the unison strings beat slightly
        env = np.exp(-t / tau) * (0.7 + 0.3 * np.exp(-t / (0.08 * tau)))
        out += (amp * env * (np.sin(2 * np.pi * fk * t) + 0.3 * np.sin(2 * np.pi * fk * detune * t))).astype(
            np.float32)
    attack = int(0.003 * sample_rate)
    out[:attack] *= np.linspace(0, 1, attack, dtype=np.float32)
    return out / max(1e-6, float(np.abs(out).max()))


def render_additive(notes: list[Note], tempo: float, sample_rate: int = 44100) -> np.ndarray:
    """float32 [2, frames] with motet's own additive piano."""
    spb = 60.0 / tempo
    end = max(((n.start_beat + n.duration_beats) * spb for n in notes), default=0.0)
    total = int((end + TAIL_S) * sample_rate) + 1
    out = np.zeros((2, total), np.float32)
    rel = int(RELEASE_S * sample_rate)
    for n in notes:
        a = int(round(n.start_beat * spb * sample_rate))
        held = int(round(max(n.duration_beats, 0.01) * spb * sample_rate))
        tone = _piano_tone(int(n.pitch), int(min(3, n.velocity // 32)), sample_rate)  # cached
        length = min(len(tone), held + rel, total - a)
        if length <= 0:
            continue
        seg = tone[:length].copy()
        if held < length:  # the damper falls
            r = length - held
            seg[held:] *= np.exp(-np.arange(r, dtype=np.float32) / (0.06 * sample_rate))
        gain = 0.25 * (n.velocity / 127.0) ** 1.5
        pan = min(1.0, max(0.0, (n.pitch - 30) / 60.0))
        out[0, a:a + length] += seg * gain * np.sqrt(1 - pan)
        out[1, a:a + length] += seg * gain * np.sqrt(pan)
    peak = float(np.abs(out).max())
    if peak > 0.95:
        out *= 0.95 / peak
    return out


def render_piano(notes, tempo: float, sample_rate: int = 44100, engine: str = "auto") -> np.ndarray:
    """Render ``notes`` (Notes with beats) at ``tempo`` BPM: float32 [2, frames].

    engine: ``auto`` (SoundFont if available, else built-in), ``soundfont`` or ``builtin``.
    """
    tempo = check_tempo(tempo, "tempo")
    notes = list(notes)
    if not (8000 <= int(sample_rate) <= 192000):
        raise MotetError(f"--sample-rate: {sample_rate} Hz is outside 8000..192000")
    if not notes:
        raise MotetError("nothing to render: no notes")
    if engine not in ("auto", "soundfont", "builtin"):
        raise MotetError(f"--engine: unknown '{engine}' (auto, soundfont or builtin)")
    if engine == "soundfont" or (engine == "auto" and soundfont_available()):
        if not soundfont_available():
            raise MotetError("SoundFont piano unavailable: install pyfluidsynth, libfluidsynth3 and "
                             "fluid-soundfont-gm (scripts/setup.sh does)")
        return render_soundfont(notes, tempo, int(sample_rate))
    return render_additive(notes, tempo, int(sample_rate))
