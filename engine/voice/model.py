"""The source-filter voice model (see the package docstring and docs/theta.md).

Signal of one voice, sample by sample (frame controls interpolated linearly; LSFs interpolated, so every
per-sample filter stays stable)::

    harmonic(n) = sum_k sqrt(2 P_h p_k) sin(2 pi k phi(n))      p_k ∝ k^(tilt / (10 log10 2)), sum_k p_k = 1
    noise(n)    = filtered noise with band shape noise_bands_db, power P_n
    voice(n)    = allpole(g (harmonic + noise), A(lsf))          g: unit-RMS gain of the envelope |1/A|^2

with P_h + P_n = 10^(loudness_db / 10), P_h / P_n = 10^(hnr_db / 10) (P_h = 0 where unvoiced).
The model follows UMSS (Schulze-Forster et al., IEEE/ACM TASLP 2023) and DDSP (Engel et al., ICLR 2020).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from engine.dsp.allpole import allpole_filter, lpc_unit_gain, lsf_to_lpc
from engine.dsp.frames import frames_to_samples
from engine.dsp.noise import filtered_noise, mel_band_matrix, noise_shape_norm
from engine.dsp.oscillator import harmonic_bank

THETA_KEYS = ("f0_hz", "voiced", "loudness_db", "hnr_db", "tilt_db_per_octave", "lsf_rad", "noise_bands_db")

LOUDNESS_RANGE_DB = (-90.0, 0.0)
HNR_RANGE_DB = (-20.0, 40.0)
TILT_RANGE_DB_PER_OCTAVE = (-24.0, 0.0)
NOISE_BAND_RANGE_DB = (-60.0, 0.0)
LSF_MIN_GAP = 0.008  # fraction of pi kept between neighbouring LSFs (and from 0 and pi)
FILTER_BLOCK = 16  # samples per vocal-tract filter update (1 ms at 16 kHz)
ENVELOPE_GRID = 513  # points of the envelope table used by power_spectrogram (0..model Nyquist)
HANN_LOBE_SIGMA_BINS = 1.5 / math.sqrt(2 * math.pi)  # Gaussian with the Hann window's noise bandwidth (1.5 bins)
# elements per block of power_spectrogram's per-bin work: small enough to stay in cache, large enough that torch
# splits each elementwise op over threads (its grain is 2^15 elements; 2^15 -> 2^17: the F0 correction 1.4x and
# a 3-min separation 1.2x faster on two cores, output identical)
POWER_BLOCK_ELEMENTS = 1 << 17
# a harmonic's lobe is never below e^LOG_LOBE_FLOOR (1e-26) at a bin: most bins lie far out on their harmonic's
# Gaussian, where exp() would underflow float32 into denormals, which the CPU computes ~50x slower, and so would
# every product with them; the floor is ~260 dB below the lobe's peak, far under any voice's noise
LOG_LOBE_FLOOR = -60.0


def _scaled_sigmoid(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.sigmoid(x)


def _interp_frames(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """x: [B, T, ...] sampled at fractional frame positions pos [T'] -> [B, T', ...] (linear, clamped)."""
    n = x.shape[1]
    pos = pos.clamp(0, n - 1)
    i0 = pos.floor().long().clamp(max=n - 1)
    i1 = (i0 + 1).clamp(max=n - 1)
    frac = (pos - i0.to(pos.dtype)).to(x.dtype).view((1, -1) + (1,) * (x.ndim - 2))
    return x[:, i0] * (1 - frac) + x[:, i1] * frac


@dataclass
class PowerParts:
    """:meth:`VoiceModel.power_spectrogram` split by component, each [B, T', F] (frame-major): every bin holds
    the lobe of its nearest harmonic (number ``k_near``) and of the next one on its side (``k_near + side``),
    envelope included, and the noise. power = near + neighbour + noise."""

    k_near: torch.Tensor     # int32 harmonic number (0 where the bin lies below F0 / 2)
    side: torch.Tensor       # int8 +-1
    near: torch.Tensor
    neighbour: torch.Tensor
    noise: torch.Tensor


@dataclass(frozen=True)
class VoiceModel:
    """θ <-> audio for one voice (batched over any number of voices). Rates in Hz, hop in samples."""

    sample_rate: int = 16000
    hop: int = 256
    n_harmonics: int = 100
    lpc_order: int = 20
    n_noise_bands: int = 20

    @property
    def hop_s(self) -> float:
        return self.hop / self.sample_rate

    @property
    def n_raw(self) -> int:
        """Size of the raw (network) control vector per frame."""
        return 3 + (self.lpc_order + 1) + self.n_noise_bands

    # ---------------------------------------------------------------- controls
    def get_controls(self, raw: torch.Tensor, f0_hz: torch.Tensor, voiced: torch.Tensor) -> dict:
        """Raw network outputs [..., T, n_raw] plus F0 [..., T] (Hz) and voicing [..., T] -> θ dict
        (keys THETA_KEYS; shapes [..., T] except lsf_rad [..., T, P] and noise_bands_db [..., T, B])."""
        p = self.lpc_order
        gaps = LSF_MIN_GAP + (1 - (p + 1) * LSF_MIN_GAP) * torch.softmax(raw[..., 3: 4 + p], -1)
        return {
            "f0_hz": f0_hz,
            "voiced": voiced.to(raw.dtype),
            "loudness_db": _scaled_sigmoid(raw[..., 0], *LOUDNESS_RANGE_DB),
            "hnr_db": _scaled_sigmoid(raw[..., 1], *HNR_RANGE_DB),
            "tilt_db_per_octave": _scaled_sigmoid(raw[..., 2], *TILT_RANGE_DB_PER_OCTAVE),
            "lsf_rad": math.pi * torch.cumsum(gaps, -1)[..., :p],
            "noise_bands_db": _scaled_sigmoid(raw[..., 4 + p:], *NOISE_BAND_RANGE_DB),
        }

    def powers(self, loudness_db: torch.Tensor, hnr_db: torch.Tensor, voiced: torch.Tensor):
        """(P_h, P_n): harmonic and noise power (mean square) per frame from loudness, HNR and voicing."""
        total = torch.pow(10.0, loudness_db / 10)
        ratio = torch.pow(10.0, hnr_db / 10)
        return total * ratio / (1 + ratio) * voiced, total / (1 + ratio)

    def harmonic_weights(self, f0_hz: torch.Tensor, tilt_db_per_octave: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Relative power p_k of harmonics ``k`` [..., K] (broadcast) for f0 [...] and tilt [...]: tilt dB per
        octave of harmonic number, normalised so that the harmonics below the model's Nyquist sum to 1."""
        all_k = torch.arange(1, self.n_harmonics + 1, device=f0_hz.device, dtype=f0_hz.dtype)
        slope = (tilt_db_per_octave / (10 * math.log10(2))).unsqueeze(-1)
        inside = (all_k * f0_hz.unsqueeze(-1) < self.sample_rate / 2).to(f0_hz.dtype)
        norm = (torch.pow(all_k, slope) * inside).sum(-1, keepdim=True).clamp(min=1e-6)
        return torch.pow(k.clamp(min=1).to(f0_hz.dtype), slope) / norm

    # ---------------------------------------------------------------- time domain
    def get_signal(self, f0_hz, voiced, loudness_db, hnr_db, tilt_db_per_octave, lsf_rad, noise_bands_db,
                   n_samples: int | None = None, generator: torch.Generator | None = None,
                   phase0: torch.Tensor | None = None) -> torch.Tensor:
        """θ with a batch axis ([batch, T] etc.) -> voice samples [batch, n_samples] at ``sample_rate``."""
        n_samples = n_samples or f0_hz.shape[1] * self.hop
        voiced = voiced.to(loudness_db.dtype)
        p_h, p_n = self.powers(loudness_db, hnr_db, voiced)
        low = f0_hz[voiced > 0].min() if (voiced > 0).any() else f0_hz.new_tensor(1000.0)
        n_k = int(min(self.n_harmonics, max(1, math.ceil(self.sample_rate / 2 / float(low.clamp(min=20.0))))))
        k = torch.arange(1, n_k + 1, device=f0_hz.device, dtype=f0_hz.dtype)
        weights = self.harmonic_weights(f0_hz, tilt_db_per_octave, k)
        amps = torch.sqrt(2 * p_h.unsqueeze(-1) * weights + 1e-20)
        harmonic = harmonic_bank(f0_hz, amps, self.sample_rate, self.hop, n_samples, phase0)
        noise = filtered_noise(noise_bands_db, p_n, self.sample_rate, self.hop, n_samples, generator)
        gain = lpc_unit_gain(lsf_to_lpc(lsf_rad))  # [B, T]
        gain = frames_to_samples(gain.unsqueeze(-1), self.hop, n_samples).squeeze(-1)
        # LSFs interpolated to blocks of FILTER_BLOCK samples (each block's filter stable), held within a block
        n_blocks = -(-n_samples // FILTER_BLOCK)
        lsf = frames_to_samples(lsf_rad, self.hop // FILTER_BLOCK, n_blocks)
        a = torch.repeat_interleave(lsf_to_lpc(lsf), FILTER_BLOCK, dim=1)[:, :n_samples]
        return allpole_filter((harmonic + noise) * gain, a)

    # ---------------------------------------------------------------- frequency domain (masks)
    def _window_taps(self, pos, window_s: float):
        """Frame offsets [O] spanning a Hann window of ``window_s`` seconds and the window's power (Hann^2) at
        each: the weights with which the window sees the θ frames around its centre."""
        half = max(1, int(round(window_s / 2 / self.hop_s)))
        offsets = torch.arange(-half, half + 1, dtype=pos.dtype, device=pos.device)
        return offsets, torch.cos(math.pi * offsets * self.hop_s / window_s) ** 4

    def _window_f0(self, f0_hz, voiced, pos, window_s: float):
        """Mean and variance (Hz, Hz^2) of F0 over a Hann window of ``window_s`` centred at frame positions pos
        [T'], weighted by the window's power and the voicing: ([B, T'], [B, T'])."""
        offsets, w = self._window_taps(pos, window_s)
        acc, acc_f, acc_f2 = 0.0, 0.0, 0.0
        for o, wo in zip(offsets, w):
            f = _interp_frames(f0_hz, pos + o)
            wv = wo.to(f.dtype) * _interp_frames(voiced, pos + o)
            acc, acc_f, acc_f2 = acc + wv, acc_f + wv * f, acc_f2 + wv * f * f
        mean = acc_f / acc.clamp(min=1e-6)
        var = (acc_f2 / acc.clamp(min=1e-6) - mean * mean).clamp(min=0)
        return mean, var

    def _window_power(self, loudness_db, hnr_db, voiced, pos, window_s: float):
        """(P_h, P_n) [B, T'] averaged over a Hann window of ``window_s`` centred at pos, weighted by its power."""
        offsets, w = self._window_taps(pos, window_s)
        w = (w / w.sum()).to(loudness_db.dtype)
        p_h, p_n = 0.0, 0.0
        for o, wo in zip(offsets, w):
            h, n = self.powers(_interp_frames(loudness_db, pos + o), _interp_frames(hnr_db, pos + o),
                               _interp_frames(voiced, pos + o))
            p_h, p_n = p_h + wo * h, p_n + wo * n
        return p_h, p_n

    def envelope_table(self, lsf_rad: torch.Tensor) -> torch.Tensor:
        """Unit-RMS envelope power |g/A|^2 on ENVELOPE_GRID points from 0 to the model's Nyquist: [..., G]."""
        a = lsf_to_lpc(lsf_rad)
        spec = torch.fft.rfft(a, n=2 * (ENVELOPE_GRID - 1), dim=-1)
        power = 1.0 / (spec.real ** 2 + spec.imag ** 2).clamp(min=1e-12)
        return power / power.mean(-1, keepdim=True)

    def power_spectrogram(self, f0_hz, voiced, loudness_db, hnr_db, tilt_db_per_octave, lsf_rad, noise_bands_db,
                          sample_rate: int, n_fft: int, frame_times_s: torch.Tensor, lobe_scale: float = 1.0,
                          noise_scale: float = 1.0, parts: bool = False, window_f0: bool = False,
                          harmonic_gain: torch.Tensor | None = None, max_hz: float | None = None):
        """Expected |STFT|^2 of the voice (Hann window of ``n_fft`` at ``sample_rate``, frames centred at
        ``frame_times_s`` [T']) -> [batch, n_fft // 2 + 1, T'], over the FULL band of ``sample_rate``.

        lobe_scale narrows (< 1) the harmonic lobes below the Hann window's own width and noise_scale scales the
        noise power: both 1 for the expected power (the loss); the masks use sharper, less noisy renderings.

        Harmonics are Gaussian lobes (widened by the F0 glide within the window) at k F0 up to that rate's
        Nyquist; above the model's own Nyquist the envelope, the glottal tilt and the noise shape continue
        (envelope and noise held at their top value, tilt still falling). The envelope is read at each bin's
        frequency (not at the harmonic's: the lobes are about a bin wide), and the per-bin work runs over blocks
        of frames of POWER_BLOCK_ELEMENTS values, which keeps its elementwise chain in cache (3-min SATB at
        44.1 kHz: 4x faster than one pass over the whole [B, T', F] array; masks unchanged within 0.01 dB SI-SDR).

        parts=True returns the same power split into its components (:class:`PowerParts`, frame-major), for
        fitting per-harmonic gains (engine.separation.harmonic_fit); harmonic_gain [batch, T', K] multiplies
        harmonic k (1..K; harmonics above K take the K-th gain); max_hz: render only the bins up to it;
        window_f0: harmonics at the F0's mean over the window, widened by its spread there (vibrato), instead of
        at the centre frame's F0 widened by its local slope, and with the harmonic and noise powers averaged over
        the window (a note starting or ending inside it), instead of read at its centre.
        """
        dtype = loudness_db.dtype
        pos = frame_times_s.to(f0_hz.device, torch.float64) / self.hop_s
        slope = torch.zeros_like(f0_hz)
        if f0_hz.shape[1] > 1:
            d = torch.diff(f0_hz, dim=1) / self.hop_s  # Hz per s
            slope = torch.cat([d[:, :1], 0.5 * (d[:, 1:] + d[:, :-1]), d[:, -1:]], 1) if f0_hz.shape[1] > 2 \
                else torch.cat([d, d], 1)
        f0 = _interp_frames(f0_hz, pos).clamp(min=20.0)
        glide = _interp_frames(slope * voiced.to(dtype), pos).abs()
        v = _interp_frames(voiced.to(dtype), pos)
        if window_f0:  # harmonic and noise power averaged over the window (onsets, offsets)
            p_h, p_n = self._window_power(loudness_db, hnr_db, voiced.to(dtype), pos, n_fft / sample_rate)
        else:
            p_h, p_n = self.powers(_interp_frames(loudness_db, pos), _interp_frames(hnr_db, pos), v)
        tilt = _interp_frames(tilt_db_per_octave, pos)
        env = self.envelope_table(_interp_frames(lsf_rad, pos))  # [B, T', G]
        bands = _interp_frames(noise_bands_db, pos)

        device = f0.device
        n_bins = n_fft // 2 + 1 if max_hz is None else min(n_fft // 2 + 1, int(max_hz * n_fft / sample_rate) + 1)
        bin_hz = sample_rate / n_fft
        freqs = torch.arange(n_bins, device=device, dtype=dtype) * bin_hz  # [F]
        window = torch.hann_window(n_fft, device=device, dtype=dtype)
        sum_w, sum_w2 = window.sum(), (window ** 2).sum()
        # the envelope table read at every bin (held at its top value above the model's Nyquist): [G] -> [F]
        grid = (freqs * ((ENVELOPE_GRID - 1) / (self.sample_rate / 2))).clamp(0, ENVELOPE_GRID - 1)
        g0 = grid.floor().long().clamp(max=ENVELOPE_GRID - 2)
        g_frac = grid - g0.to(dtype)
        noise_matrix = mel_band_matrix(bands.shape[-1], freqs, self.sample_rate).to(dtype)  # [bands, F]
        noise_peak, noise_mean = noise_shape_norm(bands, torch.linspace(0, self.sample_rate / 2, 257, device=device,
                                                                        dtype=dtype), self.sample_rate)

        # per frame [B, T', 1]: harmonic spacing in bins, lobe width, weight law p_k = exp(slope log k - log_norm)
        f0e = f0.unsqueeze(-1)
        all_k = torch.arange(1, self.n_harmonics + 1, device=device, dtype=dtype)
        k_slope = (tilt / (10 * math.log10(2))).unsqueeze(-1)
        inside = (all_k * f0e < self.sample_rate / 2).to(dtype)
        log_norm = torch.log((torch.exp(k_slope * torch.log(all_k)) * inside).sum(-1, keepdim=True).clamp(min=1e-6))
        f0_bins = f0e / bin_hz
        k_top = (sample_rate / 2) / f0e  # harmonics k < k_top lie below this rate's Nyquist
        glide_bins = glide.unsqueeze(-1) * (n_fft / sample_rate) / bin_hz  # F0 change across the window, in bins
        glide2 = glide_bins ** 2 / 12
        if window_f0:  # F0 mean and spread over the window itself (vibrato, glides), power-weighted
            f0_mean, f0_var = self._window_f0(f0_hz, voiced.to(dtype), pos, n_fft / sample_rate)
            f0 = torch.where(v > 0, f0_mean, f0).clamp(min=20.0)
            f0e = f0.unsqueeze(-1)
            inside = (all_k * f0e < self.sample_rate / 2).to(dtype)
            log_norm = torch.log((torch.exp(k_slope * torch.log(all_k)) * inside).sum(-1, keepdim=True)
                                 .clamp(min=1e-6))
            f0_bins = f0e / bin_hz
            k_top = (sample_rate / 2) / f0e
            glide2 = (f0_var / bin_hz ** 2).unsqueeze(-1)
        width2 = torch.tensor((lobe_scale * HANN_LOBE_SIGMA_BINS) ** 2, device=device, dtype=dtype)  # lobe, bins^2
        harmonic_scale = p_h.unsqueeze(-1) * (sum_w ** 2 / 2) * (lobe_scale * HANN_LOBE_SIGMA_BINS)
        noise_scale_t = noise_scale * p_n.unsqueeze(-1) * sum_w2 * (sample_rate / self.sample_rate) / noise_mean
        bins = torch.arange(n_bins, device=device, dtype=dtype)
        one = torch.ones((), device=device, dtype=dtype)

        # per bin, in blocks of frames small enough to stay in cache (elementwise chains are memory-bound)
        block = max(1, POWER_BLOCK_ELEMENTS // (f0.shape[0] * n_bins))
        out = []
        for s in range(0, f0.shape[1], block):
            sl = slice(s, s + block)
            ratio = bins / f0_bins[:, sl]  # bin position in harmonic numbers [B, Tb, F]
            k_near = torch.round(ratio)
            offset = ratio - k_near
            side = torch.copysign(one, offset)  # +1 / -1: the neighbour's side (+1 where offset is 0)
            lobes = []
            for k, off in ((k_near, offset), (k_near + side, offset - side)):  # nearest harmonic and neighbour
                # log p_k - dist^2 / (2 sigma^2), the Gaussian's width sigma^2 = width^2 + k^2 glide^2 (fused ops)
                sigma2 = torch.addcmul(width2, k * glide2[:, sl], k)
                dist = off * f0_bins[:, sl]
                log_weight = torch.addcmul(-log_norm[:, sl], k_slope[:, sl], torch.log(k.clamp(min=1)))
                log_lobe = torch.addcmul(log_weight, dist, dist / sigma2, value=-0.5)
                lobe = torch.exp(log_lobe.clamp(min=LOG_LOBE_FLOOR)) * torch.rsqrt(sigma2)
                lobe = torch.where((k >= 1) & (k < k_top[:, sl]), lobe, 0.0)
                if harmonic_gain is not None:  # [B, T', K] gain of harmonic k (1-based; the last one above K)
                    idx = (k.long() - 1).clamp(0, harmonic_gain.shape[-1] - 1)
                    lobe = lobe * harmonic_gain[:, sl].gather(2, idx)
                lobes.append(lobe)
            harmonic = lobes[0] + lobes[1]
            e = env[:, sl]
            env_bins = e[..., g0] * (1 - g_frac) + e[..., g0 + 1] * g_frac
            noise = torch.pow(10.0, (bands[:, sl] @ noise_matrix - noise_peak[:, sl]) / 10) * noise_scale_t[:, sl]
            if parts:
                scale = env_bins * harmonic_scale[:, sl]
                out.append((k_near.to(torch.int32), side.to(torch.int8), lobes[0] * scale, lobes[1] * scale,
                            env_bins * noise))
            else:
                out.append(env_bins * (harmonic * harmonic_scale[:, sl] + noise))
        if parts:
            return PowerParts(*(torch.cat([o[i] for o in out], 1) for i in range(5)))
        return torch.cat(out, 1).transpose(1, 2)


def formants_hz(lsf_rad: torch.Tensor, sample_rate: int, n_formants: int = 4, max_bandwidth_hz: float = 600.0):
    """Formant frequencies [..., n_formants] in Hz (NaN where fewer) from the poles of 1/A with bandwidth below
    ``max_bandwidth_hz`` and frequency above 90 Hz, ascending."""
    a = lsf_to_lpc(lsf_rad.double())
    p = a.shape[-1] - 1
    companion = torch.zeros(a.shape[:-1] + (p, p), dtype=torch.float64, device=a.device)
    companion[..., 0, :] = -a[..., 1:]
    if p > 1:
        companion[..., 1:, :-1] = torch.eye(p - 1, dtype=torch.float64, device=a.device)
    roots = torch.linalg.eigvals(companion)
    freq = roots.angle() * sample_rate / (2 * math.pi)
    bw = -torch.log(roots.abs().clamp(min=1e-9)) * sample_rate / math.pi
    ok = (roots.imag > 0) & (bw < max_bandwidth_hz) & (freq > 90)
    freq = torch.where(ok, freq, torch.full_like(freq, float("inf"))).sort(-1).values[..., :n_formants]
    return torch.where(torch.isinf(freq), torch.full_like(freq, float("nan")), freq).to(lsf_rad.dtype)
