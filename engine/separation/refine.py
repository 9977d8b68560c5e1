"""Test-time refinement: adapt a copy of the model to one recording, unsupervised, from its mixture alone.

A few Adam steps on random segments of the recording minimise the power-model half of the training loss (the
voices' rendered STFT power must add up to the mixture's), which is exactly what the masks are made from; it needs
no time-domain synthesis, so it is cheap on a CPU too. Unlike training, the log-power distance here has a high
floor (LOSS_FLOOR_DB below the recording's mean square), so the quiet bins, which weigh little in the stems,
weigh little in the fit too (CSD, oracle F0, 300 steps: floor 1e-7 of full scale 8.33 dB, LOSS_FLOOR_DB -24.5
8.71, -14.5 8.93; see docs/separation.md).
"""
from __future__ import annotations

import copy

import torch

from engine.jobs import Progress, report
from engine.separation.model import POWER_FLOOR

SEGMENT_FRAMES = 188   # 3 s at 16 ms
BATCH = 4
LEARNING_RATE = 1e-3   # CSD, oracle F0, 300 steps: 3e-4 8.15 dB, 1e-3 8.33 dB (floor 1e-7)
LOSS_FLOOR_DB = -14.5  # floor of the log-power distance, dB re the recording's mean square


def loss_floor(mono16: torch.Tensor) -> float:
    """The refinement's log-power floor (mean square re full scale) for a recording mono16 [N]."""
    return max(float(mono16.double().pow(2).mean()) * 10 ** (LOSS_FLOOR_DB / 10), POWER_FLOOR)


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
    floor = loss_floor(mono16)
    for step in range(steps):
        starts = torch.randint(0, n_frames - seg + 1, (BATCH,), generator=gen).tolist()
        mix = torch.stack([mono16[s * hop:(s + seg) * hop] for s in starts]).to(device)
        f0 = torch.stack([f0_hz[:, s:s + seg] for s in starts]).to(device)
        vo = torch.stack([voiced[:, s:s + seg] for s in starts]).to(device)
        theta = model(mix, f0, vo)
        loss = model.power_loss(mix, theta, floor=floor)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        report(progress, (step + 1) / steps, f"refining {step + 1}/{steps} (loss {loss.item():.3f})")
    model.refined_steps += steps  # separate() then fits the masks lightly
    return model.eval()
