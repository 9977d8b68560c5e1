"""Synthetic choir corpus: music21 scores sung by a glottal-pulse formant synthesiser in a synthetic room.

API for other areas::

    from engine.corpus import render_excerpt, list_pieces
    ex = render_excerpt("bach/bwv10.7", start_bar=2, n_voices=4, seconds=4.0, rate=16000, seed=0)
    ex.mixture  # [samples] float32;  ex.stems: [V, samples] (sum = mixture);  ex.f0: F0Tracks;  ex.meta: dict
    list_pieces("train", n_voices=4)   # piece names of a split (train/valid/test/all)

See docs/corpus.md.
"""
from engine.corpus.render import Excerpt, draw_excerpt, list_pieces, render_corpus, render_excerpt

__all__ = ["Excerpt", "draw_excerpt", "list_pieces", "render_corpus", "render_excerpt"]
