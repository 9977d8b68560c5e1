import numpy as np

from engine.f0.tracks import F0Tracks
from engine.separation.adapt import adapt, second_pass_steps
from engine.separation.f0_correction import F0Correction
from engine.separation.model import SeparationModel, default_model_path

from .conftest import chord


def test_given_f0_is_refined_once_and_kept(tiny_model):
    """With F0 given (nothing to correct) the model is refined for the steps asked, the tracks come back as they
    were, and the caller's model is left unrefined."""
    mix, _, tracks = chord(16000, 1.0)
    n = len(mix) // 256
    tr = tracks.resampled(np.arange(n) * 0.016)
    refined, out = adapt(tiny_model, mix[: n * 256], tr, 3)
    assert refined.refined_steps == 3 and tiny_model.refined_steps == 0
    assert np.array_equal(out.f0_hz, tr.f0_hz) and np.array_equal(out.voiced, tr.voiced)


def test_tracked_f0_gets_a_second_pass_and_comes_back_on_pitch():
    """With a correction, the model is refined twice (the second pass a share of the first) and the tracks,
    given 40 cents flat, come back within a few cents of the true pitch; voicing is kept."""
    model = SeparationModel.load(default_model_path()).eval()
    mix, _, tracks = chord(16000, 2.0, f0s=(440.0, 293.66))
    n = len(mix) // 256
    tr = tracks.resampled(np.arange(n) * 0.016)
    flat = F0Tracks(tr.times_s, tr.f0_hz * 2 ** (-40 / 1200), tr.voiced, list(tr.names))
    refined, out = adapt(model, mix[: n * 256], flat, 5, F0Correction(refined_rounds=1))
    assert refined.refined_steps == 5 + second_pass_steps(5) > 5
    cents = np.abs(1200 * np.log2(out.f0_hz / tr.f0_hz))
    assert np.median(cents) < 10
    assert np.array_equal(out.voiced, tr.voiced)
