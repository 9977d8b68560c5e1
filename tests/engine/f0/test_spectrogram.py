import numpy as np

from engine.f0.salience import ANALYSIS_RATE, N_FFT, magnitude_spectrogram


def test_time_localised_spectrogram_shows_what_sounds_at_the_frame_centre():
    """A 200-Hz note ends at 0.5 s while a 300-Hz note holds: 44 ms after the end the plain 128-ms frame still
    shows the ended note at 29 % of the held one on the cube-root scale the trackers compare; the time-localised
    one (the trackers' default) at about a third of that, and it keeps the held note as it is."""
    sr = ANALYSIS_RATE
    t = np.arange(sr) / sr
    x = np.where(t < 0.5, np.sin(2 * np.pi * 200 * t), 0.0) + np.sin(2 * np.pi * 300 * t)
    plain = magnitude_spectrogram(x)
    local = magnitude_spectrogram(x, time_sigma_s=0.02)
    ended, held = int(round(200 * N_FFT / sr)), int(round(300 * N_FFT / sr))
    frame = int(round(0.544 / 0.016))
    assert np.cbrt(plain[frame, ended] / plain[frame, held]) > 0.25
    assert np.cbrt(local[frame, ended] / local[frame, held]) < 0.12
    assert local[frame, held] > 0.95 * plain[frame, held]
    steady = int(round(0.25 / 0.016))
    assert np.allclose(local[steady, [ended, held]], plain[steady, [ended, held]], rtol=0.05)
