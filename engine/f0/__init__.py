"""Per-voice F0 tracks of a choir: the editable data (:mod:`engine.f0.tracks`) and the trackers that make them."""
from engine.f0.tracks import F0_HOP_S, F0Tracks

__all__ = ["F0_HOP_S", "F0Tracks"]
