"""A log-frequency magnitude spectrogram for display (numpy only; runs on the engine worker).

The frequency axis is in MIDI pitch units (69 = A4 = 440 Hz) so that F0 curves and semitone drags share one
scale with the image: bin ``k`` is centred at pitch ``midi_lo + k / bins_per_semitone``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from engine.jobs import Progress, report

MIDI_LO = 28.0   # E1, 41 Hz
MIDI_HI = 112.0  # E8, 5.3 kHz: enough to see formants and breath without wasting rows
MAX_FRAMES = 40_000  # long files get a larger hop so the image stays small


@dataclass
class Spectrogram:
    """db: float32 [frames, bins] in dB re the loudest bin; frame ``t`` is centred at ``t * hop_s`` seconds."""

    db: np.ndarray
    hop_s: float
    midi_lo: float
    bins_per_semitone: int

    @property
    def midi_hi(self) -> float:
        return self.midi_lo + self.db.shape[1] / self.bins_per_semitone

    @property
    def duration_s(self) -> float:
        return self.db.shape[0] * self.hop_s


def midi_to_hz(midi):
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def hz_to_midi(hz):
    hz = np.asarray(hz, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 69.0 + 12.0 * np.log2(hz / 440.0)


def log_spectrogram(mono: np.ndarray, sample_rate: int, bins_per_semitone: int = 3,
                    progress: Optional[Progress] = None) -> Spectrogram:
    """Spectrogram of ``mono`` ([frames] float) with log-spaced bins from MIDI_LO up to MIDI_HI (or Nyquist).

    A Hann-windowed STFT (~93 ms window at 44.1 kHz, so low voices resolve into harmonics), magnitudes read at
    the log-spaced frequencies by linear interpolation between FFT bins, in dB. Processed in chunks, reporting
    progress between them.
    """
    mono = np.asarray(mono, dtype=np.float32)
    n_fft = 1 << int(np.round(np.log2(sample_rate * 0.093)))
    hop = max(int(round(sample_rate * 0.01)), int(np.ceil(len(mono) / MAX_FRAMES)))
    n_frames = max(1, 1 + len(mono) // hop)
    padded = np.pad(mono, (n_fft // 2, n_fft // 2 + hop))
    window = np.hanning(n_fft).astype(np.float32)

    midi_hi = min(MIDI_HI, float(hz_to_midi(sample_rate / 2 * 0.95)))
    n_bins = int((midi_hi - MIDI_LO) * bins_per_semitone)
    centres = MIDI_LO + (np.arange(n_bins) + 0.5) / bins_per_semitone
    pos = midi_to_hz(centres) * n_fft / sample_rate
    lo = np.floor(pos).astype(np.int64)
    frac = (pos - lo).astype(np.float32)

    out = np.empty((n_frames, n_bins), dtype=np.float32)
    chunk = 2048
    for start in range(0, n_frames, chunk):
        stop = min(n_frames, start + chunk)
        idx = (np.arange(start, stop) * hop)[:, None] + np.arange(n_fft)[None, :]
        frames = padded[idx] * window
        mag = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32)
        out[start:stop] = mag[:, lo] * (1 - frac) + mag[:, lo + 1] * frac
        report(progress, stop / n_frames, f"spectrogram {stop}/{n_frames} frames")
    db = 20.0 * np.log10(out + 1e-9)
    db -= db.max()
    return Spectrogram(np.maximum(db, -100.0).astype(np.float32), hop / sample_rate, MIDI_LO, bins_per_semitone)
