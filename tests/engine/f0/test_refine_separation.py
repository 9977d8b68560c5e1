"""``motet f0 --refine-with-separation``: the tracks refined by the separation model (the stems' refinement by
default) come out in the same CSV form as the plain ones and lie closer to the sung pitch (vibrato followed, note
changes placed), and the eval's refined modes are named and checked."""
import numpy as np
import pytest

from engine.cli import main
from engine.cli.f0 import eval_modes
from engine.errors import MotetError
from engine.f0 import F0Tracks
from engine.io.audio import save_audio
from tests.engine.f0.synth import notes_to_f0, voice

RATE = 16000
# four voices, 0.75 s per note; the bass changes its notes 0.3 s after the others (a late change of its own)
NOTES = ((72, 74, 76, 74), (67, 65, 67, 69), (60, 62, 60, 59), (48, 50, 48, 43))


def choir(seconds: float = 3.2):
    """(mixture [N], true F0 [4, N] in Hz) of four synthetic voices with a ±40-cent vibrato."""
    voices, f0s = [], []
    for v, notes in enumerate(NOTES):
        late = 0.3 if v == 3 else 0.0
        starts = [0.1] + [0.1 + late + k * 0.75 for k in range(1, len(notes))]
        ends = starts[1:] + [0.1 + len(notes) * 0.75]
        f0 = notes_to_f0(list(zip(starts, ends, notes)), seconds, RATE, vibrato_cents=40, vibrato_hz=5.5 - 0.3 * v)
        voices.append(voice(f0, RATE, seed=v))
        f0s.append(f0)
    return np.sum(voices, axis=0).astype(np.float32), np.array(f0s)


def cents_error(tracks: F0Tracks, truth: np.ndarray) -> np.ndarray:
    """|cents| [V, frames] of the tracks against the truth on the truly voiced frames (inf where the track is
    unvoiced there, nan where the truth is unvoiced)."""
    true = truth[:, np.minimum((tracks.times_s * RATE).astype(int), truth.shape[1] - 1)]
    est = tracks.masked()
    both = (est > 0) & (true > 0)
    cents = np.abs(1200 * np.log2(np.where(both, est, 1.0) / np.where(both, true, 1.0)))
    return np.where(true > 0, np.where(both, cents, np.inf), np.nan)


def raw_pitch_accuracy(err: np.ndarray) -> np.ndarray:
    """[V] share of the truly voiced frames tracked within 50 cents."""
    voiced = ~np.isnan(err)
    return (voiced & (np.nan_to_num(err, nan=np.inf) < 50)).sum(axis=1) / voiced.sum(axis=1)


@pytest.mark.slow
def test_refined_tracks_are_the_same_csv_and_closer_to_the_sung_pitch(tmp_path, capsys):
    mix, truth = choir()
    wav = tmp_path / "choir.wav"
    save_audio(wav, mix, RATE)
    assert main(["f0", str(wav), "-o", str(tmp_path / "blind.csv"), "--refine-with-separation", "off"]) == 0
    assert "separation model" not in capsys.readouterr().out
    blind = F0Tracks.from_csv(tmp_path / "blind.csv", n_voices=4)
    err_b = cents_error(blind, truth)
    rpa_b = raw_pitch_accuracy(err_b)
    assert rpa_b.mean() > 0.9                                     # the case is one the blind tracker gets mostly
    for how in ("full", "stems", "default"):
        option = {"full": ["--refine-with-separation"], "stems": ["--refine-with-separation", "stems"]}
        args = option.get(how, [])
        assert main(["f0", str(wav), "-o", str(tmp_path / f"{how}.csv"), *args]) == 0
        assert "separation model" in capsys.readouterr().out   # the user is told the separation model was used
        refined = F0Tracks.from_csv(tmp_path / f"{how}.csv", n_voices=4)
        assert refined.names == blind.names == ["soprano", "alto", "tenor", "bass"]
        assert np.array_equal(refined.times_s, blind.times_s)
        assert np.array_equal(refined.voiced, blind.voiced)      # voicing kept as tracked
        err_r = cents_error(refined, truth)
        rpa_r = raw_pitch_accuracy(err_r)
        assert rpa_r.mean() >= rpa_b.mean()                       # at least as many frames within 50 cents
        assert rpa_r[3] >= rpa_b[3]                               # the late bass included
        assert np.nanmedian(err_r) < 0.6 * np.nanmedian(err_b)   # vibrato followed: median cents well down
    default = F0Tracks.from_csv(tmp_path / "default.csv", n_voices=4)
    assert np.array_equal(default.f0_hz, F0Tracks.from_csv(tmp_path / "full.csv", n_voices=4).f0_hz)
    # (on this case, full and stems alike: RPA S/A/T/B .989/.989/.989/.957 -> .984/.989/.989/.995, median error
    # 5.3 -> 2.4 cents)


@pytest.mark.slow
def test_tracks_refined_with_an_adapted_separation_model_keep_their_form_and_gain_accuracy():
    """method 'refined' (motet f0 --refine-with-separation refined): 'full', then the separation model adapted to
    the recording (a few steps here; 100 in use) and 'full' again."""
    from engine.f0 import track_voices
    from engine.separation.f0_correction import refine_tracks

    mix, truth = choir()
    blind = track_voices(mix, RATE, 4)
    refined = refine_tracks(mix, RATE, blind, method="refined", refine_steps=5)
    assert np.array_equal(refined.times_s, blind.times_s) and refined.names == blind.names
    assert np.array_equal(refined.voiced, blind.voiced)
    err_b, err_r = cents_error(blind, truth), cents_error(refined, truth)
    assert raw_pitch_accuracy(err_r).mean() >= raw_pitch_accuracy(err_b).mean()
    assert np.nanmedian(err_r) < 0.6 * np.nanmedian(err_b)


def test_eval_modes_names_the_refined_modes_and_refuses_others():
    assert eval_modes("both") == ("blind", "informed")
    assert eval_modes("all") == ("blind", "informed", "blind+separation", "informed+separation", "blind+stems",
                                "informed+stems", "blind+refined", "informed+refined")
    assert eval_modes("blind+separation,blind") == ("blind+separation", "blind")
    with pytest.raises(MotetError, match="--mode"):
        eval_modes("blind,separation")


def test_refinement_refuses_a_single_voice_and_is_not_the_default_for_one(tmp_path, capsys):
    mix, _ = choir(1.0)
    wav = tmp_path / "one.wav"
    save_audio(wav, mix, RATE)
    assert main(["f0", str(wav), "-o", str(tmp_path / "x.csv"), "--voices", "1", "--refine-with-separation"]) == 2
    assert "2 to 8 voices" in capsys.readouterr().err
    assert main(["f0", str(wav), "-o", str(tmp_path / "x.csv"), "--voices", "1"]) == 0   # by default: plain
    assert "separation model" not in capsys.readouterr().out
