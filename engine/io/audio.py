"""Audio files in and out (soundfile), resampling with soxr.

Samples are float32 arrays shaped [channels, frames]. Loading never writes the input file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.errors import MotetError


@dataclass
class Audio:
    """samples: float32 [channels, frames]; sample_rate in Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    def mono(self) -> np.ndarray:
        """[frames] float32 mean of the channels."""
        return self.samples.mean(axis=0) if self.channels > 1 else self.samples[0]


def load_audio(path: str | Path, sample_rate: int | None = None, mono: bool = False) -> Audio:
    """Read WAV/FLAC/OGG/MP3 at its own rate, or resampled to ``sample_rate`` Hz; ``mono`` averages channels."""
    path = Path(path)
    if not path.exists():
        raise MotetError(f"{path}: file not found")
    if path.is_dir():
        raise MotetError(f"{path}: is a directory, not an audio file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types for unreadable files
        raise MotetError(f"{path}: not a readable audio file ({str(err).splitlines()[0]})") from None
    samples = np.ascontiguousarray(data.T)
    if mono and samples.shape[0] > 1:
        samples = samples.mean(axis=0, keepdims=True)
    if sample_rate is not None and sample_rate != rate:
        import soxr

        samples = np.ascontiguousarray(soxr.resample(samples.T, rate, sample_rate).T.astype(np.float32))
        rate = sample_rate
    return Audio(samples, int(rate))


def save_audio(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write [channels, frames] or [frames] float samples as WAV (float32) or FLAC (24-bit), by suffix."""
    path = Path(path)
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None]
    suffix = path.suffix.lower()
    if suffix == ".flac":
        sf.write(str(path), np.clip(samples.T, -1.0, 1.0), sample_rate, subtype="PCM_24", format="FLAC")
    elif suffix == ".wav":
        sf.write(str(path), samples.T, sample_rate, subtype="FLOAT", format="WAV")
    else:
        raise MotetError(f"{path}: can save .wav or .flac, not '{suffix or 'no suffix'}'")
