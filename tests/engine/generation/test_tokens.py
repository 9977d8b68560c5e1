import numpy as np

from engine.generation import tokens as tk
from engine.generation.piece import ACCOMPANIMENT, MELODY, Note, Piece, ThemeRegion
from engine.generation.sampling import Grammar


def _grid_piece() -> Piece:
    notes = [Note(60, 0.0, 1.0, 100, MELODY), Note(48, 0.0, 2.0, 60, ACCOMPANIMENT),
             Note(55, 0.0, 2.0, 60, ACCOMPANIMENT), Note(62, 1.25, 0.5, 80, MELODY),
             Note(64, 4.0, 4.0, 80, MELODY), Note(43, 6.5, 0.25, 40, ACCOMPANIMENT),
             Note(72, 13.75, 0.25, 100, MELODY)]
    return Piece(notes, 96.0, 4, [ThemeRegion(4.0, 12.0)])


def test_round_trip_keeps_notes_roles_and_theme_regions():
    piece = _grid_piece()
    back = tk.decode(tk.encode(piece).tokens, tempo_bpm=96.0)
    key = lambda n: (n.start_beat, n.role, n.pitch, n.duration_beats, n.velocity)
    assert sorted(map(key, back.notes)) == sorted(map(key, piece.notes))
    assert back.theme_regions == piece.theme_regions


def test_tempo_token_is_nearest_bin():
    piece = _grid_piece()
    back = tk.decode(tk.encode(piece).tokens)
    assert abs(np.log(back.tempo_bpm / 96.0)) < 0.05


def test_compound_view_round_trips():
    enc = tk.encode(_grid_piece())
    compound, durvel = tk.to_compound(enc)
    assert len(compound.tokens) < len(enc.tokens)
    assert tk.from_compound(compound.tokens, durvel) == enc.tokens.tolist()


def test_theme_positions_count_sixteenths_inside_regions():
    enc = tk.encode(_grid_piece())
    names = [tk.token_name(int(t)) for t in enc.tokens]
    start = names.index("THEME_START")
    assert enc.theme_pos[start] == 1
    # the melody note of bar 1 at step 0 sits at theme position 1, outside regions positions are 0
    assert enc.theme_pos[:start].max() == 0
    assert enc.theme_pos[names.index("THEME_END")] == 0


def test_encoded_pieces_obey_the_sampling_grammar():
    piece = _grid_piece()
    compound, _ = tk.to_compound(tk.encode(piece))
    grammar = Grammar(bars=piece.bars)  # starts after BOS
    assert compound.tokens[0] == tk.BOS
    for t in compound.tokens[1:]:
        assert grammar.allowed()[int(t)], tk.token_name(int(t))
        grammar.push(int(t))
    assert grammar.done


def test_off_grid_and_out_of_range_notes_are_quantised_or_dropped():
    piece = Piece([Note(60, 0.13, 0.9, 80, MELODY), Note(10, 1.0, 1.0, 80, MELODY)], 120.0)
    back = tk.decode(tk.encode(piece).tokens)
    assert [(n.pitch, n.start_beat, n.duration_beats) for n in back.notes] == [(60, 0.25, 1.0)]
