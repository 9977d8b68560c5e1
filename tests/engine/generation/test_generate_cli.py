"""End to end with the shipped weights: the anchor's test theme as it is, through ``motet generate``."""
import mido
import pretty_midi
import pytest

from engine.datasets import assets_dir
from engine.io.midi import read_piece

from .conftest import shared_data


class _Result:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


def _run(*args):
    """``motet ARGS`` in this process (fast: the model stays loaded between tests)."""
    import contextlib
    import io

    from engine.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(args))
    return _Result(code, err.getvalue())


@pytest.mark.slow
@pytest.mark.parametrize("model", ["conditioned", "baseline"])
def test_generate_from_an_anchor_theme(tmp_path, model):
    theme = shared_data("theme-transformer-test") / "874_theme.mid"
    out = tmp_path / "out.mid"
    r = _run("generate", "--theme", str(theme), "-o", str(out), "--bars", "4", "--tempo", "107", "--seed", "3",
             "--model", model)
    assert r.returncode == 0, r.stderr
    pm = pretty_midi.PrettyMIDI(str(out))
    assert [i.name for i in pm.instruments] == ["MELODY", "PIANO"]
    marks = [m.text for t in mido.MidiFile(str(out)).tracks for m in t if m.type == "marker"]
    assert marks[:2] == ["theme_start", "theme_end"]
    piece = read_piece(out)
    assert piece.bars == 4 and abs(piece.tempo_bpm - 107) < 0.1
    assert piece.theme_regions[0].start_beat == 0 and piece.theme_regions[0].end_beat == 8


def test_generate_refuses_a_theme_longer_than_the_piece(tmp_path):
    theme = shared_data("theme-transformer-test") / "874_theme.mid"
    r = _run("generate", "--theme", str(theme), "-o", str(tmp_path / "o.mid"), "--bars", "1")
    assert r.returncode == 2 and "longer than the piece" in r.stderr


def test_generate_refuses_an_absurd_tempo(tmp_path):
    theme = shared_data("theme-transformer-test") / "874_theme.mid"
    r = _run("generate", "--theme", str(theme), "-o", str(tmp_path / "o.mid"), "--tempo", "5000")
    assert r.returncode == 2 and "tempo" in r.stderr


def test_generate_refuses_an_empty_theme_file(tmp_path):
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    r = _run("generate", "--theme", str(empty), "-o", str(tmp_path / "o.mid"))
    assert r.returncode == 2 and "empty file" in r.stderr


def test_shipped_weights_are_small():
    for name in ("theme_transformer", "baseline"):
        path = assets_dir() / "models" / f"{name}.pt"
        assert path.exists() and path.stat().st_size < 25e6
        assert (assets_dir() / "models" / f"{name}.md").exists()
