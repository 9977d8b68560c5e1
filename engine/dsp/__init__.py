"""Differentiable DSP building blocks (batched, float32, any device).

- :mod:`engine.dsp.frames`: frame-rate controls to sample rate.
- :mod:`engine.dsp.oscillator`: anti-aliased, phase-continuous harmonic oscillator bank.
- :mod:`engine.dsp.noise`: filtered noise from mel-spaced band levels.
- :mod:`engine.dsp.allpole`: line spectral frequencies, LPC envelopes, the time-varying all-pole filter (torchlpc).
- :mod:`engine.dsp.spectral`: STFT magnitudes and the multi-scale spectral loss.
"""
from engine.dsp.allpole import allpole_filter, allpole_filter_naive, lpc_envelope_db, lpc_power_at, lsf_to_lpc
from engine.dsp.frames import frames_to_samples
from engine.dsp.noise import filtered_noise, mel_band_matrix
from engine.dsp.oscillator import harmonic_bank
from engine.dsp.spectral import multiscale_spectral_loss

__all__ = [
    "allpole_filter", "allpole_filter_naive", "lpc_envelope_db", "lpc_power_at", "lsf_to_lpc", "frames_to_samples",
    "filtered_noise", "mel_band_matrix", "harmonic_bank", "multiscale_spectral_loss",
]
