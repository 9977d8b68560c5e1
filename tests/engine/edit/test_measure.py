"""The formant-shift measure reads known warps: voices synthesised with every formant (and bandwidth) scaled."""
import numpy as np
import pytest

from engine.edit import measure
from engine.edit.synthetic_voice import synth_voice

FORMANTS, BANDWIDTHS = (800.0, 1400.0, 2800.0, 3600.0), (80.0, 90.0, 120.0, 150.0)


def _voice(f0_hz, scale=1.0, seed=1):
    return synth_voice(3.0, 16000, f0_hz, formants_hz=[scale * f for f in FORMANTS],
                       bandwidths_hz=[scale * b for b in BANDWIDTHS], hnr_db=18.0, vibrato_cents=40.0,
                       glide_cents=300.0, seed=seed).samples


@pytest.mark.parametrize("f0_hz", [160.0, 500.0])
def test_formant_shift_reads_a_true_warp_and_no_warp(f0_hz):
    before = _voice(f0_hz)
    fmin = max(200.0, 1.3 * f0_hz)
    assert measure.formant_shift(before, _voice(f0_hz, 1.10, seed=2), 16000, fmin=fmin) == pytest.approx(1.10, abs=0.015)
    assert measure.formant_shift(before, _voice(f0_hz, 1.00, seed=3), 16000, fmin=fmin) == pytest.approx(1.00, abs=0.01)


def test_formant_shift_ignores_where_the_harmonics_fall():
    """The same vowel sung 300 cents higher (harmonics elsewhere) reads as no formant shift."""
    before = _voice(330.0)
    higher = synth_voice(3.0, 16000, 330.0 * 2 ** 0.25, formants_hz=FORMANTS, bandwidths_hz=BANDWIDTHS, hnr_db=18.0,
                         vibrato_cents=40.0, glide_cents=300.0, seed=4).samples
    assert measure.formant_shift(before, higher, 16000, fmin=1.3 * 330.0 * 2 ** 0.25) == pytest.approx(1.0, abs=0.015)


def test_pooled_envelope_has_the_formant_peaks():
    """The pitch-corrected average envelope of a 230-Hz vowel peaks near F1 and F2."""
    from engine.edit.pooled_envelope import pooled_envelope

    env = pooled_envelope(_voice(230.0), 16000)
    f = 2.0 ** env.log2_hz
    for formant in FORMANTS[:2]:
        near = (f > 0.8 * formant) & (f < 1.25 * formant)
        assert abs(f[near][np.argmax(env.db[near])] / formant - 1) < 0.08
