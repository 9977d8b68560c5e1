"""What the encoder reads: the mixture's log spectrum, and for each voice that spectrum read at the voice's own
harmonics (and between them), where the other voices' harmonics collide with its own, and its F0.

Every voice gets its own conditioning this way, unlike UMSS's single embedding shared by all voices.
"""
from __future__ import annotations

import math

import torch

N_FFT = 1024          # at the model rate (16 kHz): 64 ms
N_FEATURE_HARMONICS = 24
N_MEL = 64
COLLISION_HZ = 25.0   # two partials closer than this share a spectral peak


def log_spectrogram(mixture: torch.Tensor, hop: int, n_frames: int) -> torch.Tensor:
    """mixture: [batch, samples] -> scaled log magnitude [batch, n_frames, N_FFT // 2 + 1] (about -1..1)."""
    window = torch.hann_window(N_FFT, device=mixture.device, dtype=mixture.dtype)
    spec = torch.stft(mixture, N_FFT, hop_length=hop, window=window, center=True, return_complex=True).abs()
    spec = spec[..., :n_frames]
    if spec.shape[-1] < n_frames:
        spec = torch.nn.functional.pad(spec, (0, n_frames - spec.shape[-1]))
    return ((20 * torch.log10(spec + 1e-5) + 30.0) / 40.0).transpose(1, 2)


def mel_matrix(sample_rate: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """[N_FFT // 2 + 1, N_MEL] triangular mel filters (averaging)."""
    n_bins = N_FFT // 2 + 1
    mel = lambda f: 2595 * math.log10(1 + f / 700)  # noqa: E731
    edges_mel = torch.linspace(mel(30.0), mel(sample_rate / 2), N_MEL + 2, dtype=torch.float64)
    edges = 700 * (10 ** (edges_mel / 2595) - 1)
    freqs = torch.arange(n_bins, dtype=torch.float64) * sample_rate / N_FFT
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    up = (freqs[:, None] - lo) / (mid - lo)
    down = (hi - freqs[:, None]) / (hi - mid)
    w = torch.clamp(torch.minimum(up, down), min=0)
    w = w / w.sum(0, keepdim=True).clamp(min=1e-9)
    return w.to(device=device, dtype=dtype)


def read_at(logspec: torch.Tensor, freqs_hz: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """logspec: [B, T, F]; freqs_hz: [B, V, T, K] -> values [B, V, T, K] (linear interpolation between bins;
    -1 past Nyquist)."""
    n_bins = logspec.shape[-1]
    pos = freqs_hz / (sample_rate / N_FFT)
    inside = pos < n_bins - 1
    pos = pos.clamp(0, n_bins - 1.001)
    i0 = pos.floor().long()
    frac = pos - i0.to(pos.dtype)
    b, v, t, k = freqs_hz.shape
    src = logspec.unsqueeze(1).expand(b, v, t, n_bins)
    val = torch.gather(src, -1, i0) * (1 - frac) + torch.gather(src, -1, i0 + 1) * frac
    return torch.where(inside, val, torch.full_like(val, -1.0))


def collisions(f0_hz: torch.Tensor, voiced: torch.Tensor, n_harmonics: int = N_FEATURE_HARMONICS) -> torch.Tensor:
    """How much harmonic k of voice v collides with a partial of another voiced voice: [B, V, T, K] in 0..1."""
    b, v, t = f0_hz.shape
    k = torch.arange(1, n_harmonics + 1, device=f0_hz.device, dtype=f0_hz.dtype)
    fk = f0_hz.unsqueeze(-1) * k                               # [B, V, T, K]
    other = f0_hz.clamp(min=20.0).unsqueeze(1).unsqueeze(-1)   # [B, 1, U, T, 1]
    m = torch.round(fk.unsqueeze(2) / other).clamp(min=1)      # [B, V, U, T, K]
    d = (fk.unsqueeze(2) - m * other).abs()
    hit = torch.exp(-0.5 * (d / COLLISION_HZ) ** 2) * voiced.unsqueeze(1).unsqueeze(-1).to(f0_hz.dtype)
    not_self = 1 - torch.eye(v, device=f0_hz.device, dtype=f0_hz.dtype).view(1, v, v, 1, 1)
    return (hit * not_self).amax(2)


def voice_features(mixture: torch.Tensor, f0_hz: torch.Tensor, voiced: torch.Tensor, sample_rate: int,
                   hop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """mixture: [B, samples]; f0_hz, voiced: [B, V, T]. Returns (per-voice features [B, V, T, 3K + 2],
    shared mixture features [B, T, N_MEL])."""
    n_frames = f0_hz.shape[-1]
    logspec = log_spectrogram(mixture, hop, n_frames)
    f0 = f0_hz.clamp(min=20.0)
    k = torch.arange(1, N_FEATURE_HARMONICS + 1, device=f0.device, dtype=f0.dtype)
    at_harmonics = read_at(logspec, f0.unsqueeze(-1) * k, sample_rate)
    between = read_at(logspec, f0.unsqueeze(-1) * (k + 0.5), sample_rate)
    v = voiced.to(f0.dtype).unsqueeze(-1)
    per_voice = torch.cat([at_harmonics * v, between * v, collisions(f0_hz, voiced) * v,
                           torch.log2(f0 / 220.0).unsqueeze(-1) * v, v], -1)
    mel = logspec @ mel_matrix(sample_rate, logspec.device, logspec.dtype)
    return per_voice, mel


def n_voice_features() -> int:
    return 3 * N_FEATURE_HARMONICS + 2
