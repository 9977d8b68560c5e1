"""Per-voice F0 tracks of a choir: the editable data (:mod:`engine.f0.tracks`) and the trackers that make them.

- :func:`track_voices`: F0 of N voices from a mixture, blind or informed by a score (MusicXML/MIDI).
- :func:`track_single`: F0 of one voice or stem (YIN), accurate to a few cents on clean voices.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.f0.tracks import F0_HOP_S, F0Tracks
from engine.f0.single import track_single

__all__ = ["F0_HOP_S", "F0Tracks", "track_single", "track_voices"]


def track_voices(samples: np.ndarray, sample_rate: int, n_voices: int, score: str | Path | None = None,
                 progress=None) -> F0Tracks:
    """F0 of ``n_voices`` voices of a choir mixture, highest voice first, 16 ms hop.

    samples: [frames] float (mono mixture). score: optional MusicXML/MIDI of the piece; with it the score is
    aligned to the recording and each note's F0 is measured around its written pitch. Raises MotetError for
    silence, no voice found, or a score whose part count differs from ``n_voices``.
    """
    if score is not None:
        from engine.f0.informed import track_voices_informed

        return track_voices_informed(samples, sample_rate, n_voices, score, progress=progress)
    from engine.f0.blind import track_voices_blind

    return track_voices_blind(samples, sample_rate, n_voices, progress=progress)
