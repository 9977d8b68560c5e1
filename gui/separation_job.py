"""The separation job the Choir page submits to the worker, and reading a folder written by ``motet separate``.

Both give (names, stems [V, frames] mono float32 at the playback rate, thetas: engine.edit ThetaVoice per voice).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from engine.jobs import sub_progress

PLAY_RATE = 44100
# "refine" quality: steps of unsupervised adaptation to the recording (each step fits 4 random 3-s segments, so
# its cost does not grow with the recording). 500 is where the gain saturates on CSD (docs/separation.md); a step
# costs ~0.35 s on two CPU cores (`motet bench separation --refine 20`: refine_s_per_step), so the CPU gets 250
# steps, about 90 s (the ETA shows it, Cancel stops it).
REFINE_STEPS = {"gpu": 500, "cpu": 250}
# After the refinement, tracked F0 is corrected again with the adapted network, in rounds of ~12 s per 3 minutes of
# audio on two CPU cores: the CPU gets 3 (CSD: +0.14 dB of the 5 rounds' +0.23, docs/separation.md tenth round).
REFINED_ROUNDS = {"gpu": 5, "cpu": 3}


def thetas_from_arrays(names, f0_hz, voiced, hop_s, theta: dict):
    from engine.edit.theta_voice import PER_VOICE_KEYS, ThetaVoice

    out = []
    for v, name in enumerate(names):
        extra = {k: np.asarray(theta[k][v]) for k in PER_VOICE_KEYS if k in theta and len(theta[k]) == len(names)}
        out.append(ThetaVoice(name, f0_hz[v], voiced[v], hop_s, extra))
    return out


def mono_stems(stems: np.ndarray, rate: int) -> np.ndarray:
    """[V, C, N] or [V, N] at ``rate`` -> [V, N'] mono float32 at PLAY_RATE."""
    x = np.asarray(stems, dtype=np.float32)
    if x.ndim == 3:
        x = x.mean(axis=1)
    if rate != PLAY_RATE:
        import soxr

        x = soxr.resample(np.ascontiguousarray(x.T), rate, PLAY_RATE).T
    return np.ascontiguousarray(x, dtype=np.float32)


def _kind(device) -> str:
    return "cpu" if getattr(device, "type", str(device)) == "cpu" else "gpu"


def refine_steps(device) -> int:
    return REFINE_STEPS[_kind(device)]


def separation_job(audio, n_voices: int, quality: str, score: Optional[str], f0=None):
    """A worker job separating ``audio`` (engine Audio) into ``n_voices``; ``f0``: F0Tracks to use, or None."""

    def job(ctx):
        from engine.separation.f0_correction import F0Correction
        from engine.separation.separate import separate

        correction = "auto" if f0 is not None else F0Correction(refined_rounds=REFINED_ROUNDS[_kind(ctx.device)])
        sep = separate(audio.samples, audio.sample_rate, n_voices, f0=f0, score=score,
                       refine_steps=refine_steps(ctx.device) if quality == "refine" else 0, device=ctx.device,
                       progress=sub_progress(ctx, 0.0, 0.97), f0_correction=correction)
        ctx.progress(0.98, "preparing the voices")
        stems = mono_stems(sep.stems, sep.sample_rate)
        thetas = thetas_from_arrays(sep.names, sep.f0.f0_hz, sep.f0.voiced, sep.hop_s, sep.theta)
        return list(sep.names), stems, thetas

    return job


def read_separation_folder(path: Path, ctx=None):
    """(names, stems, thetas) from a folder with <voice>.wav stems and params.npz (docs/theta.md)."""
    from engine.edit.theta_voice import load_separation_dir
    from engine.io.audio import load_audio

    sep = load_separation_dir(path)
    stems = []
    for i, name in enumerate(sep.names):
        if ctx is not None:
            ctx.progress(i / len(sep.names), f"reading {name}")
        stems.append(load_audio(sep.stem_path(name), sample_rate=PLAY_RATE, mono=True).samples[0])
    n = max(len(s) for s in stems)
    stems = np.stack([np.pad(s, (0, n - len(s))) for s in stems])
    return list(sep.names), stems, [sep.thetas[name] for name in sep.names]


def write_separation_folder(path: Path, names, stems: np.ndarray, thetas) -> None:
    """Write stems (float WAV at PLAY_RATE) and params.npz so :func:`read_separation_folder` reads them back."""
    from engine.io.audio import save_audio

    path.mkdir(parents=True, exist_ok=True)
    for name, stem in zip(names, stems):
        save_audio(path / f"{name}.wav", stem, PLAY_RATE)
    t = max(len(th.f0_hz) for th in thetas)
    f0 = np.zeros((len(names), t))
    voiced = np.zeros((len(names), t), dtype=bool)
    for v, th in enumerate(thetas):
        f0[v, :len(th.f0_hz)] = th.f0_hz
        voiced[v, :len(th.voiced)] = th.voiced
    extra = {}
    for key in thetas[0].extra:
        try:
            extra[key] = np.stack([np.asarray(th.extra[key]) for th in thetas])
        except (KeyError, ValueError):
            pass
    tmp = path / "params.tmp.npz"
    np.savez(tmp, names=np.array(names), hop_s=np.float64(thetas[0].hop_s), f0_hz=f0, voiced=voiced, **extra)
    tmp.replace(path / "params.npz")
