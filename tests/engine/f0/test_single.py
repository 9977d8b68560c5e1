import numpy as np
import pytest

from engine.errors import MotetError
from engine.f0 import F0_HOP_S, track_single
from tests.engine.f0.synth import notes_to_f0, voice


def _cents(a, b):
    return 1200 * np.log2(a / b)


@pytest.mark.parametrize("midi", [40, 55, 69, 84])  # E2 (bass) .. C6 (soprano)
def test_steady_note_is_measured_to_a_cent(midi):
    sr = 44100
    f0 = notes_to_f0([(0.0, 1.0, midi)], 1.0, sr, vibrato_cents=0.0)
    tracks = track_single(voice(f0, sr), sr)
    assert tracks.n_voices == 1 and tracks.names == ["voice1"]
    assert np.allclose(np.diff(tracks.times_s), F0_HOP_S)
    inner = tracks.voiced[0] & (tracks.times_s > 0.05) & (tracks.times_s < 0.95)
    assert inner.sum() > 50
    err = _cents(tracks.f0_hz[0, inner], 440 * 2 ** ((midi - 69) / 12))
    assert np.median(np.abs(err)) < 1.0


def test_vibrato_and_rests_are_followed():
    sr = 16000
    f0 = notes_to_f0([(0.1, 0.6, 60), (0.9, 1.4, 67)], 1.6, sr, vibrato_cents=40)
    tracks = track_single(voice(f0, sr), sr)
    truth = f0[np.minimum((tracks.times_s * sr).astype(int), len(f0) - 1)]
    sung = truth > 0
    both = sung & tracks.voiced[0]
    assert both.sum() / sung.sum() > 0.9  # voicing recall
    assert (tracks.voiced[0] & ~sung).sum() <= 4  # rests stay unvoiced (a frame or two at the note edges)
    assert np.median(np.abs(_cents(tracks.f0_hz[0, both], truth[both]))) < 5


def test_silence_is_unvoiced_and_bad_range_is_an_error():
    tracks = track_single(np.zeros(8000, np.float32), 16000)
    assert not tracks.voiced.any()
    with pytest.raises(MotetError):
        track_single(np.zeros(8000, np.float32), 16000, fmin=500, fmax=100)
