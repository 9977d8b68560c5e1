"""The source-filter voice model: θ (named, unit-bearing controls) <-> audio.

A voice = (harmonic excitation with a glottal spectral tilt + filtered noise) through a time-varying all-pole
vocal-tract filter given by line spectral frequencies. :class:`VoiceModel` splits it as DDSP does:
``get_controls(raw, f0_hz, voiced) -> dict`` (network outputs -> θ in Hz/dB/rad) and ``get_signal(**controls)``
(θ -> samples); ``power_spectrogram(**controls, ...)`` renders the same θ as expected STFT power at any sample
rate, full band (used for separation masks). See docs/theta.md for θ.
"""
from engine.dsp.allpole import lpc_envelope_db, lpc_power_at, lpc_unit_gain, lsf_to_lpc
from engine.voice.model import THETA_KEYS, VoiceModel, formants_hz

__all__ = ["VoiceModel", "THETA_KEYS", "formants_hz", "lsf_to_lpc", "lpc_envelope_db", "lpc_power_at",
           "lpc_unit_gain"]
