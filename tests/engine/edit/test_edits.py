"""Edits on θ: validated, ordered, JSON round-trip, neutral = identity, time ranges."""
import numpy as np
import pytest

from engine.edit import Edit, VoiceEdits, choir_edits_from_json, choir_edits_to_json
from engine.errors import MotetError


def test_json_round_trip_keeps_order_and_ranges():
    edits = VoiceEdits().add("pitch", 300).add("breathiness", 6, start_s=1.0, end_s=2.5).add("formant", 1.1)
    again = VoiceEdits.from_json(edits.to_json())
    assert again == edits
    assert [e.kind for e in again.edits] == ["pitch", "breathiness", "formant"]
    choir = {"alto": edits, "tenor": VoiceEdits().add("gain", -3)}
    assert choir_edits_from_json(choir_edits_to_json(choir)) == choir


@pytest.mark.parametrize("kind, amount", [("pitch", 1300), ("pitch", -1201), ("breathiness", 25), ("formant", 2.0),
                                          ("formant", 0.5), ("tilt", -20), ("gain", 40), ("vibrato", -1),
                                          ("pitch", float("nan"))])
def test_out_of_range_is_one_clear_error(kind, amount):
    with pytest.raises(MotetError, match=f"edit {kind}: .*out of range"):
        VoiceEdits().add(kind, amount)


def test_bad_edits_name_the_problem():
    with pytest.raises(MotetError, match="unknown kind"):
        Edit("reverb", 1.0)
    with pytest.raises(MotetError, match="end_s .* must be after start_s"):
        Edit("pitch", 100, 2.0, 1.0)
    with pytest.raises(MotetError, match="not valid JSON"):
        VoiceEdits.from_json("[{")
    with pytest.raises(MotetError, match="needs 'kind' and 'amount'"):
        VoiceEdits.from_json('[{"kind": "pitch"}]')


def test_neutral_edits_give_neutral_curves():
    times = np.linspace(0, 3, 50)
    edits = VoiceEdits().add("pitch", 0).add("formant", 1.0).add("vibrato", 1.0).add("gain", 0)
    assert edits.is_neutral and VoiceEdits().is_neutral
    curves = edits.curves(times)
    assert np.all(curves["pitch"] == 0) and np.all(curves["formant"] == 1) and np.all(curves["vibrato"] == 1)


def test_edits_combine_and_apply_only_in_their_range():
    times = np.array([0.5, 1.5, 2.5])
    edits = VoiceEdits().add("pitch", 100).add("pitch", 50, start_s=1.0, end_s=2.0).add("formant", 1.1) \
        .add("formant", 1.1)
    curves = edits.curves(times)
    assert np.allclose(curves["pitch"], [100, 150, 100])
    assert np.allclose(curves["formant"], 1.21)
