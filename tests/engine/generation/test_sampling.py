import pytest
import torch

from engine.errors import MotetError
from engine.generation import tokens as tk
from engine.generation.model import ModelConfig, ThemeTransformer
from engine.generation.piece import MELODY, Note, Piece
from engine.generation.sampling import Grammar, generate_piece


def _tiny(conditioned: bool) -> ThemeTransformer:
    torch.manual_seed(0)
    config = ModelConfig(conditioned=conditioned, d_model=32, heads=2, ffn=64, enc_layers=1 if conditioned else 0,
                         dec_layers=1)
    return ThemeTransformer(config).eval()


def _replay_is_legal(piece: Piece, bars: int) -> None:
    compound, _ = tk.to_compound(tk.encode(piece, 0, bars))
    grammar = Grammar(bars)
    for t in compound.tokens[1:]:
        assert grammar.allowed()[int(t)], tk.token_name(int(t))
        grammar.push(int(t))


@pytest.mark.parametrize("conditioned,seed", [(True, 0), (True, 1), (False, 2)])
def test_untrained_model_still_yields_a_valid_piece(short_theme, conditioned, seed):
    """Even random weights cannot break the token grammar: exact bar count, theme first, markers nested."""
    piece = generate_piece(short_theme, bars=3, tempo=100, temperature=1.5, top_p=1.0, seed=seed,
                           network=_tiny(conditioned))
    assert piece.bars <= 3 and all(n.start_beat < 12 for n in piece.notes)
    assert piece.theme_regions[0].start_beat == 0.0 and piece.theme_regions[0].end_beat == 8.0
    theme_mel = [(n.pitch, n.start_beat) for n in short_theme.melody]
    assert [(n.pitch, n.start_beat) for n in piece.melody if n.start_beat < 8] == theme_mel
    for a, b in zip(piece.theme_regions, piece.theme_regions[1:]):
        assert a.end_beat <= b.start_beat
    _replay_is_legal(piece, 3)


def test_same_seed_same_piece(short_theme):
    net = _tiny(True)
    a = generate_piece(short_theme, bars=3, seed=5, network=net)
    b = generate_piece(short_theme, bars=3, seed=5, network=net)
    assert a.notes == b.notes


def test_progress_is_reported_per_bar(short_theme):
    seen = []
    generate_piece(short_theme, bars=4, seed=0, network=_tiny(True), progress=lambda f, s: seen.append(f))
    assert seen[-1] == 1.0 and len(seen) >= 3


def test_theme_not_starting_on_a_bar_line_is_moved(short_theme):
    late = short_theme.shifted(8.0)
    piece = generate_piece(late, bars=3, seed=0, network=_tiny(True))
    assert min(n.start_beat for n in piece.melody) == 0.0


def test_theme_longer_than_the_piece(short_theme):
    with pytest.raises(MotetError, match="longer than the piece"):
        generate_piece(short_theme, bars=1, network=_tiny(True))


def test_theme_of_more_than_eight_bars():
    theme = Piece([Note(60, i * 4.0, 4.0, 80, MELODY) for i in range(9)])
    with pytest.raises(MotetError, match="1 to 8 bars"):
        generate_piece(theme, bars=16, network=_tiny(True))


@pytest.mark.parametrize("kwargs,match", [({"tempo": 5}, "tempo"), ({"tempo": 9999}, "tempo"),
                                          ({"temperature": 0}, "temperature"), ({"top_p": 1.5}, "top-p"),
                                          ({"bars": 0}, "bars")])
def test_bad_arguments(short_theme, kwargs, match):
    with pytest.raises(MotetError, match=match):
        generate_piece(short_theme, network=_tiny(True), **kwargs)


def test_empty_theme():
    with pytest.raises(MotetError, match="no notes"):
        generate_piece(Piece([]), bars=4, network=_tiny(True))


def test_theme_bars_count_onsets_not_ringing_notes():
    from engine.generation.sampling import prepare_theme

    theme = Piece([Note(60, 0.0, 1.0, 80, MELODY), Note(62, 15.9, 3.0, 80, MELODY)])
    prepared = prepare_theme(theme)
    assert prepared.bars == 4 and prepared.end_beat <= 16.0
