"""motet edit / bench edit from the command line: files written, edits stored, one-line errors."""
import json
import subprocess
import sys

import numpy as np
import soundfile as sf

from engine.edit import measure


def motet(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True)


def test_edit_one_voice_and_the_remix(separation_dir, tmp_path):
    out = tmp_path / "alto_up.wav"
    res = motet("edit", str(separation_dir), "--voice", "alto", "--pitch", "300", "--gain", "-1", "-o", str(out),
                "--mix", str(tmp_path / "mix.wav"))
    assert res.returncode == 0, res.stderr
    alto, rate = sf.read(separation_dir / "alto.wav", dtype="float32")
    edited, rate_out = sf.read(out, dtype="float32")
    assert rate_out == rate and len(edited) == len(alto)
    assert abs(measure.median_f0_ratio_cents(alto, edited, rate, 300.0)["error_cents"]) <= 10
    mix, _ = sf.read(tmp_path / "mix.wav", dtype="float32")
    soprano, _ = sf.read(separation_dir / "soprano.wav", dtype="float32")
    assert np.allclose(mix, soprano + edited, atol=1e-5)


def test_saved_edits_are_reused_by_the_remix(separation_dir, tmp_path):
    res = motet("edit", str(separation_dir), "--voice", "soprano", "--formant", "1.1", "--save", "--reset")
    assert res.returncode == 0, res.stderr
    stored = json.loads((separation_dir / "edits.json").read_text())
    assert stored == {"soprano": [{"kind": "formant", "amount": 1.1}]}
    res = motet("edit", str(separation_dir), "--mix", str(tmp_path / "mix.wav"))
    assert res.returncode == 0, res.stderr
    mix, _ = sf.read(tmp_path / "mix.wav", dtype="float32")
    plain = sum(sf.read(separation_dir / f"{v}.wav", dtype="float32")[0] for v in ("soprano", "alto"))
    assert not np.allclose(mix, plain, atol=1e-3)
    (separation_dir / "edits.json").unlink()


def test_errors_are_one_line(separation_dir, tmp_path):
    cases = [
        (["--voice", "tenor", "--pitch", "100", "-o", str(tmp_path / "x.wav")], "no voice named 'tenor'"),
        (["--voice", "alto", "--pitch", "5000", "-o", str(tmp_path / "x.wav")], "out of range"),
        (["--voice", "alto", "--formant", "big", "-o", str(tmp_path / "x.wav")], "not a number"),
        (["--voice", "alto"], "nothing to do"),
    ]
    for args, message in cases:
        res = motet("edit", str(separation_dir), *args)
        assert res.returncode == 2 and message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    res = motet("edit", str(tmp_path), "--voice", "alto", "-o", str(tmp_path / "x.wav"))
    assert res.returncode == 2 and "no params.npz" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_bench_prints_json_last(tmp_path):
    res = motet("bench", "edit", "--json", "--seconds", "2", "--rates", "16000", "--repeats", "1")
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert result["16000Hz"]["warm_all_ms"] > 0 and "meets_budget" in result
