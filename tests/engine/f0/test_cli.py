import numpy as np

from engine.cli import main
from engine.f0 import F0Tracks
from engine.io.audio import save_audio
from tests.engine.f0.synth import satb


def test_motet_f0_writes_the_csv_of_four_voices(tmp_path, capsys):
    mix, _, sr = satb()
    wav = tmp_path / "choir.wav"
    save_audio(wav, mix, sr)
    out = tmp_path / "f0.csv"
    assert main(["f0", str(wav), "-o", str(out)]) == 0
    tracks = F0Tracks.from_csv(out, n_voices=4)
    assert tracks.names == ["soprano", "alto", "tenor", "bass"]
    assert np.allclose(np.diff(tracks.times_s), 0.016, atol=1e-3)
    assert tracks.voiced.any(axis=1).all()
    assert main(["f0", str(wav), "-o", str(tmp_path / "two.csv"), "--voices", "2"]) == 0
    assert F0Tracks.from_csv(tmp_path / "two.csv").names == ["voice1", "voice2"]


def test_motet_f0_bad_input_is_one_clear_line(tmp_path, capsys):
    silent = tmp_path / "silent.wav"
    save_audio(silent, np.zeros(16000, np.float32), 16000)
    assert main(["f0", str(silent), "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "silent" in err and err.count("\n") == 1
    assert main(["f0", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "x.csv")]) == 2
    assert main(["f0", str(silent), "-o", str(tmp_path / "x.csv"), "--voices", "9"]) == 2
