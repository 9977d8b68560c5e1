"""STFT magnitudes and the multi-scale spectral loss (Engel et al., DDSP, ICLR 2020; Schulze-Forster et al.,
"Unsupervised music source separation using differentiable parametric source models", IEEE/ACM TASLP 2023)."""
from __future__ import annotations

import torch

DEFAULT_FFT_SIZES = (2048, 1024, 512, 256, 128)


def stft_magnitude(x: torch.Tensor, n_fft: int, hop: int | None = None) -> torch.Tensor:
    """x: [batch, samples] -> [batch, n_fft // 2 + 1, frames] magnitude (Hann window, centred)."""
    hop = hop or n_fft // 4
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    return torch.stft(x, n_fft, hop_length=hop, window=window, center=True, return_complex=True).abs()


def multiscale_spectral_loss(target: torch.Tensor, estimate: torch.Tensor,
                             fft_sizes: tuple[int, ...] = DEFAULT_FFT_SIZES, log_weight: float = 1.0,
                             eps: float = 1e-7) -> torch.Tensor:
    """Sum over FFT sizes of mean |S_t - S_e| + log_weight * mean |log S_t - log S_e|; target, estimate:
    [batch, samples]. Returns a scalar."""
    loss = target.new_zeros(())
    for n_fft in fft_sizes:
        st = stft_magnitude(target, n_fft)
        se = stft_magnitude(estimate, n_fft)
        loss = loss + (st - se).abs().mean() + log_weight * (torch.log(st + eps) - torch.log(se + eps)).abs().mean()
    return loss
