"""Test-time refinement: adapt a copy of the model to one recording, unsupervised, from its mixture alone.

A few Adam steps on random segments of the recording minimise the power-model half of the training loss (the
voices' rendered STFT power must add up to the mixture's), which is exactly what the masks are made from; it needs
no time-domain synthesis, so it is cheap on a CPU too.
"""
from __future__ import annotations

import copy

import torch

from engine.jobs import Progress, report

SEGMENT_FRAMES = 188   # 3 s at 16 ms
BATCH = 4
LEARNING_RATE = 3e-4


def refine(model, mono16: torch.Tensor, f0_hz: torch.Tensor, voiced: torch.Tensor, steps: int, device=None,
           progress: Progress | None = None, seed: int = 0):
    """A refined copy of ``model``. mono16: [N] at the model rate (N = T * hop); f0_hz, voiced: [V, T]."""
    device = torch.device(device or "cpu")
    model = copy.deepcopy(model).to(device).train()
    hop = model.config.hop
    n_frames = f0_hz.shape[1]
    seg = min(SEGMENT_FRAMES, n_frames)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.encoder.parameters(), lr=LEARNING_RATE)
    for step in range(steps):
        starts = torch.randint(0, n_frames - seg + 1, (BATCH,), generator=gen).tolist()
        mix = torch.stack([mono16[s * hop:(s + seg) * hop] for s in starts]).to(device)
        f0 = torch.stack([f0_hz[:, s:s + seg] for s in starts]).to(device)
        vo = torch.stack([voiced[:, s:s + seg] for s in starts]).to(device)
        theta = model(mix, f0, vo)
        loss = model.power_loss(mix, theta)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        report(progress, (step + 1) / steps, f"refining {step + 1}/{steps} (loss {loss.item():.3f})")
    return model.eval()
