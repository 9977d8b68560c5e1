"""Analysis-by-synthesis F0 correction: the Viterbi path and the correction of a wrong stretch of F0."""
import numpy as np
import pytest
import torch

from engine.separation.f0_correction import F0Correction, correct_f0, neighbour_notes, viterbi
from engine.separation.model import SeparationModel, chunk_thetas, default_model_path, model_f0

from .conftest import chord


def test_viterbi_ignores_a_one_frame_blip_but_follows_a_long_change():
    cost = np.zeros((40, 2))
    cost[:, 1] = 1.0
    cost[10, 0], cost[10, 1] = 0.3, 0.0          # one frame slightly better on state 1: not worth two switches
    cost[20:35, 0] = 0.5                          # 15 frames much better on state 1: worth it
    cost[20:35, 1] = 0.0
    path = viterbi(cost, switch_cost=0.4)
    assert path[10] == 0
    assert (path[20:35] == 1).all()
    assert (path[:20] == 0).all() and (path[35:] == 0).all()


def test_neighbour_notes_are_the_notes_before_and_after():
    """A note of 10 frames, a one-frame gap, a note of 20, a 2-frame blip (no note), a gap, a note of 10: each
    frame sees the note before the one it is in and the note after."""
    f = np.r_[[293.0] * 10, [0.0], [543.0] * 20, [400.0] * 2, [0.0] * 3, [330.0] * 10]
    prev, nxt = neighbour_notes(f, f > 0)
    in_b = slice(11, 31)
    assert np.allclose(prev[in_b], 293.0) and np.allclose(nxt[in_b], 330.0)
    assert np.allclose(prev[:10], 293.0) and np.allclose(nxt[:10], 543.0)   # the first note: no note before
    assert np.allclose(prev[31:36], 543.0) and np.allclose(nxt[31:36], 330.0)  # the blip and the gap after it
    assert np.allclose(prev[36:], 543.0) and np.allclose(nxt[36:], 330.0)      # the last note: none after it


@pytest.fixture(scope="module")
def shipped_model():
    return SeparationModel.load(default_model_path()).eval()


def test_a_stretch_tracked_a_semitone_sharp_is_brought_back(shipped_model):
    """Two steady voices; the lower one's tracked F0 is a semitone too high for 1.3 s: the correction restores
    the true pitch there and leaves the right frames alone."""
    mix, _, tracks = chord(16000, 4.0, f0s=(440.0, 293.66))
    f0 = tracks.f0_hz.copy()
    wrong = slice(80, 160)
    f0[1, wrong] *= 2 ** (1 / 12)
    out = correct_f0(shipped_model, mix, f0, tracks.voiced, F0Correction())
    cents = np.abs(1200 * np.log2(out[1] / tracks.f0_hz[1]))
    assert np.median(cents[wrong]) < 10           # was 100 cents
    assert (cents[wrong] < 50).mean() > 0.9
    right = np.r_[0:70, 170:f0.shape[1]]
    assert (out[:, right] == f0[:, right]).mean() > 0.95
    assert np.allclose(out[0], f0[0])             # the correct upper voice is not moved


def test_a_voice_that_jumped_to_a_wrong_note_is_brought_back_to_its_own(shipped_model):
    """The upper voice is tracked right for 1.3 s, then a fifth too high (far beyond the ±2-semitone
    alternatives) to the end: only the alternative that holds its previous note brings it back."""
    mix, _, tracks = chord(16000, 4.0, f0s=(440.0, 293.66))
    f0 = tracks.f0_hz.copy()
    f0[0, 80:] = 660.0
    without = correct_f0(shipped_model, mix, f0, tracks.voiced, F0Correction(neighbour_notes=False))
    fixed = correct_f0(shipped_model, mix, f0, tracks.voiced, F0Correction())
    assert np.median(without[0, 90:]) > 440.0 * 2 ** (5 / 12)  # stays wrong (it can only reach 587 Hz)
    cents = np.abs(1200 * np.log2(fixed[0, 90:] / 440.0))
    assert (cents < 50).mean() > 0.9
    assert np.allclose(fixed[1], f0[1])


def test_a_long_recording_is_corrected_in_every_chunk_as_the_first(shipped_model):
    """Chunks read by the encoder in one batch (equal lengths) and a shorter last one: a stretch tracked a
    semitone sharp is brought back in a later chunk as in the first, and θ is what each chunk alone gives."""
    mix, _, tracks = chord(16000, 6.0, f0s=(440.0, 293.66))
    f0 = tracks.f0_hz.copy()
    for wrong in (slice(20, 80), slice(220, 280)):      # chunks of 100 frames: the first and the third
        f0[1, wrong] *= 2 ** (1 / 12)
    out = correct_f0(shipped_model, mix, f0, tracks.voiced, F0Correction(chunk_frames=100))
    cents = np.abs(1200 * np.log2(out[1] / tracks.f0_hz[1]))
    assert np.median(cents[20:80]) < 10 and np.median(cents[220:280]) < 10
    windows = [(0, 100), (100, 200), (200, 300), (300, f0.shape[1])]
    args = (shipped_model, torch.tensor(mix), model_f0(f0), torch.tensor(tracks.voiced, dtype=torch.float32))
    together = list(chunk_thetas(*args, windows))
    for w, theta in zip(windows, together):
        alone = next(chunk_thetas(*args, [w]))
        assert theta["loudness_db"].shape == (1, 2, w[1] - w[0])
        for key in alone:
            assert torch.allclose(theta[key], alone[key], rtol=1e-4, atol=1e-3), key


def test_separate_uses_the_corrected_f0_only_when_asked(shipped_model):
    """separate(): given F0 is kept as given by default ("auto" corrects tracked F0 only); with "on" the
    wrong stretch is corrected in the F0 it reports, and the stems still add up to the mixture."""
    from engine.f0.tracks import F0Tracks
    from engine.separation.separate import separate

    mix, _, tracks = chord(16000, 3.0, f0s=(440.0, 293.66))
    f0 = tracks.f0_hz.copy()
    f0[1, 60:140] *= 2 ** (1 / 12)
    given = F0Tracks(tracks.times_s, f0, tracks.voiced)
    kept = separate(mix, 16000, 2, f0=given, model=shipped_model)
    fixed = separate(mix, 16000, 2, f0=given, model=shipped_model, f0_correction="on")
    assert np.median(kept.f0.f0_hz[1, 70:130]) > 305
    assert abs(np.median(fixed.f0.f0_hz[1, 70:130]) - 293.66) < 3
    assert any("corrected" in n for n in fixed.notes)
    assert np.abs(fixed.stems.sum(0)[0] - mix).max() < 1e-5


def test_separate_corrects_again_after_a_refinement(shipped_model):
    """With a refinement the pitch is corrected before it and again with the refined model: the reported F0 of
    the wrong stretch is right and the stems still add up to the mixture."""
    from engine.f0.tracks import F0Tracks
    from engine.separation.separate import separate

    mix, _, tracks = chord(16000, 3.0, f0s=(440.0, 293.66))
    f0 = tracks.f0_hz.copy()
    f0[1, 60:140] *= 2 ** (1 / 12)
    sep = separate(mix, 16000, 2, f0=F0Tracks(tracks.times_s, f0, tracks.voiced), model=shipped_model,
                   refine_steps=2, f0_correction="on")
    assert abs(np.median(sep.f0.f0_hz[1, 70:130]) - 293.66) < 3
    assert np.abs(sep.stems.sum(0)[0] - mix).max() < 1e-5


def test_after_a_refinement_the_correction_runs_its_rounds_and_progress_keeps_moving(shipped_model):
    """The refinement runs in two passes, each followed by the correction's rounds, which re-track on the refined
    model's stems; the progress bar shows every pass and round and never runs backwards."""
    from engine.f0.tracks import F0Tracks
    from engine.separation.f0_correction import F0Correction
    from engine.separation.separate import separate

    mix, _, tracks = chord(16000, 2.0, f0s=(440.0, 293.66))
    seen = []
    separate(mix, 16000, 2, f0=F0Tracks(tracks.times_s, tracks.f0_hz, tracks.voiced), model=shipped_model,
             refine_steps=2, f0_correction=F0Correction(refined_rounds=3), progress=lambda f, s: seen.append((f, s)))
    stages = [s for _, s in seen]
    refining = [i for i, s in enumerate(stages) if "refining" in s]
    assert stages[refining[0]].startswith("pass 1/2: refining")
    assert stages[refining[-1]].startswith("pass 2/2: refining")
    assert sum("re-tracking F0 on the stems" in s for s in stages[refining[0]:]) == 6
    after = stages[refining[-1]:]
    assert sum("re-tracking F0 on the stems" in s for s in after) == 3
    assert any(s.startswith("round 3/3") for s in after)
    fractions = [f for f, _ in seen]
    assert all(b >= a - 1e-9 for a, b in zip(fractions, fractions[1:])) and fractions[-1] == 1.0
