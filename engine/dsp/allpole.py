"""The time-varying all-pole (vocal-tract) filter and its always-stable parameterisation.

The filter is ``1 / A(z)`` with ``A(z) = 1 + a_1 z^-1 + ... + a_P z^-P`` given by P line spectral frequencies
(LSF; Itakura 1975, Soong & Juang 1984). Any ascending LSFs in (0, pi) give a minimum-phase ``A`` and so a
stable filter; interpolating LSFs keeps that, which is why the voice model interpolates LSFs, not coefficients.
The recursion runs in ``torchlpc.sample_wise_lpc`` (Yu & Fazekas, "Differentiable time-varying linear prediction
in the context of end-to-end analysis-by-synthesis", Interspeech 2024): compiled, with an exact gradient.
"""
from __future__ import annotations

import torch


def _times_quadratic(poly: torch.Tensor, c: torch.Tensor, sign: float = 1.0) -> torch.Tensor:
    """poly [..., L] times (1 + c z^-1 + sign z^-2), c: [...] -> [..., L + 2]."""
    z = poly.new_zeros(poly.shape[:-1] + (1,))
    z2 = poly.new_zeros(poly.shape[:-1] + (2,))
    return (torch.cat([poly, z2], -1) + c.unsqueeze(-1) * torch.cat([z, poly, z], -1)
            + sign * torch.cat([z2, poly], -1))


def lsf_to_lpc(lsf_rad: torch.Tensor) -> torch.Tensor:
    """Line spectral frequencies [..., P] (ascending in (0, pi), P even) -> LPC polynomial a [..., P + 1], a0 = 1.

    A(z) = (P(z) + Q(z)) / 2 with P(z) = (1 + z^-1) prod_{i even} (1 - 2 cos w_i z^-1 + z^-2) and
    Q(z) = (1 - z^-1) prod_{i odd} (1 - 2 cos w_i z^-1 + z^-2) (i counted from 0).
    """
    order = lsf_rad.shape[-1]
    if order % 2:
        raise ValueError(f"LSF order must be even, not {order}")
    one = lsf_rad.new_ones(lsf_rad.shape[:-1] + (1,))
    p = torch.cat([one, one], -1)      # 1 + z^-1
    q = torch.cat([one, -one], -1)     # 1 - z^-1
    c = -2 * torch.cos(lsf_rad)
    for i in range(0, order, 2):
        p = _times_quadratic(p, c[..., i])
        q = _times_quadratic(q, c[..., i + 1])
    return (0.5 * (p + q))[..., : order + 1]


def lpc_power_at(a: torch.Tensor, freqs_rad: torch.Tensor) -> torch.Tensor:
    """Power response |1 / A(e^{jw})|^2 of a [..., P + 1] at angular frequencies freqs_rad [..., F] (broadcast
    against a's leading dims) -> [..., F]."""
    i = torch.arange(a.shape[-1], device=a.device, dtype=a.dtype)
    arg = freqs_rad.unsqueeze(-1) * i  # [..., F, P + 1]
    re = (a.unsqueeze(-2) * torch.cos(arg)).sum(-1)
    im = (a.unsqueeze(-2) * torch.sin(arg)).sum(-1)
    return 1.0 / (re * re + im * im).clamp(min=1e-12)


def lpc_unit_gain(a: torch.Tensor, n_grid: int = 256) -> torch.Tensor:
    """Gain g [...] that makes |g / A|^2 average 1 over frequencies 0..pi (unit-RMS envelope)."""
    n_fft = 2 * (n_grid - 1)
    spec = torch.fft.rfft(a, n=max(n_fft, 2 * a.shape[-1]), dim=-1)
    power = 1.0 / (spec.real ** 2 + spec.imag ** 2).clamp(min=1e-12)
    return torch.rsqrt(power.mean(-1))


def lpc_envelope_db(a: torch.Tensor, n_freqs: int, normalise: bool = False) -> torch.Tensor:
    """Spectral envelope 10 log10 |1 / A|^2 in dB of a [..., P + 1] at ``n_freqs`` frequencies evenly spaced from
    0 to Nyquist (inclusive) -> [..., n_freqs]. ``normalise`` shifts it to unit mean power (0 dB average)."""
    freqs = torch.linspace(0, torch.pi, n_freqs, device=a.device, dtype=a.dtype)
    power = lpc_power_at(a, freqs.expand(a.shape[:-1] + (n_freqs,)))
    if normalise:
        power = power * lpc_unit_gain(a).unsqueeze(-1) ** 2
    return 10 * torch.log10(power)


def allpole_filter(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """y[n] = x[n] - sum_i a[n, i] y[n - i] for x: [batch, samples], a: [batch, samples, P + 1] (a0 = 1,
    one polynomial per sample). Runs in torchlpc (numba / CUDA), differentiable in x and a."""
    import os

    from torchlpc import sample_wise_lpc

    if x.is_cuda and os.environ.get("MOTET_LPC_ON_CPU"):  # escape hatch where numba's CUDA kernels fail
        return sample_wise_lpc(x.cpu(), a[..., 1:].cpu().contiguous()).to(x.device)
    return sample_wise_lpc(x, a[..., 1:].contiguous())


def allpole_filter_naive(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The same recursion as :func:`allpole_filter` written as a Python loop over samples (reference, benchmark)."""
    order = a.shape[-1] - 1
    ys = [x.new_zeros(x.shape[0]) for _ in range(order)]
    for n in range(x.shape[1]):
        past = torch.stack(ys[-order:][::-1], -1)  # y[n-1], ..., y[n-P]
        ys.append(x[:, n] - (a[:, n, 1:] * past).sum(-1))
    return torch.stack(ys[order:], 1)
