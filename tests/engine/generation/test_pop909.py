import pytest

from engine.errors import MotetError
from engine.generation import pop909
from engine.generation.dataset import song_examples

from .conftest import shared_data


def test_test_split_never_becomes_training_data():
    shared_data("pop909")
    for number in (874, 909):
        with pytest.raises(MotetError, match="test split"):
            song_examples(number)


def test_song_with_downbeat_off_the_first_beat_gets_bar_lines_on_downbeats():
    shared_data("pop909")
    song = pop909.load_song(880)  # its first beat is not a downbeat
    assert song.regular
    # melody onsets land on the 16th grid of the downbeat-based bars
    steps = [n.start_beat * 4 for n in song.piece.melody[:50]]
    assert max(abs(s - round(s)) for s in steps) < 0.2


def test_phrase_labels_align_with_the_melody():
    shared_data("pop909-structure")
    song = pop909.load_song(1)
    assert pop909.theme_label(pop909.phrase_labels(1)) == "A"
    phrases = pop909.theme_phrases_beats(song)
    assert len(phrases) >= 8 and all(b - a == 16.0 for a, b in phrases)
    # the first A phrase starts where melody notes are
    a, b = phrases[0]
    assert any(a - 1 <= n.start_beat < b for n in song.piece.melody)


def test_training_example_has_theme_and_regions():
    shared_data("pop909")
    examples = song_examples(1)
    assert {e["theme_bars"] for e in examples} == {2, 4}
    for e in examples:
        assert (e["theme_pos"] > 0).mean() > 0.1  # the theme recurs
        assert len(e["theme_tokens"]) > 10
