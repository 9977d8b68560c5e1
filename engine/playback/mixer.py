"""The real-time mixer: adds pre-rendered float32 tracks into an output block. Pure numpy, no allocation.

The control thread (GUI/engine) never changes a :class:`TrackState` that the audio callback may be reading; it
builds new ones and publishes a new :class:`MixState` by assigning one attribute (atomic in Python). The only
field the callback writes is ``TrackState.fade_pos``, and only the callback writes it.

Layouts are channel-major, like :class:`engine.io.audio.Audio`: a track's ``samples`` are
``[source_channels, frames]`` float32 C-contiguous rows, source_channels 1 (mono, spread to every output channel)
or the output channel count; the mix block is ``[channels, frames]``. Every numpy call works on 1-D contiguous
rows with scalar factors: 2-D broadcasting makes numpy allocate iterator buffers (measured: ~64 KiB per call
for a 4096-frame stereo block), rows and scalars make it allocate none.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

FADE_S = 0.010  # crossfade length for replaced audio, gain/mute/solo changes, play/pause/seek


def db_to_gain(db: float) -> float:
    """Linear amplitude factor of ``db`` decibels; -inf dB (or below -120 dB) is silence."""
    return 0.0 if db <= -120.0 else float(10.0 ** (db / 20.0))


def pan_gains(gain: float, pan: float, channels: int) -> tuple:
    """``channels`` float32 scalar factors: ``gain`` spread by a balance law (pan -1 = left only, 0 = both at ``gain``,
    +1 = right only; the far side falls linearly, the near side stays at ``gain``). Mono output ignores pan."""
    if channels == 1:
        return (np.float32(gain),)
    return (np.float32(gain * min(1.0, 1.0 - pan)), np.float32(gain * min(1.0, 1.0 + pan)))


class TrackState:
    """One track as the callback sees it. Made by the control thread, never mutated by it afterwards.

    samples: [1 | channels, frames] float32; gains: per output channel, effective (0 when muted or not soloed).
    prev_samples / prev_gains: what was heard before the last change (None: silence, e.g. a new track); the
    callback crossfades from them to the new ones over the mixer's fade length, counting in ``fade_pos``.
    ``fade=False`` starts with no crossfade.
    """

    __slots__ = ("name", "samples", "gains", "silent", "prev_samples", "prev_gains", "prev_silent", "fade_pos")

    def __init__(self, name: str, samples: np.ndarray, gains: tuple,
                 previous: Optional["TrackState"] = None, fade: bool = True):
        self.name = name
        self.samples = samples
        self.gains = gains
        self.silent = not any(gains)
        if previous is not None and fade:
            self.prev_samples, self.prev_gains, self.prev_silent = previous.samples, previous.gains, previous.silent
        else:
            self.prev_samples, self.prev_gains, self.prev_silent = None, None, True
        self.fade_pos = 0 if fade else _DONE

    @property
    def frames(self) -> int:
        return self.samples.shape[1]


_DONE = 1 << 62  # fade_pos of a finished crossfade


class MixState:
    """An immutable snapshot of all tracks: the callback reads ``player._mix`` once per block."""

    __slots__ = ("tracks", "frames")

    def __init__(self, tracks: tuple = (), frames: Optional[int] = None):
        """frames: the length that plays (default: the longest track; removed tracks still fading out don't
        count)."""
        self.tracks = tracks
        self.frames = max((t.frames for t in tracks), default=0) if frames is None else frames


class Mixer:
    """Adds tracks into ``[channels, n]`` blocks with preallocated scratch memory.

    ``max_block``: the largest number of frames one call may mix; callers split longer blocks.
    """

    def __init__(self, sample_rate: int, channels: int, max_block: int):
        self.sample_rate = sample_rate
        self.channels = channels
        self.max_block = max_block
        self.fade_len = max(1, round(FADE_S * sample_rate))
        weights = (np.arange(self.fade_len, dtype=np.float64) + 0.5) / self.fade_len
        self.fade_in = weights.astype(np.float32)  # [fade_len]
        self.fade_out = (1.0 - weights).astype(np.float32)
        self._tmp = np.zeros(max_block, dtype=np.float32)
        self.block = np.zeros((channels, max_block), dtype=np.float32)  # the Player mixes into this
        self.scratch = np.zeros((channels, max_block), dtype=np.float32)  # the Player's seek crossfade

    def _add(self, dest: np.ndarray, samples: np.ndarray, gains: tuple, pos: int,
             weights: Optional[np.ndarray] = None) -> None:
        """dest[c, :m] += samples[c or 0, pos:pos+m] * gains[c] (* weights), m clipped to the samples' end."""
        n = dest.shape[1]
        m = samples.shape[1] - pos
        if m <= 0:
            return
        if m > n:
            m = n
        tmp = self._tmp[:m]
        mono = samples.shape[0] == 1
        for c in range(dest.shape[0]):
            gain = gains[c]
            if gain == 0.0:
                continue
            np.multiply(samples[0 if mono else c, pos:pos + m], gain, out=tmp)
            if weights is not None:
                np.multiply(tmp, weights[:m], out=tmp)
            row = dest[c, :m]
            np.add(row, tmp, out=row)

    def mix(self, dest: np.ndarray, pos: int, mix: MixState, fades: bool = True) -> None:
        """Add every track's frames [pos, pos + n) into ``dest`` [channels, n], n <= max_block.

        ``fades``: advance running crossfades (the normal case); False renders the tracks' current state only
        (used to render the old side of a seek crossfade without counting it twice).
        """
        n = dest.shape[1]
        fade_len = self.fade_len
        for track in mix.tracks:
            fp = track.fade_pos
            if fades and fp < fade_len:
                f = fade_len - fp
                if f > n:
                    f = n
                head = dest[:, :f]
                if not track.silent:
                    self._add(head, track.samples, track.gains, pos, self.fade_in[fp:fp + f])
                if not track.prev_silent:
                    self._add(head, track.prev_samples, track.prev_gains, pos, self.fade_out[fp:fp + f])
                track.fade_pos = fp + f
                if f < n and not track.silent:
                    self._add(dest[:, f:], track.samples, track.gains, pos + f)
            elif not track.silent:
                self._add(dest, track.samples, track.gains, pos)

    @staticmethod
    def settle(mix: MixState) -> None:
        """Finish every running crossfade at once (while nothing is audible)."""
        for track in mix.tracks:
            track.fade_pos = _DONE
