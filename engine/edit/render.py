"""Rendering edits onto a real stem: θ-guided STFT analysis/resynthesis that keeps the stem's own detail.

Per frame (see :mod:`engine.edit.analysis`):

1. **Breathiness** — the F0 comb splits each voiced frame into harmonic bins and between-harmonic (noise) bins;
   the noise power under the harmonics is interpolated from between them. Harmonic energy is scaled by ``g_h`` and
   noise by ``g_n = g_h · 10^(ΔdB/20)`` with the frame's energy kept, so HNR moves by exactly -ΔdB. Extra noise
   under the harmonics is drawn from a fixed table of random phases (deterministic per frame).
2. **Pitch** — the excitation is whitened by the stem's envelope and the harmonic lobes of every region (±F0/2
   around ``k·F0``) are moved to ``k·F0·r`` by an integer number of bins (what lies between the lobes — breath
   noise, leakage of other voices — stays in place), with the phase of harmonic ``k`` advanced by
   ``k·Φ(t)``, ``Φ`` the accumulated frequency offset — the "phase-locked region shifting" of Laroche & Dolson
   (1999, "New phase-vocoder techniques for real-time pitch shifting, chorusing, harmonizing and other exotic
   audio modifications", JAES 47(11)). No resampling and no time stretch, so the ratio can change every frame
   (pitch on a time range, vibrato depth).
3. **Timbre** — the target envelope is the frame's own envelope plus ``P(f / formant_factor) − P(f)``, ``P`` the
   envelope pooled over the frames of the same vowel around it (:func:`engine.edit.analysis.pooled_log_envelope`),
   plus the tilt in dB per octave above F0, plus the gain; each output bin is ``whitened excitation × target
   envelope``.
4. Overlap-add with the same Hann window (hop n_fft/4).

Neutral edits return the stem unchanged; the resynthesis path alone reproduces it to > 100 dB SI-SDR.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator, Optional

import numpy as np
import scipy.fft

from engine.edit.analysis import (HOP_DIVISOR, POOL_STEP_OCT, FrameAnalysis, FrameGrid, HarmonicFrames,
                                  _interp_rows, analyse_frames, choose_grid, harmonic_frames, pool_grid,
                                  pool_margin_frames)
from engine.edit.edits import KINDS, VoiceEdits
from engine.edit.theta_voice import ThetaVoice
from engine.errors import MotetError
from engine.jobs import Progress, report

LN10_20 = np.log(10.0) / 20
OLA_GAIN = 1.5  # sum of squared periodic Hann windows at hop n_fft/4
NOISE_TABLE_FRAMES = 521  # a prime, so the breath-noise table never lines up with a musical period
VIBRATO_SMOOTH_S = 0.25  # the vibrato-free F0 is the mean log-F0 over this many seconds


class VoiceRenderer:
    """Edits of one voice rendered onto its stem. The analysis is cached per block of frames, so after a slider
    change only the resynthesis runs. stem: [N] float samples at ``sample_rate`` Hz.
    """

    def __init__(self, stem: np.ndarray, sample_rate: int, theta: ThetaVoice, grid: Optional[FrameGrid] = None,
                 block_frames: int = 128, cache_seconds: float = 60.0, envelope: str = "stem"):
        stem = np.asarray(stem, dtype=np.float32)
        if stem.ndim == 2:
            stem = stem.mean(axis=0) if stem.shape[0] < stem.shape[1] else stem.mean(axis=1)
        if stem.ndim != 1:
            raise MotetError(f"stem of {theta.name}: expected mono samples, got shape {stem.shape}")
        self.stem = np.ascontiguousarray(stem)
        self.sample_rate = int(sample_rate)
        self.theta = theta
        self.grid = grid or choose_grid(theta, self.sample_rate)
        if envelope not in ("stem", "theta") or (envelope == "theta" and "lsf_rad" not in theta.extra):
            raise MotetError(f"envelope '{envelope}': use 'stem', or 'theta' with a θ that has lsf_rad")
        self.envelope = envelope
        self.block_frames = block_frames
        block_s = block_frames * self.grid.hop / self.sample_rate
        self.cache_blocks = max(2, int(np.ceil(cache_seconds / block_s)) + 1)
        self._cache: OrderedDict[int, FrameAnalysis] = OrderedDict()
        # harmonic peaks per block, shared by the pooled envelopes of neighbouring blocks (each read ~2 s around)
        self._harmonics: OrderedDict[int, HarmonicFrames] = OrderedDict()
        self._harmonic_blocks = self.cache_blocks + 2 * (-(-pool_margin_frames(self.grid) // block_frames) + 1)
        # θ on every STFT frame from 0 to the end (phase accumulation and vibrato need the frames before a region)
        g = self.grid
        self.n_frames = len(self.stem) // g.hop + 2
        times = np.arange(self.n_frames) * g.hop / self.sample_rate
        self.frame_f0, self.frame_voiced = theta.at(times)
        self.vibrato_cents = self._vibrato_deviation()
        m = np.arange(g.n_fft)
        w2 = g.window.astype(np.float64) ** 2
        errors = np.linspace(0, 0.5, 26)
        self._mismatch_gain = (errors, np.array([np.sum(w2 * np.cos(2 * np.pi * e * (m - g.n_fft / 2) / g.n_fft))
                                                 for e in errors]) / w2.sum())
        u = pool_grid(g)
        self._pool_pos = ((np.log2(np.maximum(np.arange(g.n_bins) * g.bin_hz, 1.0)) - u[0])
                          / POOL_STEP_OCT).astype(np.float32)  # [F] bins on the pooled envelope's grid
        rng = np.random.default_rng(20240611)
        phase = rng.uniform(0, 2 * np.pi, (NOISE_TABLE_FRAMES, g.n_bins))
        self.noise_table = np.exp(1j * phase).astype(np.complex64)

    @property
    def duration_s(self) -> float:
        return len(self.stem) / self.sample_rate

    def _vibrato_deviation(self) -> np.ndarray:
        """[n_frames] cents of θ's F0 above its moving average over VIBRATO_SMOOTH_S (voiced frames only)."""
        width = max(1, int(round(VIBRATO_SMOOTH_S * self.sample_rate / self.grid.hop)))
        v = self.frame_voiced.astype(np.float64)
        log_f0 = np.log2(np.maximum(self.frame_f0, 1.0)) * v

        def moving_sum(x):  # centred sum over `width` frames, same length as x
            c = np.concatenate([[0.0], np.cumsum(x)])
            i = np.arange(len(x))
            return c[np.minimum(i + width - width // 2, len(x))] - c[np.maximum(i - width // 2, 0)]

        mean = moving_sum(log_f0) / np.maximum(moving_sum(v), 1e-9)
        return np.where(self.frame_voiced, 1200 * (np.log2(np.maximum(self.frame_f0, 1.0)) - mean), 0.0)

    # ----- analysis cache -------------------------------------------------------------------------------------
    def analysis(self, t_lo: int, t_hi: int) -> FrameAnalysis:
        """FrameAnalysis of frames [t_lo, t_hi), from cached blocks of ``block_frames`` frames."""
        return FrameAnalysis.concat(self._analysis_parts(t_lo, t_hi))

    def _analysis_parts(self, t_lo: int, t_hi: int) -> list[FrameAnalysis]:
        """Views of the cached blocks covering frames [t_lo, t_hi), in order (analysing missing blocks)."""
        B = self.block_frames
        parts = []
        for b in range(t_lo // B, (t_hi - 1) // B + 1):
            block = self._cache.get(b)
            if block is None:
                block = analyse_frames(self.stem, self.theta, self.grid, b * B, (b + 1) * B, self.envelope,
                                       self._harmonic_range)
                self._cache[b] = block
                while len(self._cache) > self.cache_blocks:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(b)
            parts.append(block.slice(max(t_lo, b * B), min(t_hi, (b + 1) * B)))
        return parts

    def _harmonic_range(self, t_lo: int, t_hi: int) -> HarmonicFrames:
        """HarmonicFrames of frames [t_lo, t_hi) (any integers) from cached blocks of ``block_frames`` frames."""
        B = self.block_frames
        parts = []
        for b in range(t_lo // B, (t_hi - 1) // B + 1):
            block = self._harmonics.get(b)
            if block is None:
                block = harmonic_frames(self.stem, self.theta, self.grid, b * B, (b + 1) * B)
                self._harmonics[b] = block
                while len(self._harmonics) > self._harmonic_blocks:
                    self._harmonics.popitem(last=False)
            else:
                self._harmonics.move_to_end(b)
            parts.append(block)
        whole = HarmonicFrames.concat(parts)
        a, n = t_lo - (t_lo // B) * B, t_hi - t_lo
        keep = (whole.rows >= a) & (whole.rows < a + n)
        return HarmonicFrames(whole.f0_hz[a:a + n], whole.voiced[a:a + n], whole.rows[keep] - a,
                              whole.peaks[keep], whole.inside[keep])

    # ----- rendering ------------------------------------------------------------------------------------------
    def _sample_range(self, start_s: Optional[float], end_s: Optional[float]) -> tuple[int, int]:
        start = 0 if start_s is None else int(round(max(0.0, start_s) * self.sample_rate))
        stop = len(self.stem) if end_s is None else int(round(min(end_s, self.duration_s) * self.sample_rate))
        if start_s is not None and end_s is not None and end_s < start_s:
            raise MotetError(f"render region: end {end_s:g} s is before start {start_s:g} s")
        return min(start, len(self.stem)), max(min(stop, len(self.stem)), min(start, len(self.stem)))

    def render(self, edits: VoiceEdits, start_s: Optional[float] = None, end_s: Optional[float] = None,
               force_resynthesis: bool = False) -> np.ndarray:
        """[M] float32 edited samples of [start_s, end_s) (whole stem by default). Regions rendered apart join
        sample-exactly with each other and with the whole render. ``force_resynthesis`` runs the full path even
        for neutral edits (for tests)."""
        start, stop = self._sample_range(start_s, end_s)
        if stop <= start:
            return np.zeros(0, dtype=np.float32)
        if edits.is_neutral and not force_resynthesis:
            return self.stem[start:stop].copy()
        g = self.grid
        t_lo, t_hi = g.frame_range(start, stop)
        c, phi = self._frame_curves(edits, t_lo, t_hi)
        parts = []
        for a in self._analysis_parts(t_lo, t_hi):  # block by block: no copy of the analysis
            i, j = a.t0 - t_lo, a.t0 - t_lo + a.n_frames
            parts.append(self._synthesise(a, {k: v[i:j] for k, v in c.items()}, phi[i:j]))
        frames = parts[0] if len(parts) == 1 else np.concatenate(parts)
        out = _overlap_add(frames, g)  # sample 0 of `out` is t_lo * hop - n_fft / 2
        offset = start - (t_lo * g.hop - g.n_fft // 2)
        return out[offset:offset + (stop - start)]

    def chunks(self, edits: VoiceEdits, start_s: Optional[float] = None, end_s: Optional[float] = None,
               chunk_s: float = 1.0, progress: Optional[Progress] = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (first sample, [M] float32 samples) for consecutive chunks of ``chunk_s`` seconds of
        [start_s, end_s), in playing order; concatenated they equal :meth:`render` of the whole range."""
        start, stop = self._sample_range(start_s, end_s)
        step = max(1, int(round(chunk_s * self.sample_rate)))
        for i, a in enumerate(range(start, stop, step)):
            b = min(a + step, stop)
            yield a, self.render(edits, a / self.sample_rate, b / self.sample_rate)
            report(progress, (b - start) / max(stop - start, 1), f"rendering chunk {i + 1}")

    def chunks_from_playhead(self, edits: VoiceEdits, playhead_s: float, chunk_s: float = 0.5,
                             progress: Optional[Progress] = None) -> Iterator[tuple[int, np.ndarray]]:
        """What the app calls after a slider change: chunks from the playhead to the end first, then from the
        start to the playhead, each (first sample, samples), so the part about to be heard is ready first and
        can be swapped into the playing buffer chunk by chunk (each chunk equals the same span of a whole render).
        """
        playhead_s = min(max(0.0, playhead_s), self.duration_s)
        n_ahead = self.duration_s - playhead_s
        total = max(self.duration_s, 1e-9)
        part = (lambda f, s: report(progress, f * n_ahead / total, s)) if progress else None
        yield from self.chunks(edits, playhead_s, None, chunk_s, part)
        part = (lambda f, s: report(progress, (n_ahead + f * playhead_s) / total, s)) if progress else None
        if playhead_s > 0:
            yield from self.chunks(edits, 0.0, playhead_s, chunk_s, part)

    def _frame_curves(self, edits: VoiceEdits, t_lo: int, t_hi: int) -> tuple[dict, np.ndarray]:
        """Edit curves on frames [t_lo, t_hi) ({kind: [T]}, pitch in cents including the vibrato change) and
        Φ: [T] accumulated phase (radians) of the pitch offset per unit harmonic number, summed from frame 0."""
        g = self.grid
        n = max(t_hi, 1)
        times = np.arange(n) * g.hop / self.sample_rate
        curves = edits.curves(times)
        vib = np.zeros(n)
        m = min(n, self.n_frames)
        vib[:m] = self.vibrato_cents[:m]
        f0 = np.zeros(n)
        voiced = np.zeros(n, dtype=bool)
        f0[:m], voiced[:m] = self.frame_f0[:m], self.frame_voiced[:m]
        cents = curves["pitch"] + (curves["vibrato"] - 1) * vib
        d = f0 * (2.0 ** (cents / 1200) - 1) * voiced  # Hz offset of the fundamental
        step = np.pi * (d[:-1] + d[1:]) * g.hop / self.sample_rate
        phi = np.concatenate([[0.0], np.cumsum(step)])
        pad = max(0, -t_lo)
        lo = max(t_lo, 0)

        def region(values, fill):
            return np.concatenate([np.full(pad, fill), values[lo:t_hi]])

        out = {name: region(curves[name], KINDS[name].neutral) for name in ("breathiness", "formant", "tilt", "gain")}
        out["pitch"] = region(cents, 0.0)
        out["pivot_hz"] = region(np.where(f0 > 0, f0, 100.0), 100.0)
        return out, region(phi, 0.0)

    def _synthesise(self, a: FrameAnalysis, c: dict, phi: np.ndarray) -> np.ndarray:
        """[T, n_fft] windowed output frames of the analysed frames ``a``, with edit curves ``c`` ({kind: [T]})
        and pitch phase ``phi`` ([T]) on the same frames."""
        g = self.grid
        F = g.n_bins
        t_lo = a.t0
        spec = a.spec
        voiced = a.voiced
        bins = np.arange(F, dtype=np.float32)

        # 1. breathiness: periodic energy x g_h, aperiodic energy x g_n = g_h * 10^(dB/20), frame energy kept.
        # The aperiodic share a of each frame is measured by autocorrelation at the period (as Praat's HNR).
        # More breath: the frame x g_h plus fresh noise of power (g_n² - g_h²)·a·E, shaped like the stem's noise
        # (broadband: noise only on the harmonics would itself look periodic). Less breath: the noise between
        # the harmonics x g_n, harmonic bins by a Wiener gain on the noise under them.
        rows = np.nonzero(voiced & (c["breathiness"] != 0))[0]
        if len(rows):
            spec = spec.copy()
            X = spec[rows]
            P = X.real ** 2 + X.imag ** 2
            Pn = np.exp(a.log_noise[rows])
            share = a.aperiodicity[rows, None]
            rho2 = (10.0 ** (c["breathiness"][rows, None] / 10)).astype(np.float32)
            gh2 = 1 / (1 + (rho2 - 1) * share)
            gn2 = rho2 * gh2
            more = rho2[:, 0] >= 1
            if more.any():
                m = np.nonzero(more)[0]
                top = (gn2[m] - gh2[m]) * share[m] * P[m].sum(axis=1, keepdims=True) / Pn[m].sum(axis=1, keepdims=True)
                table = self.noise_table[(rows[m] + t_lo) % NOISE_TABLE_FRAMES]
                spec[rows[m]] = X[m] * np.sqrt(gh2[m]) + np.sqrt(Pn[m] * top * HOP_DIVISOR) * table
            if not more.all():
                m = np.nonzero(~more)[0]
                H = a.comb[rows[m]]
                Ph = np.maximum(P[m] - Pn[m], 0)
                g_harm = np.sqrt((gh2[m] * Ph + gn2[m] * Pn[m]) / np.maximum(Ph + Pn[m], 1e-20))
                spec[rows[m]] = X[m] * ((1 - H) * np.sqrt(gn2[m]) + H * g_harm)

        # 3. target envelope: formant warp of the all-pole envelope (fine detail kept), tilt, gain; natural log
        log_target = a.log_env
        rows = np.nonzero((c["formant"] != 1) | (voiced & (c["pitch"] != 0)))[0]
        if len(rows):
            log_target = log_target.copy()
            factors = c["formant"][rows].astype(np.float32)
            for factor in np.unique(factors):  # one warp per distinct factor (usually one)
                sub = rows[factors == factor]
                if factor == 1:
                    log_target[sub] = a.log_model[sub]
                    continue
                # the frame keeps its own detail; its pooled envelope is warped: + P(f / factor) − P(f)
                pool = a.log_pool[sub]
                shape = (len(pool), len(self._pool_pos))
                here = np.broadcast_to(self._pool_pos, shape)
                warped = _interp_rows(pool, here - np.float32(np.log2(factor) / POOL_STEP_OCT))
                base = np.where((voiced[sub] & (c["pitch"][sub] != 0))[:, None], a.log_model[sub], a.log_env[sub])
                log_target[sub] = base + warped - _interp_rows(pool, here)
        level = (c["gain"] * LN10_20).astype(np.float32)[:, None]
        if np.any(c["tilt"] != 0):
            log2_f = np.log2(np.maximum(bins, 0.5) * np.float32(g.bin_hz))
            octaves = np.maximum(log2_f[None, :] - np.log2(c["pivot_hz"]).astype(np.float32)[:, None], 0)
            level = level + (c["tilt"] * LN10_20).astype(np.float32)[:, None] * octaves
        log_target = log_target + level

        # 2. pitch: harmonic regions of the whitened excitation move to k * F0 * r, phase-locked
        shifted = voiced & (c["pitch"] != 0)
        rows = np.nonzero(shifted)[0]
        if len(rows) == len(shifted):
            out = np.empty_like(spec)
        else:
            out = spec * np.exp(log_target - a.log_env)
        if len(rows):
            n = len(rows)
            f = a.f0_hz[rows].astype(np.float32)[:, None] / np.float32(g.bin_hz)  # F0 in bins
            r = (2.0 ** (c["pitch"][rows] / 1200)).astype(np.float32)[:, None]
            k = np.rint(bins[None, :] * (1 / (f * r))).astype(np.int64)  # output bin -> harmonic region
            K = int(k.max()) + 1
            harm = np.arange(K, dtype=np.float32)[None, :]
            shift_k = np.rint(harm * f * (r - 1))  # [n, K] bins that region k moves by
            rot_k = harm * phi[rows, None].astype(np.float32) + np.float32(np.pi) * shift_k
            # whole-bin shifts leave a within-frame frequency error e (<= 1/2 bin) that overlap-add turns into a
            # loss of G(e) = sum w^2 cos(2 pi e (m - N/2) / N) / sum w^2 (up to 0.9 dB): undo it per region
            mismatch = np.abs(harm * f * (r - 1) - shift_k)
            rot_k = (np.cos(rot_k) + 1j * np.sin(rot_k)) / np.interp(mismatch, *self._mismatch_gain)
            rot_k = rot_k.astype(np.complex64)  # phase (and loss correction) of region k
            idx = k + (np.arange(n) * K)[:, None]
            src = bins[None, :] - shift_k.reshape(-1)[idx]
            off = src - harm.reshape(-1)[k] * f  # offset from the source harmonic
            half = 0.5 * f  # outside the source region (ratio > 1): repeat its edge, the valley between harmonics
            src = np.rint(src - off + np.clip(off, -half, half)).astype(np.int64)
            valid = (src >= 0) & (src < F)
            np.clip(src, 0, F - 1, out=src)
            flat = src + (rows * F)[:, None]
            gain = np.exp(log_target[rows] - a.log_env.reshape(-1)[flat]) * valid
            # only the harmonic lobes move; what lies between them (breath noise, other voices' leakage in a
            # separated stem) stays where it is, with the timbre edits applied
            lobes = a.comb.reshape(-1)[flat]
            if np.all(c["formant"][rows] == 1):  # target = model + level: what stays only takes the level
                stay_gain = np.exp(np.broadcast_to(level, (len(shifted), level.shape[1]))[rows])
            else:
                stay_gain = np.exp(log_target[rows] - a.log_model[rows])
            stay = spec[rows] * (1 - a.comb[rows]) * stay_gain
            out[rows] = spec.reshape(-1)[flat] * (lobes * gain) * rot_k.reshape(-1)[idx] + stay
        frames = scipy.fft.irfft(out, n=g.n_fft, axis=1).astype(np.float32, copy=False)
        return frames * g.window


def _overlap_add(frames: np.ndarray, grid: FrameGrid) -> np.ndarray:
    """Overlap-add [T, n_fft] frames at hop n_fft/4 and undo the window gain: [(T - 1) * hop + n_fft]."""
    T, N = frames.shape
    hop = grid.hop
    out = np.zeros((T - 1) * hop + N + N, dtype=np.float32)
    for q in range(HOP_DIVISOR):
        sub = frames[q::HOP_DIVISOR]
        if len(sub):
            out[q * hop:q * hop + sub.size] += sub.reshape(-1)
    return out[:(T - 1) * hop + N] / OLA_GAIN


def render_voice(stem: np.ndarray, sample_rate: int, theta: ThetaVoice, edits: VoiceEdits,
                 start_s: Optional[float] = None, end_s: Optional[float] = None) -> np.ndarray:
    """[M] float32: ``stem`` ([N] samples) with ``edits`` applied over [start_s, end_s) (whole stem by default).

    One-shot form of :class:`VoiceRenderer` (which the app keeps per voice to reuse its analysis).
    """
    return VoiceRenderer(stem, sample_rate, theta).render(edits, start_s, end_s)


def render_region(stem: np.ndarray, theta: ThetaVoice, edits: VoiceEdits, start_s: float, end_s: float,
                  sample_rate: int) -> np.ndarray:
    """[M] float32 edited samples of [start_s, end_s) only (the region being played)."""
    return VoiceRenderer(stem, sample_rate, theta).render(edits, start_s, end_s)
