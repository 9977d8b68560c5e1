"""Adapting the model and the tracked F0 to one recording: the refinement alternating with the F0's correction.

The refinement (engine.separation.refine) fits θ to the mixture given the F0; the correction
(engine.separation.f0_correction) fixes the F0 given θ. With tracked F0 the first refinement learns from tracks
that still hold the tracker's errors; once the refined model has corrected them, a second, shorter refinement on
the corrected tracks fits θ where it was fitted to a wrong pitch before, and its model corrects the tracks once
more (coordinate descent over θ and F0, as in the alternating F0 / source estimation of iterative multi-pitch
analysis, Klapuri 2003). CSD, estimated F0, refine 500 (`motet eval separation`): one pass 7.85 dB, with the
second pass of 200 steps 8.06; cached, 700 steps in one pass 7.85, 250 + 250 steps 7.78, a third pass 8.18 but
worse on synthetic valid excerpts (docs/separation.md, eighteenth round).
"""
from __future__ import annotations

import numpy as np
import torch

from engine.f0.tracks import F0Tracks
from engine.jobs import Progress, sub_progress
from engine.separation.f0_correction import F0Correction, correct_rounds
from engine.separation.model import SeparationModel, model_f0
from engine.separation.refine import refine

SECOND_PASS = 0.4  # the second refinement's steps, a share of the first's


def second_pass_steps(steps: int) -> int:
    """Steps of the second refinement pass after ``steps`` first ones (0 when there is no first)."""
    return int(round(SECOND_PASS * steps)) if steps > 0 else 0


def pass_steps(steps: int, correcting: bool) -> list[int]:
    """Refinement steps of each pass for ``--refine steps``: two passes when the F0 is corrected after each, one
    when it is given."""
    return [steps, second_pass_steps(steps)] if correcting and steps > 0 else [steps]


def refine_on(model: SeparationModel, mono16: np.ndarray, tracks: F0Tracks, steps: int, device=None,
              progress: Progress | None = None) -> SeparationModel:
    """A copy of ``model`` refined for ``steps`` on mono16 [N] (model rate) with ``tracks`` on the model's
    frames (one per hop from 0, N = frames × hop)."""
    voiced = torch.tensor(tracks.voiced, dtype=torch.float32)
    return refine(model, torch.as_tensor(np.asarray(mono16, dtype=np.float32)), model_f0(tracks.f0_hz), voiced,
                  steps, device=device, progress=progress)


def adapt(model: SeparationModel, mono16: np.ndarray, tracks: F0Tracks, steps: int,
          correction: F0Correction | None = None,
          device=None, progress: Progress | None = None) -> tuple[SeparationModel, F0Tracks]:
    """(refined model, tracks) for one recording: mono16 [N] at the model rate, ``tracks`` on the model's frames.
    Without a correction (F0 given): ``steps`` of refinement, the tracks unchanged. With one: refine ``steps``,
    correct the tracks ``correction.refined_rounds`` times with the refined model, refine :func:`second_pass_steps`
    more on the corrected tracks, correct them again (:func:`pass_steps`). Voicing is kept."""
    if correction is None:
        return refine_on(model, mono16, tracks, steps, device, progress), tracks
    passes = pass_steps(steps, correcting=True)
    # progress in proportion to the rough cost on two CPU cores: ~0.35 s per refinement step, ~0.07 s per second
    # of audio per correction round (as separate.progress_spans)
    rounds = 0.07 * len(mono16) / model.config.sample_rate * correction.refined_rounds
    edges = np.cumsum([0.0] + [w for n in passes for w in (0.35 * n, rounds)])
    edges /= edges[-1]
    for i, n in enumerate(passes):
        model = refine_on(model, mono16, tracks, n, device, sub_progress(progress, edges[2 * i], edges[2 * i + 1],
                                                                         f"pass {i + 1}/{len(passes)}: "))
        tracks = correct_rounds(model, mono16, tracks, correction.refined_rounds, correction,
                                sub_progress(progress, edges[2 * i + 1], edges[2 * i + 2]),
                                f" with the refined model ({model.refined_steps}/{sum(passes)} steps)")
    return model, tracks
