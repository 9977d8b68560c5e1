"""Fine pitch fitted to the mixture: an F0 a few cents off the sung pitch (here a steady 15 cents sharp plus slow
drift) is pulled toward the pitch the voices really sing, the stems get cleaner, and what is written out is the
pitch the stems were made with."""
import numpy as np
import torch

from engine.f0.tracks import F0Tracks
from engine.separation.model import model_f0
from engine.separation.pitch_fit import PitchFit, fit_pitch
from engine.separation.separate import separate
from tests.engine.separation.test_f0_retrack import RATE, cents_off, sdr, shipped_model, sung  # noqa: F401


def slightly_off(true: F0Tracks) -> F0Tracks:
    """The true F0 15 cents sharp with a slow ±8-cent drift: the kind of error a tracker or CREPE leaves."""
    drift = 15 + 8 * np.sin(2 * np.pi * 0.7 * true.times_s)[None] * np.array([[1.0], [-1.0]])
    return F0Tracks(true.times_s, true.f0_hz * 2 ** (drift / 1200), true.voiced, list(true.names))


def test_where_the_voices_explain_the_mixture_the_fit_finds_their_pitch(shipped_model):
    """The case after a refinement: a mixture the voice model itself sang (θ read from a real-like mixture, F0 with
    vibrato), given an F0 15 cents sharp with drift: the fit removes more than half of the error."""
    mix, _, true, _ = sung()
    n = len(mix) // 256
    grid = np.arange(n) * 0.016
    true, given = true.resampled(grid), slightly_off(true).resampled(grid)
    on = torch.ones(1, 2, n)
    with torch.no_grad():
        theta = shipped_model(torch.tensor(mix[None, : n * 256]), model_f0(true.f0_hz)[None], on)
        sung_by_model = shipped_model.synthesise(theta, n * 256, torch.Generator().manual_seed(0))[0].sum(0)
    off = {**theta, "f0_hz": model_f0(given.f0_hz)[None]}
    fitted = fit_pitch(shipped_model, off, sung_by_model)[0].numpy()
    before = np.median(np.abs(1200 * np.log2(given.f0_hz / true.f0_hz)))
    after = np.median(np.abs(1200 * np.log2(fitted / true.f0_hz)))
    assert before > 12 and after < 0.5 * before   # 15 short steps as shipped (longer fits lost on CSD)


def test_fitted_pitch_is_closer_to_the_sung_one_and_separates_better(shipped_model):
    mix, stems, true, _ = sung()
    given = slightly_off(true)
    fit = PitchFit()
    fitted = separate(mix, RATE, 2, f0=given, model=shipped_model, pitch_fit=fit)
    as_given = separate(mix, RATE, 2, f0=given, model=shipped_model, pitch_fit="off")
    truth = true.resampled(fitted.f0.times_s)

    assert np.allclose(as_given.f0.f0_hz, given.resampled(as_given.f0.times_s).f0_hz)  # off: the F0 as given
    before, after = np.median(cents_off(as_given.f0, truth)), np.median(cents_off(fitted.f0, truth))
    assert before > 12 and after < before - 1.5   # unrefined θ fits these voices loosely: a partial pull
    assert np.abs(fitted.f0.f0_hz / as_given.f0.f0_hz - 1).max() < 2 ** (fit.bound_cents / 1200) - 1 + 1e-6
    assert np.allclose(fitted.theta["f0_hz"], fitted.f0.f0_hz, rtol=1e-5)   # f0.csv and params.npz agree
    assert sdr(stems, fitted) > sdr(stems, as_given) + 0.25
    assert np.abs(fitted.stems.sum(0)[0] - mix).max() < 1e-5


def test_the_fit_runs_by_default_only_after_a_refinement(shipped_model):
    mix, _, true, _ = sung(1.5)
    given = slightly_off(true)
    plain = separate(mix, RATE, 2, f0=given, model=shipped_model)
    refined = separate(mix, RATE, 2, f0=given, model=shipped_model, refine_steps=2)
    assert not any("fine-tuned" in n for n in plain.notes)
    assert any("fine-tuned" in n for n in refined.notes)
    assert not np.allclose(refined.f0.f0_hz, plain.f0.f0_hz)
    assert np.abs(refined.stems.sum(0)[0] - mix).max() < 1e-5   # finer mask hop after a refinement: still exact
