"""Separate a choir recording into one stem per voice (the function the CLI and the GUI worker call).

Pipeline: mono mixture at the model rate -> F0 of every voice (given, or :func:`engine.f0.track_voices`) ->
optional unsupervised refinement on this recording -> per chunk (with context margins) the encoder's θ -> the
voices' power spectra rendered at the INPUT rate over its full band -> Wiener masks on the mixture's complex STFT
-> stems, cross-faded between chunks. Working memory is flat in the file's length (one chunk at a time).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.choir import voice_names
from engine.errors import MotetError
from engine.f0.tracks import F0Tracks
from engine.jobs import Progress, report, sub_progress
from engine.separation.adapt import adapt, pass_steps
from engine.separation.f0_correction import F0Correction, correct_tracks
from engine.separation.harmonic_fit import DEFAULT_FIT, REFINED_FIT, GainFit, fit_chunk_gains, gains_at
from engine.separation.masks import (MASK_HOP_FRACTION, MASK_HOP_FRACTION_REFINED, MASK_RENDER, apply_masks,
                                     freq_spread, wiener_masks)
from engine.separation.model import SeparationModel, default_model_path, model_f0
from engine.separation.phase import DEFAULT_PHASE_FIT, PhaseFit
from engine.separation.pitch_fit import DEFAULT_PITCH_FIT, PitchFit, fit_pitch

CHUNK_S = 16.0     # seconds of output per chunk
CONTEXT_S = 1.0    # extra seconds read on each side of a chunk
FADE_S = 0.1       # cross-fade between neighbouring chunks
MIN_VOICED_FRACTION = 0.02  # a voice voiced in fewer frames than this is "not in the audio"
SILENCE_RMS = 1e-5


@dataclass
class Separation:
    """stems: [V, C, N] float32 at ``sample_rate`` (sum over V = the input); f0: the F0 used; theta: θ per
    docs/theta.md as numpy arrays [V, T, ...] at ``hop_s``; f0_source: 'given', 'tracked' or 'score'."""

    stems: np.ndarray
    sample_rate: int
    names: list[str]
    f0: F0Tracks
    theta: dict
    model_sample_rate: int
    hop_s: float
    f0_source: str = "given"
    notes: list[str] = field(default_factory=list)


def check_audio(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """[C, N] float32 (a 1-D input becomes one channel); clear errors for empty, silent or broken audio."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise MotetError(f"audio: expected samples [channels, frames], got shape {x.shape}")
    if sample_rate < 8000:
        raise MotetError(f"audio: sample rate {sample_rate} Hz is too low (need at least 8000 Hz)")
    if x.shape[1] < 0.5 * sample_rate:
        raise MotetError(f"audio: {x.shape[1] / sample_rate:.2f} s is too short to separate (need 0.5 s)")
    if not np.all(np.isfinite(x)):
        raise MotetError("audio: samples hold NaN or infinite values")
    if float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) < SILENCE_RMS:
        raise MotetError("audio: the recording is silent; nothing to separate")
    return x


def to_rate(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """x [N] (Hz ``rate``) as float32 at ``target`` Hz (soxr)."""
    if rate == target:
        return x.astype(np.float32)
    import soxr

    return soxr.resample(x.astype(np.float32), rate, target).astype(np.float32)


def estimate_f0(mono: np.ndarray, sample_rate: int, n_voices: int, score=None, progress: Progress | None = None):
    """(F0Tracks, source) from motet's own per-voice tracker (:func:`engine.f0.track_voices`)."""
    try:
        from engine.f0 import track_voices
    except ImportError:
        raise MotetError("no per-voice F0 tracker is available in this build: pass --f0 CSV") from None
    tracks = track_voices(mono, sample_rate, n_voices, score=score, progress=progress)
    return tracks, ("score" if score is not None else "tracked")


def check_voices(f0: F0Tracks, n_voices: int, what: str) -> None:
    """Every asked-for voice must sing somewhere: else the audio holds fewer voices than asked."""
    if f0.n_voices != n_voices:
        raise MotetError(f"{what}: has {f0.n_voices} voices, but {n_voices} were asked for")
    present = f0.voiced.mean(axis=1) >= MIN_VOICED_FRACTION
    if present.sum() < n_voices:
        missing = [name for name, ok in zip(f0.names, present) if not ok]
        raise MotetError(f"{what}: found {int(present.sum())} singing voice(s) but {n_voices} were asked for "
                         f"(no F0 for {', '.join(missing)}); ask for fewer voices (--voices)")


def theta_to_numpy(theta: dict) -> dict:
    return {k: v.detach().cpu().numpy() for k, v in theta.items()}


@torch.no_grad()
def _chunk_theta(model: SeparationModel, mono16: torch.Tensor, f0: torch.Tensor, voiced: torch.Tensor) -> dict:
    """θ for one chunk: mono16 [N], f0/voiced [V, T] -> dict of [1, V, T, ...]."""
    return model(mono16.unsqueeze(0), f0.unsqueeze(0), voiced.unsqueeze(0))


def _fade_weights(n: int, start: int, end: int, first: bool, last: bool, fade: int, offset: int) -> np.ndarray:
    """Trapezoid weights over samples offset..offset+n: 1 inside [start, end), linear ramps of ``fade`` samples
    centred on start and end (none at the file's edges); neighbouring trapezoids add up to 1."""
    t = np.arange(offset, offset + n, dtype=np.float64) + 0.5
    w = np.ones(n)
    if not first:
        w *= np.clip((t - (start - fade / 2)) / fade, 0, 1)
    if not last:
        w *= np.clip(((end + fade / 2) - t) / fade, 0, 1)
    return w.astype(np.float32)


def _option(choice, default, auto_on: bool):
    """A stage's setting from "auto" / "on" / "off" / None / its own config object: ``default`` for "on" (and for
    "auto" when ``auto_on``), None for off, the object itself otherwise."""
    if choice == "auto":
        choice = "on" if auto_on else "off"
    if choice in ("off", None):
        return None
    return default if choice == "on" else choice


def progress_spans(seconds: float, tracking: bool, correcting: bool, refine_steps: int,
                   refined_rounds: int = 1) -> dict:
    """{stage: (start, end)} fractions of the progress bar for the stages of :func:`separate` that run, in
    proportion to their rough cost on two CPU cores (`motet bench separation --track-f0 --refine N`, 3 minutes
    of audio: tracking ~0.03 s, pitch correction with stem re-tracking ~0.07 s, masks ~0.035 s per second of audio,
    ~0.32 s after a refinement with the pitch fit, the finer hop and the phase fit; ~0.35 s per refinement step);
    refined_rounds: corrections after each refinement pass (two passes when correcting, engine.separation.adapt)."""
    passes = pass_steps(refine_steps, correcting)
    cost = {"f0": 0.03 * seconds * tracking, "correction": 0.07 * seconds * correcting,
            "refine": 0.35 * sum(passes),
            "correction_refined": 0.07 * seconds * correcting * (refine_steps > 0) * refined_rounds * len(passes),
            "masks": (0.32 if refine_steps > 0 else 0.035) * seconds + 1e-6}
    total, at, spans = sum(cost.values()), 0.0, {}
    for stage, c in cost.items():
        spans[stage] = (at / total, (at + c) / total)
        at += c
    return spans


def separate(audio: np.ndarray, sample_rate: int, n_voices: int, f0: F0Tracks | None = None, score=None,
             refine_steps: int = 0, device=None, progress: Progress | None = None,
             model: SeparationModel | None = None, chunk_s: float = CHUNK_S,
             require_all_voices: bool = True, harmonic_fit: GainFit | str | None = "auto",
             f0_correction: F0Correction | str | None = "auto",
             pitch_fit: PitchFit | str | None = "auto", phase_fit: PhaseFit | str | None = "auto",
             mask_render: dict | None = None) -> Separation:
    """Separate ``audio`` [C, N] (or [N]) at ``sample_rate`` into ``n_voices`` stems (2..8), highest first.

    f0: F0 of every voice (else tracked from the mixture, with ``score`` if given); refine_steps: steps of
    unsupervised adaptation to this recording; device: torch device (default CPU); progress: engine.jobs;
    require_all_voices: refuse F0 in which a voice never sings (an evaluation excerpt may hold a resting voice);
    harmonic_fit: per-harmonic gains fitted to the mixture for the masks (engine.separation.harmonic_fit):
    a GainFit, None or "off" (the masks use θ's own rendering), "on"/"auto": DEFAULT_FIT, or the lighter
    REFINED_FIT once the model was refined on the recording (the refinement already fits the mixture through θ;
    the full fit then measured 0.1–0.3 dB worse on CSD, the light one 0.1 dB better);
    f0_correction: analysis-by-synthesis correction of the F0's pitch (engine.separation.f0_correction) before
    refinement and masks, and again with the refined model after a refinement: an F0Correction, "on", "off",
    or "auto" (on when the F0 was tracked here, off when given);
    pitch_fit: the F0's fine pitch fitted to the mixture per chunk before the masks (engine.separation.pitch_fit):
    a PitchFit, "on", "off", or "auto" (on once the model was refined on the recording; without a refinement θ
    fits the mixture too loosely to judge a few cents by, and the fit costs about as much as the masks);
    phase_fit: the stems' phases made consistent with their magnitudes (engine.separation.phase): a PhaseFit,
    "on", "off", or "auto" (on once the model was refined: its 10 STFT round trips cost about as much as the
    finer masks themselves, and the refined masks gain the most from it);
    mask_render: the rendering of θ the masks are made from (keyword arguments of
    :meth:`engine.voice.VoiceModel.power_spectrogram`; default engine.separation.masks.MASK_RENDER).
    """
    if not 2 <= int(n_voices) <= 8:
        raise MotetError(f"--voices: motet separates 2 to 8 voices, not {n_voices}")
    x = check_audio(audio, sample_rate)
    device = torch.device(device or "cpu")
    model = model or SeparationModel.load(default_model_path())
    model = model.to(device).eval()
    sr_m, hop = model.config.sample_rate, model.config.hop
    hop_s = hop / sr_m
    notes = []
    mono = x.mean(0)
    mono16 = to_rate(mono, sample_rate, sr_m)

    correction = _option(f0_correction, F0Correction(), f0 is None)  # auto: tracked F0 only
    correcting = correction is not None
    span = progress_spans(len(mono) / sample_rate, f0 is None, correcting, refine_steps,
                          correction.refined_rounds if correcting else 0)
    if f0 is None:
        f0, source = estimate_f0(mono, sample_rate, n_voices, score, sub_progress(progress, *span["f0"]))
    else:
        source = "given"
    if require_all_voices:
        check_voices(f0, n_voices, "F0" if source == "given" else "audio")
    elif f0.n_voices != n_voices:
        raise MotetError(f"F0: has {f0.n_voices} voices, but {n_voices} were asked for")
    names = voice_names(n_voices)
    n_frames = int(math.ceil(len(mono16) / hop))
    tracks = f0.resampled(np.arange(n_frames) * hop_s)
    f0_t = model_f0(tracks.f0_hz)
    voiced_t = torch.tensor(tracks.voiced, dtype=torch.float32)
    mono16 = np.pad(mono16, (0, n_frames * hop - len(mono16)))
    mono16_t = torch.tensor(mono16)

    if correcting:
        tracks = correct_tracks(model, mono16, tracks, correction, sub_progress(progress, *span["correction"]))
        f0_t = model_f0(tracks.f0_hz)
        notes.append("F0 pitch corrected by analysis-by-synthesis against the mixture"
                     + (" and re-tracked on the separated stems" if correction.retrack is not None else ""))
    if refine_steps > 0:
        # the refined θ fits the mixture better: with tracked F0 the pitch is corrected again with it, and the model
        # refined a second time on the corrected tracks (engine.separation.adapt)
        model, tracks = adapt(model, mono16, tracks, refine_steps, correction, device,
                              sub_progress(progress, span["refine"][0], span["correction_refined"][1]))
        notes.append(f"refined on this recording for {model.refined_steps} steps"
                     + (" in two passes, the F0 corrected after each" if correction is not None else ""))
        f0_t = model_f0(tracks.f0_hz)

    refined = model.refined_steps > 0
    if harmonic_fit in ("auto", "on"):
        harmonic_fit = REFINED_FIT if refined else DEFAULT_FIT
    elif harmonic_fit == "off":
        harmonic_fit = None
    if harmonic_fit is not None:
        notes.append(f"masks with per-harmonic gains fitted to the recording ({harmonic_fit.iterations} updates)")
    pitch_fit = _option(pitch_fit, DEFAULT_PITCH_FIT, refined)
    phase_fit = _option(phase_fit, DEFAULT_PHASE_FIT, refined)
    mask_hop = MASK_HOP_FRACTION_REFINED if refined else MASK_HOP_FRACTION
    if phase_fit is not None:
        notes.append(f"stem phases made consistent ({phase_fit.iterations} iterations)")
    if pitch_fit is not None:
        notes.append(f"F0 fine-tuned to the mixture (within ±{pitch_fit.bound_cents:g} cents)")

    n = x.shape[1]
    chunk = int(round(chunk_s * sample_rate))
    context = int(round(CONTEXT_S * sample_rate))
    fade = int(round(FADE_S * sample_rate))
    n_chunks = max(1, int(math.ceil(n / chunk)))
    stems = np.zeros((n_voices, x.shape[0], n), dtype=np.float32)
    theta_parts = []
    for i in range(n_chunks):
        start, end = i * chunk, min(n, (i + 1) * chunk)
        # context window, aligned to model frames
        f_lo = max(0, int(math.floor((start - context - fade) / sample_rate / hop_s)))
        f_hi = min(n_frames, int(math.ceil((end + context + fade) / sample_rate / hop_s)) + 1)
        a = int(round(f_lo * hop_s * sample_rate))
        b = min(n, int(round(f_hi * hop_s * sample_rate)))
        mono_chunk = mono16_t[f_lo * hop: f_hi * hop].to(device)
        theta = _chunk_theta(model, mono_chunk, f0_t[:, f_lo:f_hi].to(device), voiced_t[:, f_lo:f_hi].to(device))
        if pitch_fit is not None:
            theta = {**theta, "f0_hz": fit_pitch(model, theta, mono_chunk, pitch_fit)}
        t0 = a / sample_rate - f_lo * hop_s  # time of the audio window's start within the θ chunk

        gains = None
        if harmonic_fit is not None:
            gains = fit_chunk_gains(model.voice, {k: v[0] for k, v in theta.items()}, mono_chunk, harmonic_fit)

        def masks_fn(n_fft, times, theta=theta, t0=t0, gains=gains):
            render = dict(mask_render or MASK_RENDER)
            if gains is not None:
                render["harmonic_gain"] = gains_at(*gains, times + t0)
            power = model.power(theta, sample_rate, n_fft, times + t0, **render)[0]
            return wiener_masks(freq_spread(power, sample_rate / n_fft), floor=1e-20)

        with torch.no_grad():
            part = apply_masks(torch.tensor(x[:, a:b], device=device), masks_fn, sample_rate, mask_hop,
                               phase_fit).cpu().numpy()
        w = _fade_weights(b - a, start, end, i == 0, i == n_chunks - 1, fade, a)
        stems[:, :, a:b] += part * w
        # θ of the frames this chunk owns
        own_lo = int(math.ceil(start / sample_rate / hop_s))
        own_hi = n_frames if i == n_chunks - 1 else int(math.ceil(end / sample_rate / hop_s))
        theta_parts.append({k: v[0, :, own_lo - f_lo: own_hi - f_lo].detach().cpu() for k, v in theta.items()})
        lo, hi = span["masks"]
        report(progress, lo + (hi - lo) * (i + 1) / n_chunks, f"separating chunk {i + 1}/{n_chunks}")

    theta_all = {k: torch.cat([p[k] for p in theta_parts], 1) for k in theta_parts[0]}
    theta_np = theta_to_numpy(theta_all)
    theta_np["voiced"] = theta_np["voiced"] > 0.5
    f0_out = tracks.f0_hz
    if pitch_fit is not None:  # the pitch the stems were made with
        f0_out = np.where(tracks.voiced, theta_np["f0_hz"].astype(np.float64), tracks.f0_hz)
    tracks_out = F0Tracks(np.arange(n_frames) * hop_s, f0_out, tracks.voiced, names)
    return Separation(stems, sample_rate, names, tracks_out, theta_np, sr_m, hop_s, source, notes)


def write_separation(sep: Separation, out_dir: str | Path) -> list[Path]:
    """Write DIR/<name>.wav per voice, DIR/f0.csv and DIR/params.npz (θ per docs/theta.md)."""
    from engine.io.audio import save_audio

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise MotetError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, stem in zip(sep.names, sep.stems):
        path = out / f"{name}.wav"
        save_audio(path, stem, sep.sample_rate)
        written.append(path)
    sep.f0.to_csv(out / "f0.csv")
    written.append(out / "f0.csv")
    theta = {k: np.asarray(v, dtype=bool if k == "voiced" else np.float32) for k, v in sep.theta.items()}
    np.savez(out / "params.npz", names=np.array(sep.names), sample_rate=np.int64(sep.model_sample_rate),
             hop_s=np.float64(sep.hop_s), **theta)
    written.append(out / "params.npz")
    return written
