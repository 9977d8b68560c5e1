"""F0 tracks of N voices as plain, editable arrays with a voicing mask, and their CSV form.

CSV form (what ``motet f0`` writes and ``motet separate --f0`` reads): a header ``time,<voice>,<voice>...``,
``time`` in seconds, one column per voice in Hz, 0 where unvoiced, one row per 16 ms hop, voices highest first.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.choir import voice_names
from engine.errors import MotetError

F0_HOP_S = 0.016  # seconds between F0 frames everywhere in motet


def hold_pitch(f0_hz: np.ndarray) -> np.ndarray:
    """[V, T] F0 in Hz with a pitch guess on every frame: a frame without a value (<= 0) takes the value of the
    nearest frame that has one (the earlier one on a tie), so a gap inside a phrase holds the notes around it. A voice
    with no value anywhere stays 0."""
    f0_hz = np.atleast_2d(np.asarray(f0_hz, dtype=np.float64))
    out = f0_hz.copy()
    frames = np.arange(f0_hz.shape[1])
    for v, row in enumerate(f0_hz):
        have = np.nonzero(row > 0)[0]
        if len(have) == 0:
            continue
        after = np.clip(np.searchsorted(have, frames), 0, len(have) - 1)
        before = np.clip(after - 1, 0, len(have) - 1)
        take_before = np.abs(frames - have[before]) <= np.abs(have[after] - frames)
        out[v] = row[np.where(take_before, have[before], have[after])]
    return out


@dataclass
class F0Tracks:
    """F0 of ``V`` voices over ``T`` frames.

    times_s: [T] frame times in seconds. f0_hz: [V, T] in Hz; where a voice is unvoiced it may hold the tracker's
    pitch guess (what the voice would sing there if it sang: :func:`hold_pitch`), never used as voiced. voiced:
    [V, T] bool. names: V voice names, highest voice first.
    """

    times_s: np.ndarray
    f0_hz: np.ndarray
    voiced: np.ndarray
    names: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.times_s = np.asarray(self.times_s, dtype=np.float64)
        self.f0_hz = np.atleast_2d(np.asarray(self.f0_hz, dtype=np.float64))
        self.voiced = np.atleast_2d(np.asarray(self.voiced, dtype=bool))
        if not self.names:
            self.names = voice_names(self.f0_hz.shape[0])
        if self.f0_hz.shape != self.voiced.shape or self.f0_hz.shape[1] != self.times_s.shape[0]:
            raise ValueError(f"F0 shapes disagree: times {self.times_s.shape}, f0 {self.f0_hz.shape}, "
                             f"voiced {self.voiced.shape}")
        if len(self.names) != self.f0_hz.shape[0]:
            raise ValueError(f"{len(self.names)} names for {self.f0_hz.shape[0]} voices")

    @property
    def n_voices(self) -> int:
        return self.f0_hz.shape[0]

    @property
    def n_frames(self) -> int:
        return self.f0_hz.shape[1]

    def masked(self) -> np.ndarray:
        """[V, T] F0 in Hz with 0 where unvoiced (the CSV convention)."""
        return np.where(self.voiced & (self.f0_hz > 0), self.f0_hz, 0.0)

    def signed(self) -> np.ndarray:
        """[V, T] the mir_eval/MIREX form: F0 in Hz where voiced, minus the pitch guess where unvoiced, 0 where there
        is none (raw pitch accuracy scores the pitch on every reference-voiced frame, the voicing is scored apart)."""
        return np.where(self.voiced & (self.f0_hz > 0), self.f0_hz, -np.maximum(self.f0_hz, 0.0))

    def resampled(self, times_s: np.ndarray) -> "F0Tracks":
        """These tracks at other frame times: F0 interpolated in log frequency, voicing by nearest frame."""
        times_s = np.asarray(times_s, dtype=np.float64)
        f0 = np.zeros((self.n_voices, len(times_s)))
        voiced = np.zeros((self.n_voices, len(times_s)), dtype=bool)
        if self.n_frames == 0:
            return F0Tracks(times_s, f0, voiced, list(self.names))
        nearest = np.clip(np.searchsorted(self.times_s, times_s), 0, self.n_frames - 1)
        prev = np.clip(nearest - 1, 0, self.n_frames - 1)
        closer_prev = np.abs(self.times_s[prev] - times_s) < np.abs(self.times_s[nearest] - times_s)
        nearest = np.where(closer_prev, prev, nearest)
        for v in range(self.n_voices):
            ok = self.voiced[v] & (self.f0_hz[v] > 0)
            if ok.any():
                f0[v] = np.exp(np.interp(times_s, self.times_s[ok], np.log(self.f0_hz[v, ok])))
            voiced[v] = ok[nearest]
        return F0Tracks(times_s, f0, voiced, list(self.names))

    def to_csv(self, path: str | Path) -> None:
        """Write the CSV form (see module docstring)."""
        values = self.masked()
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["time", *self.names])
            for t in range(self.n_frames):
                writer.writerow([f"{self.times_s[t]:.3f}", *(f"{values[v, t]:.2f}" for v in range(self.n_voices))])

    @classmethod
    def from_csv(cls, path: str | Path, n_voices: int | None = None) -> "F0Tracks":
        """Read the CSV form; a clear MotetError for a missing file, wrong columns or bad numbers."""
        path = Path(path)
        if not path.is_file():
            raise MotetError(f"{path}: F0 file not found")
        try:
            with open(path, newline="") as fh:
                rows = list(csv.reader(fh))
        except (OSError, UnicodeDecodeError) as err:
            raise MotetError(f"{path}: cannot read F0 CSV ({err})") from None
        if not rows or not rows[0] or rows[0][0].strip().lower() != "time" or len(rows[0]) < 2:
            raise MotetError(f"{path}: F0 CSV must start with a header 'time,<voice>,...' (one column per voice)")
        names = [name.strip() for name in rows[0][1:]]
        if n_voices is not None and len(names) != n_voices:
            raise MotetError(f"{path}: F0 CSV has {len(names)} voice columns, but {n_voices} voices were asked for")
        try:
            data = np.array([[float(x) for x in row] for row in rows[1:] if row], dtype=np.float64)
        except ValueError:
            raise MotetError(f"{path}: F0 CSV holds a value that is not a number") from None
        if data.size == 0:
            raise MotetError(f"{path}: F0 CSV has no frames")
        if data.ndim != 2 or data.shape[1] != len(names) + 1:
            raise MotetError(f"{path}: every F0 CSV row needs {len(names) + 1} values")
        if not np.all(np.isfinite(data)) or (data[:, 1:] < 0).any():
            raise MotetError(f"{path}: F0 CSV holds negative or non-finite values")
        f0 = data[:, 1:].T
        return cls(data[:, 0], f0, f0 > 0, names)
