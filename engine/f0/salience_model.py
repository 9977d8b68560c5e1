"""A learned multi-F0 salience: a small network on a harmonic stack of the spectrum, after Bittner, McFee,
Salamon, Li & Bello, "Deep Salience Representations for F0 Estimation in Polyphonic Music" (ISMIR 2017).

Input: for every frame and every candidate F0 of the 20-cent grid, the compressed spectrum at 0.5, 1, 1.5, 2, ...
6 times that F0 (the harmonic stack: a voice's partials line up along the channel axis; a ghost made of a lower
voice's partials shows energy at 0.5 x and 1.5 x). Output: the probability that some voice sings within ~20 cents of that F0, [T, F]. Trained on
the synthetic choir corpus (``motet train f0``); never on CSD. The weights are small (tens of kB).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.datasets import assets_dir
from engine.errors import MotetError
from engine.f0.salience import ANALYSIS_RATE, N_FFT, grid_hz, harmonic_matrix

HARMONICS = (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6)
MODEL_PATH = Path("models") / "f0_salience.pt"
CHANNELS = 24


def harmonic_stack(mag: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """[C, T, F] float32: log-compressed magnitude at h x F0 for h in :data:`HARMONICS`, then the candidate F0's
    register (log2 F0 / 55 Hz, a constant plane). mag: [T, K] STFT magnitudes
    (:func:`engine.f0.salience.magnitude_spectrogram`), normalised by a loud-frame level so that a 4-s excerpt
    and a whole recording look alike."""
    level = np.percentile(mag.max(axis=1), 95) if mag.size else 1.0
    spec = np.log1p(100.0 * mag / max(level, 1e-9)).astype(np.float32)
    out = np.empty((len(HARMONICS) + 1, mag.shape[0], len(grid)), dtype=np.float32)
    for c, h in enumerate(HARMONICS):
        out[c] = np.asarray(spec @ harmonic_matrix(h * grid, n_harmonics=1, decay=1.0, n_fft=N_FFT,
                                                   sample_rate=ANALYSIS_RATE))
    out[-1] = np.log2(grid / 55.0)[None, :]
    return out


PATCH = (5, 3)  # frames x bins the network reads around each candidate


def build_model():
    """The salience network: harmonic stack [B, C, T, F] -> logits [B, T - 4, F - 2] (unpadded; see
    :func:`salience_logits`). A (5 frames x 3 bins) convolution reads each candidate's harmonic pattern over
    80 ms; two 1x1 layers judge it. It is a per-bin classifier with context, small enough to train on two CPU
    cores in minutes (on patches, :func:`engine.f0.training.train_salience`)."""
    import torch
    from torch import nn

    class SalienceNet(nn.Module):
        def __init__(self):
            super().__init__()
            c = CHANNELS
            self.net = nn.Sequential(
                nn.Conv2d(len(HARMONICS) + 1, c, PATCH), nn.ReLU(),
                nn.Conv2d(c, c, (1, 1)), nn.ReLU(),
                nn.Conv2d(c, c, (1, 1)), nn.ReLU(),
                nn.Conv2d(c, 1, (1, 1)),
            )

        def forward(self, x):  # x: [B, C, T, F]
            return self.net(x)[:, 0]

    torch.manual_seed(0)
    return SalienceNet()


def salience_logits(model, x):
    """Logits [B, T, F] of harmonic stacks x [B, C, T, F], edges padded by repetition."""
    import torch.nn.functional as F

    pt, pf = PATCH[0] // 2, PATCH[1] // 2
    return model(F.pad(x, (pf, pf, pt, pt), mode="replicate"))


def model_file() -> Path:
    return assets_dir() / MODEL_PATH


@lru_cache(maxsize=1)
def load_model():
    """The trained salience CNN (eval mode, CPU), or None when no weights are shipped."""
    import torch

    path = model_file()
    if not path.is_file():
        return None
    model = build_model()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
    except Exception as err:
        raise MotetError(f"{path}: unreadable F0 salience weights ({err})") from None
    model.eval()
    return model


def learned_salience(mag: np.ndarray, grid: np.ndarray | None = None, chunk: int = 2000, progress=None) -> np.ndarray:
    """[T, F] probability of a sung F0 at each grid bin (grid: :func:`grid_hz` by default). mag: [T, K]. Runs in
    overlapping chunks of ``chunk`` frames. Raises MotetError when no weights are shipped."""
    import torch

    from engine.jobs import report

    model = load_model()
    if model is None:
        raise MotetError(f"{model_file()}: no trained F0 salience model (train one with 'motet train f0')")
    grid = grid_hz() if grid is None else grid
    feats = harmonic_stack(mag, grid)
    n_frames = feats.shape[1]
    out = np.zeros((n_frames, len(grid)), dtype=np.float32)
    margin = 4  # the network sees 2 frames either side
    with torch.inference_mode():
        for start in range(0, n_frames, chunk):
            report(progress, start / max(n_frames, 1), "learned pitch salience")
            a, b = max(0, start - margin), min(n_frames, start + chunk + margin)
            x = torch.from_numpy(np.ascontiguousarray(feats[:, a:b]))[None]
            prob = torch.sigmoid(salience_logits(model, x))[0].numpy()
            out[start:min(n_frames, start + chunk)] = prob[start - a: start - a + min(chunk, n_frames - start)]
    return out


def probability_at(mag: np.ndarray, grid: np.ndarray, t_idx: np.ndarray, f_idx: np.ndarray) -> np.ndarray:
    """[N] learned probability at N (frame, grid bin) points only: the same numbers as :func:`learned_salience`
    there, at a fraction of its cost (the network reads a 5 x 3 patch around each point). mag: [T, K]."""
    import torch

    model = load_model()
    if model is None:
        raise MotetError(f"{model_file()}: no trained F0 salience model (train one with 'motet train f0')")
    n_frames, n_bins = mag.shape
    level = np.percentile(mag.max(axis=1), 95) if mag.size else 1.0
    spec = np.log1p(100.0 * mag / max(level, 1e-9)).astype(np.float32)
    pt, pf = PATCH[0] // 2, PATCH[1] // 2
    t = np.clip(t_idx[:, None, None] + np.arange(-pt, pt + 1)[None, :, None], 0, n_frames - 1)  # [N, 5, 1]
    f = np.clip(f_idx[:, None, None] + np.arange(-pf, pf + 1)[None, None, :], 0, len(grid) - 1)  # [N, 1, 3]
    t, f = np.broadcast_arrays(t, f)
    x = np.empty((len(t_idx), len(HARMONICS) + 1, PATCH[0], PATCH[1]), dtype=np.float32)
    for c, h in enumerate(HARMONICS):
        pos = h * grid[f] * N_FFT / ANALYSIS_RATE
        ok = pos < n_bins - 2
        lo = np.minimum(np.floor(pos).astype(int), n_bins - 2)
        frac = (pos - lo).astype(np.float32)
        x[:, c] = np.where(ok, spec[t, lo] * (1 - frac) + spec[t, lo + 1] * frac, 0.0)
    x[:, -1] = np.log2(grid[f] / 55.0)
    with torch.inference_mode():
        return torch.sigmoid(model(torch.from_numpy(x))).reshape(-1).numpy()


def target_map(f0_hz: np.ndarray, voiced: np.ndarray, grid: np.ndarray, sigma_bins: float = 1.0) -> np.ndarray:
    """[T, F] training target: a Gaussian bump (``sigma_bins`` wide, peak 1) at every voiced F0 (f0_hz, voiced:
    [V, T]), the maximum over voices."""
    log_grid = np.log2(grid)
    step = log_grid[1] - log_grid[0]
    out = np.zeros((f0_hz.shape[1], len(grid)), dtype=np.float32)
    for v in range(f0_hz.shape[0]):
        on = voiced[v] & (f0_hz[v] > 0)
        pos = (np.log2(np.where(on, f0_hz[v], 1.0)) - log_grid[0]) / step  # [T]
        bump = np.exp(-0.5 * ((np.arange(len(grid))[None, :] - pos[:, None]) / sigma_bins) ** 2)
        out = np.maximum(out, np.where(on[:, None], bump, 0.0).astype(np.float32))
    return out
