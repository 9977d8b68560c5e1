"""Small synthetic voices and a separation folder as 'motet separate' writes it."""
import numpy as np
import pytest

from engine.edit.synthetic_voice import synth_voice
from engine.io.audio import save_audio


@pytest.fixture(scope="session")
def tenor():
    """3 s of a sung vowel at 150 Hz rising 300 cents, 40-cent vibrato, HNR 18 dB, 16 kHz."""
    return synth_voice(3.0, 16000, 150.0, hnr_db=18.0, vibrato_cents=40.0, glide_cents=300.0, seed=1)


@pytest.fixture(scope="session")
def separation_dir(tmp_path_factory):
    """A folder with soprano.wav, alto.wav and params.npz (θ keys of docs/theta.md), 2 s at 16 kHz."""
    folder = tmp_path_factory.mktemp("sep")
    voices = [synth_voice(2.0, 16000, 330.0, formants_hz=(800, 1400, 2800, 3600), seed=2),
              synth_voice(2.0, 16000, 220.0, seed=3)]
    names = ["soprano", "alto"]
    for name, v in zip(names, voices):
        save_audio(folder / f"{name}.wav", v.samples, 16000)
    T = len(voices[0].theta.f0_hz)
    np.savez(folder / "params.npz", names=np.array(names), sample_rate=16000, hop_s=0.016,
             f0_hz=np.stack([v.theta.f0_hz for v in voices]), voiced=np.stack([v.theta.voiced for v in voices]),
             loudness_db=np.zeros((2, T)), hnr_db=np.full((2, T), 20.0), tilt_db_per_octave=np.zeros((2, T)),
             lsf_rad=np.tile(np.linspace(0.2, 3.0, 16), (2, T, 1)), noise_bands_db=np.zeros((2, T, 8)))
    return folder
