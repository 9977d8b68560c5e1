"""Training data: excerpt folders of the synthetic choir corpus (``motet data choir``: mixture.wav, <voice>.wav,
f0.csv, meta.json), loaded into memory at the model rate with F0 on the model's frames.

The loss only ever sees ``mixture``, ``f0_hz`` and ``voiced``; ``stems`` are kept for validation metrics only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import MotetError
from engine.f0.tracks import F0Tracks
from engine.separation.model import model_f0


@dataclass
class ExcerptSet:
    """mixture: [E, N] float32; f0_hz, voiced: [E, V, T]; stems: [E, V, N] or None (validation only)."""

    mixture: np.ndarray
    f0_hz: np.ndarray
    voiced: np.ndarray
    stems: np.ndarray | None


def excerpt_folders(root: str | Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise MotetError(f"{root}: training data folder not found (render one with 'motet data choir -o DIR')")
    # meta.json is written last: a folder without it may still be being rendered
    folders = sorted(p.parent for p in root.rglob("mixture.wav") if (p.parent / "meta.json").is_file())
    if not folders:
        raise MotetError(f"{root}: holds no excerpt folder with a mixture.wav")
    return folders


def load_excerpt(folder: Path, sample_rate: int, hop: int, n_frames: int, with_stems: bool):
    """(mixture [N], f0 [V, T], voiced [V, T], stems [V, N] | None) of one folder, N = n_frames * hop."""
    from engine.io.audio import load_audio

    tracks = F0Tracks.from_csv(folder / "f0.csv")
    n = n_frames * hop
    mix = load_audio(folder / "mixture.wav", sample_rate, mono=True).samples[0][:n]
    mix = np.pad(mix, (0, n - len(mix)))
    res = tracks.resampled(np.arange(n_frames) * hop / sample_rate)
    f0 = model_f0(res.f0_hz).numpy()
    stems = None
    if with_stems:
        stems = np.stack([np.pad(s := load_audio(folder / f"{name}.wav", sample_rate, mono=True).samples[0][:n],
                                 (0, n - len(s))) for name in tracks.names])
    return mix.astype(np.float32), f0, res.voiced.astype(np.float32), stems


def load_excerpts(root: str | Path, sample_rate: int, hop: int, seconds: float | None = None,
                  with_stems: bool = False, limit: int | None = None) -> ExcerptSet:
    """All excerpts under ``root`` with the most common voice count, cut/padded to ``seconds`` (default: the
    first excerpt's length, rounded down to whole frames)."""
    folders = excerpt_folders(root)[:limit]
    if seconds is None:
        import soundfile as sf

        seconds = sf.info(str(folders[0] / "mixture.wav")).duration
    n_frames = int(math.floor(seconds * sample_rate / hop))
    items = [load_excerpt(f, sample_rate, hop, n_frames, with_stems) for f in folders]
    counts = [it[1].shape[0] for it in items]
    v = max(set(counts), key=counts.count)
    items = [it for it in items if it[1].shape[0] == v]
    return ExcerptSet(np.stack([it[0] for it in items]), np.stack([it[1] for it in items]),
                      np.stack([it[2] for it in items]),
                      np.stack([it[3] for it in items]) if with_stems else None)
