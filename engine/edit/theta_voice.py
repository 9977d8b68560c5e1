"""The part of θ that editing reads for one voice, and a separation folder as ``motet separate`` writes it.

See ``docs/theta.md``. Editing needs each voice's F0 track and voicing (they place the harmonic comb and drive
pitch edits); the other keys are carried along for the app.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import MotetError


@dataclass
class ThetaVoice:
    """θ of one voice. f0_hz: [T] Hz; voiced: [T] bool; frame t is centred at t * hop_s seconds.

    extra: the voice's other θ arrays by key (``hnr_db`` [T], ``lsf_rad`` [T, P], ...), unchanged.
    """

    name: str
    f0_hz: np.ndarray
    voiced: np.ndarray
    hop_s: float
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.f0_hz = np.asarray(self.f0_hz, dtype=np.float64).reshape(-1)
        self.voiced = np.asarray(self.voiced, dtype=bool).reshape(-1) & (self.f0_hz > 0)
        if self.f0_hz.shape != self.voiced.shape:
            raise MotetError(f"theta of {self.name}: f0_hz {self.f0_hz.shape} and voiced {self.voiced.shape} differ")
        if not self.hop_s > 0:
            raise MotetError(f"theta of {self.name}: hop_s must be > 0")

    @property
    def times_s(self) -> np.ndarray:
        return np.arange(len(self.f0_hz)) * self.hop_s

    def at(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(f0_hz [N], voiced [N]) at other times: F0 interpolated in log frequency, voicing of the nearest frame."""
        times_s = np.asarray(times_s, dtype=np.float64)
        if len(self.f0_hz) == 0 or not self.voiced.any():
            return np.zeros(len(times_s)), np.zeros(len(times_s), dtype=bool)
        ok = self.voiced
        f0 = np.exp(np.interp(times_s, self.times_s[ok], np.log(self.f0_hz[ok])))
        nearest = np.clip(np.round(times_s / self.hop_s).astype(int), 0, len(self.f0_hz) - 1)
        voiced = self.voiced[nearest] & (times_s >= -self.hop_s) & (times_s <= self.times_s[-1] + self.hop_s)
        return f0, voiced

    @classmethod
    def from_f0(cls, name: str, times_s: np.ndarray, f0_hz: np.ndarray, hop_s: float = 0.016) -> "ThetaVoice":
        """θ from an F0 track alone (Hz, 0 = unvoiced) given at ``times_s``, resampled to ``hop_s``."""
        times_s = np.asarray(times_s, dtype=np.float64)
        f0_hz = np.asarray(f0_hz, dtype=np.float64)
        n = int(np.floor(times_s[-1] / hop_s)) + 1 if len(times_s) else 0
        grid = np.arange(n) * hop_s
        ok = f0_hz > 0
        if not ok.any():
            return cls(name, np.zeros(n), np.zeros(n, dtype=bool), hop_s)
        f0 = np.exp(np.interp(grid, times_s[ok], np.log(f0_hz[ok])))
        nearest = np.clip(np.searchsorted(times_s, grid), 0, len(times_s) - 1)
        return cls(name, f0, ok[nearest], hop_s)


@dataclass
class SeparationDir:
    """What ``motet separate`` wrote in ``path``: stems ``<voice>.wav`` and ``params.npz`` (θ)."""

    path: Path
    names: list[str]
    thetas: dict[str, ThetaVoice]

    def stem_path(self, name: str) -> Path:
        return self.path / f"{name}.wav"

    def theta(self, name: str) -> ThetaVoice:
        if name not in self.thetas:
            raise MotetError(f"{self.path}: no voice named '{name}' (voices: {', '.join(self.names)})")
        return self.thetas[name]

    @property
    def edits_path(self) -> Path:
        return self.path / "edits.json"


PER_VOICE_KEYS = ("loudness_db", "hnr_db", "tilt_db_per_octave", "lsf_rad", "noise_bands_db")


def load_separation_dir(path: str | Path) -> SeparationDir:
    """Read ``path/params.npz`` (θ); one clear MotetError when the folder, the file or a key is missing."""
    path = Path(path)
    if not path.is_dir():
        raise MotetError(f"{path}: not a folder (give the folder written by 'motet separate')")
    params = path / "params.npz"
    if not params.is_file():
        raise MotetError(f"{path}: no params.npz here (run 'motet separate INPUT -o {path}' first)")
    try:
        with np.load(params, allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
    except Exception as err:
        raise MotetError(f"{params}: not a readable params file ({err})") from None
    missing = [k for k in ("names", "hop_s", "f0_hz", "voiced") if k not in data]
    if missing:
        raise MotetError(f"{params}: missing key(s) {', '.join(missing)} (see docs/theta.md)")
    names = [str(n) for n in np.atleast_1d(data["names"])]
    f0 = np.atleast_2d(data["f0_hz"])
    voiced = np.atleast_2d(data["voiced"])
    if f0.shape[0] != len(names) or voiced.shape != f0.shape:
        raise MotetError(f"{params}: {len(names)} names but f0_hz {f0.shape}, voiced {voiced.shape}")
    hop_s = float(data["hop_s"])
    thetas = {}
    for v, name in enumerate(names):
        extra = {k: data[k][v] for k in PER_VOICE_KEYS if k in data and len(data[k]) == len(names)}
        if "sample_rate" in data:
            extra["model_sample_rate"] = int(data["sample_rate"])
        thetas[name] = ThetaVoice(name, f0[v], voiced[v], hop_s, extra)
    return SeparationDir(path, names, thetas)
