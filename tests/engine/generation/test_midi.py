import pretty_midi
import pytest

from engine.errors import MotetError
from engine.generation.piece import ACCOMPANIMENT, MELODY, Note, Piece, ThemeRegion
from engine.io.midi import check_tempo, read_piece, write_piece


def test_write_read_round_trip_with_tracks_and_markers(tmp_path):
    piece = Piece([Note(64, 0.0, 1.0, 90, MELODY), Note(48, 0.0, 4.0, 60, ACCOMPANIMENT)], 90.0, 4,
                  [ThemeRegion(0.0, 8.0)])
    path = tmp_path / "p.mid"
    write_piece(piece, path)
    pm = pretty_midi.PrettyMIDI(str(path))
    assert [i.name for i in pm.instruments] == ["MELODY", "PIANO"]
    import mido

    marks = [m.text for t in mido.MidiFile(str(path)).tracks for m in t if m.type == "marker"]
    assert marks == ["theme_start", "theme_end"]
    back = read_piece(path)
    assert [(n.pitch, n.role) for n in back.notes] == [(64, MELODY), (48, ACCOMPANIMENT)]
    assert back.theme_regions == [ThemeRegion(0.0, 8.0)]
    assert abs(back.tempo_bpm - 90.0) < 0.01


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mid"
    path.write_bytes(b"")
    with pytest.raises(MotetError, match="empty file"):
        read_piece(path)


def test_not_a_midi_file(tmp_path):
    path = tmp_path / "text.mid"
    path.write_text("hello")
    with pytest.raises(MotetError, match="not a readable MIDI"):
        read_piece(path)


def test_missing_file(tmp_path):
    with pytest.raises(MotetError, match="not found"):
        read_piece(tmp_path / "nope.mid")


def test_midi_without_notes(tmp_path):
    path = tmp_path / "silent.mid"
    pretty_midi.PrettyMIDI().write(str(path))
    with pytest.raises(MotetError, match="no notes"):
        read_piece(path)


def test_drum_only_midi(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="Drums")
    drums.notes.append(pretty_midi.Note(100, 36, 0.0, 0.5))
    pm.instruments.append(drums)
    path = tmp_path / "drums.mid"
    pm.write(str(path))
    with pytest.raises(MotetError, match="only drum notes"):
        read_piece(path)


def test_unnamed_tracks_take_the_highest_as_melody(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    low, high = pretty_midi.Instrument(0), pretty_midi.Instrument(0)
    low.notes.append(pretty_midi.Note(80, 40, 0.0, 1.0))
    high.notes.append(pretty_midi.Note(80, 76, 0.0, 1.0))
    pm.instruments.extend([low, high])
    path = tmp_path / "two.mid"
    pm.write(str(path))
    piece = read_piece(path)
    assert [n.pitch for n in piece.melody] == [76]
    assert [n.pitch for n in piece.accompaniment] == [40]


@pytest.mark.parametrize("tempo", [0, -5, 1000, "fast"])
def test_absurd_tempo(tempo):
    with pytest.raises(MotetError, match="tempo"):
        check_tempo(tempo)
