"""Choir separation with differentiable source-filter voice models (see docs/separation.md).

``separate(audio, sample_rate, n_voices, f0=None, score=None, refine_steps=0, device=None, progress=None)``
returns a :class:`Separation` (stems at the input rate, the F0 used, θ); ``write_separation(sep, DIR)`` writes
the stems, f0.csv and params.npz. Modules: features/encoder/model (the network and its loss), masks, separate,
refine, data/train (``motet train separation``), evaluate (``motet eval separation``), bench.
"""
from engine.separation.separate import Separation, separate, write_separation

__all__ = ["Separation", "separate", "write_separation"]
