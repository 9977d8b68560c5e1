import numpy as np
import pytest
import torch

from engine.f0.salience import grid_hz, magnitude_spectrogram, to_analysis_rate
from engine.f0.salience_model import build_model, learned_salience, model_file, probability_at
from tests.engine.f0.synth import satb


def test_shipped_weights_are_small_and_mark_sung_pitches():
    assert model_file().is_file() and model_file().stat().st_size < 10 * 2 ** 20
    assert model_file().with_suffix(".md").is_file()  # its card
    mix, f0_true, sr = satb()
    mag = magnitude_spectrogram(to_analysis_rate(mix, sr))
    grid = grid_hz()
    prob = learned_salience(mag, grid)
    assert prob.shape == (mag.shape[0], len(grid)) and 0 <= prob.min() and prob.max() <= 1
    # at the sung pitches the probability is far higher than on average
    frames = np.arange(20, mag.shape[0] - 20)
    sung = f0_true[:, (frames * 0.016 * sr).astype(int)]
    on = sung > 0
    bins = np.abs(np.log2(sung[on][:, None] / grid[None, :])).argmin(axis=1)
    rows = np.broadcast_to(frames, sung.shape)[on]
    assert prob[rows, bins].mean() > 3 * prob.mean()
    # the point-wise evaluation used by the tracker gives the same numbers
    assert np.allclose(probability_at(mag, grid, rows[:50], bins[:50]), prob[rows[:50], bins[:50]], atol=1e-4)


@pytest.mark.slow
def test_training_writes_loadable_weights(tmp_path):
    from engine.f0.training import train_salience

    out = tmp_path / "f0_salience.pt"
    meta = train_salience(out, n_train=2, n_valid=1, epochs=1, jobs=1)
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert meta["history"][0]["valid_loss"] > 0
    model = build_model()
    model.load_state_dict(torch.load(out, weights_only=True)["model"])
