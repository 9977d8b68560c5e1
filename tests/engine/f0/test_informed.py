import numpy as np
import pytest

from engine.errors import MotetError
from engine.f0 import track_voices
from engine.f0.informed import follow_path
from engine.f0.score import ScorePart, load_score, voice_of, write_midi
from tests.engine.f0.synth import CHORDS, satb
from tests.engine.f0.test_blind import _pitch_accuracy


def _score(path, chord_s, names=("Soprano", "Alto", "Tenor", "Bass"), start_s=0.0):
    parts = []
    for v, name in enumerate(names):
        notes = [(start_s + i * chord_s, start_s + (i + 1) * chord_s, c[v]) for i, c in enumerate(CHORDS) if c[v]]
        parts.append(ScorePart(name, np.array(notes, dtype=float)))
    write_midi(parts, path)
    return path


def test_score_at_another_tempo_is_aligned_and_followed(tmp_path):
    mix, f0_true, sr = satb()  # sung at 0.5 s per chord, starting at 0.15 s
    score = _score(tmp_path / "slow.mid", chord_s=0.65)  # written slower, starting at 0
    tracks = track_voices(mix, sr, 4, score=score)
    assert tracks.names == ["soprano", "alto", "tenor", "bass"]
    for v, (rpa, rest_ok) in enumerate(_pitch_accuracy(tracks, f0_true, sr)):
        assert rpa > 0.9, f"{tracks.names[v]}: raw pitch accuracy {rpa:.2f}"
    # the singers' own vibrato is kept, not the flat written pitch
    sop = tracks.f0_hz[0, tracks.voiced[0]]
    cents = 1200 * np.log2(sop / 440.0)
    assert np.std(cents - np.round(cents / 100) * 100) > 8


def test_parts_map_to_voices_by_name_whatever_their_order(tmp_path):
    path = _score(tmp_path / "shuffled.mid", 0.5, names=("Bass", "Tenor", "Soprano", "Alto"))
    parts = load_score(path)
    assert [p.name for p in parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert parts[0].notes[0, 2] == CHORDS[0][2]  # the part named Soprano (written third) keeps its own notes
    assert voice_of("Contralto") == "alto" and voice_of("Bajos") == "bass" and voice_of("Violin") is None


def test_bad_scores_are_clear_errors(tmp_path):
    mix, _, sr = satb()
    three = tmp_path / "three.mid"
    write_midi([ScorePart(n, np.array([[0.0, 1.0, 60.0]])) for n in ("a", "b", "c")], three)
    with pytest.raises(MotetError, match="3 parts, but 4 voices"):
        track_voices(mix, sr, 4, score=three)
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"not a midi file")
    with pytest.raises(MotetError, match="junk.mid"):
        track_voices(mix, sr, 4, score=junk)
    with pytest.raises(MotetError, match="not found"):
        track_voices(mix, sr, 4, score=tmp_path / "missing.musicxml")
    text = tmp_path / "score.txt"
    text.write_text("x")
    with pytest.raises(MotetError, match="MIDI"):
        track_voices(mix, sr, 4, score=text)


def test_alignment_follows_a_tempo_change_and_a_fermata():
    score = np.concatenate([[-1, -1], np.repeat(np.arange(10), 4), [-1]])  # silence, ten 'notes' of 4 frames, silence
    # faster, then slower, then the last note held three times its length (a fermata), then silence
    rec = np.concatenate([[-1], np.repeat(np.arange(5), 2), np.repeat(np.arange(5, 9), 6), np.repeat([9], 12),
                          [-1, -1, -1]])
    cost = (score[:, None] != rec[None, :]).astype(float)
    rows = follow_path(cost, 2, len(score) - 2, hold_cost=0.05, skip_cost=0.1)
    assert cost[rows, np.arange(len(rec))].sum() == 0
    assert np.all(np.diff(rows) >= 0) and np.all(np.diff(rows) <= 2)


def test_musicxml_parts_and_tempo_are_read(tmp_path):
    import music21

    score = music21.stream.Score()
    for name, pitches in (("Bass", ["C3", "D3"]), ("Soprano", ["C5", "D5"])):
        part = music21.stream.Part()
        part.partName = name
        part.append(music21.tempo.MetronomeMark(number=120))
        for p in pitches:
            part.append(music21.note.Note(p, quarterLength=1))
        score.insert(0, part)
    path = tmp_path / "duet.musicxml"
    score.write("musicxml", str(path))
    parts = load_score(path)
    assert [p.name for p in parts] == ["Soprano", "Bass"]  # highest first
    assert np.allclose(parts[0].notes, [[0.0, 0.5, 72], [0.5, 1.0, 74]])  # 120 bpm: a quarter is 0.5 s
