"""Analysis-by-synthesis correction of estimated F0 before the masks.

A blind tracker's pitch errors are mostly discrete: a note change taken a few frames late or early, a pitch a
semitone or two off. Given θ from the model (the encoder run on the tracked F0) and its power rendering
(:meth:`engine.voice.VoiceModel.power_spectrogram`, the expected power the harmonic fit uses), every voice gets a
few alternative F0 tracks — the tracked one, ± 1 and 2 semitones, the track read a few frames later or
earlier (a note change taken early or late), and the voice's previous and next note held through the frame (a
voice that left its own note for another voice's partial) — and, voice by voice with the other voices held at
their current choice, a Viterbi path picks per frame the alternative whose rendered power, added to the other
voices', explains the mixture's STFT power best (log-spectral distance with a floor), with a cost per frame spent
off the tracked track and per switch. Voicing is left as tracked. Analysis-by-synthesis pitch choice as in model-based
multi-pitch estimation (Klapuri 2008; Duan, Pardo & Zhang 2010), with a switching cost as in HMM pitch tracking.

Then the pitch is re-tracked on the voices' own stems (:func:`retrack_from_stems`): the mixture is separated with
the corrected F0 and each stem's pitch measured by the monophonic YIN tracker, whose 25-ms analysis follows note
changes and vibrato that the mixture's 128-ms analysis blurs; it replaces the track's pitch where it lies within
a few semitones of it (separate-then-track iterations as in iterative multi-pitch estimation, Klapuri 2003).
Measured in docs/separation.md (fifth and sixth rounds).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.errors import MotetError
from engine.f0.harmonic_peaks import HarmonicPeaks, peak_pitch
from engine.f0.tracks import F0Tracks
from engine.jobs import Progress, report, sub_progress
from engine.separation.masks import FIT_RENDER, stft_size
from engine.separation.model import chunk_thetas, model_f0


@dataclass
class StemRetrack:
    """Re-tracking the pitch of each voice on its own separated stem: max_cents: the stem's pitch replaces the
    track's only this close to it (a stem's pitch farther off is another voice's or an octave); range: the
    stem's pitch is searched between range[0] × the track's 1st percentile and range[1] × its 99th; passes:
    separate / re-track rounds; harmonic_fit: the per-harmonic fit of those separations' masks (auto|on|off);
    lowest_lowpass: the lowest voice's stem is low-passed at this × the top of its search range before YIN (its
    fundamental band is its cleanest; above it lie the upper voices' partials), 0: not filtered; render: the
    rendering those separations' masks are made from: the expected power (FIT_RENDER: lobes as wide as the
    window's own, the noise whole), not the stems' sharper MASK_RENDER, so a stem keeps its voice's partials where
    the track is a few tens of cents off and YIN can find them (docs/f0.md, thirteenth round); lowest_peaks: then
    the lowest voice's pitch is read from the mixture's harmonic peaks (engine.f0.harmonic_peaks: its many
    partials pin it finer than YIN on its leaky stem; docs/f0.md, fourteenth round), None: not."""

    max_cents: float = 300.0
    range: tuple = (0.7, 1.4)
    lowest_lowpass: float = 1.0
    passes: int = 1
    harmonic_fit: str = "auto"
    render: dict = field(default_factory=lambda: dict(FIT_RENDER))
    lowest_peaks: HarmonicPeaks | None = field(default_factory=HarmonicPeaks)


@dataclass
class F0Correction:
    """semitones: pitch offsets tried; shifts: time offsets in model frames (16 ms; the track read this many
    frames later / earlier); change_cost: cost per frame on another alternative than the tracked one;
    switch_cost: cost per change of alternative; max_hz: band compared; sweeps: passes over the voices;
    chunk_frames: frames decided together; floor_db: floor of the log-spectral distance, dB re the chunk's mean
    STFT power; retrack: then re-track the pitch on the separated stems (:func:`retrack_from_stems`; None: no);
    refined_rounds: how many times separate() corrects the tracks again after each refinement pass on the
    recording (engine.separation.adapt; each round starts from the last one's tracks). Costs are in units of the per-frame mean squared
    log-power difference."""

    semitones: tuple = (-2.0, -1.0, 1.0, 2.0)
    shifts: tuple = (-6, -4, -2, 2, 4, 6)
    # CSD, estimated F0: unrefined model 5.95 -> 6.11 dB, refined 7.53 -> 7.71 dB, blind soprano RPA after one
    # correction .900 -> .910 (docs/separation.md, twelfth round)
    neighbour_notes: bool = True
    note_jump: float = 0.8
    note_frames: int = 4
    change_cost: float = 0.02
    switch_cost: float = 0.2
    max_hz: float = 4000.0
    sweeps: int = 2
    chunk_frames: int = 500
    floor_db: float = -35.0
    retrack: StemRetrack | None = field(default_factory=StemRetrack)
    # CSD, estimated F0, refine 500: 1 / 2 / 3 / 5 / 7 / 9 rounds 7.34 / 7.43 / 7.48 / 7.57 / 7.59 / 7.60 dB; each
    # round costs about a third of a second per second of audio (docs/separation.md, tenth round).
    refined_rounds: int = 5


def neighbour_notes(f0_hz: np.ndarray, voiced: np.ndarray, jump: float = 0.8,
                    min_frames: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(previous, next) [T] (Hz): for every frame of one voice's track f0_hz/voiced [T], the pitch of the note
    before the one it lies in (the median of that note's last ``min_frames`` frames) and of the note after it
    (its first frames); the frame's own F0 where there is none. A note is a run of at least ``min_frames``
    voiced frames with no step over ``jump`` semitones between neighbours; a frame outside any note looks back
    to the last note ended and on to the next one begun."""
    f = np.asarray(f0_hz, dtype=np.float64)
    on = (np.asarray(voiced) > 0) & (f > 0)
    semis = 12 * np.log2(np.maximum(f, 1e-3))
    begins = on & (np.r_[True, np.abs(np.diff(semis)) > jump] | ~np.r_[False, on[:-1]])  # a note starts here
    starts_all = np.nonzero(begins)[0]
    ends_all = np.nonzero(on & (~np.r_[on[1:], False] | np.r_[begins[1:], False]))[0] + 1  # ... and ends before
    keep = ends_all - starts_all >= min_frames
    starts, ends = starts_all[keep], ends_all[keep]
    if len(starts) == 0:
        return f.copy(), f.copy()
    tail = np.array([np.median(f[max(s, e - min_frames):e]) for s, e in zip(starts, ends)])
    head = np.array([np.median(f[s:min(e, s + min_frames)]) for s, e in zip(starts, ends)])
    t = np.arange(len(f))
    k = np.searchsorted(starts, t, side="right") - 1          # the last note begun at or before t
    inside = (k >= 0) & (ends[np.maximum(k, 0)] > t)
    before = np.where(inside, k - 1, np.searchsorted(ends, t, side="right") - 1)
    after = np.where(inside, k + 1, np.searchsorted(starts, t, side="right"))
    prev = np.where(before >= 0, tail[np.clip(before, 0, len(tail) - 1)], f)
    nxt = np.where(after < len(starts), head[np.clip(after, 0, len(head) - 1)], f)
    return prev, nxt


def alternatives(f0_hz: np.ndarray, voiced: np.ndarray, v: int, cfg: F0Correction) -> np.ndarray:
    """Alternative F0 tracks [C, T] (Hz) for voice ``v`` of f0_hz/voiced [V, T]; index 0 is the tracked one.
    A time-shifted track keeps the tracked F0 where the frame it reads is unvoiced."""
    f = f0_hz[v]
    t = np.arange(f.shape[0])
    cands = [f] + [f * 2 ** (s / 12) for s in cfg.semitones]
    for d in cfg.shifts:
        j = np.clip(t + d, 0, len(t) - 1)
        cands.append(np.where(voiced[v, j] > 0, f[j], f))
    if cfg.neighbour_notes:
        cands += neighbour_notes(f, voiced[v], cfg.note_jump, cfg.note_frames)
    return np.stack(cands)


def viterbi(cost: np.ndarray, switch_cost: float) -> np.ndarray:
    """Path [T] through states minimising sum_t cost[t, path[t]] + switch_cost × (number of changes);
    cost [T, C] (inf: forbidden)."""
    t_n, c_n = cost.shape
    acc = cost[0].copy()
    back = np.zeros((t_n, c_n), dtype=np.int64)
    for t in range(1, t_n):
        best = int(np.argmin(acc))
        move = acc[best] + switch_cost
        back[t] = np.where(acc <= move, np.arange(c_n), best)
        acc = np.minimum(acc, move) + cost[t]
    path = np.zeros(t_n, dtype=np.int64)
    path[-1] = int(np.argmin(acc))
    for t in range(t_n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _render(voice, theta: dict, f0: torch.Tensor, voiced: torch.Tensor, n_fft: int, times, max_hz) -> torch.Tensor:
    """Power [C, T, F] of one voice's θ ([T, ...]) under alternative F0 tracks f0 [C, T] (voicing [T]). θ keeps
    a batch of one: what does not depend on F0 (envelope, noise) is computed once and broadcast over C."""
    c = f0.shape[0]
    th = {k: val.unsqueeze(0) for k, val in theta.items() if k not in ("f0_hz", "voiced")}
    p = voice.power_spectrogram(f0_hz=f0, voiced=voiced.expand(c, -1), **th, sample_rate=voice.sample_rate,
                                n_fft=n_fft, frame_times_s=times, max_hz=max_hz, **FIT_RENDER)
    return p.transpose(1, 2)


@torch.no_grad()
def correct_chunk(model, mono16: torch.Tensor, f0_hz: np.ndarray, voiced: np.ndarray, theta: dict,
                  cfg: F0Correction | None = None) -> np.ndarray:
    """Corrected f0_hz [V, T] for one chunk: mono16 [T * hop] at the model rate, f0_hz/voiced [V, T] on the
    model's frames (unvoiced frames keep their value); theta: the model's θ of the chunk ([1, V, T, ...], from
    :func:`engine.separation.model.chunk_thetas`)."""
    cfg = cfg or F0Correction()
    voice = model.voice
    hop = model.config.hop
    n_fft = stft_size(voice.sample_rate)
    v_n, t_n = f0_hz.shape
    on = voiced > 0
    f0_safe = np.where(f0_hz > 0, f0_hz, 200.0)  # as model_f0, in float64 for the alternatives
    dev = next(model.parameters()).device
    mono16 = mono16.to(dev)
    vo = torch.tensor(on, dtype=torch.float32, device=dev)
    theta = {k: val[0] for k, val in theta.items()}
    spec = torch.stft(mono16, n_fft, hop_length=hop, window=torch.hann_window(n_fft, device=dev), center=True,
                      return_complex=True)
    times = torch.arange(t_n, dtype=torch.float64, device=dev) * (hop / voice.sample_rate)
    # per voice: the tracked F0's power on every frame [T, F]; the other alternatives' only on its voiced frames
    # (elsewhere there is nothing to choose) [C - 1, Tv, F]
    alts, base, others_p, sung = [], [], [], []
    for v in range(v_n):
        alts.append(alternatives(f0_safe, voiced, v, cfg))
        th = {k: val[v] for k, val in theta.items()}
        f_alt = torch.tensor(alts[v], dtype=torch.float32, device=dev)
        sung.append(torch.tensor(np.nonzero(on[v])[0], device=dev))
        base.append(_render(voice, th, f_alt[:1], vo[v:v + 1], n_fft, times, cfg.max_hz)[0])
        others_p.append(_render(voice, th, f_alt[1:], vo[v:v + 1], n_fft, times[sung[v]], cfg.max_hz)
                        if len(alts[v]) > 1 and len(sung[v]) else None)
    n_bins = base[0].shape[-1]
    mix = (spec.real ** 2 + spec.imag ** 2)[:n_bins, :t_n].transpose(0, 1)  # [T, F]
    floor = float(mix.mean()) * 10 ** (cfg.floor_db / 10) + 1e-20
    log_mix = torch.log(mix + floor)
    choice = np.zeros((v_n, t_n), dtype=np.int64)
    current = torch.stack(base)  # [V, T, F]
    for _ in range(cfg.sweeps):
        for v in range(v_n):
            if others_p[v] is None:
                continue  # nothing to choose: the tracked F0 stays
            idx = sung[v]
            rest = current.sum(0) - current[v] + floor  # the other voices' power (+ the floor) [T, F]
            cost = np.full((t_n, len(alts[v])), np.inf)
            cost[:, 0] = (torch.log(rest + base[v]) - log_mix).square_().mean(-1).double().cpu().numpy()
            d = (torch.log(rest[idx] + others_p[v]) - log_mix[idx]).square_().mean(-1)  # [C - 1, Tv]
            cost[on[v], 1:] = d.T.double().cpu().numpy() + cfg.change_cost
            choice[v] = viterbi(cost, cfg.switch_cost)
            pick = torch.tensor(choice[v][on[v]], device=dev)  # alternative chosen on each voiced frame
            chosen = others_p[v][(pick - 1).clamp(min=0), torch.arange(len(idx), device=dev)]
            current[v] = base[v]
            current[v, idx] = torch.where((pick > 0).unsqueeze(-1), chosen, base[v][idx])
    out = np.stack([alts[v][choice[v], np.arange(t_n)] for v in range(v_n)])
    return np.where(on, out, f0_hz)


def correct_f0(model, mono16: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray, cfg: F0Correction | None = None,
               progress: Progress | None = None) -> np.ndarray:
    """Corrected F0 [V, T] (Hz) of a whole recording: mono16 [N] at the model rate, f0_hz/voiced [V, T] on the
    model's frames (every hop), decided chunk by chunk (cfg.chunk_frames each; memory flat in the length)."""
    cfg = cfg or F0Correction()
    hop = model.config.hop
    t_n = f0_hz.shape[1]
    x = np.pad(np.asarray(mono16, dtype=np.float32), (0, max(0, t_n * hop - len(mono16))))
    out = np.array(f0_hz, dtype=np.float64, copy=True)
    spans = [(s, min(t_n, s + cfg.chunk_frames)) for s in range(0, t_n, cfg.chunk_frames)]
    x_t = torch.tensor(x)
    thetas = chunk_thetas(model, x_t, model_f0(f0_hz), torch.tensor(voiced > 0, dtype=torch.float32), spans)
    for i, ((s, e), theta) in enumerate(zip(spans, thetas)):
        out[:, s:e] = correct_chunk(model, x_t[s * hop:e * hop], f0_hz[:, s:e], voiced[:, s:e], theta, cfg)
        report(progress, (i + 1) / len(spans), f"correcting F0 {i + 1}/{len(spans)}")
    return out


def correct_tracks(model, mono16: np.ndarray, tracks: F0Tracks, cfg: F0Correction | None = None,
                   progress: Progress | None = None) -> F0Tracks:
    """``tracks`` on the model's frames (one per hop from 0) with the pitch of their voiced frames corrected
    against mono16 [N] (the mixture at the model's rate): the Viterbi choice among alternatives
    (:func:`correct_f0`), then, unless cfg.retrack is None, the pitch re-tracked on the separated stems
    (:func:`retrack_from_stems`). Unvoiced frames keep their values."""
    f0 = model_f0(tracks.f0_hz).numpy()
    cfg = cfg or F0Correction()
    fixed = correct_f0(model, mono16, f0, tracks.voiced, cfg, sub_progress(progress, 0.0, 0.5 if cfg.retrack else 1.0))
    out = F0Tracks(tracks.times_s, np.where(tracks.voiced, fixed, tracks.f0_hz), tracks.voiced, list(tracks.names))
    if cfg.retrack is not None:
        out = retrack_from_stems(model, mono16, out, cfg.retrack, sub_progress(progress, 0.5, 1.0))
    return out


def correct_rounds(model, mono16: np.ndarray, tracks: F0Tracks, rounds: int, cfg: F0Correction | None = None,
                   progress: Progress | None = None, what: str = "") -> F0Tracks:
    """:func:`correct_tracks` ``rounds`` times in a row, each round from the last one's tracks (its stems are
    cleaner for the next re-tracking); the progress bar gives each round its share, labelled "round r/R<what>: "."""
    for r in range(rounds):
        tracks = correct_tracks(model, mono16, tracks, cfg, sub_progress(progress, r / rounds, (r + 1) / rounds,
                                                                        f"round {r + 1}/{rounds}{what}: "))
    return tracks


def retrack_from_stems(model, mono16: np.ndarray, tracks: F0Tracks, cfg: StemRetrack | None = None,
                       progress: Progress | None = None) -> F0Tracks:
    """``tracks`` with the pitch of their voiced frames re-measured on each voice's separated stem: the mixture
    mono16 [N] (model rate) is separated with ``tracks`` (no pitch correction), each stem tracked by the
    monophonic YIN tracker (:func:`engine.f0.single.track_single`, 25-ms windows: sharper at note changes than
    the mixture's 128-ms analysis), and where the stem's pitch is voiced and within cfg.max_cents of the track it
    replaces it. The lowest voice's stem is first low-passed just above its range (cfg.lowest_lowpass); its pitch is
    then moved onto the mixture's harmonic peaks (cfg.lowest_peaks). Voicing is kept."""
    from engine.f0.single import track_single
    from engine.separation.separate import separate  # separate imports this module

    cfg = cfg or StemRetrack()
    rate = model.config.sample_rate
    device = next(model.parameters()).device
    f0 = tracks.f0_hz.copy()
    for p in range(cfg.passes):
        cur = F0Tracks(tracks.times_s, f0, tracks.voiced, list(tracks.names))
        stems = separate(mono16, rate, cur.n_voices, f0=cur, model=model, require_all_voices=False,
                         f0_correction="off", harmonic_fit=cfg.harmonic_fit, device=device,
                         mask_render=cfg.render).stems[:, 0]

        sung = [cur.voiced[v] & (f0[v] > 0) for v in range(cur.n_voices)]

        def stem_pitch(v: int) -> np.ndarray | None:
            """The stem's pitch on the tracks' frames (0: unvoiced); None where the voice hardly sings."""
            if sung[v].sum() < 2:
                return None
            lo, hi = np.percentile(f0[v][sung[v]], [1, 99])
            fmin, fmax = max(30.0, lo * cfg.range[0]), min(2000.0, hi * cfg.range[1])
            lowest = v == cur.n_voices - 1 and cfg.lowest_lowpass > 0
            y = track_single(stems[v], rate, fmin=fmin, fmax=fmax,
                             band_hz=cfg.lowest_lowpass * fmax if lowest else None).resampled(tracks.times_s)
            return np.where(y.voiced[0], y.f0_hz[0], 0.0)

        # the stems' YIN runs side by side (numpy and scipy's FFTs release the GIL; torch is idle meanwhile)
        with ThreadPoolExecutor(max(1, min(cur.n_voices, torch.get_num_threads()))) as pool:
            pitches = list(pool.map(stem_pitch, range(cur.n_voices)))
        for v, y in enumerate(pitches):
            if y is None:
                continue
            near = np.abs(1200 * np.log2(np.maximum(y, 1e-3) / np.maximum(f0[v], 1e-3))) < cfg.max_cents
            f0[v] = np.where(sung[v] & (y > 0) & near, y, f0[v])
        if cfg.lowest_peaks is not None:
            low = cur.n_voices - 1
            f0[low] = peak_pitch(mono16, rate, tracks.times_s, f0, cur.voiced, low, cfg.lowest_peaks)
        report(progress, (p + 1) / cfg.passes, f"re-tracking F0 on the stems {p + 1}/{cfg.passes}")
    return F0Tracks(tracks.times_s, f0, tracks.voiced, list(tracks.names))


# Refinement steps of the separation model for refine_tracks(method="refined"): CSD, blind, soprano RPA .881 (full)
# -> .897 after 100 steps and after 500 alike (docs/f0.md, eighth round).
REFINED_STEPS = 100


def refine_tracks(mono: np.ndarray, sample_rate: int, tracks: F0Tracks, model=None, method: str = "full",
                  progress: Progress | None = None, refine_steps: int = REFINED_STEPS) -> F0Tracks:
    """``tracks`` (any frames) with the pitch of their voiced frames refined by the separation model (default: the
    shipped one), for ``motet f0 --refine-with-separation``: computed on the model's 16-ms frames, mapped back onto
    the tracks' frames. mono: [N] mixture at ``sample_rate`` (Hz); 2 to 8 voices. method 'full':
    :func:`correct_tracks` (pitch correction, then the stem re-tracking); 'stems': :func:`retrack_from_stems` only
    (~4x cheaper); 'refined': 'full', then the model adapted to this recording for ``refine_steps`` steps
    (engine.separation.refine, as ``motet separate --refine``) and 'full' once more with it, whose stems are
    cleaner (~80 s more on two cores, whatever the length). Voicing and unvoiced frames are kept as tracked."""
    from engine.separation.model import SeparationModel, default_model_path
    from engine.separation.refine import refine
    from engine.separation.separate import to_rate  # separate imports this module

    if method not in ("full", "stems", "refined"):
        raise MotetError(f"--refine-with-separation {method}: choose full, stems or refined")
    if not 2 <= tracks.n_voices <= 8:
        raise MotetError(f"--refine-with-separation: the separation model needs 2 to 8 voices, not {tracks.n_voices}")
    model = model or SeparationModel.load(default_model_path()).eval()
    rate, hop = model.config.sample_rate, model.config.hop
    x = to_rate(np.asarray(mono), sample_rate, rate)
    n_frames = int(math.ceil(len(x) / hop))
    x = np.pad(x, (0, n_frames * hop - len(x)))
    on_grid = tracks.resampled(np.arange(n_frames) * hop / rate)
    if method == "refined":
        first = correct_tracks(model, x, on_grid, progress=sub_progress(progress, 0.0, 0.3))
        voiced = torch.tensor(first.voiced, dtype=torch.float32)
        adapted = refine(model, torch.tensor(x), model_f0(first.f0_hz), voiced, refine_steps,
                         device=next(model.parameters()).device, progress=sub_progress(progress, 0.3, 0.7))
        refined = correct_tracks(adapted, x, first, progress=sub_progress(progress, 0.7, 1.0))
    else:
        refined = (correct_tracks if method == "full" else retrack_from_stems)(model, x, on_grid, progress=progress)
    refined = refined.resampled(tracks.times_s)
    f0 = np.where(tracks.voiced & refined.voiced, refined.f0_hz, tracks.f0_hz)
    return F0Tracks(tracks.times_s, f0, tracks.voiced, list(tracks.names))
