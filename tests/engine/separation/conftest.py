import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle torch threads sleep (the shared CPU), see engine.cli

import numpy as np
import pytest
import torch

from engine.dsp import harmonic_bank
from engine.f0.tracks import F0Tracks
from engine.separation.model import ModelConfig, SeparationModel


def chord(rate: int, seconds: float, f0s=(440.0, 293.66), n_harmonics: int = 40, seed: int = 0):
    """(mixture [N], stems [V, N], F0Tracks): steady harmonic voices with 1/k amplitudes, up to ``rate``/2."""
    hop = int(round(0.016 * rate))
    frames = int(seconds / 0.016)
    stems = []
    for i, f0 in enumerate(f0s):
        f = torch.full((1, frames), f0, dtype=torch.float64) * (1 + 0.003 * torch.sin(torch.arange(frames) / 9.0 + i))
        amps = (0.1 / torch.arange(1, n_harmonics + 1, dtype=torch.float64)).expand(1, frames, n_harmonics)
        stems.append(harmonic_bank(f, amps.contiguous(), rate, hop)[0].numpy().astype(np.float32))
    stems = np.stack(stems)
    rng = np.random.default_rng(seed)
    stems += 1e-4 * rng.standard_normal(stems.shape).astype(np.float32)
    times = np.arange(frames) * 0.016
    tracks = F0Tracks(times, np.array(f0s)[:, None].repeat(frames, 1), np.ones((len(f0s), frames), bool))
    return stems.sum(0), stems, tracks


@pytest.fixture(scope="session")
def tiny_model():
    torch.manual_seed(0)
    return SeparationModel(ModelConfig(hidden=32, n_blocks=1)).eval()
