import numpy as np
import pytest
import soundfile as sf

from engine.errors import MotetError
from engine.generation.piano import render_additive, render_piano, soundfont_available
from engine.generation.piece import ACCOMPANIMENT, MELODY, Note, Piece
from engine.io.midi import write_piece

from .test_generate_cli import _run

NOTES = [Note(60, 0.0, 1.0, 100, MELODY), Note(64, 1.0, 1.0, 70, MELODY), Note(36, 0.0, 2.0, 90, ACCOMPANIMENT)]


def test_builtin_piano_is_stereo_decaying_and_pitched():
    sr = 22050
    audio = render_additive([Note(69, 0.0, 2.0, 100)], 60.0, sr)
    assert audio.dtype == np.float32 and audio.shape[0] == 2 and np.isfinite(audio).all()
    mono = audio.mean(0)
    early, late = np.abs(mono[:sr // 2]).max(), np.abs(mono[int(1.5 * sr):2 * sr]).max()
    assert early > 2 * late > 0  # the string decays while held
    spectrum = np.abs(np.fft.rfft(mono[:sr]))
    assert abs(np.argmax(spectrum) * sr / sr - 440) < 3  # A4 sounds at 440 Hz (1-s window: 1-Hz bins)


def test_louder_notes_are_louder():
    soft = render_additive([Note(60, 0.0, 1.0, 30)], 120.0, 22050)
    loud = render_additive([Note(60, 0.0, 1.0, 120)], 120.0, 22050)
    assert np.abs(loud).max() > 2 * np.abs(soft).max()


@pytest.mark.skipif(not soundfont_available(), reason="pyfluidsynth/libfluidsynth3/fluid-soundfont-gm not installed")
def test_soundfont_piano_renders_sound():
    audio = render_piano(NOTES, 120.0, 22050, engine="soundfont")
    assert audio.shape[0] == 2 and np.abs(audio).max() > 0.01
    assert audio.shape[1] >= int(1.0 * 22050)


def test_bad_render_arguments():
    with pytest.raises(MotetError, match="no notes"):
        render_piano([], 120.0)
    with pytest.raises(MotetError, match="tempo"):
        render_piano(NOTES, 2000.0)


def test_render_command_writes_a_wav(tmp_path):
    src, out = tmp_path / "p.mid", tmp_path / "p.wav"
    write_piece(Piece(NOTES, 120.0), src)
    r = _run("render", str(src), "-o", str(out), "--engine", "builtin", "--sample-rate", "22050")
    assert r.returncode == 0, r.stderr
    data, sr = sf.read(str(out))
    assert sr == 22050 and data.shape[1] == 2 and np.abs(data).max() > 0.01


def test_render_command_on_a_drum_only_file_fails_clearly(tmp_path):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(0, is_drum=True)
    drums.notes.append(pretty_midi.Note(100, 36, 0.0, 0.5))
    pm.instruments.append(drums)
    pm.write(str(tmp_path / "d.mid"))
    r = _run("render", str(tmp_path / "d.mid"), "-o", str(tmp_path / "d.wav"))
    assert r.returncode == 2 and "only drum notes" in r.stderr
