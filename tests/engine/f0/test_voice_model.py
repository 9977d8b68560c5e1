import numpy as np
import pytest
import torch

from engine.datasets import assets_dir
from engine.f0.voice_model import (N_CONTEXT_INPUTS, STACK_PATH, build_model, candidate_features, candidate_labels,
                                   context_features, model_file, voice_probabilities)


def _chord(frames=60):
    """Candidates of a held SATB chord (C5, E4, G3, C3) plus an overtone of the bass (G4), equal strengths."""
    hz = np.array([523.3, 329.6, 196.0, 130.8, 392.4])
    f0 = np.tile(hz, (frames, 1))
    strength = np.ones_like(f0)
    prob = np.full_like(f0, 0.9)
    prob[:, 4] = 0.2  # the learned salience doubts the overtone
    return f0, strength, prob


def test_shipped_voice_model_is_small_and_names_the_chord_by_place():
    assert model_file().is_file() and model_file().stat().st_size < 10 * 2 ** 20
    assert model_file().with_suffix(".md").is_file()  # its card
    f0, strength, prob = _chord()
    p = voice_probabilities(f0, strength, prob)
    assert p.shape == (4, 60, 5) and 0 <= p.min() and p.max() <= 1
    # the highest sung note is the soprano's, the lowest the bass's, and the middle ones alto then tenor
    assert list(p[:, 30, :4].argmax(axis=0)) == [0, 1, 2, 3]
    # the doubtful overtone is nobody's first choice
    assert p[:, 30, 4].max() < p[:, 30, :4].max(axis=0).min()


def test_features_and_labels_mark_only_real_candidates():
    f0, strength, prob = _chord(10)
    f0[:, 4] = 0.0
    strength[:, 4] = 0.0
    x = candidate_features(f0, strength, prob)
    assert x.shape[:2] == f0.shape and np.all(x[:, 4] == 0)
    truth = np.tile(f0[0, :4, None] * 2 ** (20 / 1200), (1, 10))  # sung 20 cents sharp
    y = candidate_labels(f0, truth, np.ones((4, 10), dtype=bool))
    assert np.array_equal(y[0, :4], np.eye(4)) and not y[:, 4].any()


@pytest.mark.slow
def test_voice_model_training_writes_loadable_weights(tmp_path):
    from engine.f0.training import train_voice_model

    out = tmp_path / "f0_voice.pt"
    meta = train_voice_model(out, n_train=2, n_valid=1, epochs=1, seconds=3.0, jobs=1)
    assert out.is_file() and meta["history"][0]["valid_loss"] > 0
    build_model().load_state_dict(torch.load(out, weights_only=True)["model"])


def test_second_stage_reads_the_judgement_of_the_same_pitch_nearby():
    """Frame 20 holds a candidate at 440 Hz the first stage calls the soprano's; frame 28 the same pitch 20 cents
    higher and an unrelated one: the 8-frames-earlier context of frame 28's 440-Hz candidate says soprano, the
    other candidate's says nothing; beyond the recording's ends the edge frame is read."""
    f0 = np.zeros((40, 2))
    f0[20, 0] = 440.0
    f0[28] = [440.0 * 2 ** (20 / 1200), 300.0]
    prob = np.zeros((40, 2, 4))
    prob[20, 0] = [0.9, 0.1, 0.0, 0.0]
    x = context_features(f0, prob)
    assert x.shape == (40, 2, 4 + 24) and N_CONTEXT_INPUTS == 21 + x.shape[2]
    offsets = [-16, -8, -4, 4, 8, 16]
    before8 = 4 + 4 * offsets.index(-8)
    assert np.allclose(x[28, 0, before8:before8 + 4], [0.9, 0.1, 0, 0])
    assert np.allclose(x[28, 1, 4:], 0)


def test_shipped_second_stage_is_small_has_a_card_and_keeps_the_chord_roles():
    path = assets_dir() / STACK_PATH
    assert path.is_file() and path.stat().st_size < 10 * 2 ** 20 and path.with_suffix(".md").is_file()
    f0, strength, prob = _chord()
    p = voice_probabilities(f0, strength, prob)  # first and second stage
    assert list(p[:, 30, :4].argmax(axis=0)) == [0, 1, 2, 3]


@pytest.mark.slow
def test_second_stage_training_writes_loadable_weights(tmp_path):
    from engine.f0.training import train_voice_context

    out = tmp_path / "ctx.pt"
    meta = train_voice_context(out, n_train=2, n_valid=1, epochs=1, seconds=3.0, jobs=1)
    assert meta["history"][0]["valid_loss"] > 0
    build_model(N_CONTEXT_INPUTS).load_state_dict(torch.load(out, weights_only=True)["model"])
