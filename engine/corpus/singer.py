"""One synthetic singer singing one part: note list in, dry audio and the exact F0 it sang out.

Pipeline (all vectorised over time; loops run over notes or syllables only):

1. control curves at 1 kHz: pitch in cents (notes + intonation offsets + portamento + scoops + drift + vibrato
   with delayed onset), loudness in dB (score dynamics, phrase arcs, higher notes louder, messa di voce), a gate
   (attacks, releases, gaps before unvoiced consonants), glottal tension and breathiness following loudness;
2. glottal source at the audio rate: phase accumulation with per-period jitter and shimmer, band-limited
   glottal-flow-derivative tables (:mod:`engine.corpus.glottis`), aspiration noise gated by the glottal flow;
3. vocal tract: per-frame cascade of formant resonators (five formants of the sung vowel, singer's formant,
   F1 tuned to F0 for high voices) applied by overlap-add filtering (:mod:`engine.corpus.vowels`);
4. consonants: shaped noise bursts before syllable onsets (plosive, sibilant, fricative, aspirate).

The F0 the singer is reported to sing is the smooth curve of step 1 (jitter is a per-period perturbation around
it, not accumulated), so ``f0.csv`` matches the audio to well within a few cents.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from engine.corpus.glottis import glottal_source
from engine.corpus.vowels import vowel_table, tract_response
from engine.f0.tracks import F0_HOP_S

CONTROL_RATE = 1000  # Hz
PRESENCE_DB = {"soprano": (-6.0, 0.0), "alto": (0.0, 8.0), "tenor": (-2.0, 4.0), "bass": (0.0, 8.0)}
SINGER_FORMANT = {"soprano": (0.0, 0.4), "alto": (0.0, 0.7), "tenor": (0.2, 0.9), "bass": (0.2, 0.9)}
BREATHINESS = {"soprano": (0.03, 0.2), "alto": (0.03, 0.2), "tenor": (0.03, 0.16), "bass": (0.08, 0.4)}
VOICE_TYPES = ("soprano", "alto", "tenor", "bass")
# consonant classes (see engine.corpus.scores): duration s, band Hz (low, high), level dB below the vowel
CONSONANTS = {1: (0.045, (1200.0, 6000.0), -8.0), 2: (0.09, (4000.0, 9000.0), -12.0),
              3: (0.07, (800.0, 8000.0), -20.0), 4: (0.06, (400.0, 3500.0), -18.0)}


@dataclass
class Singer:
    """One singer's settings (all drawn at random per singer by :meth:`draw`)."""

    voice_type: str
    formant_scale: float        # vocal-tract length factor on all formants
    singer_formant: float       # 0 untrained .. 1 trained (F3..F5 clustered)
    vibrato_rate_hz: float
    vibrato_depth_cents: float  # peak deviation
    vibrato_delay_s: float
    vibrato_share: float        # share of notes sung with vibrato (the others nearly straight)
    jitter: float               # period-to-period timing perturbation, fraction of a period (RMS)
    shimmer_db: float           # period-to-period amplitude perturbation (RMS)
    breathiness: float          # aspiration noise level relative to the pulses
    tension: float              # 0 breathy .. 0.5 modal .. 1 pressed
    presence_db: float          # brightness: gain of a shelf rising from 0.8 to 2.5 kHz
    intonation_cents: float     # RMS of per-note intonation offsets
    timing_ms: float            # RMS of per-note onset offsets (plus a constant lag of up to half of it)
    gain_db: float
    portamento_s: float
    scoop_cents: float          # how far below the note a phrase starts
    drift_cents: float          # slow pitch drift amplitude
    seed: int
    tract_warp: float = 1.0     # exact frequency warp of the vocal-tract response, |H(f / tract_warp)| (evaluation)

    @classmethod
    def draw(cls, voice_type: str, rng: np.random.Generator) -> "Singer":
        return cls(
            voice_type=voice_type,
            formant_scale=float(rng.uniform(0.93, 1.07)),
            singer_formant=float(rng.uniform(*SINGER_FORMANT[voice_type])),
            vibrato_rate_hz=float(rng.uniform(4.5, 7.0)),
            vibrato_depth_cents=float(np.exp(rng.uniform(np.log(30), np.log(100)))),
            vibrato_delay_s=float(rng.uniform(0.1, 0.3)),
            vibrato_share=float(rng.uniform(0.7, 1.0)),
            jitter=float(rng.uniform(0.003, 0.01)),
            shimmer_db=float(rng.uniform(0.3, 0.8)),
            breathiness=float(rng.uniform(*BREATHINESS[voice_type])),
            tension=float(rng.uniform(0.35, 0.8)),
            presence_db=float(rng.uniform(*PRESENCE_DB[voice_type])),
            intonation_cents=float(rng.uniform(10.0, 20.0)),
            timing_ms=float(rng.uniform(20.0, 40.0)),
            gain_db=float(rng.uniform(-4.0, 2.0)),
            portamento_s=float(rng.uniform(0.04, 0.14)),
            scoop_cents=float(rng.uniform(0.0, 70.0)),
            drift_cents=float(rng.uniform(3.0, 10.0)),
            seed=int(rng.integers(2 ** 31)),
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["tract_warp"] == 1.0:  # only set by evaluations; corpus metadata stays as it was
            del d["tract_warp"]
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


@dataclass
class Part:
    """Notes of one part in seconds: onset_s, duration_s, midi (float, transposed), syllable codes
    (vowel + 8 * consonant, -1 = melisma), all [notes]; ``lyrics``: whether the codes come from lyrics."""

    onset_s: np.ndarray
    duration_s: np.ndarray
    midi: np.ndarray
    syllable: np.ndarray
    level_db: np.ndarray        # score dynamics per note, dB
    lyrics: bool = True


@dataclass
class SungVoice:
    """audio: [samples] dry float32; f0_hz, voiced: [frames] at F0_HOP_S from the window start."""

    audio: np.ndarray
    f0_hz: np.ndarray
    voiced: np.ndarray


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _slice(tc0: float, t_a: float, t_b: float, n: int) -> slice:
    a = int(np.clip(np.ceil((t_a - tc0) * CONTROL_RATE), 0, n))
    b = int(np.clip(np.ceil((t_b - tc0) * CONTROL_RATE), 0, n))
    return slice(a, b)


def _upsample(curves: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Linear interpolation of control curves [C, n_ctrl] at fractional control indices pos [n]: [C, n]."""
    step = 1.0 / (pos[1] - pos[0]) if len(pos) > 1 else 0.0
    k = int(round(step))
    if k > 1 and abs(step - k) < 1e-9 and pos[0] == 0:   # whole samples per control point: no gather needed
        n_blocks = -(-len(pos) // k)
        base = curves[:, :n_blocks]
        delta = np.diff(curves[:, : n_blocks + 1], axis=1)
        frac = np.arange(k) / k
        return (base[:, :, None] + delta[:, :, None] * frac).reshape(len(curves), -1)[:, : len(pos)]
    i = np.minimum(pos.astype(np.int64), curves.shape[1] - 2)
    w = pos - i
    return curves[:, i] * (1 - w) + curves[:, i + 1] * w


def _slow_noise(rng: np.random.Generator, t: np.ndarray, f_lo: float, f_hi: float, n: int = 3) -> np.ndarray:
    """Sum of ``n`` random sinusoids between f_lo and f_hi Hz, RMS about 1/sqrt(2)."""
    freqs = rng.uniform(f_lo, f_hi, n)
    phases = rng.uniform(0, 2 * np.pi, n)
    return np.sum(np.sin(2 * np.pi * freqs[:, None] * t[None] + phases[:, None]), axis=0) / np.sqrt(n)


def sing(part: Part, singer: Singer, t_start: float, t_end: float, rate: int, frames_from: float,
         n_frames: int) -> SungVoice:
    """Render ``singer`` singing ``part`` between t_start and t_end seconds of the piece.

    F0 frames are reported at ``frames_from + k * F0_HOP_S`` for k < n_frames (the excerpt start may lie after
    t_start, which then is pre-roll for the room).
    """
    rng = np.random.default_rng(singer.seed)
    n_samples = int(round((t_end - t_start) * rate))
    n_ctrl = int(np.ceil((t_end - t_start) * CONTROL_RATE)) + 2
    tc = t_start + np.arange(n_ctrl) / CONTROL_RATE

    # -- notes with this singer's timing and intonation ----------------------------------------------------
    on = part.onset_s.astype(np.float64)
    dur = part.duration_s.astype(np.float64)
    off = on + dur
    n = len(on)
    legato_next = np.zeros(n, dtype=bool)
    legato_next[:-1] = np.abs(on[1:] - off[:-1]) < 1e-3
    lag = rng.uniform(-0.5, 0.5) * singer.timing_ms / 1000
    shift = lag + rng.normal(0, singer.timing_ms / 1000, n)
    limit = 0.25 * np.minimum(dur, np.r_[dur[0], dur[:-1]])
    shift = np.clip(shift, -limit, limit)
    on_s = on + shift
    off_s = np.where(legato_next, np.r_[on_s[1:], 0.0], off + rng.normal(0, 0.3, n) * singer.timing_ms / 1000)
    off_s = np.maximum(off_s, on_s + 0.5 * dur)
    cents = 100 * part.midi + np.clip(rng.normal(0, singer.intonation_cents, n), -2.5 * singer.intonation_cents,
                                      2.5 * singer.intonation_cents)
    phrase_start = np.ones(n, dtype=bool)
    phrase_start[1:] = ~legato_next[:-1]

    keep = (off_s > t_start - 1.0) & (on_s < t_end + 0.5)
    idx = np.nonzero(keep)[0]

    # -- pitch in cents ---------------------------------------------------------------------------------------
    pitch = np.full(n_ctrl, cents[idx[0]] if len(idx) else 6000.0)
    gate = np.zeros(n_ctrl)
    vib_depth = np.zeros(n_ctrl)
    level = np.full(n_ctrl, -60.0)
    syllables = []   # (time, vowel or -1 random, consonant)
    mean_midi = float(np.mean(part.midi))
    for j, i in enumerate(idx):
        # pitch segment of note i starts at its portamento (legato) or half-way through the preceding rest
        if phrase_start[i]:
            seg_a = on_s[i] - (0.5 * (on_s[i] - off_s[i - 1]) if i > 0 else 1.0)
        else:
            seg_a = on_s[i] - 0.6 * singer.portamento_s
        seg = _slice(tc[0], seg_a, t_end + 1.0, n_ctrl)
        pitch[seg] = cents[i]
        if not phrase_start[i]:
            p = _slice(tc[0], seg_a, seg_a + singer.portamento_s, n_ctrl)
            x = (tc[p] - seg_a) / singer.portamento_s
            pitch[p] = cents[i - 1] + (cents[i] - cents[i - 1]) * _smoothstep(x)
        else:
            s = _slice(tc[0], on_s[i], off_s[i], n_ctrl)
            pitch[s] -= singer.scoop_cents * rng.uniform(0.3, 1.0) * np.exp(-(tc[s] - on_s[i]) / 0.05)
        # vibrato depth: delayed onset, 0.15 s fade-in, per-note variation
        s = _slice(tc[0], on_s[i], off_s[i], n_ctrl)
        ramp = np.clip((tc[s] - on_s[i] - singer.vibrato_delay_s) / 0.15, 0, 1)
        straight = 1.0 if rng.random() < singer.vibrato_share else 0.0
        vib_depth[s] = singer.vibrato_depth_cents * rng.uniform(0.7, 1.2) * straight * ramp
        # loudness: score dynamics, higher notes louder, messa di voce on long notes, random variation
        note_db = part.level_db[i] + 0.35 * (part.midi[i] - mean_midi) + rng.normal(0, 1.0)
        shape = 2.5 * np.sin(np.pi * np.clip((tc[s] - on_s[i]) / max(dur[i], 1e-3), 0, 1)) if dur[i] > 0.9 else 0.0
        level[s] = note_db + shape
        # gate: attack at a phrase start, release at a phrase end
        end = off_s[i]
        if phrase_start[i]:
            att = rng.uniform(0.03, 0.08)
            a = _slice(tc[0], on_s[i], end, n_ctrl)
            gate[a] = _smoothstep((tc[a] - on_s[i]) / att)
        else:
            gate[s] = 1.0
        if not legato_next[i]:
            rel = rng.uniform(0.06, 0.15)
            r = _slice(tc[0], end - rel, end, n_ctrl)
            gate[r] *= 1 - _smoothstep((tc[r] - (end - rel)) / rel)
        # syllables and consonants
        code = int(part.syllable[i])
        if not part.lyrics:
            code = int(rng.integers(5)) + 8 * int(rng.choice(5, p=[0.5, 0.2, 0.15, 0.05, 0.1])) \
                if (phrase_start[i] or rng.random() < 0.6) else -1
        if code >= 0:
            vowel, consonant = code % 8, code // 8
            syllables.append((on_s[i], vowel, consonant, i))
            if consonant in CONSONANTS and not phrase_start[i]:
                cdur = CONSONANTS[consonant][0] * rng.uniform(0.8, 1.2)
                cdur = min(cdur, 0.4 * (on_s[i] - on_s[i - 1]))
                g = _slice(tc[0], on_s[i] - cdur, on_s[i] + 0.02, n_ctrl)
                x = tc[g] - (on_s[i] - cdur)
                dip = np.minimum(_smoothstep(1 - x / 0.012), 1.0) + _smoothstep((x - cdur) / 0.02)
                gate[g] *= np.clip(dip, 0, 1)
            elif not phrase_start[i] and rng.random() < 0.5:  # voiced consonant: a shallow dip
                g = _slice(tc[0], on_s[i] - 0.03, on_s[i] + 0.03, n_ctrl)
                gate[g] *= 1 - 0.35 * np.sin(np.pi * (tc[g] - on_s[i] + 0.03) / 0.06)

    # smooth loudness steps (50 ms), add phrase arcs and drift
    kernel = np.hanning(51)
    level = np.convolve(np.pad(level, 25, mode="edge"), kernel / kernel.sum(), mode="valid")[:n_ctrl]
    level += 1.5 * _slow_noise(rng, tc, 0.1, 0.4) + singer.gain_db
    # vibrato with a slowly drifting rate, and slow pitch drift
    vib_rate = singer.vibrato_rate_hz * (1 + 0.04 * _slow_noise(rng, tc, 0.1, 0.5))
    vib_phase = 2 * np.pi * np.cumsum(vib_rate) / CONTROL_RATE + rng.uniform(0, 2 * np.pi)
    pitch = pitch + vib_depth * np.sin(vib_phase) + singer.drift_cents * _slow_noise(rng, tc, 0.05, 0.5)
    f0_ctrl = 440.0 * 2 ** ((pitch / 100 - 69) / 12)

    # -- reported F0 -------------------------------------------------------------------------------------------
    ft = frames_from + np.arange(n_frames) * F0_HOP_S
    f0_frames = np.interp(ft, tc, f0_ctrl)
    voiced = np.interp(ft, tc, gate) > 0.1

    # -- glottal source at the audio rate --------------------------------------------------------------------
    rel_db = level - np.median(level)
    tension = np.clip(singer.tension + 0.03 * rel_db, 0.0, 1.0)
    breath = singer.breathiness * 10 ** (-0.4 * np.clip(rel_db, -10, 10) / 20)
    pos = np.arange(n_samples) * (CONTROL_RATE / rate)
    f0, level_s, tension_s, breath_s, gate_s = _upsample(np.stack([f0_ctrl, level, tension, breath, gate]), pos)
    phase = np.cumsum(f0 / rate) + rng.uniform()
    knots = np.arange(int(phase[-1]) + 3, dtype=np.float64)
    phase_j = phase + np.interp(phase, knots, rng.normal(0, singer.jitter, len(knots)))
    shimmer = 10 ** (np.interp(phase, knots, rng.normal(0, singer.shimmer_db, len(knots))) / 20)
    pulses, flow = glottal_source(phase_j, f0, tension_s, rate)
    breath = singer.breathiness * 10 ** (-0.4 * np.clip(rel_db, -10, 10) / 20)
    breath_s = np.interp(pos, np.arange(n_ctrl), breath)
    noise = rng.standard_normal(n_samples).astype(np.float32)
    source = pulses * shimmer + noise * (0.25 + 0.75 * flow) * breath_s * 2.0

    # -- vocal tract, frame by frame -----------------------------------------------------------------------------
    win = 512 if rate <= 24000 else 1024
    hop = win // 2
    n_fft = 2 * win
    n_fr = (n_samples + win) // hop + 1
    padded = np.zeros(hop * (n_fr - 1) + win, dtype=np.float32)
    padded[hop: hop + n_samples] = source
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[::hop][:n_fr]
    window = np.hanning(win + 1)[:win].astype(np.float32)
    spec = np.fft.rfft(frames * window, n_fft, axis=1)
    t_fr = t_start + (np.arange(n_fr) * hop + win / 2 - hop) / rate
    freqs, bws = _formant_tracks(singer, syllables, t_fr, np.interp(t_fr, tc, f0_ctrl), rng, rate)
    bins = np.fft.rfftfreq(n_fft, 1 / rate)
    # formants move slowly: every other frame
    response = tract_response(freqs[::2], bws[::2], bins / singer.tract_warp, rate)
    response = np.abs(np.repeat(response, 2, axis=0)[:n_fr])   # zero phase: no group delay, F0 stays aligned
    # glottal return-phase roll-off (LF model, Fant 1995): a first-order low-pass that opens with tension
    fa = 3000.0 + 8000.0 * np.interp(t_fr, tc, tension)
    response *= (1.0 / np.sqrt(1 + (bins[None] / fa[:, None]) ** 2)).astype(np.float32)
    shelf = _smoothstep(np.log(np.maximum(bins, 1.0) / 800.0) / np.log(2500.0 / 800.0))
    response *= (10 ** (singer.presence_db * shelf / 20)).astype(np.float32)
    out_frames = np.fft.irfft(spec * response, n_fft, axis=1).astype(np.float32)
    out = np.zeros(hop * (n_fr - 1) + n_fft, dtype=np.float32)
    step = n_fft // hop
    for k in range(step):  # frames k, k+step, ... do not overlap each other: add them in one slice
        block = out_frames[k::step]
        out[k * hop: k * hop + block.size] += block.ravel()
    voice = out[hop: hop + n_samples]

    amp = (gate_s * 10 ** (level_s / 20)).astype(np.float32)
    voice = voice * amp
    voice += _consonants(syllables, on_s, t_start, n_samples, rate, amp, voice, rng)
    return SungVoice(voice.astype(np.float32), f0_frames, voiced)


def _formant_tracks(singer: Singer, syllables, t_fr: np.ndarray, f0_fr: np.ndarray, rng: np.random.Generator,
                    rate: int):
    """Formant frequencies and bandwidths [frames, 7]: five following the vowels of the syllables (70 ms
    glides), then two fixed higher poles."""
    table_f, table_b = vowel_table(singer.voice_type, singer.singer_formant)
    if not syllables:
        syllables = [(t_fr[0], 0, 0, 0)]
    times, fs, bs = [], [], []
    for k, (t, vowel, _cons, _i) in enumerate(syllables):
        vf = table_f[vowel] * singer.formant_scale * (1 + rng.normal(0, 0.03, 5))
        vf[1] = max(vf[1], vf[0] + 150)
        times += [t - 0.07, t - 0.005] if k else [t - 0.005]
        fs += [fs[-1], vf] if k else [vf]
        bs += [bs[-1], table_b[vowel]] if k else [table_b[vowel]]
    times = np.array(times)
    fs = np.array(fs)
    bs = np.array(bs)
    freqs = np.stack([np.interp(t_fr, times, fs[:, k]) for k in range(5)], axis=1)
    bws = np.stack([np.interp(t_fr, times, bs[:, k]) for k in range(5)], axis=1)
    # high voices tune F1 to just above F0 (Sundberg 1987); keep formants ordered
    freqs[:, 0] = np.maximum(freqs[:, 0], 1.08 * f0_fr)
    freqs[:, 1] = np.maximum(freqs[:, 1], freqs[:, 0] + 150)
    bws = bws * (1 + 0.8 * singer.breathiness)
    # two fixed higher poles (F6, F7) so that the cascade does not fall off a cliff above F5 (Klatt 1980's
    # "higher-pole correction", here as explicit wide resonances), kept below Nyquist
    high = np.array([5000.0, 7000.0]) * (1.1 if singer.voice_type in ("soprano", "alto") else 1.0)
    high = np.minimum(high * singer.formant_scale, 0.45 * rate)
    freqs = np.concatenate([freqs, np.broadcast_to(high, (len(t_fr), 2))], axis=1)
    bws = np.concatenate([bws, np.broadcast_to([400.0, 700.0], (len(t_fr), 2))], axis=1)
    return freqs, bws


def _consonants(syllables, on_s, t_start, n_samples, rate, amp, voice, rng) -> np.ndarray:
    """Noise bursts ending at the syllable onsets of unvoiced consonants, shaped per class: [samples]."""
    out = np.zeros(n_samples, dtype=np.float32)
    if not syllables:
        return out
    ref = float(np.sqrt(np.mean(voice ** 2)) + 1e-9) / float(np.sqrt(np.mean(amp ** 2)) + 1e-9)
    for t, _vowel, consonant, i in syllables:
        if consonant not in CONSONANTS:
            continue
        cdur, (lo, hi), db = CONSONANTS[consonant]
        cdur *= rng.uniform(0.8, 1.2)
        a = int(round((t - cdur - t_start) * rate))
        b = int(round((t - t_start) * rate))
        if b <= 0 or a >= n_samples or b - a < 16:
            continue
        m = b - a
        spec = np.fft.rfft(rng.standard_normal(m))
        f = np.fft.rfftfreq(m, 1 / rate)
        hi = min(hi, 0.45 * rate)
        shape = _smoothstep((f - 0.7 * lo) / (0.3 * lo)) * _smoothstep((1.15 * hi - f) / (0.15 * hi))
        burst = np.fft.irfft(spec * shape, m)
        x = np.arange(m) / m
        if consonant == 1:   # plosive: closure silence, sharp release, decaying aspiration
            env = np.where(x < 0.4, 0.0, np.exp(-(x - 0.4) / 0.25))
        else:
            env = np.sin(np.pi * x) ** 0.7
        burst = burst / (np.sqrt(np.mean(burst ** 2)) + 1e-9) * env
        level = ref * amp[min(max(b + int(0.05 * rate), 0), n_samples - 1)] * 10 ** ((db + rng.normal(0, 3)) / 20)
        lo_i, hi_i = max(a, 0), min(b, n_samples)
        out[lo_i:hi_i] += (burst[lo_i - a: hi_i - a] * level).astype(np.float32)
    return out
