"""`motet separate` / `motet eval|bench separation` from the command line: outputs and one-line errors."""
import numpy as np
import pytest

from engine.cli import main
from engine.io.audio import save_audio

from .conftest import chord


@pytest.fixture()
def recording(tmp_path):
    mix, _, tracks = chord(22050, 1.5, f0s=(523.25, 392.0, 261.63, 130.81))
    path = tmp_path / "choir.wav"
    save_audio(path, mix, 22050)
    tracks.to_csv(tmp_path / "f0.csv")
    return path, tmp_path / "f0.csv"


@pytest.mark.slow
def test_shipped_model_separates_a_short_clip(recording, tmp_path, capsys):
    import soundfile as sf

    path, f0 = recording
    assert main(["separate", str(path), "-o", str(tmp_path / "out"), "--f0", str(f0)]) == 0
    stems = [sf.read(tmp_path / "out" / f"{n}.wav") for n in ("soprano", "alto", "tenor", "bass")]
    assert all(rate == 22050 for _, rate in stems)
    mix, _ = sf.read(path)
    assert np.abs(sum(s for s, _ in stems) - mix).max() < 1e-4
    assert (tmp_path / "out" / "params.npz").is_file() and (tmp_path / "out" / "f0.csv").is_file()
    assert "per-harmonic gains" in capsys.readouterr().err  # on by default without --refine
    assert main(["separate", str(path), "-o", str(tmp_path / "out2"), "--f0", str(f0), "--harmonic-fit", "off"]) == 0
    err = capsys.readouterr().err
    assert "per-harmonic gains" not in err and "F0 pitch corrected" not in err  # given F0 is used as given
    assert main(["separate", str(path), "-o", str(tmp_path / "out3"), "--f0", str(f0), "--f0-correction", "on"]) == 0
    assert "F0 pitch corrected" in capsys.readouterr().err
    assert main(["separate", str(path), "-o", str(tmp_path / "out4"), "--f0", str(f0), "--phase-fit", "on",
                 "--pitch-fit", "on"]) == 0
    err = capsys.readouterr().err
    assert "phases made consistent" in err and "fine-tuned" in err  # without --refine only when asked for
    phased = sf.read(tmp_path / "out4" / "soprano.wav")[0]
    assert not np.allclose(phased, stems[0][0], atol=1e-4)


def test_f0_csv_with_wrong_columns_is_one_line_error(recording, tmp_path, capsys):
    path, _ = recording
    bad = tmp_path / "bad.csv"
    bad.write_text("seconds,hz\n0.0,220\n")
    assert main(["separate", str(path), "-o", str(tmp_path / "out"), "--f0", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.csv" in err[0] and "header" in err[0]


def test_f0_csv_with_fewer_voices_than_asked(recording, tmp_path, capsys):
    path, f0 = recording
    assert main(["separate", str(path), "-o", str(tmp_path / "out"), "--f0", str(f0), "--voices", "5"]) == 2
    assert "5 voices were asked for" in capsys.readouterr().err


def test_silent_recording_is_one_line_error(tmp_path, capsys):
    path = tmp_path / "silence.wav"
    save_audio(path, np.zeros(16000, np.float32), 16000)
    assert main(["separate", str(path), "-o", str(tmp_path / "out"), "--voices", "2"]) == 2
    assert "silent" in capsys.readouterr().err


def test_voice_count_out_of_range(recording, tmp_path, capsys):
    path, _ = recording
    assert main(["separate", str(path), "-o", str(tmp_path / "out"), "--voices", "1"]) == 2
    assert "--voices" in capsys.readouterr().err


def test_bench_separation_reports_the_refinement_steps_apart_from_the_masks_after_them(capsys):
    import json

    assert main(["bench", "separation", "--seconds", "4", "--rate", "16000", "--threads", "2", "--refine", "3",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["refine_steps"] == 3 and out["audio_s"] == 4.0
    assert 0 < out["refine_s_per_step"] and 0 < out["refined_masks_s"]
    # the refined run is the steps plus the masks after them (and the set-up before the first step)
    assert 2 * out["refine_s_per_step"] + out["refined_masks_s"] <= out["separate_refined_s"]
    assert out["stems_sum_error"] < 1e-4
