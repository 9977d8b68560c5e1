import numpy as np

from engine.f0 import F0Tracks, track_voices
from engine.f0.evaluation import score_tracks
from engine.f0.tracks import hold_pitch
from tests.engine.f0.synth import satb


def test_a_gap_holds_the_notes_around_it_and_a_silent_voice_stays_empty():
    f0 = np.array([[0, 200, 0, 0, 0, 300, 0], [0, 0, 0, 0, 0, 0, 0]], dtype=float)
    assert hold_pitch(f0).tolist() == [[200, 200, 200, 200, 300, 300, 300], [0] * 7]


def test_the_tracker_guesses_a_silent_voices_pitch_but_keeps_it_unvoiced():
    mix, f0_true, sr = satb()  # silence before the first chord (0.1 s) and after the last (3.1 s)
    tracks = track_voices(mix, sr, 4)
    silent = (tracks.times_s < 0.06) | (tracks.times_s > 3.2)
    assert silent.sum() >= 6 and not tracks.voiced[:, silent].any()
    assert (tracks.masked()[:, silent] == 0).all()                     # the CSV still says unvoiced
    guess = tracks.f0_hz[:, silent]
    assert (guess > 0).all() and (tracks.signed()[:, silent] == -guess).all()
    for v in range(4):  # each guess holds the voice's own pitch where it starts or stops singing
        on = np.nonzero(tracks.voiced[v])[0]
        edge = np.where(tracks.times_s[silent] < 1.0, tracks.f0_hz[v, on[0]], tracks.f0_hz[v, on[-1]])
        assert np.all(np.abs(1200 * np.log2(guess[v] / edge)) < 60)


def test_raw_pitch_accuracy_scores_the_guess_and_the_strict_figure_does_not():
    times = np.arange(100) * 0.016
    reference = F0Tracks(times, np.full((1, 100), 220.0), np.ones((1, 100), bool), ["voice1"])
    voiced = np.ones((1, 100), bool)
    voiced[0, 40:60] = False                                         # a 20-frame gap with the right pitch guessed
    scores = score_tracks(F0Tracks(times, np.full((1, 100), 221.0), voiced, ["voice1"]), reference)["voice1"]
    assert scores["rpa"] == 1.0 and scores["rpa_voiced"] == 0.8
    assert scores["voicing_recall"] == 0.8
