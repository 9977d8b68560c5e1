"""Training of the separation model on mixtures only (``motet train separation``).

Reproducible (seeded data order, noise and initialisation), logs JSON lines, runs on CPU, one GPU, or several
GPUs with torch's DistributedDataParallel when started by ``torchrun`` (WORLD_SIZE / RANK / LOCAL_RANK set).
Validation SI-SDR uses the corpus stems as references for the metric only; the loss never sees a stem.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.errors import MotetError
from engine.jobs import Progress, report
from engine.separation.data import ExcerptSet, load_excerpts
from engine.separation.masks import MASK_RENDER, apply_masks, wiener_masks
from engine.separation.model import ModelConfig, SeparationModel


class Objective(nn.Module):
    """Wraps the model so that DDP sees the whole unsupervised loss as one forward."""

    def __init__(self, model: SeparationModel, power_weight: float, synth_items: int | None,
                 synth_frames: int | None):
        super().__init__()
        self.model = model
        self.power_weight = power_weight
        self.synth_items = synth_items
        self.synth_frames = synth_frames

    def forward(self, mix, f0, voiced, generator=None):
        loss, _ = self.model.unsupervised_loss(mix, f0, voiced, generator, self.power_weight, self.synth_items,
                                               self.synth_frames)
        return loss


def si_sdr(reference: np.ndarray, estimate: np.ndarray, eps: float = 1e-9) -> float:
    """Scale-invariant SDR in dB (Le Roux et al., ICASSP 2019) of 1-D arrays (means removed)."""
    r = reference - reference.mean()
    e = estimate - estimate.mean()
    target = (np.dot(e, r) / (np.dot(r, r) + eps)) * r
    return float(10 * np.log10((np.sum(target ** 2) + eps) / (np.sum((e - target) ** 2) + eps)))


@torch.no_grad()
def validate(model: SeparationModel, data: ExcerptSet, device, max_excerpts: int = 32) -> dict:
    """Mean SI-SDR (dB, whole excerpts) of the masked stems against the corpus stems, and the mixture's."""
    model.eval()
    sr = model.config.sample_rate
    scores, base = [], []
    for i in range(min(max_excerpts, len(data.mixture))):
        mix = torch.tensor(data.mixture[i], device=device)
        theta = model(mix[None], torch.tensor(data.f0_hz[i], device=device)[None],
                      torch.tensor(data.voiced[i], device=device)[None])
        stems = apply_masks(mix[None], lambda n_fft, t: wiener_masks(
            model.power(theta, sr, n_fft, t, **MASK_RENDER)[0].double()).float(), sr)[:, 0].cpu().numpy()
        for v in range(stems.shape[0]):
            ref = data.stems[i, v]
            if np.sqrt(np.mean(ref ** 2)) > 1e-4:
                scores.append(si_sdr(ref, stems[v]))
                base.append(si_sdr(ref, data.mixture[i]))
    model.train()
    return {"valid_si_sdr_db": float(np.mean(scores)), "valid_mixture_si_sdr_db": float(np.mean(base))}


def train(data_dir: str | Path, out_path: str | Path, steps: int = 2000, batch: int = 8, lr: float = 1e-3,
          seed: int = 0, device: str | None = None, minutes: float | None = None, seconds: float = 4.0,
          hidden: int = 256, n_blocks: int = 2, power_weight: float = 1.0, valid_dir: str | Path | None = None,
          log_path: str | Path | None = None, progress: Progress | None = None, limit: int | None = None,
          segment_s: float | None = None, synth_items: int | None = None, synth_s: float | None = None,
          checkpoint_every: int = 0, init_path: str | Path | None = None, warmup: int = 100,
          keep_checkpoints: bool = False) -> dict:
    """Train on the excerpts under ``data_dir`` (from scratch, or from the weights in ``init_path``, whose
    architecture then overrides ``hidden``/``n_blocks``); save to ``out_path``; return a summary dict.

    Each step takes ``batch`` random segments of ``segment_s`` (default: whole excerpts); the time-domain
    synthesis term uses the first ``synth_items`` of them over ``synth_s`` seconds (default: all).
    Every ``checkpoint_every`` steps the model is saved to ``out_path`` and, with ``keep_checkpoints``, also to
    ``<out_path stem>.step<N>.pt`` beside it (to pick a checkpoint by its validation score afterwards)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        import torch.distributed as dist

        local = int(os.environ.get("LOCAL_RANK", "0"))
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
            device = f"cuda:{local}"
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    if init_path:
        model = SeparationModel.load(init_path).train().to(device)
        config = model.config
    else:
        config = ModelConfig(hidden=hidden, n_blocks=n_blocks)
        model = SeparationModel(config).to(device)
    frames_per_s = config.sample_rate / config.hop
    synth_frames = int(round(synth_s * frames_per_s)) if synth_s else None
    objective = Objective(model, power_weight, synth_items, synth_frames)
    if world > 1:
        objective = nn.parallel.DistributedDataParallel(objective, device_ids=[device.index] if device.type == "cuda"
                                                        else None)
    data = load_excerpts(data_dir, config.sample_rate, config.hop, seconds, limit=limit)
    valid = load_excerpts(valid_dir, config.sample_rate, config.hop, seconds, with_stems=True, limit=64) \
        if valid_dir else None
    audible = np.sqrt(np.mean(data.mixture ** 2, axis=1)) > 1e-4  # a silent mixture's loss explodes (~1e5)
    mix_all = torch.tensor(data.mixture[audible])
    f0_all, voiced_all = torch.tensor(data.f0_hz[audible]), torch.tensor(data.voiced[audible])
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    t0 = time.time()

    def lr_factor(s: int) -> float:
        """Warm-up over ``warmup`` steps, then a cosine over the run (by steps or by wall time, whichever is further)."""
        done = s / max(1, steps)
        if minutes:
            done = max(done, (time.time() - t0) / (minutes * 60))
        return min(1.0, (s + 1) / max(1, warmup)) * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    rng = np.random.default_rng([seed, rank])
    noise_gen = torch.Generator(device=device).manual_seed(seed * 1000 + rank)
    log = open(log_path, "a") if (log_path and rank == 0) else None
    n_frames = data.f0_hz.shape[-1]
    seg = min(n_frames, int(round(segment_s * frames_per_s))) if segment_s else n_frames
    if not len(mix_all):
        raise MotetError(f"{data_dir}: every training mixture is silent")
    summary = {"excerpts": len(mix_all), "silent_excerpts_skipped": int((~audible).sum()),
               "voices": int(data.f0_hz.shape[1]), "parameters": model.n_parameters(),
               "device": str(device), "world_size": world, "seed": seed, "batch": batch,
               "segment_s": seg / frames_per_s, "synth_items": synth_items or batch,
               "synth_s": (synth_frames or seg) / frames_per_s, "power_weight": power_weight,
               "threads": torch.get_num_threads(),
               "init": str(init_path) if init_path else None}
    step = 0
    losses = []
    skipped = 0  # steps whose loss or gradient was not finite: no update
    for step in range(1, steps + 1):
        idx = rng.choice(len(mix_all), batch, replace=len(mix_all) < batch)
        starts = rng.integers(0, n_frames - seg + 1, batch)
        hop = config.hop
        gain = torch.tensor(10 ** (rng.uniform(-12, 6, batch) / 20), dtype=torch.float32).unsqueeze(1)
        mix = torch.stack([mix_all[i, s * hop:(s + seg) * hop] for i, s in zip(idx, starts)])
        f0 = torch.stack([f0_all[i, :, s:s + seg] for i, s in zip(idx, starts)])
        vo = torch.stack([voiced_all[i, :, s:s + seg] for i, s in zip(idx, starts)])
        loss = objective((mix * gain).to(device), f0.to(device), vo.to(device), noise_gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        if torch.isfinite(loss) and torch.isfinite(grad_norm):
            opt.step()
            losses.append(loss.item())
        else:
            skipped += 1
        sched.step()
        elapsed = time.time() - t0
        if rank == 0 and (step % 25 == 0 or step == 1):
            entry = {"step": step, "loss": float(np.mean(losses[-25:])), "lr": sched.get_last_lr()[0],
                     "elapsed_s": round(elapsed, 1), "skipped_steps": skipped}
            if valid is not None and step % 250 == 0:
                entry.update(validate(model, valid, device))
            print(json.dumps(entry), flush=True)
            if log:
                log.write(json.dumps(entry) + "\n")
                log.flush()
        if rank == 0 and checkpoint_every and step % checkpoint_every == 0:
            extra = {"training": {**summary, "steps": step, "wall_s": round(elapsed, 1), "checkpoint": True}}
            model.save(out_path, extra=extra)
            if keep_checkpoints:
                model.save(Path(out_path).with_name(f"{Path(out_path).stem}.step{step}.pt"), extra=extra)
        report(progress, step / steps, f"training step {step}/{steps}")
        if minutes is not None and elapsed > minutes * 60:
            break
    wall = time.time() - t0
    summary.update({"steps": step, "skipped_steps": skipped, "final_loss": float(np.mean(losses[-50:])),
                    "wall_s": round(wall, 1),
                    "hardware": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"})
    if valid is not None and rank == 0:
        summary.update(validate(model, valid, device))
    if rank == 0:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        model.to("cpu").save(out_path, extra={"training": summary})
        if log:
            log.write(json.dumps({"summary": summary}) + "\n")
            log.close()
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return summary
