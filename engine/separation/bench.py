"""``motet bench separation``: wall time to separate a 3-minute SATB recording (given its F0, optionally also
tracking it, optionally also with refinement), and the vocal-tract filter in torchlpc against a naive per-sample loop."""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from engine.f0.tracks import F0Tracks


def satb_recording(seconds: float, rate: int, seed: int = 11) -> tuple[np.ndarray, F0Tracks]:
    """A synthetic SATB recording of ``seconds`` at ``rate`` (corpus excerpts end to end) and its F0."""
    from engine.corpus.render import draw_excerpt, list_pieces, render_excerpt

    pieces = list_pieces("test", 4)
    parts, tracks, t = [], [], 0.0
    i = 0
    while t < seconds - 1e-6:
        length = min(60.0, seconds - t)
        piece, bar = draw_excerpt(pieces, length, seed + i)
        ex = render_excerpt(piece, bar, 4, length, 16000, seed + i)
        parts.append(ex.mixture)
        tracks.append((ex.f0.times_s + t, ex.f0.f0_hz, ex.f0.voiced))
        t += length
        i += 1
    mix16 = np.concatenate(parts)
    f0 = F0Tracks(np.concatenate([a for a, _, _ in tracks]), np.concatenate([b for _, b, _ in tracks], 1),
                  np.concatenate([c for _, _, c in tracks], 1))
    if rate != 16000:
        import soxr

        mix16 = soxr.resample(mix16, 16000, rate).astype(np.float32)
    return mix16, f0


def bench_filter(n_samples: int = 16000, order: int = 20, batch: int = 4) -> dict:
    """Seconds for the all-pole filter over ``n_samples`` samples: torchlpc vs a Python loop over samples."""
    from engine.dsp.allpole import allpole_filter, allpole_filter_naive, lsf_to_lpc

    torch.manual_seed(0)
    lsf = torch.sort(torch.rand(batch, 1, order) * 3.0 + 0.05).values.expand(batch, n_samples, order)
    a = lsf_to_lpc(lsf)
    x = torch.randn(batch, n_samples)
    allpole_filter(x[:, :64], a[:, :64])  # compile once
    t0 = time.perf_counter()
    y = allpole_filter(x, a)
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    y2 = allpole_filter_naive(x, a)
    slow = time.perf_counter() - t0
    return {"filter_samples": n_samples * batch, "filter_torchlpc_s": round(fast, 5), "filter_loop_s": round(slow, 4),
            "filter_speedup": round(slow / max(fast, 1e-9), 1),
            "filter_max_rel_diff": float((y - y2).abs().max() / y2.abs().max())}


def bench(seconds: float = 180.0, rate: int = 44100, device=None, threads: int | None = None,
          track_f0: bool = False, refine_steps: int = 0) -> dict:
    from engine.separation.model import SeparationModel, default_model_path
    from engine.separation.separate import separate

    if threads:
        torch.set_num_threads(threads)
    device = device or "cpu"
    audio, f0 = satb_recording(seconds, rate)
    model = SeparationModel.load(default_model_path())
    separate(audio[: rate * 10], rate, 4, f0=f0, model=model, device=device)  # warm-up (kernels, caches)
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    sep = separate(audio, rate, 4, f0=f0, model=model, device=device)
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    result = {"audio_s": round(len(audio) / rate, 2), "rate": rate, "voices": 4, "device": str(device),
              "hardware": torch.cuda.get_device_name(device) if str(device).startswith("cuda") else "cpu",
              "torch_threads": torch.get_num_threads(),
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"), "separate_s": round(wall, 3),
              "separate_cpu_s": round(cpu, 3), "load_average_1min": round(os.getloadavg()[0], 2),
              "realtime_factor": round(len(audio) / rate / wall, 1),
              "stems_sum_error": float(np.abs(sep.stems.sum(0)[0] - audio).max())}
    if refine_steps > 0:
        steps_at = []  # when each refinement step ended (its progress report)

        def note_step(_fraction, stage):
            if stage.startswith("refining"):
                steps_at.append(time.perf_counter())

        t0, c0 = time.perf_counter(), time.process_time()
        separate(audio, rate, 4, f0=f0, model=model, device=device, refine_steps=refine_steps, progress=note_step)
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()
        result["refine_steps"] = refine_steps
        result["separate_refined_s"] = round(time.perf_counter() - t0, 3)
        result["separate_refined_cpu_s"] = round(time.process_time() - c0, 3)
        # the steps' own time (the first step's report to the last one's, per step), and what follows them: masks
        # with the fine pitch, the finer hop and the consistent phases
        result["refine_s_per_step"] = round((steps_at[-1] - steps_at[0]) / max(1, len(steps_at) - 1), 3)
        result["refined_masks_s"] = round(time.perf_counter() - steps_at[-1], 3)
    if track_f0:
        from engine.f0 import track_voices

        t0 = time.perf_counter()
        track_voices(audio, rate, 4)
        result["track_f0_s"] = round(time.perf_counter() - t0, 3)
        # what a user waits for without --f0: tracking, pitch correction and stem re-tracking, then the masks
        t0, c0 = time.perf_counter(), time.process_time()
        separate(audio, rate, 4, model=model, device=device)
        result["separate_tracked_s"] = round(time.perf_counter() - t0, 3)
        result["separate_tracked_cpu_s"] = round(time.process_time() - c0, 3)
    result.update(bench_filter())
    return result
