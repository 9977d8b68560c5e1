"""separate(): stems at the input rate, full band, adding up to the mixture; θ written per docs/theta.md."""
import numpy as np
import pytest

from engine.errors import MotetError
from engine.f0.tracks import F0Tracks
from engine.separation.separate import progress_spans, separate, write_separation

from .conftest import chord


def test_stems_sum_to_mixture_at_input_rate(tiny_model):
    rate = 32000
    mix, stems, tracks = chord(rate, 2.0, f0s=(440.0, 311.13))
    sep = separate(mix, rate, 2, f0=tracks, model=tiny_model, chunk_s=0.7)  # several chunks
    assert sep.stems.shape == (2, 1, len(mix)) and sep.sample_rate == rate
    assert np.abs(sep.stems.sum(0)[0] - mix).max() < 1e-5


def test_masks_cover_the_band_above_the_model_nyquist(tiny_model):
    """θ of two voices rendered at the input rate puts each voice's partials above 8 kHz in its own stem."""
    import math

    import torch

    from engine.separation.masks import apply_masks, wiener_masks

    rate = 32000
    mix, stems, tracks = chord(rate, 2.0, f0s=(440.0, 311.13))  # a tritone: few shared partials
    vm = tiny_model.voice
    t = tracks.n_frames
    theta = {"f0_hz": torch.tensor(tracks.f0_hz, dtype=torch.float32), "voiced": torch.ones(2, t),
             "loudness_db": torch.full((2, t), -20.0), "hnr_db": torch.full((2, t), 40.0),
             "tilt_db_per_octave": torch.full((2, t), -6.0),
             "lsf_rad": (torch.arange(1, 21) * math.pi / 21).expand(2, t, 20).contiguous(),
             "noise_bands_db": torch.zeros(2, t, vm.n_noise_bands)}
    masks = lambda n_fft, times: wiener_masks(  # noqa: E731
        vm.power_spectrogram(**theta, sample_rate=rate, n_fft=n_fft, frame_times_s=times))
    sep = apply_masks(torch.tensor(mix[None]), masks, rate)[:, 0].numpy()
    spec = lambda x: np.abs(np.fft.rfft(x[rate // 4: -rate // 4])) ** 2  # noqa: E731
    freqs = np.fft.rfftfreq(len(mix) - rate // 2, 1 / rate)
    for v, f0 in enumerate((440.0, 311.13)):
        near = np.zeros_like(freqs, dtype=bool)
        for k in range(int(8500 // f0), int(11500 // f0) + 1):
            near |= np.abs(freqs - k * f0) < 8
        near &= (freqs > 8500) & (freqs < 11500)
        own = spec(sep[v])[near].sum()
        other = spec(sep[1 - v])[near].sum()
        assert own > 20 * other, (v, own, other)


def test_writes_stems_f0_and_theta(tiny_model, tmp_path):
    rate = 16000
    mix, _, tracks = chord(rate, 1.5, f0s=(523.25, 392.0, 261.63, 130.81))
    sep = separate(np.stack([mix, 0.5 * mix]), rate, 4, f0=tracks, model=tiny_model)
    paths = write_separation(sep, tmp_path / "out")
    assert [p.name for p in paths] == ["soprano.wav", "alto.wav", "tenor.wav", "bass.wav", "f0.csv", "params.npz"]
    back = F0Tracks.from_csv(tmp_path / "out" / "f0.csv", 4)
    assert back.names == ["soprano", "alto", "tenor", "bass"]
    theta = np.load(tmp_path / "out" / "params.npz")
    t = theta["f0_hz"].shape[1]
    assert theta["lsf_rad"].shape == (4, t, 20) and theta["noise_bands_db"].shape[:2] == (4, t)
    assert float(theta["hop_s"]) == pytest.approx(0.016) and int(theta["sample_rate"]) == 16000
    assert np.all(np.diff(theta["lsf_rad"], axis=-1) > 0)
    assert abs(t * 0.016 - 1.5) < 0.05


def test_refinement_adapts_to_the_recording(tiny_model):
    import torch

    from engine.separation.refine import loss_floor, refine

    mix, _, tracks = chord(16000, 2.0)
    n = len(mix) // 256
    tr = tracks.resampled(np.arange(n) * 0.016)
    args = (torch.tensor(mix[: n * 256]), torch.tensor(tr.f0_hz, dtype=torch.float32),
            torch.tensor(tr.voiced, dtype=torch.float32))

    def loss(model):
        with torch.no_grad():
            x = args[0][None]
            return float(model.power_loss(x, model(x, args[1][None], args[2][None]), floor=loss_floor(args[0])))

    refined = refine(tiny_model, *args, steps=15)
    assert loss(refined) < loss(tiny_model)


@pytest.mark.parametrize("case", ["silence", "one_voice", "too_many", "missing_voice"])
def test_bad_input_is_a_clear_error(tiny_model, case):
    rate = 16000
    mix, _, tracks = chord(rate, 1.0)
    if case == "silence":
        with pytest.raises(MotetError, match="silent"):
            separate(np.zeros(rate), rate, 2, f0=tracks, model=tiny_model)
    elif case == "one_voice":
        with pytest.raises(MotetError, match="2 to 8"):
            separate(mix, rate, 1, f0=tracks, model=tiny_model)
    elif case == "too_many":
        with pytest.raises(MotetError, match="asked for"):
            separate(mix, rate, 3, f0=tracks, model=tiny_model)
    else:
        f0 = tracks.f0_hz.copy()
        silent = F0Tracks(tracks.times_s, f0, np.stack([tracks.voiced[0], np.zeros_like(tracks.voiced[1])]))
        with pytest.raises(MotetError, match="found 1 singing voice"):
            separate(mix, rate, 2, f0=silent, model=tiny_model)


def test_progress_moves_with_the_work_and_ends_at_one(tiny_model):
    """Without given F0 about half the time goes to the pitch correction and stem re-tracking: the progress bar
    gives it about half its length instead of stalling there, and it never runs backwards."""
    spans = progress_spans(180.0, tracking=True, correcting=True, refine_steps=0)
    assert spans["f0"][0] == 0.0 and spans["masks"][1] == pytest.approx(1.0)
    assert spans["correction"][1] - spans["correction"][0] > 0.4
    given = progress_spans(180.0, tracking=False, correcting=False, refine_steps=0)
    assert given["masks"] == pytest.approx((0.0, 1.0))

    mix, _, _ = chord(16000, 3.0, f0s=(523.25, 392.0, 261.63, 130.81))
    seen = []
    separate(mix, 16000, 4, model=tiny_model, require_all_voices=False, progress=lambda f, s: seen.append(f))
    assert seen and all(b >= a - 1e-9 for a, b in zip(seen, seen[1:]))
    assert seen[-1] == pytest.approx(1.0)
