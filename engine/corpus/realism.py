"""How close the synthetic singers are to real ones: the corpus against the CSD close-mic singers.

The same measurements run on both sides (16 kHz mono, one singer per signal):

- long-term average spectrum (Welch, normalised to 0 dB total) in bands, its centroid and the level of the
  singer's-formant region 2-4 kHz relative to 0-2 kHz;
- harmonics-to-noise ratio per voiced frame from the normalised autocorrelation at the period
  (Boersma 1993, "Accurate short-term analysis of the fundamental frequency and the harmonics-to-noise ratio");
- vibrato rate and depth per sustained note: the F0 contour in cents minus its 0.2 s moving average; the rate is
  the spectral peak in 3-9 Hz, the depth (cents, half peak-to-peak) is sqrt(2) times the residual RMS; a note
  counts as vibrato when that peak holds at least 40 % of the residual's power;
- F0 range per part: 5th and 95th percentile of the voiced F0.

F0 is measured from the audio in both cases, searched within +-1.5 semitones of a guide: the CSD score F0
(``f0/midi``) for the real singers, the corpus' own F0 file for the synthetic ones. CSD is used here only to
measure; nothing is fitted to it automatically.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from engine.choir import SATB
from engine.f0.tracks import F0_HOP_S
from engine.jobs import Progress, report

RATE = 16000
BANDS_HZ = ((0, 250), (250, 500), (500, 1000), (1000, 2000), (2000, 3000), (3000, 4000), (4000, 5500),
            (5500, 8000))
CSD_FILES = {
    "soprano": [f"nino_Soprano_{k}05.flac" for k in range(1, 5)],
    "alto": [f"nino_ContraAlt_{k}07.flac" for k in range(1, 5)],
    "tenor": [f"nino_tenor{k}-06-2.flac" for k in range(1, 5)],
    "bass": [f"nino_Bajos_{k}04.flac" for k in range(1, 5)],
}


def measure_f0(x: np.ndarray, guide_hz: np.ndarray, rate: int = RATE) -> tuple[np.ndarray, np.ndarray]:
    """F0 [frames] (Hz, 0 where none) and normalised autocorrelation at the period [frames] of ``x``.

    guide_hz: [frames] at F0_HOP_S (0 = skip); the period is searched within +-1.5 semitones of it.
    """
    n_frames = len(guide_hz)
    f0 = np.zeros(n_frames)
    corr = np.zeros(n_frames)
    hop = F0_HOP_S * rate
    for i in np.nonzero(guide_hz > 0)[0]:
        p_lo, p_hi = rate / (guide_hz[i] * 1.09), rate / (guide_hz[i] / 1.09)
        w = int(max(2.5 * p_hi, 0.03 * rate))
        lags = np.arange(int(p_lo), int(p_hi) + 2)
        a = int(i * hop) - (w + lags[-1]) // 2
        if a < 0 or a + w + lags[-1] + 1 > len(x):
            continue
        seg = x[a: a + w + lags[-1] + 1].astype(np.float64)
        ref = seg[:w]
        e0 = np.dot(ref, ref)
        if e0 <= 1e-12:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(seg, w)[lags]
        r = windows @ ref / np.sqrt(e0 * np.einsum("ij,ij->i", windows, windows) + 1e-20)
        k = int(np.argmax(r))
        if k == 0 or k == len(r) - 1 or r[k] < 0.3:
            continue
        den = r[k - 1] - 2 * r[k] + r[k + 1]
        off = 0.5 * (r[k - 1] - r[k + 1]) / den if den < 0 else 0.0
        f0[i] = rate / (lags[k] + off)
        corr[i] = r[k]
    return f0, corr


def vibrato_notes(f0: np.ndarray, guide_hz: np.ndarray, min_s: float = 0.6) -> list[tuple[float, float, bool]]:
    """(rate Hz, depth cents, has vibrato) for every sustained note: runs of measured F0 under one guide pitch."""
    out = []
    voiced = f0 > 0
    change = np.r_[True, np.abs(np.diff(np.log2(np.maximum(guide_hz, 1e-3)))) > 0.02]
    start = None
    for i in range(len(f0) + 1):
        inside = i < len(f0) and voiced[i] and not (change[i] and start is not None)
        if inside and start is None:
            start = i
        if not inside and start is not None:
            seg = f0[start:i]
            start = i if (i < len(f0) and voiced[i]) else None
            if len(seg) * F0_HOP_S < min_s:
                continue
            cents = 1200 * np.log2(seg)
            m = int(round(0.2 / F0_HOP_S))
            trend = np.convolve(np.pad(cents, m // 2, mode="edge"), np.ones(m) / m, mode="same")[m // 2: m // 2 + len(cents)]
            resid = (cents - trend)[m // 2: len(cents) - m // 2]
            if len(resid) < 16:
                continue
            n_fft = 1024
            power = np.abs(np.fft.rfft(resid - resid.mean(), n_fft)) ** 2
            freqs = np.fft.rfftfreq(n_fft, F0_HOP_S)
            band = (freqs >= 3) & (freqs <= 9)
            k = np.argmax(np.where(band, power, 0))
            near = np.abs(freqs - freqs[k]) <= 1.0
            share = power[near].sum() / (power[freqs > 0.5].sum() + 1e-12)
            out.append((float(freqs[k]), float(np.sqrt(2) * resid.std()), bool(share > 0.4)))
    return out


def ltas_bands(x: np.ndarray, rate: int = RATE) -> np.ndarray:
    """Long-term average spectrum in :data:`BANDS_HZ`, dB relative to the total power: [bands]."""
    from scipy.signal import welch

    f, p = welch(x, rate, nperseg=1024)
    total = p.sum() + 1e-20
    return np.array([10 * np.log10(p[(f >= lo) & (f < hi)].sum() / total + 1e-12) for lo, hi in BANDS_HZ])


def _summarise(signals: list[np.ndarray], guides: list[np.ndarray]) -> dict:
    """Pooled statistics of several signals of one part."""
    from scipy.signal import welch

    psd = None
    f0_all, hnr, notes = [], [], []
    for x, g in zip(signals, guides):
        f, p = welch(x, RATE, nperseg=1024)
        psd = p if psd is None else psd + p
        f0, corr = measure_f0(x, g)
        ok = (f0 > 0) & (corr > 0.5)
        f0_all.append(f0[ok])
        r = np.clip(corr[ok], 1e-4, 1 - 1e-4)
        hnr.append(10 * np.log10(r / (1 - r)))
        notes += vibrato_notes(np.where(ok, f0, 0.0), g)
    total = psd.sum()
    bands = [10 * np.log10(psd[(f >= lo) & (f < hi)].sum() / total + 1e-12) for lo, hi in BANDS_HZ]
    centroid = float((f * psd).sum() / total)
    sf_region = 10 * np.log10(psd[(f >= 2000) & (f < 4000)].sum() / (psd[f < 2000].sum() + 1e-20) + 1e-12)
    f0_all = np.concatenate(f0_all)
    hnr = np.concatenate(hnr)
    vib = [nt for nt in notes if nt[2]]
    return {
        "ltas_db": [round(float(b), 1) for b in bands],
        "centroid_hz": round(centroid),
        "level_2_4k_db": round(float(sf_region), 1),
        "hnr_db": round(float(np.median(hnr)), 1) if len(hnr) else None,
        "vibrato_rate_hz": round(float(np.median([v[0] for v in vib])), 2) if vib else None,
        "vibrato_depth_cents": round(float(np.median([v[1] for v in vib])), 1) if vib else None,
        "vibrato_share": round(len(vib) / max(len(notes), 1), 2),
        "notes": len(notes),
        "f0_p5_hz": round(float(np.percentile(f0_all, 5)), 1) if len(f0_all) else None,
        "f0_p95_hz": round(float(np.percentile(f0_all, 95)), 1) if len(f0_all) else None,
    }


def real_singers(progress: Optional[Progress] = None) -> dict:
    """Statistics per part of the 16 CSD close-mic singers (four per part)."""
    from engine.datasets import dataset_dir
    from engine.io.audio import load_audio

    root = dataset_dir("csd-nino-dios")
    guide = np.genfromtxt(root / "f0" / "midi" / "Nino_Dios_SATB_gtf0.csv", delimiter=",", names=True)
    out = {}
    for v, part in enumerate(SATB):
        column = np.nan_to_num(guide[part[0]])
        times = guide["time"] / 1000.0
        signals, guides = [], []
        for name in CSD_FILES[part]:
            x = load_audio(root / "audio" / name, RATE, mono=True).mono()
            frames = np.arange(int(len(x) / RATE / F0_HOP_S)) * F0_HOP_S
            idx = np.clip(np.searchsorted(times, frames), 0, len(times) - 1)
            signals.append(x)
            guides.append(np.where(np.abs(times[idx] - frames) < F0_HOP_S, column[idx], 0.0))
        out[part] = _summarise(signals, guides)
        report(progress, (v + 1) / 8, f"measured CSD {part}")
    return out


def synthetic_singers(excerpts: int = 48, seconds: float = 8.0, seed: int = 0,
                      progress: Optional[Progress] = None) -> dict:
    """Statistics per part of dry, one-singer-per-part SATB excerpts of the corpus (train pieces)."""
    from engine.corpus.render import draw_excerpt, list_pieces, render_excerpt

    pieces = list_pieces("train", 4)
    signals = {p: [] for p in SATB}
    guides = {p: [] for p in SATB}
    for k in range(excerpts):
        piece, bar = draw_excerpt(pieces, seconds, seed * 100003 + k)
        ex = render_excerpt(piece, bar, 4, seconds, RATE, seed * 100003 + k, room=False, singers_per_part=1)
        for v, part in enumerate(SATB):
            signals[part].append(ex.stems[v])
            guides[part].append(ex.f0.masked()[v])
        report(progress, 0.5 + 0.4 * (k + 1) / excerpts, f"rendered excerpt {k + 1}/{excerpts}")
    return {part: _summarise(signals[part], guides[part]) for part in SATB}


def compare(excerpts: int = 48, seconds: float = 8.0, seed: int = 0, progress: Optional[Progress] = None) -> dict:
    """Both sides per part, and the mean absolute LTAS difference per part (dB over the bands)."""
    real = real_singers(progress)
    synth = synthetic_singers(excerpts, seconds, seed, progress)
    distance = {p: round(float(np.mean(np.abs(np.subtract(real[p]["ltas_db"], synth[p]["ltas_db"])))), 2)
                for p in SATB}
    return {"real": real, "synthetic": synth, "ltas_mean_abs_diff_db": distance,
            "bands_hz": [list(b) for b in BANDS_HZ], "excerpts": excerpts, "seconds": seconds, "seed": seed}


def format_table(result: dict) -> str:
    """A Markdown table: one row per measure and part, real and synthetic side by side."""
    rows = ["| part | measure | CSD (real) | corpus (synthetic) |", "|---|---|---|---|"]
    names = [("centroid_hz", "LTAS centroid (Hz)"), ("level_2_4k_db", "LTAS 2-4 kHz vs 0-2 kHz (dB)"),
             ("hnr_db", "HNR, median (dB)"), ("vibrato_rate_hz", "vibrato rate (Hz)"),
             ("vibrato_depth_cents", "vibrato depth (cents)"), ("vibrato_share", "notes with vibrato"),
             ("f0_p5_hz", "F0 5th pct (Hz)"), ("f0_p95_hz", "F0 95th pct (Hz)")]
    for part in SATB:
        real, synth = result["real"][part], result["synthetic"][part]
        for key, label in names:
            rows.append(f"| {part} | {label} | {real[key]} | {synth[key]} |")
        rows.append(f"| {part} | LTAS bands (dB) | {' '.join(str(b) for b in real['ltas_db'])} | "
                    f"{' '.join(str(b) for b in synth['ltas_db'])} |")
        rows.append(f"| {part} | LTAS mean abs difference (dB) | | {result['ltas_mean_abs_diff_db'][part]} |")
    return "\n".join(rows)
