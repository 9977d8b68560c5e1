"""Frame-rate controls to sample rate: frame ``t`` is centred at sample ``t * hop``."""
from __future__ import annotations

import torch


def frames_to_samples(x: torch.Tensor, hop: int, n_samples: int) -> torch.Tensor:
    """Linear interpolation of frame values to every sample.

    x: [batch, frames, ...] -> [batch, n_samples, ...]; sample ``n`` lies at frame position ``n / hop``
    (held constant past the last frame).
    """
    n_frames = x.shape[1]
    pos = torch.arange(n_samples, device=x.device, dtype=torch.float64 if x.dtype == torch.float64 else torch.float32)
    pos = (pos / hop).clamp(max=n_frames - 1)
    i0 = pos.floor().long().clamp(max=n_frames - 1)
    i1 = (i0 + 1).clamp(max=n_frames - 1)
    frac = (pos - i0.to(pos.dtype)).to(x.dtype)
    shape = (1, n_samples) + (1,) * (x.ndim - 2)
    frac = frac.view(shape)
    return x[:, i0] * (1 - frac) + x[:, i1] * frac
