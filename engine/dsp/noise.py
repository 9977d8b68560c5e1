"""Filtered noise: Gaussian noise shaped frame by frame by band levels on a mel scale (DDSP-style)."""
from __future__ import annotations

import math

import torch


def hz_to_mel(f_hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + f_hz / 700.0)


def mel_band_matrix(n_bands: int, freqs_hz: torch.Tensor, model_sample_rate: int) -> torch.Tensor:
    """[n_bands, F] weights that interpolate band values (centres evenly spaced in mel from 0 Hz to the model's
    Nyquist) linearly in mel at ``freqs_hz`` [F]; frequencies past the last centre take the last band's value."""
    top = hz_to_mel(torch.tensor(model_sample_rate / 2.0, dtype=torch.float64))
    pos = hz_to_mel(freqs_hz.double().clamp(min=0)) / top * (n_bands - 1)
    pos = pos.clamp(0, n_bands - 1)
    i0 = pos.floor().long().clamp(max=n_bands - 1)
    i1 = (i0 + 1).clamp(max=n_bands - 1)
    frac = pos - i0.double()
    w = torch.zeros(n_bands, len(freqs_hz), dtype=torch.float64)
    cols = torch.arange(len(freqs_hz))
    w.index_put_((i0, cols), 1 - frac, accumulate=True)
    w.index_put_((i1, cols), frac, accumulate=True)
    return w.to(freqs_hz.device)


def noise_shape_power(bands_db: torch.Tensor, freqs_hz: torch.Tensor, model_sample_rate: int,
                      norm_freqs_hz: torch.Tensor | None = None) -> torch.Tensor:
    """Relative noise power at ``freqs_hz`` [F] from band levels [..., n_bands] in dB -> [..., F], scaled so that
    its mean over ``norm_freqs_hz`` (default: ``freqs_hz``; normally a grid of 0..model Nyquist) is 1."""
    w = mel_band_matrix(bands_db.shape[-1], freqs_hz, model_sample_rate).to(bands_db.dtype)
    db = bands_db @ w
    peak_db, mean_power = noise_shape_norm(bands_db, freqs_hz if norm_freqs_hz is None else norm_freqs_hz,
                                           model_sample_rate)
    return torch.pow(10.0, (db - peak_db) / 10) / mean_power


def noise_shape_norm(bands_db: torch.Tensor, norm_freqs_hz: torch.Tensor, model_sample_rate: int):
    """(peak_db, mean_power), each [..., 1], that normalise the noise shape of band levels [..., n_bands]:
    ``10^((db - peak_db) / 10) / mean_power`` has mean 1 over ``norm_freqs_hz`` (computed without overflow)."""
    ref_db = bands_db @ mel_band_matrix(bands_db.shape[-1], norm_freqs_hz, model_sample_rate).to(bands_db.dtype)
    peak_db = ref_db.detach().amax(-1, keepdim=True)
    return peak_db, torch.pow(10.0, (ref_db - peak_db) / 10).mean(-1, keepdim=True)


def filtered_noise(bands_db: torch.Tensor, power: torch.Tensor, sample_rate: int, hop: int,
                   n_samples: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Noise whose power spectrum per frame follows ``bands_db`` and whose variance is ``power``.

    bands_db: [batch, frames, n_bands] relative band levels (dB; only the shape matters);
    power: [batch, frames] noise power (mean square, linear). Returns [batch, n_samples] (default frames * hop).
    Made as an inverse STFT (n_fft = 4 * hop, Hann) of complex Gaussian spectra, scaled so the variance is exact
    in expectation.
    """
    n_samples = n_samples or bands_db.shape[1] * hop
    n_fft = 4 * hop
    n_stft = n_samples // hop + 1
    device, dtype = bands_db.device, bands_db.dtype
    idx = torch.arange(n_stft, device=device).clamp(max=bands_db.shape[1] - 1)
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, device=device, dtype=dtype)
    shape = noise_shape_power(bands_db[:, idx], freqs, sample_rate)  # [B, T', F], mean 1
    mag = torch.sqrt(shape * power[:, idx].unsqueeze(-1).clamp(min=0))
    window = torch.hann_window(n_fft, device=device, dtype=dtype)
    scale = math.sqrt(n_fft * float((window ** 2).sum()) / hop)
    z = torch.randn(mag.shape + (2,), device=device, dtype=dtype, generator=generator) / math.sqrt(2)
    spec = torch.complex(z[..., 0], z[..., 1]) * (mag * scale)
    return torch.istft(spec.transpose(1, 2), n_fft, hop_length=hop, window=window, center=True, length=n_samples)
