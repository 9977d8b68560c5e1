"""``motet eval separation``: SI-SDR of the stems on CSD (the UMSS protocol, see DESIGN.md) or the synthetic corpus.

CSD: singer set 4 (Soprano_405, ContraAlt_407, tenor4-06-2, Bajos_404) summed into SATB, cut into non-overlapping
4-s excerpts; SI-SDR per voice over 1-s frames, frames whose reference is silent (mean square below
SILENT_MEAN_SQUARE) skipped; mean over frames per voice, then over voices. On the same excerpts and F0: the
mixture itself, the oracle ideal ratio mask (ceiling), a non-learned harmonic-comb mask, and the model without and
with refinement. CSD is evaluation data only: nothing here trains on it except the test-time refinement, which
is the unsupervised per-recording adaptation being evaluated (it sees the mixture only).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from engine.datasets import dataset_dir
from engine.errors import MotetError
from engine.f0.tracks import F0Tracks
from engine.separation.adapt import adapt, pass_steps, refine_on
from engine.separation.f0_correction import F0Correction
from engine.separation.masks import MASK_RENDER, apply_masks, wiener_masks
from engine.separation.model import SeparationModel, default_model_path, model_f0
from engine.separation.separate import separate
from engine.separation.train import si_sdr

CSD_SINGERS = ("Soprano_405", "ContraAlt_407", "tenor4-06-2", "Bajos_404")
CSD_RATE = 16000
EXCERPT_S = 4.0
FRAME_S = 1.0
SILENT_MEAN_SQUARE = 1e-6        # -60 dBFS: a reference frame this quiet is skipped
CREPE_CONFIDENCE = 0.5           # oracle F0 frames with lower CREPE confidence are unvoiced
METHODS = ("mixture", "oracle_irm", "harmonic_comb", "model", "model_refined")


def framewise_si_sdr(reference: np.ndarray, estimate: np.ndarray, rate: int) -> list[float]:
    """SI-SDR of each 1-s frame whose reference is not silent."""
    n = int(FRAME_S * rate)
    out = []
    for s in range(0, len(reference) - n + 1, n):
        r = reference[s:s + n]
        if np.mean(r ** 2) < SILENT_MEAN_SQUARE:
            continue
        out.append(si_sdr(r, estimate[s:s + n]))
    return out


def load_csd() -> tuple[np.ndarray, F0Tracks]:
    """(references [4, N] at 16 kHz, oracle F0 from CREPE on the close-mic stems)."""
    from engine.io.audio import load_audio

    root = dataset_dir("csd-nino-dios")
    refs = [load_audio(root / "audio" / f"nino_{s}.flac", CSD_RATE, mono=True).samples[0] for s in CSD_SINGERS]
    n = min(len(r) for r in refs)
    refs = np.stack([r[:n] for r in refs])
    tracks = []
    for s in CSD_SINGERS:
        data = np.genfromtxt(root / "f0" / "crepe" / f"nino_{s}.f0.csv", delimiter=",", names=True)
        tracks.append(data)
    m = min(len(t) for t in tracks)
    times = tracks[0]["time"][:m]
    f0 = np.stack([t["frequency"][:m] for t in tracks])
    voiced = np.stack([t["confidence"][:m] >= CREPE_CONFIDENCE for t in tracks])
    return refs, F0Tracks(times, f0, voiced)


def excerpt_f0(tracks: F0Tracks, start_s: float, seconds: float, hop_s: float = 0.016) -> F0Tracks:
    """The tracks over [start, start + seconds), with times from 0."""
    n = int(round(seconds / hop_s)) + 1
    res = tracks.resampled(start_s + np.arange(n) * hop_s)
    return F0Tracks(np.arange(n) * hop_s, res.f0_hz, res.voiced, list(tracks.names))


def comb_masks_fn(model: SeparationModel, f0: F0Tracks, rate: int, n_samples: int):
    """Masks of the non-learned baseline: every voice a harmonic comb on its F0 with equal level, -12 dB/octave
    tilt, 20 dB HNR, flat vocal tract and flat noise."""
    vm = model.voice
    t = int(math.ceil(n_samples / rate / vm.hop_s))
    tr = f0.resampled(np.arange(t) * vm.hop_s)
    v = tr.n_voices
    f0_t = model_f0(tr.f0_hz)
    p = vm.lpc_order
    theta = {"f0_hz": f0_t, "voiced": torch.tensor(tr.voiced, dtype=torch.float32),
             "loudness_db": torch.full((v, t), -20.0), "hnr_db": torch.full((v, t), 20.0),
             "tilt_db_per_octave": torch.full((v, t), -12.0),
             "lsf_rad": (torch.arange(1, p + 1) * math.pi / (p + 1)).expand(v, t, p).contiguous(),
             "noise_bands_db": torch.zeros(v, t, vm.n_noise_bands)}

    def fn(n_fft, times):
        return wiener_masks(vm.power_spectrogram(**theta, sample_rate=rate, n_fft=n_fft,
                                                 frame_times_s=times, **MASK_RENDER).double()).float()
    return fn


def irm_masks_fn(refs: np.ndarray, rate: int):
    """Oracle ratio mask |S_v|^2 / sum_u |S_u|^2 from the reference stems, on the same STFT as the model's masks
    (the ceiling of any mask of this STFT made from power estimates)."""
    def fn(n_fft, times):
        window = torch.hann_window(n_fft)
        spec = torch.stft(torch.tensor(refs), n_fft, n_fft // 4, window=window, return_complex=True).abs() ** 2
        return (spec + 1e-12 / len(refs)) / (spec.sum(0, keepdim=True) + 1e-12)
    return fn


def _evaluate_excerpts(excerpts, rate: int, model, refined, progress_label: str, refined_f0=None) -> dict:
    """excerpts: list of (mixture [N], refs [V, N], F0Tracks); refined_f0: F0Tracks per excerpt for the refined
    model (default the excerpts'). Returns per method per voice lists of frame SI-SDR."""
    v = excerpts[0][1].shape[0]
    scores = {m: [[] for _ in range(v)] for m in METHODS if m != "model_refined" or refined is not None}
    for i, (mix, refs, f0) in enumerate(excerpts):
        est = {"mixture": np.repeat(mix[None], v, 0)}
        x = torch.tensor(mix[None])
        est["oracle_irm"] = apply_masks(x, irm_masks_fn(refs, rate), rate)[:, 0].numpy()
        est["harmonic_comb"] = apply_masks(x, comb_masks_fn(model, f0, rate, len(mix)), rate)[:, 0].numpy()
        est["model"] = separate(mix, rate, v, f0=f0, model=model, require_all_voices=False).stems[:, 0]
        if refined is not None:
            f0_r = f0 if refined_f0 is None else refined_f0[i]
            est["model_refined"] = separate(mix, rate, v, f0=f0_r, model=refined,
                                            require_all_voices=False).stems[:, 0]
        for m in scores:
            for k in range(v):
                scores[m][k] += framewise_si_sdr(refs[k], est[m][k], rate)
        print(f"\r{progress_label}: excerpt {i + 1}/{len(excerpts)}", end="", flush=True,
              file=__import__("sys").stderr)
    print(file=__import__("sys").stderr)
    return scores


def _summarise(scores: dict, names: list[str]) -> dict:
    out = {}
    for m, per_voice in scores.items():
        means = [float(np.mean(s)) if s else float("nan") for s in per_voice]
        out[m] = {"mean_si_sdr_db": round(float(np.nanmean(means)), 2),
                  "per_voice_db": {n: round(x, 2) for n, x in zip(names, means)},
                  "frames": int(sum(len(s) for s in per_voice))}
    return out


def _joined(tracks: list[F0Tracks]) -> F0Tracks:
    """The tracks of consecutive EXCERPT_S-long excerpts as one recording's."""
    return F0Tracks(np.concatenate([t.times_s + k * EXCERPT_S for k, t in enumerate(tracks)]),
                    np.concatenate([t.f0_hz for t in tracks], 1), np.concatenate([t.voiced for t in tracks], 1))


def corrected_tracks(model: SeparationModel, mixture: np.ndarray, rate: int, tracks: F0Tracks,
                     rounds: int = 1) -> F0Tracks:
    """Tracked F0 after the analysis-by-synthesis pitch correction separate() applies to tracked F0
    (engine.separation.f0_correction), ``rounds`` times, on the model's frames; mixture [N] at ``rate`` (the
    model's rate)."""
    from engine.separation.f0_correction import correct_rounds

    hop = model.config.hop
    n_frames = len(mixture) // hop
    return correct_rounds(model, mixture[: n_frames * hop], tracks.resampled(np.arange(n_frames) * hop / rate), rounds)


def corrected_after_refinement(refined: SeparationModel, mixture: np.ndarray, rate: int,
                               tracks: F0Tracks) -> F0Tracks:
    """``tracks`` corrected again with the refined model as many times as separate() does."""
    return corrected_tracks(refined, mixture, rate, tracks, F0Correction().refined_rounds)


def evaluate(dataset: str = "csd", f0_mode: str = "oracle", model_path=None, refine_steps: int = 100, device=None,
             data=None, limit: int | None = None, f0_correction: bool = True) -> dict:
    """f0_correction: with estimated F0, correct its pitch as separate() does for tracked F0."""
    t_start = time.time()
    model = SeparationModel.load(model_path or default_model_path())
    hop = model.config.hop
    result = {"dataset": dataset, "f0": f0_mode, "model": str(model_path or default_model_path()),
              "parameters": model.n_parameters(), "refine_steps": refine_steps,
              "f0_correction": bool(f0_correction and f0_mode != "oracle")}
    if dataset == "csd":
        refs, oracle = load_csd()
        mixture = refs.sum(0)
        if f0_mode == "oracle":
            tracks = oracle
        else:
            from engine.f0 import track_voices

            tracks = track_voices(mixture, CSD_RATE, 4)
            if f0_correction:
                tracks = corrected_tracks(model, mixture, CSD_RATE, tracks)
        n_ex = int(len(mixture) // (EXCERPT_S * CSD_RATE))
        if limit:
            n_ex = min(n_ex, limit)
        seg = int(EXCERPT_S * CSD_RATE)
        excerpts = [(mixture[i * seg:(i + 1) * seg], refs[:, i * seg:(i + 1) * seg],
                     excerpt_f0(tracks, i * EXCERPT_S, EXCERPT_S)) for i in range(n_ex)]
        refined, refined_f0 = None, None
        if refine_steps > 0:
            # adapt once to the whole recording (its mixture and F0 only), then separate every excerpt; estimated F0
            # is corrected after each refinement pass, as separate() does
            n_frames = len(mixture) // hop
            tr = tracks.resampled(np.arange(n_frames) * hop / CSD_RATE)
            correcting = f0_correction and f0_mode != "oracle"
            refined, tracks_r = adapt(model, mixture[: n_frames * hop], tr, refine_steps,
                                      F0Correction() if correcting else None, device)
            refined = refined.cpu()
            if correcting:
                refined_f0 = [excerpt_f0(tracks_r, i * EXCERPT_S, EXCERPT_S) for i in range(n_ex)]
        scores = _evaluate_excerpts(excerpts, CSD_RATE, model, refined, "CSD", refined_f0)
        names = ["soprano", "alto", "tenor", "bass"]
        result["excerpts"] = n_ex
        result["rate"] = CSD_RATE
    elif dataset == "synthetic":
        from engine.separation.data import excerpt_folders

        from engine.io.audio import load_audio

        if data is None:
            import tempfile

            from engine.corpus.render import render_corpus

            data = Path(tempfile.mkdtemp(prefix="motet-eval-")) / "corpus"
            render_corpus(data, hours=24 * 4 / 3600, n_voices=4, seconds=4.0, seed=1, split="test", jobs=2)
        folders = excerpt_folders(data)[:limit]
        excerpts = []
        names = None
        for folder in folders:
            tracks_o = F0Tracks.from_csv(folder / "f0.csv")
            names = tracks_o.names
            audio = load_audio(folder / "mixture.wav", mono=True)
            rate = audio.sample_rate
            mix = audio.samples[0]
            refs = np.stack([load_audio(folder / f"{n}.wav", rate, mono=True).samples[0][: len(mix)] for n in names])
            if f0_mode == "oracle":
                tr = tracks_o
            else:
                from engine.f0 import track_voices

                tr = track_voices(mix, rate, len(names))
                if f0_correction:
                    tr = corrected_tracks(model, mix, rate, tr)
            excerpts.append((mix, refs, tr))
        refined, refined_f0 = None, None
        if refine_steps > 0:
            # synthetic excerpts are separate recordings: one refinement on all of them (mixtures + F0 only), in
            # the passes separate() makes (engine.separation.adapt), estimated F0 corrected excerpt by excerpt
            # after each; assumes excerpts at the model rate (the corpus default, 16 kHz)
            correcting = f0_correction and f0_mode != "oracle"
            mixes = np.concatenate([m for m, _, _ in excerpts])
            nf = len(mixes) // hop
            refined, current = model, [t for _, _, t in excerpts]
            for n in pass_steps(refine_steps, correcting):
                tr = _joined(current).resampled(np.arange(nf) * hop / CSD_RATE)
                refined = refine_on(refined, mixes[: nf * hop], tr, n, device).cpu()
                if correcting:
                    current = [corrected_after_refinement(refined, mix, rate, t)
                               for (mix, _, _), t in zip(excerpts, current)]
            refined_f0 = current if correcting else None
        scores = _evaluate_excerpts(excerpts, rate, model, refined, "synthetic", refined_f0)
        result["excerpts"] = len(excerpts)
        result["data"] = str(data)
    else:
        raise MotetError(f"--dataset {dataset}: choose csd or synthetic")
    result["frame_s"] = FRAME_S
    result["excerpt_s"] = EXCERPT_S
    result["methods"] = _summarise(scores, names)
    result["wall_s"] = round(time.time() - t_start, 1)
    return result


def format_table(result: dict) -> str:
    names = list(next(iter(result["methods"].values()))["per_voice_db"])
    lines = [f"{result['dataset']} ({result['excerpts']} excerpts, F0 {result['f0']}): SI-SDR dB",
             f"{'method':16s} {'mean':>7s} " + " ".join(f"{n:>8s}" for n in names)]
    for m, r in result["methods"].items():
        lines.append(f"{m:16s} {r['mean_si_sdr_db']:7.2f} " + " ".join(f"{r['per_voice_db'][n]:8.2f}" for n in names))
    return "\n".join(lines)
