"""The voice model: θ in physical units, its signal and its rendered power spectrum agree."""
import math

import numpy as np
import torch

from engine.voice import VoiceModel, formants_hz, lpc_envelope_db, lsf_to_lpc


def _controls(model, f0=(220.0, 110.0), frames=125, seed=0):
    torch.manual_seed(seed)
    raw = (torch.randn(len(f0), 1, model.n_raw) * 0.5).expand(-1, frames, -1).clone()  # steady vowels
    raw[..., 0] = 1.0
    f0_hz = torch.tensor(f0).view(-1, 1).expand(-1, frames).contiguous()
    return model.get_controls(raw, f0_hz, torch.ones_like(f0_hz))


def test_controls_have_their_units_and_ranges():
    model = VoiceModel()
    c = _controls(model)
    assert set(c) == {"f0_hz", "voiced", "loudness_db", "hnr_db", "tilt_db_per_octave", "lsf_rad", "noise_bands_db"}
    assert c["lsf_rad"].shape[-1] == model.lpc_order
    assert (c["lsf_rad"].diff(dim=-1) > 0).all() and (c["lsf_rad"] > 0).all() and (c["lsf_rad"] < math.pi).all()
    assert (c["loudness_db"] <= 0).all() and (c["tilt_db_per_octave"] <= 0).all()


def test_signal_level_follows_loudness():
    model = VoiceModel()
    torch.manual_seed(0)
    raw = torch.randn(2, 125, model.n_raw) * 0.5
    raw[..., 3: 4 + model.lpc_order] = 0.0  # evenly spaced LSFs: a flat vocal tract
    raw[..., 0] = torch.tensor([1.0, -1.0]).view(2, 1)
    f0_hz = torch.tensor([[220.0], [110.0]]).expand(2, 125)
    c = model.get_controls(raw, f0_hz, torch.ones_like(f0_hz))
    y = model.get_signal(**c, generator=torch.Generator().manual_seed(0))
    level_db = 10 * torch.log10(y[:, 1000:-1000].pow(2).mean(1))
    target_db = c["loudness_db"].mean(1)
    assert (level_db - target_db).abs().max() < 0.5


def test_power_spectrogram_matches_stft_of_signal():
    model = VoiceModel()
    c = _controls(model)
    y = model.get_signal(**c, generator=torch.Generator().manual_seed(0))
    n_fft = 1024
    spec = torch.stft(y, n_fft, 256, window=torch.hann_window(n_fft), return_complex=True).abs() ** 2
    rendered = model.power_spectrogram(**c, sample_rate=16000, n_fft=n_fft,
                                       frame_times_s=torch.arange(spec.shape[-1]) * 0.016)
    inner = (slice(None), slice(2, 480), slice(8, -8))
    s, r = spec[inner].mean(-1), rendered[inner].mean(-1)  # long-term spectra
    assert torch.allclose(s.sum(-1), r.sum(-1), rtol=0.1)
    db = (10 * torch.log10(s + 1e-9) - 10 * torch.log10(r + 1e-9)).abs()
    assert db.median() < 3.0


def test_power_spectrogram_covers_the_full_band_of_a_higher_rate():
    model = VoiceModel()
    c = _controls(model, f0=(440.0,))
    power = model.power_spectrogram(**c, sample_rate=44100, n_fft=2048, frame_times_s=torch.arange(50) * 0.016)
    freqs = np.arange(1025) * 44100 / 2048
    top = power[0, freqs > 9000].mean(-1)
    assert (top > 0).all()
    peak_bin = int(np.argmax(power[0, (freqs > 12000) & (freqs < 13500), 10].numpy()))
    peak_hz = freqs[(freqs > 12000) & (freqs < 13500)][peak_bin]
    assert abs(peak_hz / 440 - round(peak_hz / 440)) < 0.05  # a harmonic of 440 Hz, above the model's 8 kHz


def test_mask_rendering_is_sharper_than_the_expected_power():
    """The masks' rendering (narrower lobes, less noise) keeps the harmonic peaks but empties the gaps."""
    model = VoiceModel()
    c = _controls(model, f0=(200.0,))
    times = torch.arange(20) * 0.016
    full = model.power_spectrogram(**c, sample_rate=16000, n_fft=2048, frame_times_s=times)[0, :, 10]
    sharp = model.power_spectrogram(**c, sample_rate=16000, n_fft=2048, frame_times_s=times, lobe_scale=0.6,
                                    noise_scale=0.1)[0, :, 10]
    harmonic_bins = [round(k * 200 * 2048 / 16000) for k in range(1, 6)]
    gap_bins = [round((k + 0.5) * 200 * 2048 / 16000) for k in range(1, 6)]
    assert (sharp[harmonic_bins] / full[harmonic_bins]).min() > 0.4
    assert (sharp[gap_bins] / full[gap_bins]).max() < 0.2


def test_envelope_and_formants_from_lsf():
    lsf = torch.tensor([[0.12, 0.16, 0.50, 0.56, 1.0, 1.1, 1.6, 1.8]])  # close pairs -> formants
    a = lsf_to_lpc(lsf)
    env = lpc_envelope_db(a, 513)[0]
    formants = formants_hz(lsf, 16000)[0]
    assert formants.shape == (4,)
    first_peak_hz = 8000 * int(torch.argmax(env[:100])) / 512
    assert abs(float(formants[0]) - first_peak_hz) < 80


def test_power_spectrogram_does_not_depend_on_its_block_size():
    """The per-bin rendering runs over blocks of frames for speed; the blocks must not change the result."""
    import engine.voice.model as voice_model

    model = VoiceModel()
    c = _controls(model, f0=(196.0, 98.0), frames=60)
    c["f0_hz"] = c["f0_hz"] * torch.linspace(1.0, 1.2, 60)  # a glide widens the lobes
    times = torch.arange(40) * 0.02
    whole = model.power_spectrogram(**c, sample_rate=44100, n_fft=4096, frame_times_s=times, lobe_scale=0.6)
    saved = voice_model.POWER_BLOCK_ELEMENTS
    try:
        voice_model.POWER_BLOCK_ELEMENTS = 1  # one frame per block
        blocked = model.power_spectrogram(**c, sample_rate=44100, n_fft=4096, frame_times_s=times, lobe_scale=0.6)
    finally:
        voice_model.POWER_BLOCK_ELEMENTS = saved
    assert whole.shape == (2, 2049, 40)
    assert torch.allclose(whole, blocked, rtol=1e-5, atol=0)
