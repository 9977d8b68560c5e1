import pytest

from engine.errors import MotetError
from engine.generation.piece import Piece
from engine.generation.theme import analyse_theme, find_occurrences
from engine.generation.theme_evaluation import beat_f1
from engine.io.midi import write_piece

from .test_generate_cli import _run


def test_finds_transposed_and_varied_occurrences(song_with_theme):
    piece, truth = song_with_theme
    analysis = analyse_theme(piece)
    assert analysis.length_bars == 4
    assert analysis.occurrences == truth
    assert [n.pitch for n in analysis.theme.melody][:3] == [60, 62, 64]


def test_downbeat_off_the_first_beat_is_found(song_with_theme):
    piece, truth = song_with_theme
    shifted = piece.shifted(1.0)  # a one-beat pickup: bar lines now fall on beats 1, 5, 9...
    analysis = analyse_theme(shifted)
    assert analysis.phase_beats == 1.0
    assert analysis.occurrences == [(a + 1.0, b + 1.0) for a, b in truth]


def test_find_occurrences_of_a_given_theme(song_with_theme):
    piece, truth = song_with_theme
    theme = analyse_theme(piece).theme
    assert find_occurrences(piece, theme) == truth


def test_beat_f1():
    assert beat_f1([(0, 8)], [(0, 8)])[2] == 1.0
    assert beat_f1([(0, 8)], [(8, 16)])[2] == 0.0
    assert abs(beat_f1([(0, 8)], [(4, 12)])[2] - 0.5) < 1e-9


def test_no_melody_is_a_clear_error():
    with pytest.raises(MotetError, match="no melody"):
        analyse_theme(Piece([]))


def test_theme_command_writes_theme_and_occurrences(tmp_path, song_with_theme):
    piece, truth = song_with_theme
    src, out, csv = tmp_path / "piece.mid", tmp_path / "theme.mid", tmp_path / "occ.csv"
    write_piece(piece, src)
    r = _run("theme", str(src), "-o", str(out), "--occurrences", str(csv))
    assert r.returncode == 0, r.stderr
    lines = csv.read_text().split()
    assert lines[0] == "start_beat,end_beat"
    assert [tuple(map(float, line.split(","))) for line in lines[1:]] == truth
    from engine.io.midi import read_piece

    theme = read_piece(out)
    assert theme.bars == 4 and theme.melody and theme.accompaniment
