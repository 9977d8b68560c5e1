"""Fine pitch fitted to the mixture: a small, smooth offset (cents) per voice and frame, found by gradient descent
through the voices' rendered power with the rest of θ held.

The masks are sharp harmonic lobes (128-ms window, a lobe about a bin wide), so a few cents of F0 error move a
high harmonic's lobe off its partial: on CSD with the oracle F0 (CREPE on the close-mic stems), reading that F0
4 ms early or late already costs 0.07-0.13 dB. Any F0 motet is given or tracks carries such errors. Here every
voice's F0 gets an offset of at most ``bound_cents``, bounded by tanh, penalised where it jumps between voiced
neighbours, and fitted by Adam so that the voices' summed power, rendered as the masks render it, explains the
mixture's log power (the refinement's loss, floored as there) below ``max_hz``, where the lobes still overlap
their partials enough to give a gradient. The offset is a correction of the given pitch, not a new tracker.

Measured (docs/separation.md, ninth round): after a refinement, which makes θ fit the mixture well enough for the
pitch to be judged against it, CSD +0.06 dB with the oracle F0 and +0.07 dB with the estimated one; the synthetic
valid split +0.25 dB where its F0 was given a 10-cent error, -0.04 dB with its exact F0 (nothing to correct).
Used by :func:`engine.separation.separate.separate` after a refinement.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.separation.masks import MASK_RENDER
from engine.separation.refine import loss_floor


@dataclass
class PitchFit:
    """steps: Adam steps; learning_rate: on the unbounded offset (tanh's argument); bound_cents: largest offset;
    smoothness: weight of the squared change of the offset between voiced neighbours (per 10 cents); max_hz:
    the band fitted; hop_frames: the fit's STFT hop in model frames."""

    steps: int = 15
    learning_rate: float = 0.1
    bound_cents: float = 30.0
    smoothness: float = 1.0
    max_hz: float = 4000.0
    hop_frames: int = 4


DEFAULT_PITCH_FIT = PitchFit()


def fit_pitch(model, theta: dict, mono16: torch.Tensor, fit: PitchFit | None = None) -> torch.Tensor:
    """F0 [1, V, T] (Hz) of ``theta`` (θ of one chunk, [1, V, T, ...] as the model gives it) moved by the fitted
    offsets; mono16: [N] the chunk at the model's rate (N = T * hop). θ itself is left as it is."""
    fit = fit or DEFAULT_PITCH_FIT
    f0 = theta["f0_hz"].detach()
    if fit.steps <= 0 or f0.shape[-1] < 2:
        return f0
    target = model.log_power_target(mono16, model.config.hop * fit.hop_frames, loss_floor(mono16), fit.max_hz)
    held = {k: v.detach() for k, v in theta.items()}
    voiced = held["voiced"]
    both = voiced[..., 1:] * voiced[..., :-1]                               # neighbours both voiced
    raw = torch.zeros_like(f0, requires_grad=True)
    opt = torch.optim.Adam([raw], lr=fit.learning_rate)
    with torch.enable_grad():
        for _ in range(fit.steps):
            cents = fit.bound_cents * torch.tanh(raw)
            loss = model.log_power_distance(target, {**held, "f0_hz": f0 * torch.pow(2.0, cents / 1200)},
                                            **MASK_RENDER)
            loss = loss + fit.smoothness * ((torch.diff(cents, dim=-1) / 10) ** 2 * both).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return f0 * torch.pow(2.0, fit.bound_cents * torch.tanh(raw.detach()) / 1200)
