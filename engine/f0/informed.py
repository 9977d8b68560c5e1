"""Score-informed per-voice F0: align the score to the recording, then measure each note's F0 around its written
pitch so that intonation, vibrato and glides are the singers' own.

Alignment is dynamic time warping (Müller, "Fundamentals of Music Processing", ch. 3) of pitch profiles: the
recording's is the harmonic-summation salience folded onto semitones, the score's its sounding notes. Each
recording frame is matched to one score position; the score may hold (fermatas, breaths), advance, or advance
twice as fast, so every recording frame counts once in the path cost (no bias towards short paths or early ends).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.choir import voice_names
from engine.errors import MotetError
from engine.f0.blind import (HARMONIC_SHARE, check_audio, harmonic_score, harmonic_share, refine_f0, remove_blips,
                             shared_harmonics)
from engine.f0.salience import grid_hz, magnitude_spectrogram, salience_map, to_analysis_rate
from engine.f0.score import ScorePart, load_score
from engine.f0.tracks import F0_HOP_S, F0Tracks, hold_pitch
from engine.jobs import report

ALIGN_HOP = 4  # alignment works on 64 ms frames (4 F0 frames)
MAX_ALIGN_FRAMES = 4000  # longer recordings are aligned on coarser frames
HOLD_COST = 0.05  # per 64-ms frame in which the score holds (fermatas, breaths); 0.15 loses fermatas on synthetic valid
SKIP_COST = 0.1  # per 64-ms frame in which the score advances two frames (the singers faster than written)


ALIGN_MIDI = np.arange(36, 97)  # C2..C7: the pitches the alignment features describe


def recording_pitch_profile(sal: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """[T, P + 1] salience per semitone of :data:`ALIGN_MIDI` (max over the bins of each semitone), cube-rooted,
    plus a 'silence' dimension; rows unit-norm. sal: [T, F] on ``grid``."""
    midi = np.round(69 + 12 * np.log2(grid / 440.0)).astype(int)
    out = np.zeros((sal.shape[0], len(ALIGN_MIDI) + 1))
    for i, m in enumerate(ALIGN_MIDI):
        sel = midi == m
        if sel.any():
            out[:, i] = sal[:, sel].max(axis=1)
    level = out[:, :-1].sum(axis=1)
    out[:, -1] = np.maximum(0.0, 1.0 - level / max(np.percentile(level, 20), 1e-9)) * out.max()
    out = np.cbrt(out)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def score_roll(parts: list[ScorePart], n_frames: int, hop_s: float) -> np.ndarray:
    """[V, n_frames] written MIDI pitch per part and frame of score time (0 = rest; highest note if several)."""
    roll = np.zeros((len(parts), n_frames))
    for v, part in enumerate(parts):
        for start, end, pitch in part.notes:
            a, b = int(round(start / hop_s)), int(round(end / hop_s))
            roll[v, a:max(b, a + 1)] = np.maximum(roll[v, a:max(b, a + 1)], pitch)
    return roll


def score_pitch_profile(roll: np.ndarray) -> np.ndarray:
    """[T, P + 1] the written pitches of a piano roll ([V, T] MIDI) on :data:`ALIGN_MIDI`, each note with a
    weaker octave above (where a voice's salience also shows), plus a silence dimension; rows unit-norm."""
    out = np.zeros((roll.shape[1], len(ALIGN_MIDI) + 1))
    for v in range(roll.shape[0]):
        on = np.nonzero(roll[v] > 0)[0]
        for shift, weight in ((0, 1.0), (12, 0.4)):
            idx = roll[v, on].astype(int) + shift - ALIGN_MIDI[0]
            ok = (idx >= 0) & (idx < len(ALIGN_MIDI))
            np.add.at(out, (on[ok], idx[ok]), weight)
    out[:, -1] = (roll > 0).sum(axis=0) == 0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def follow_path(cost: np.ndarray, first_row: int, last_row: int, hold_cost: float, skip_cost: float) -> np.ndarray:
    """Score position (row) for every recording frame (column) of ``cost`` ([N rows, M columns]): per column the
    score holds (+hold_cost: fermatas, breaths the score lacks), advances one row, or two (+skip_cost: up to
    twice the written tempo). Every recording frame counts once, so neither a long hold nor an early end is
    favoured. The path starts in a row <= ``first_row`` (the score's leading silence) and ends in a row >=
    ``last_row``; holds are free outside [first_row, last_row] (silence before and after the music).
    Returns [M] rows."""
    n, m = cost.shape
    big = 1e18
    hold = np.full(n, hold_cost)
    hold[:first_row] = 0.0
    hold[last_row + 1:] = 0.0
    acc = np.full(n, big)
    acc[: first_row + 1] = cost[: first_row + 1, 0]
    step = np.zeros((m, n), dtype=np.int8)
    for j in range(1, m):
        cand = np.full((3, n), big)
        cand[0] = acc + hold
        cand[1, 1:] = acc[:-1]
        cand[2, 2:] = acc[:-2] + skip_cost
        step[j] = cand.argmin(axis=0)
        acc = cand[step[j], np.arange(n)] + cost[:, j]
    rows = np.empty(m, dtype=int)
    rows[-1] = last_row + int(acc[last_row:].argmin())
    if acc[rows[-1]] >= big:
        raise MotetError("score: cannot align it to the recording (their lengths differ by more than a factor 2)")
    for j in range(m - 1, 0, -1):
        rows[j - 1] = rows[j] - step[j, rows[j]]
    return rows


def align(parts: list[ScorePart], sal: np.ndarray, grid: np.ndarray, progress=None) -> np.ndarray:
    """Written MIDI pitch per voice at every recording frame: [V, T] (0 = rest), from a chroma-DTW alignment of
    the score to the salience map ``sal`` ([T, F])."""
    n_frames = sal.shape[0]
    score_end = max(float(p.notes[:, 1].max()) for p in parts if len(p.notes))
    hop = ALIGN_HOP
    while n_frames / hop > MAX_ALIGN_FRAMES or score_end / (hop * F0_HOP_S) > MAX_ALIGN_FRAMES:
        hop *= 2
    hop_s = hop * F0_HOP_S
    m = n_frames // hop
    rec = recording_pitch_profile(sal[: m * hop].reshape(m, hop, -1).mean(axis=1), grid)
    n = int(np.ceil(score_end / hop_s)) + 1
    sco = score_pitch_profile(score_roll(parts, n, hop_s))
    if not (0.5 <= m / n <= 2.0):
        raise MotetError(f"score: it lasts {score_end:.0f} s at its own tempo, the recording {n_frames * F0_HOP_S:.0f} s; "
                         "they differ by more than a factor 2")
    report(progress, 0.4, "aligning score")
    sounding = np.nonzero(sco[:, -1] < 0.5)[0]
    rows = follow_path(1.0 - sco @ rec.T, int(sounding[0]), int(sounding[-1]), HOLD_COST, SKIP_COST)
    path = np.stack([rows, np.arange(m)], axis=1)
    # recording frame -> score time, through the path's (monotonic) correspondences
    rec_t = (path[:, 1] + 0.5) * hop_s
    sco_t = (path[:, 0] + 0.5) * hop_s
    rec_t, first = np.unique(rec_t, return_index=True)
    last = np.unique(path[:, 1][::-1], return_index=True)[1]
    sco_mid = 0.5 * (sco_t[first] + sco_t[::-1][last])
    frame_score_t = np.interp(np.arange(n_frames) * F0_HOP_S, rec_t, sco_mid)
    fine = score_roll(parts, int(np.ceil(score_end / F0_HOP_S)) + 2, F0_HOP_S)
    idx = np.clip(np.round(frame_score_t / F0_HOP_S).astype(int), 0, fine.shape[1] - 1)
    coarse = score_roll(parts, n, hop_s)
    row = np.clip((frame_score_t / hop_s).astype(int), 0, n - 1)
    # a frame held on a row whose note ends within the row (a held last chord) keeps that note
    return np.where(fine[:, idx] > 0, fine[:, idx], coarse[:, row])


TIME_SIGMA_S = 0.02  # time-localised spectrogram (s; see magnitude_spectrogram): note changes and breaths show
# sooner. CSD informed RPA .910 -> .911, false alarm .463 -> .433; synthetic valid (8 / 16 excerpts) RPA +0.8 /
# +0.3 points, false alarm -3.7 / -2.5 points. 0.01 / 0.015 / 0.025 and using it for the measurement only: no better.


def track_voices_informed(samples: np.ndarray, sample_rate: int, n_voices: int, score: str | Path,
                          progress=None) -> F0Tracks:
    """F0 of ``n_voices`` voices guided by a score (MIDI/MusicXML): parts map to voices by SATB name, else by
    range (highest part first). samples: [frames]."""
    names = voice_names(n_voices)
    parts = load_score(score)
    if len(parts) != n_voices:
        raise MotetError(f"{score}: the score has {len(parts)} parts, but {n_voices} voices were asked for")
    x = to_analysis_rate(samples, sample_rate)
    check_audio(x)
    report(progress, 0.0, "pitch salience")
    grid = grid_hz()
    mag = magnitude_spectrogram(x, time_sigma_s=TIME_SIGMA_S)
    sal = salience_map(mag, grid)
    written = align(parts, sal, grid, progress)
    report(progress, 0.7, "measuring each note")
    tracks = measure_notes(mag, written, names)
    if not tracks.voiced.any():
        raise MotetError("audio: no singing voice found (nothing sounds at the score's pitches)")
    return tracks


DRIFT_S = 4.0  # window (s) over which a voice's drift from the written tuning is averaged (2 and 10 s: no better)
SEARCH_CENTS = 150.0  # how far a sung pitch may stray from its written pitch (scoops, glides, flat singing)
SEARCH_STEP = 10.0
PRIOR_CENTS = 200.0  # a Gaussian prior of this width pulls the track towards the written pitch (120 was worse)
MOVE_COST = 0.07  # cost per 100 cents of movement between frames of one note (0.15 was worse on synthetic valid and CSD)


MASK_SHARED = True  # damp harmonics that another voice's partials cover when following a note
MASK_SHARED_REFINE = True


def follow_note_pitch(mag: np.ndarray, centre_hz: np.ndarray, written: np.ndarray,
                      others_hz: np.ndarray | None = None) -> np.ndarray:
    """F0 [T] of one voice that stays near ``centre_hz`` ([T], 0 = rest) yet follows glides: Viterbi over offsets
    of +-SEARCH_CENTS from the centre, with harmonic salience as evidence, a prior towards the centre, and a cost
    for moving within a note (free at note changes, given by ``written`` [T] MIDI). ``others_hz`` ([W, T], the
    other voices' centres) damps the harmonics their partials cover (:func:`shared_harmonics`)."""
    idx = np.nonzero(centre_hz > 0)[0]
    out = np.zeros(len(centre_hz))
    if idx.size == 0:
        return out
    offsets = np.arange(-SEARCH_CENTS, SEARCH_CENTS + SEARCH_STEP / 2, SEARCH_STEP)
    hw = None if others_hz is None else shared_harmonics(centre_hz[idx], others_hz[:, idx])
    score = harmonic_score(mag[idx], centre_hz[idx], SEARCH_CENTS, SEARCH_STEP, full=True,
                           harmonic_weights=hw)  # [N, O]
    scale = max(float(np.median(score.max(axis=1))), 1e-9)
    emission = -score / scale + 0.5 * (offsets[None, :] / PRIOR_CENTS) ** 2
    move = MOVE_COST * np.abs(offsets[:, None] - offsets[None, :]) / 100.0
    new_note = np.ones(len(idx), dtype=bool)
    new_note[1:] = (np.diff(idx) > 1) | (written[idx[1:]] != written[idx[:-1]])
    back = np.zeros(emission.shape, dtype=np.int16)
    delta = emission[0].copy()
    cols = np.arange(len(offsets))
    for n in range(1, len(idx)):
        if new_note[n]:
            back[n] = int(delta.argmin())
            delta = delta.min() + emission[n]
            continue
        total = delta[:, None] + move
        back[n] = total.argmin(axis=0)
        delta = total[back[n], cols] + emission[n]
    path = np.empty(len(idx), dtype=int)
    path[-1] = int(delta.argmin())
    for n in range(len(idx) - 1, 0, -1):
        path[n - 1] = back[n, path[n]]
    out[idx] = centre_hz[idx] * 2 ** (offsets[path] / 1200)
    return out


VOICING_SHARE = 0.5  # a frame whose evidence falls below this share of its voice's median is a breath or gap


def audible(mag: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """[V, T] frames where the harmonic evidence at the voice's F0 reaches :data:`VOICING_SHARE` of that voice's
    median evidence (rests inside written notes: breaths, gaps between phrases)."""
    out = np.zeros_like(voiced)
    for v in range(f0_hz.shape[0]):
        on = np.nonzero(voiced[v] & (f0_hz[v] > 0))[0]
        if on.size:
            ev = harmonic_score(mag[on], f0_hz[v, on], 5.0)
            out[v, on] = ev > VOICING_SHARE * np.median(ev)
    return out


SLACK_FRAMES = 4  # a frame may take the written pitch of a note up to 64 ms away when that pitch sounds better
# (10 suited the old DTW; with score following 4 gives synthetic valid .865 -> .870 and fewer false alarms)
SLACK_STEP = 2


def slacken(mag: np.ndarray, written: np.ndarray, drift: np.ndarray) -> np.ndarray:
    """Per voice and frame, the written pitch (of this frame or of one up to :data:`SLACK_FRAMES` away) whose
    harmonic evidence is strongest -- note boundaries move to where the singers change note; a rest keeps its
    place unless a nearby note sounds at least a third of the voice's median evidence. written: [V, T] MIDI (0 =
    rest); drift: [V, T] cents. Returns [V, T], median-filtered over 5 frames."""
    from scipy.ndimage import median_filter

    out = written.copy()
    n_frames = written.shape[1]
    shifts = np.arange(-int(SLACK_FRAMES), int(SLACK_FRAMES) + 1, int(SLACK_STEP))
    for v in range(written.shape[0]):
        row = written[v]
        if not (row > 0).any():
            continue
        idx = np.clip(np.arange(n_frames)[None, :] + shifts[:, None], 0, n_frames - 1)
        options = row[idx]  # [S, T]
        evidence = np.zeros(options.shape)
        for i in range(len(shifts)):
            on = options[i] > 0
            hz = np.where(on, 440.0 * 2 ** ((options[i] - 69) / 12 + drift[v] / 1200), 0.0)
            if on.any():
                evidence[i, on] = harmonic_score(mag[on], hz[on], 50.0, 10.0)
        median = np.median(evidence[shifts == 0][0][row > 0])
        evidence[options == 0] = 0.33 * median
        evidence -= 0.02 * median * np.abs(shifts)[:, None] / SLACK_STEP  # prefer the aligned note
        best = evidence.argmax(axis=0)
        out[v] = median_filter(options[best, np.arange(n_frames)], size=5, mode="nearest")
    return out


def measure_notes(mag: np.ndarray, written: np.ndarray, names: list[str]) -> F0Tracks:
    """F0 of every voice near its aligned written pitch. mag: [T, K] spectrogram; written: [V, T] MIDI (0 = rest).

    First each voice's drift from the written tuning is measured (a search +-100 cents around the written pitch,
    smoothed over 4 s); note boundaries then move to where the evidence changes (:func:`slacken`); each voice's F0
    is then followed within +-SEARCH_CENTS of its drift-corrected written pitch (:func:`follow_note_pitch`),
    refined to a cent, and unvoiced where it does not sound (:func:`audible`, :func:`harmonic_share`); there the
    F0 measured at the written note stays as the pitch guess (:func:`hold_pitch` fills the score's rests)."""
    voiced = written > 0
    nominal = np.where(voiced, 440.0 * 2 ** ((written - 69) / 12), 0.0)
    first = refine_f0(mag, nominal, voiced, span_cents=100.0, step_cents=4.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(voiced, 1200 * np.log2(first / np.where(voiced, nominal, 1.0)), np.nan)
    width = int(round(DRIFT_S / F0_HOP_S))
    drift = np.stack([_smooth_nan(row, width) for row in dev])  # [V, T] cents
    if SLACK_FRAMES > 0:
        written = slacken(mag, written, drift)
    voiced = written > 0
    centre = np.where(voiced, 440.0 * 2 ** ((written - 69) / 12 + drift / 1200), 0.0)
    f0 = np.zeros_like(centre)
    for v in range(len(names)):
        f0[v] = follow_note_pitch(mag, centre[v], written[v], np.delete(centre, v, axis=0) if MASK_SHARED else None)
    f0 = refine_f0(mag, f0, voiced & (f0 > 0), span_cents=12.0, step_cents=1.0,
                   others=f0 if MASK_SHARED_REFINE else None)
    voiced = voiced & audible(mag, f0, voiced)
    voiced = remove_blips(voiced & (harmonic_share(mag, f0, voiced) >= HARMONIC_SHARE)[None, :], 3)
    times = np.arange(mag.shape[0]) * F0_HOP_S
    return F0Tracks(times, hold_pitch(f0), voiced, names)


def _smooth_nan(x: np.ndarray, width: int) -> np.ndarray:
    """Moving mean of ``x`` ([T]) over ``width`` frames ignoring NaNs; 0 where nothing is known."""
    ok = np.isfinite(x)
    kernel = np.ones(max(1, min(width, len(x))))
    num = np.convolve(np.where(ok, x, 0.0), kernel, mode="same")
    den = np.convolve(ok.astype(float), kernel, mode="same")
    return np.where(den > 0, num / np.maximum(den, 1e-9), 0.0)

